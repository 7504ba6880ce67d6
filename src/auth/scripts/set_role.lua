-- Change a user's role. Tokens name the user, not the role, so the new
-- rights apply from the user's next request.
-- KEYS: 1 user hash
-- ARGV: 1 new role, 2 audit record ('' for none: lib.lua's audit)
-- Returns the user as authenticate.lua does: {id, username, role, created}.
local old = redis.call('HGET', KEYS[1], 'role')
if not old then return fail('user_not_found') end
-- The entry first: a trail that cannot be written stops the action
-- before it changes anything.
audit(ARGV[2], {from = old, to = ARGV[1]})
redis.call('HSET', KEYS[1], 'role', ARGV[1])
return redis.call('HMGET', KEYS[1], 'id', 'username', 'role', 'created')
