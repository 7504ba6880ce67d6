-- The user a token belongs to, in one round trip: lib.lua's caller.
-- KEYS: 1 token hash key
-- ARGV: 1 now ms
-- Returns id, username, role, created ms; or the refusal 'unauthorized'.
local u = caller(KEYS[1], ARGV[1])
if not u then return fail('unauthorized') end
return {u.id, u.username, u.role, u.created}
