-- An admin's approval of a pending reversal in one round trip: who asks
-- (lib.lua's caller), whether their role may (the API's permission
-- table), the reversal, that its transfer is none of the caller's own
-- accounts', then reverse.lua's decision (wrapped as reverse_script by
-- the loader: four eyes, what remains unreversed, the funds and status
-- rules, the posting) with its audit entry in the same step, and the
-- reversal's record. Every refusal of a staff member after the token is
-- on the audit trail with its code, as the API writes it for the
-- refusals it finds itself.
-- KEYS: 1 token hash key, 2 reversal record, 3 pending index, 4 approved
--       index, 5 outbox stream, 6 the reversal posting's record
-- ARGV: 1 now ms, 2 the roles the route allows, 3 the staff roles,
--       4 Idempotency-Key, 5 request hash, 6 idempotency ttl s,
--       7 posting id, 8 max balance, 9 the idempotency record prefix,
--       10 the account prefix, 11 the journal prefix, 12 the transfer
--       record prefix, 13 the request id, 14 the audit action, 15 the
--       reversal id
-- Returns: status ('ok' or 'replay'), the caller's id, and the
-- reversal record's fields.
local id = ARGV[15]
local act = {action = ARGV[14], request_id = ARGV[13]}
local u = caller(KEYS[1], ARGV[1])
if not u then return fail('unauthorized') end
-- refused records the refusal code (the API's problem code) and answers
-- reply (by default the code itself).
local function refused(code, reply)
  audit_staff(u, ARGV[3], act, id, {}, 'refused', code)
  return fail(reply or code)
end
if not listed(ARGV[2], u.role) then return refused('forbidden') end
local rv = redis.call('HMGET', KEYS[2], 'transfer', 'from', 'to')
if not rv[1] then return refused('reversal_not_found') end
local function owned(n)
  return redis.call('HGET', ARGV[10] .. n, 'owner') == u.id
end
if owned(rv[2]) or owned(rv[3]) then return refused('own_account', 'own_transfer') end

local r = reverse_script({KEYS[2], ARGV[12] .. rv[1], ARGV[10] .. rv[2], ARGV[10] .. rv[3], ARGV[11] .. rv[2], ARGV[11] .. rv[3],
  KEYS[6], KEYS[3], KEYS[4], scoped(ARGV[9], u, ARGV[4]), KEYS[5]},
  {'approve', ARGV[7], u.id, ARGV[1], ARGV[5], ARGV[6], ARGV[8], '', staff_record(u, act, id, {})})
if type(r) == 'table' and r.err then
  local code = string.gsub(r.err, '^ERR ', '')
  return refused(code)
end
return {r[1], u.id, redis.call('HGETALL', KEYS[2])}
