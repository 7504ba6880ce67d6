-- An account read for a bearer token in one round trip: who asks
-- (lib.lua's caller), whether their role may (the API's permission
-- table), whether they may see the account (its owner, or staff; anyone
-- else is told it does not exist, exactly like a number that does not:
-- BOLA), then the account and, when asked, a range of its journal.
-- KEYS: 1 token hash key, 2 account, 3 the account's journal
-- ARGV: 1 now ms, 2 the roles the route allows, 3 the staff roles (they
--       see every account), both space-separated, 4 the journal range's
--       newest id ('' to read no journal), 5 its oldest id, 6 how many
--       entries at most, newest first
-- Returns: the account's fields and the journal
-- entries (XREVRANGE's reply; none when none were asked).
local u = caller(KEYS[1], ARGV[1])
if not u then return fail('unauthorized') end
if not listed(ARGV[2], u.role) then return fail('forbidden') end
local a = redis.call('HGETALL', KEYS[2])
local owner = nil
for i = 1, #a, 2 do
  if a[i] == 'owner' then owner = a[i + 1] end
end
if #a == 0 or (owner ~= u.id and not listed(ARGV[3], u.role)) then return fail('account_not_found') end
local entries = {}
if ARGV[4] ~= '' then entries = redis.call('XREVRANGE', KEYS[3], ARGV[4], ARGV[5], 'COUNT', ARGV[6]) end
return {a, entries}
