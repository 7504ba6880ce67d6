-- End an order that has no dates left, unless it already ended otherwise:
-- a cancel that was acknowledged stays a cancel.
-- KEYS: 1 order, 2 due index; ARGV: 1 order id
if redis.call('HGET', KEYS[1], 'status') == 'active' then
  redis.call('HSET', KEYS[1], 'status', 'completed', 'next', '')
end
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
