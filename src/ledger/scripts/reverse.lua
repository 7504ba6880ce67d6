-- Decide a pending reversal, all or nothing. Only someone other than its
-- requester may ('four_eyes'; the API checks the admin role).
-- approve: post the reversal's amount from the original payee to the
--   original payer as a new transfer of kind 'reversal', linked both ways
--   (the new record names the original and the reversal; the original
--   gets the reversal's id and its running 'reversed' total), never more
--   than what remains unreversed of the original, with the same funds and
--   status rules as any posting; a refusal leaves the reversal pending.
--   Approving an approved reversal again posts nothing and returns it.
-- reject: pending -> rejected with a reason; rejecting again returns it.
-- KEYS: 1 reversal record, 2 the original's hash (money.lua's
--       transfer_extra: its legacy record or its extras), 3 payee account
--       (debited), 4 payer account (credited), 5 payee journal, 6 payer
--       journal, 7 pending index, 8 the index of the decided state,
--       9 idempotency record (or ''), 10 outbox stream (or ''): an
--       approval appends transfer.reversed there
-- ARGV: 1 action ('approve' or 'reject'), 2 decided by, 3 now ms,
--       4 request hash, 5 idempotency ttl s, 6 max balance, 7 reject
--       reason, 8 audit record ('' for none: lib.lua's audit)
local replay = idem_check(KEYS[9], ARGV[4], ARGV[3], ARGV[5])
if replay then return replay end

local r = redis.call('HMGET', KEYS[1], 'id', 'status', 'transfer', 'amount', 'currency', 'by', 'from', 'to')
if r[1] == false then return fail('reversal_not_found') end
if r[6] == ARGV[2] then return fail('four_eyes') end
local action = ARGV[1]
local decided = 'approved'
if action == 'reject' then decided = 'rejected' end
if r[2] ~= 'pending' then
  if r[2] == decided then return {'replay', r[1]} end
  return fail('reversal_not_pending')
end

if action == 'approve' then
  local t = transfer_fields(r[3])
  if not t then return fail('transfer_not_found') end
  local amount = tonumber(r[4])
  -- The check that keeps concurrent approvals of partial reversals from
  -- paying back more than the original moved.
  if amount > tonumber(t.amount) - tonumber(t.reversed or '0') then return fail('reversal_exceeds_transfer') end
  local a = load_account(KEYS[3])
  local b = load_account(KEYS[4])
  local why = check_correction(a, b, r[5])
  if why then return fail(why) end
  if not has_funds(a, amount, 0) then return fail('insufficient_funds') end
  if not within_limits(a, b, amount, tonumber(ARGV[6])) then return fail('balance_limit') end

  local now = tonumber(ARGV[3])
  local amount_s = fmt(amount)
  local desc = 'Reversal of ' .. t.id
  -- The entry first: a trail that cannot be written stops the action
  -- before it changes anything.
  local pid, sid = transfer_id(KEYS[5], a, now)
  audit(ARGV[8], {reversal = r[1], transfer = r[3], posting = pid, amount = amount_s, currency = r[5]}, {r[7], r[8]})
  post(KEYS[3], KEYS[5], a, KEYS[4], KEYS[6], b, amount_s, fmt(-amount), '', 'reversal', desc, ARGV[2], now, sid)
  transfer_extra(pid, 'reversal_of', t.id, 'reversal', r[1])
  -- The original is never edited but for its reversal fields.
  redis.call('HINCRBY', KEYS[2], 'reversed', amount_s)
  local ids = redis.call('HGET', KEYS[2], 'reversals')
  if ids then ids = ids .. ' ' .. r[1] else ids = r[1] end
  redis.call('HSET', KEYS[2], 'reversals', ids)
  redis.call('HSET', KEYS[1], 'posting', pid)
  outbox(KEYS[10], 'transfer.reversed', pid, ARGV[3])
else
  audit(ARGV[8], {reversal = r[1], transfer = r[3], reason = ARGV[7]}, {r[7], r[8]})
  redis.call('HSET', KEYS[1], 'reject_reason', ARGV[7])
end
redis.call('HSET', KEYS[1], 'status', decided, 'decided_by', ARGV[2], 'decided', ARGV[3])
redis.call('ZREM', KEYS[7], r[1])
redis.call('ZADD', KEYS[8], ARGV[3], r[1])
idem_store(KEYS[9], ARGV[4], r[1], ARGV[3], ARGV[5])
return {'ok', r[1]}
