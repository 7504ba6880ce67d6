-- Cash at the counter (a teller's deposit or withdrawal) in one round
-- trip: who asks (lib.lua's caller), whether their role may (the API's
-- permission table), the customer's account (there, no system account,
-- not the teller's own), then the posting itself (transfer.lua's rules,
-- wrapped as transfer_script by the loader) with its audit entry in the
-- same step, and the record the answer needs. Every refusal of a staff
-- member after the token is on the audit trail with its code, as the
-- API writes it for the refusals it finds itself.
-- KEYS: 1 token hash key, 2 from account, 3 to account, 4 from journal,
--       5 to journal, 6 outbox stream (a deposit goes from teller cash to
--       the customer, a withdrawal the other way)
-- ARGV: 1-14 as transfer_as.lua's (11, touch, is the customer's side:
--       'to' for a deposit, 'from' for a withdrawal), 15 the audit
--       action, 16 the customer's account number
-- Returns: status ('ok' or 'replay') and the transfer
-- record's fields.
local act = {action = ARGV[15], request_id = ARGV[14]}
local u, forbidden = allowed_caller(KEYS[1], ARGV[1], ARGV[2], ARGV[3], act, '')
if not u then return forbidden end
local n = ARGV[16]
-- refused is as_caller.lua's refuse, about the customer's account.
local function refused(code, reply) return refuse(u, ARGV[3], act, n, {n}, code, reply) end
local account_key = KEYS[2]
if ARGV[11] == 'to' then account_key = KEYS[3] end
local a = redis.call('HMGET', account_key, 'number', 'owner', 'type')
if not a[1] then return refused('account_not_found', 'receiver_not_found') end
if a[3] == 'system' then return refused('system_account') end
if a[2] == u.id then return refused('own_account') end

local rec = staff_record(u, act, n, {n})
local r = transfer_script({KEYS[2], KEYS[3], KEYS[4], KEYS[5], scoped(ARGV[13], u, ARGV[4]), KEYS[6]},
  {ARGV[7], '-' .. ARGV[7], ARGV[8], ARGV[1], ARGV[9], ARGV[10], ARGV[5], ARGV[6], u.id, ARGV[11], ARGV[12], rec})
if type(r) == 'table' and r.err then
  local code = string.gsub(r.err, '^ERR ', '')
  return refused(code)
end
-- A replay answers the first transfer, whose id the idempotency record named.
return {r[1], load_transfer(r[2])}
