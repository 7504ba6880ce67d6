-- Store a new standing order and its idempotency record together, so a
-- concurrent duplicate can never find the key without its order. The
-- record is lib.lua's, the same as every money-moving request's.
-- KEYS: 1 idempotency record ('' for none), 2 order, 3 owner index, 4 due index
-- ARGV: 1 request hash, 2 ttl s, 3 created ms, 4 first due ordinal, 5 order id,
--       6.. the order's fields
local replay = idem_check(KEYS[1], ARGV[1])
if replay then return replay end
redis.call('HSET', KEYS[2], unpack(ARGV, 6))
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[5])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[5])
idem_store(KEYS[1], ARGV[1], ARGV[5], ARGV[2])
return {'ok', ARGV[5]}
