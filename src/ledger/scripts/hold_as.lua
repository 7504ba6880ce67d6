-- A customer's hold in one round trip: as_caller.lua's checks (the held
-- account is the caller's, the payee may be paid), then hold_authorize.lua
-- (wrapped as authorize_script by the loader) and the hold's record.
-- KEYS: 1 token hash key, 2 account, 3 payee account, 4 hold record,
--       5 expiry index, 6 the account's hold index
-- ARGV: 1 now ms, 2 the roles the route allows, 3 the staff roles,
--       4 Idempotency-Key, 5 request hash, 6 idempotency ttl s, 7 amount,
--       8 currency, 9 hold id, 10 expires ms, 11 description, 12 the
--       idempotency record prefix, 13 the hold record prefix, 14 the
--       request id (for the audit trail)
-- Returns: status ('ok' or 'replay') and the hold
-- record's fields.
local u, refused = payer_checks(KEYS[1], ARGV[1], ARGV[2], ARGV[3], KEYS[2], KEYS[3], {action = 'hold.authorize', request_id = ARGV[14]})
if not u then return refused end
local r = authorize_script({KEYS[2], KEYS[3], KEYS[4], scoped(ARGV[12], u, ARGV[4]), KEYS[5], KEYS[6]},
  {ARGV[7], ARGV[8], ARGV[9], ARGV[1], ARGV[10], ARGV[11], ARGV[5], ARGV[6], u.id})
if type(r) == 'table' and r.err then return r end
return {r[1], redis.call('HGETALL', ARGV[13] .. r[2])}
