-- Change a user's role. Tokens name the user, not the role, so the new
-- rights apply from the user's next request.
-- KEYS: 1 user hash
-- ARGV: 1 new role, 2 audit record ('' for none: lib.lua's audit)
local old = redis.call('HGET', KEYS[1], 'role')
if not old then return fail('user_not_found') end
redis.call('HSET', KEYS[1], 'role', ARGV[1])
audit(ARGV[2], {from = old, to = ARGV[1]})
return old
