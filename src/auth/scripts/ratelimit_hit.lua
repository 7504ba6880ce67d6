-- Count one event in a fixed window: increment the counter, starting the
-- window when the counter has no expiry yet (the first event).
-- KEYS: 1 counter; ARGV: 1 window ms
-- Returns {count, ms left in the window}.
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
