-- A customer's transfer in one round trip: as_caller.lua's checks (who
-- asks, their role, the sending account is theirs, the receiver may be
-- paid), then the posting itself (transfer.lua's rules, wrapped as
-- transfer_script by the loader) and the record the answer needs.
-- Nothing is read before this script and nothing after, and a token
-- revoked a moment ago is refused here.
-- KEYS: 1 token hash key, 2 from account, 3 to account, 4 from journal,
--       5 to journal, 6 outbox stream
-- ARGV: 1 now ms, 2 the roles the route allows, 3 the staff roles (they
--       see every account, so another's is 403 rather than 404), both
--       space-separated, 4 Idempotency-Key, 5 request hash, 6 idempotency
--       ttl s, 7 amount, 8 currency, 9 kind, 10 description, 11 touch,
--       12 max balance, 13 the idempotency record prefix (the caller's id
--       and the key follow), 14 the request id (for the audit trail)
-- Returns: status ('ok' or 'replay') and the transfer
-- record's fields.
local u, refused = payer_checks(KEYS[1], ARGV[1], ARGV[2], ARGV[3], KEYS[2], KEYS[3], {action = 'transfer', request_id = ARGV[14]})
if not u then return refused end

local r = transfer_script({KEYS[2], KEYS[3], KEYS[4], KEYS[5], scoped(ARGV[13], u, ARGV[4]), KEYS[6]},
  {ARGV[7], '-' .. ARGV[7], ARGV[8], ARGV[1], ARGV[9], ARGV[10], ARGV[5], ARGV[6], u.id, ARGV[11], ARGV[12], ''})
if type(r) == 'table' and r.err then return r end
-- A replay answers the first transfer, whose id the idempotency record named.
return {r[1], load_transfer(r[2])}
