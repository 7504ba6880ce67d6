-- Store a new standing order and its idempotency record together, so a
-- concurrent duplicate can never find the key without its order. The
-- record is lib.lua's, the same as every money-moving request's.
-- KEYS: 1 idempotency record ('' for none), 2 order, 3 owner index,
--       4 due index, 5 legacy idempotency record ('' for none)
-- ARGV: 1 request hash, 2 ttl s, 3 created ms, 4 first due ordinal,
--       5 order id, 6 legacy request hash, 7.. the order's fields
local replay = idem_check(KEYS[1], ARGV[1], ARGV[3], ARGV[2])
if replay then return replay end
-- Transition (remove one release after this one, once the last legacy
-- record has expired): releases before the shared record kept their own,
-- "<hash>:<order id>" under bank:standing-idem:. A retry of a request made
-- there still replays it, and a new order writes one too, so a retry
-- that reaches a pod of the older release during a rolling update
-- replays instead of creating the order twice.
if KEYS[5] ~= '' then
  local prev = redis.call('GET', KEYS[5])
  if prev then
    local h, id = string.match(prev, '^([^:]*):(.*)$')
    if h ~= ARGV[6] then return fail('idempotency_conflict') end
    return {'replay', id}
  end
end
redis.call('HSET', KEYS[2], unpack(ARGV, 7))
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[5])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[5])
idem_store(KEYS[1], ARGV[1], ARGV[5], ARGV[3], ARGV[2])
if KEYS[5] ~= '' then
  redis.call('SET', KEYS[5], ARGV[6] .. ':' .. ARGV[5], 'EX', ARGV[2])
end
return {'ok', ARGV[5]}
