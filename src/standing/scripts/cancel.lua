-- Move an order from active to cancelled and out of the due index; do
-- nothing to an order in any other status. It is one compare-and-set so
-- that a cancel and an execution can interleave only at whole steps: once
-- it has returned 'ok', the payment script's own status check refuses
-- every later date.
-- KEYS: 1 order, 2 due index; ARGV: 1 now ms, 2 order id
-- Returns 'ok', 'missing', or the status that was not active.
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return 'missing' end
if st ~= 'active' then return st end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'cancelled', ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 'ok'
