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
-- KEYS: 1 reversal record, 2 original transfer record, 3 payee account
--       (debited), 4 payer account (credited), 5 payee journal, 6 payer
--       journal, 7 reversal posting record, 8 pending index, 9 the index
--       of the decided state, 10 idempotency record (or ''), 11 outbox
--       stream (or ''): an approval appends transfer.reversed there
-- ARGV: 1 action ('approve' or 'reject'), 2 posting id, 3 decided by,
--       4 now ms, 5 request hash, 6 idempotency ttl s, 7 max balance,
--       8 reject reason, 9 audit record ('' for none: lib.lua's audit)
local replay = idem_check(KEYS[10], ARGV[5])
if replay then return replay end

local r = redis.call('HMGET', KEYS[1], 'id', 'status', 'transfer', 'amount', 'currency', 'by', 'from', 'to')
if r[1] == false then return fail('reversal_not_found') end
if r[6] == ARGV[3] then return fail('four_eyes') end
local action = ARGV[1]
local decided = 'approved'
if action == 'reject' then decided = 'rejected' end
if r[2] ~= 'pending' then
  if r[2] == decided then return {'replay', r[1]} end
  return fail('reversal_not_pending')
end

if action == 'approve' then
  local t = redis.call('HMGET', KEYS[2], 'id', 'amount', 'reversed')
  if t[1] == false then return fail('transfer_not_found') end
  local amount = tonumber(r[4])
  -- The check that keeps concurrent approvals of partial reversals from
  -- paying back more than the original moved.
  if amount > tonumber(t[2]) - tonumber(t[3] or '0') then return fail('reversal_exceeds_transfer') end
  local a = load_account(KEYS[3])
  local b = load_account(KEYS[4])
  local why = check_correction(a, b, r[5])
  if why then return fail(why) end
  if not has_funds(a, amount, 0) then return fail('insufficient_funds') end
  if not within_limits(a, b, amount, tonumber(ARGV[7])) then return fail('balance_limit') end

  local now = tonumber(ARGV[4])
  local amount_s = fmt(amount)
  local desc = 'Reversal of ' .. t[1]
  post(KEYS[3], KEYS[5], a, KEYS[4], KEYS[6], b, amount_s, fmt(-amount), ARGV[2], '', 'reversal', desc, now)
  record_transfer(KEYS[7], ARGV[2], 'reversal', a, b, amount_s, desc, ARGV[3], ARGV[4], '')
  redis.call('HSET', KEYS[7], 'reversal_of', t[1], 'reversal', r[1])
  -- The original is never edited but for its reversal fields.
  redis.call('HINCRBY', KEYS[2], 'reversed', amount_s)
  local ids = redis.call('HGET', KEYS[2], 'reversals')
  if ids then ids = ids .. ' ' .. r[1] else ids = r[1] end
  redis.call('HSET', KEYS[2], 'reversals', ids)
  redis.call('HSET', KEYS[1], 'posting', ARGV[2])
  outbox(KEYS[11], 'transfer.reversed', ARGV[2], ARGV[4])
  audit(ARGV[9], {reversal = r[1], transfer = r[3], posting = ARGV[2], amount = amount_s, currency = r[5]}, {r[7], r[8]})
else
  redis.call('HSET', KEYS[1], 'reject_reason', ARGV[8])
  audit(ARGV[9], {reversal = r[1], transfer = r[3], reason = ARGV[8]}, {r[7], r[8]})
end
redis.call('HSET', KEYS[1], 'status', decided, 'decided_by', ARGV[3], 'decided', ARGV[4])
redis.call('ZREM', KEYS[8], r[1])
redis.call('ZADD', KEYS[9], ARGV[4], r[1])
idem_store(KEYS[10], ARGV[5], r[1], ARGV[6])
return {'ok', r[1]}
