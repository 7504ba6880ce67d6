-- Record that due date n-1 was settled: n and the next date move forward
-- only (a slower concurrent run must not rewind them), and only an active
-- order goes back into the due index (a plain ZADD would re-add an order
-- cancelled meanwhile, to be found every minute).
-- KEYS: 1 order, 2 due index; ARGV: 1 n, 2 next date, 3 next ordinal, 4 id
-- Returns 1 when the order is still active, 0 otherwise.
if redis.call('HGET', KEYS[1], 'status') ~= 'active' then
  redis.call('ZREM', KEYS[2], ARGV[4])
  return 0
end
if tonumber(ARGV[1]) > tonumber(redis.call('HGET', KEYS[1], 'n') or '0') then
  redis.call('HSET', KEYS[1], 'n', ARGV[1], 'next', ARGV[2])
end
redis.call('ZADD', KEYS[2], 'GT', ARGV[3], ARGV[4])
return 1
