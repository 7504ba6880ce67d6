-- Capture (fully or partly), void, or expire a hold. The held amount is
-- released in every case; a capture also posts the captured amount to the
-- payee. Any uncaptured remainder is released, as with card authorisations.
-- KEYS: 1 hold record, 2 account, 3 payee, 4 account journal,
--       5 payee journal, 6 idempotency record, 7 expiry index, 8 outbox
--       stream (or '' for none): a capture appends its hold.captured
--       event there, atomically with it
-- ARGV: 1 action ('capture', 'void' or 'expire'), 2 capture amount,
--       3 -capture amount, 4 now ms, 5 request hash, 6 idempotency ttl,
--       7 initiated by, 8 max balance, 9 description
local now = tonumber(ARGV[4])
local replay = idem_check(KEYS[6], ARGV[5], now, ARGV[6])
if replay then return replay end
local h = redis.call('HMGET', KEYS[1], 'status', 'amount', 'expires', 'id', 'desc')
if h[1] == false then return fail('hold_not_found') end
local action = ARGV[1]
if h[1] ~= 'authorized' then
  -- An expiry racing a capture or void is not an error for the sweeper.
  if action == 'expire' then return {'noop', h[4]} end
  return fail('hold_not_active')
end
local held = tonumber(h[2])
local expired = now >= tonumber(h[3])
if action == 'expire' and not expired then return {'noop', h[4]} end
if action == 'capture' and expired then return fail('hold_expired') end

local a = load_account(KEYS[2])
if not a then return fail('account_not_found') end
local result = h[4]
if action == 'capture' then
  local amount = tonumber(ARGV[2])
  if amount > held then return fail('capture_exceeds_hold') end
  local p = load_account(KEYS[3])
  if not p then return fail('account_not_found') end
  local why = can_move(a, p)
  if why then return fail(why) end
  -- The hold itself reserved the money: funds are checked against the
  -- balance without this hold's reservation.
  if not has_funds(a, amount, held) then return fail('insufficient_funds') end
  if not within_limits(a, p, amount, tonumber(ARGV[8])) then return fail('balance_limit') end
  local desc = ARGV[9]
  if desc == '' then desc = h[5] end
  -- The captured hold is in the journal entries (their 'hold' field).
  local tid = post(KEYS[2], KEYS[4], a, KEYS[3], KEYS[5], p, ARGV[2], ARGV[3], h[4], 'capture', desc, ARGV[7], now)
  redis.call('HSET', KEYS[1], 'status', 'captured', 'captured', ARGV[2], 'transfer', tid, 'settled', ARGV[4])
  outbox(KEYS[8], 'hold.captured', h[4], ARGV[4])
else
  local status = 'voided'
  if action == 'expire' then status = 'expired' end
  redis.call('HSET', KEYS[1], 'status', status, 'settled', ARGV[4])
end
redis.call('HINCRBY', KEYS[2], 'held', fmt(-held))
redis.call('ZREM', KEYS[7], h[4])
idem_store(KEYS[6], ARGV[5], result, now, ARGV[6])
return {'ok', result}
