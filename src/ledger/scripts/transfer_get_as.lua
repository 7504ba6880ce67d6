-- A transfer read for a bearer token in one round trip: who asks
-- (lib.lua's caller), whether their role may (the API's permission
-- table), then the transfer as money.lua's load_transfer gives it, if
-- the caller may see it (staff, or the owner of one of its two accounts;
-- anyone else is told it does not exist, like an id that does not).
-- KEYS: 1 token hash key
-- ARGV: 1 now ms, 2 the roles the route allows, 3 the staff roles,
--       4 the transfer id (KEY_ACCOUNT is the ledger's, before money.lua)
-- Returns: 'ok' and the transfer record's fields (the
-- *_as.lua scripts' reply, which the ledger's runAs decodes).
local u = caller(KEYS[1], ARGV[1])
if not u then return fail('unauthorized') end
if not listed(ARGV[2], u.role) then return fail('forbidden') end
local t = load_transfer(ARGV[4])
if #t == 0 then return fail('transfer_not_found') end
if not listed(ARGV[3], u.role) then
  local mine = false
  for i = 1, #t, 2 do
    if (t[i] == 'from' or t[i] == 'to') and redis.call('HGET', KEY_ACCOUNT .. t[i + 1], 'owner') == u.id then mine = true end
  end
  if not mine then return fail('transfer_not_found') end
end
return {'ok', t}
