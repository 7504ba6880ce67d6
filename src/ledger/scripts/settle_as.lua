-- Capture or void a hold for a bearer token in one round trip: who asks
-- (lib.lua's caller) and whether their role may; the hold is visible to
-- the held account's owner, the payee's owner and staff (anyone else is
-- told it does not exist, as with accounts); only the two parties may
-- capture, staff may void. Then hold_settle.lua (wrapped as
-- settle_script by the loader) and the hold's record.
-- KEYS: 1 token hash key, 2 hold record, 3 expiry index, 4 outbox stream
-- ARGV: 1 now ms, 2 the roles the route allows, 3 the staff roles,
--       4 action ('capture' or 'void'), 5 capture amount ('' for all that
--       is held), 6 Idempotency-Key, 7 request hash, 8 idempotency ttl s,
--       9 max balance, 10 description, 11 the idempotency record prefix,
--       12 the account prefix, 13 the journal prefix, 14 the request id
--       (for the audit trail), 15 the hold id
-- Returns: status ('ok' or 'replay') and the hold
-- record's fields.
local act = {action = 'hold.' .. ARGV[4], request_id = ARGV[14]}
local u, refused = allowed_caller(KEYS[1], ARGV[1], ARGV[2], ARGV[3], act, ARGV[15])
if not u then return refused end
local h = redis.call('HMGET', KEYS[2], 'account', 'payee', 'amount')
if not h[1] then return fail('hold_not_found') end
local function owned(n)
  return redis.call('HGET', ARGV[12] .. n, 'owner') == u.id
end
local mine = owned(h[1]) or owned(h[2])
if not mine and not listed(ARGV[3], u.role) then return fail('hold_not_found') end
local hold_id = ARGV[15]
-- Capturing moves money: not staff on the parties' behalf.
if ARGV[4] == 'capture' and not mine then return refuse(u, ARGV[3], act, hold_id, {h[1], h[2]}, 'not_account_owner', 'not_party') end
local amount = ARGV[5]
if amount == '' then amount = h[3] end
local r = settle_script({KEYS[2], ARGV[12] .. h[1], ARGV[12] .. h[2], ARGV[13] .. h[1], ARGV[13] .. h[2],
  scoped(ARGV[11], u, ARGV[6]), KEYS[3], KEYS[4]},
  {ARGV[4], amount, '-' .. amount, ARGV[1], ARGV[7], ARGV[8], u.id, ARGV[9], ARGV[10]})
if type(r) == 'table' and r.err then return r end
-- Staff releasing a customer's reservation is a staff action. (After the
-- settlement, whose rules decide whether it happens; a replay is not a
-- second action.)
if not mine and r[1] == 'ok' then audit_staff(u, ARGV[3], act, hold_id, {h[1], h[2]}, 'ok', '', {amount = h[3]}) end
return {r[1], redis.call('HGETALL', KEYS[2])}
