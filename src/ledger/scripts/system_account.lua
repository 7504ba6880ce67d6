-- Create a system account once, all fields and the index entry together,
-- so no posting can ever see a half-made account.
-- KEYS: 1 account hash, 2 the set of account numbers
-- ARGV: 1 number, 2 currency, 3 name, 4 now ms
if redis.call('EXISTS', KEYS[1]) == 1 then return {'noop', ARGV[1]} end
redis.call('HSET', KEYS[1], 'number', ARGV[1], 'type', 'system', 'currency', ARGV[2],
  'status', 'active', 'balance', '0', 'held', '0', 'overdraft', '0', 'rate', '0',
  'name', ARGV[3], 'created', ARGV[4], 'last_activity', ARGV[4])
redis.call('SADD', KEYS[2], ARGV[1])
return {'ok', ARGV[1]}
