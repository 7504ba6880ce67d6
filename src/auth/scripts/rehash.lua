-- Replace a user's password hash with one of the current cost parameters,
-- made after a login proved the password: only if the stored hash is still
-- the one that was checked, so a password set meanwhile is never undone.
-- KEYS: 1 user hash
-- ARGV: 1 the hash the login checked, 2 the new hash
-- Returns 1 when replaced, 0 when the stored hash had changed.
if redis.call('HGET', KEYS[1], 'pw') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'pw', ARGV[2])
return 1
