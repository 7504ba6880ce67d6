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
--       index, 5 outbox stream
-- ARGV: 1 now ms, 2 the roles the route allows, 3 the staff roles,
--       4 Idempotency-Key, 5 request hash, 6 idempotency ttl s,
--       7 max balance, 8 the idempotency record prefix, 9 the request
--       id, 10 the audit action, 11 the reversal id (KEY_ACCOUNT,
--       KEY_JOURNAL and KEY_TRANSFER are the ledger's, before money.lua)
-- Returns: status ('ok' or 'replay') and the
-- reversal record's fields.
local id = ARGV[11]
local act = {action = ARGV[10], request_id = ARGV[9]}
local u, forbidden = allowed_caller(KEYS[1], ARGV[1], ARGV[2], ARGV[3], act, id)
if not u then return forbidden end
-- refused is as_caller.lua's refuse, about the reversal.
local function refused(code, reply) return refuse(u, ARGV[3], act, id, {}, code, reply) end
local rv = redis.call('HMGET', KEYS[2], 'transfer', 'from', 'to')
if not rv[1] then return refused('reversal_not_found') end
local function owned(n)
  return redis.call('HGET', KEY_ACCOUNT .. n, 'owner') == u.id
end
if owned(rv[2]) or owned(rv[3]) then return refused('own_account', 'own_transfer') end

local r = reverse_script({KEYS[2], KEY_TRANSFER .. rv[1], KEY_ACCOUNT .. rv[2], KEY_ACCOUNT .. rv[3], KEY_JOURNAL .. rv[2], KEY_JOURNAL .. rv[3],
  KEYS[3], KEYS[4], scoped(ARGV[8], u, ARGV[4]), KEYS[5]},
  {'approve', u.id, ARGV[1], ARGV[5], ARGV[6], ARGV[7], '', staff_record(u, act, id, {})})
if type(r) == 'table' and r.err then
  local code = string.gsub(r.err, '^ERR ', '')
  return refused(code)
end
return {r[1], redis.call('HGETALL', KEYS[2])}
