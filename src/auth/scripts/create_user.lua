-- Register a user: the username is claimed and the user written together,
-- so two concurrent registrations of one name cannot both succeed.
-- KEYS: 1 user hash, 2 username → id, 3 usernames zset (prefix search)
-- ARGV: 1 id, 2 username, 3 role, 4 password hash, 5 created ms,
--       6 audit record ('' for none: lib.lua's audit)
if redis.call('EXISTS', KEYS[2]) == 1 then return fail('username_taken') end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'username', ARGV[2], 'role', ARGV[3], 'pw', ARGV[4], 'created', ARGV[5])
redis.call('ZADD', KEYS[3], 0, ARGV[2])
audit(ARGV[6], {user = ARGV[1], username = ARGV[2], role = ARGV[3]})
return 'ok'
