-- Reserve money on an account for a later capture to a payee.
-- KEYS: 1 account, 2 payee account, 3 hold record, 4 idempotency record,
--       5 expiry index (zset), 6 the account's hold index (zset)
-- ARGV: 1 amount, 2 currency, 3 hold id, 4 now ms, 5 expires ms,
--       6 description, 7 request hash, 8 idempotency ttl, 9 initiated by
local replay = idem_check(KEYS[4], ARGV[7], ARGV[4], ARGV[8])
if replay then return replay end
local a = load_account(KEYS[1])
local p = load_account(KEYS[2])
local why = check_parties(a, p, ARGV[2])
if why then return fail(why) end
if not has_funds(a, tonumber(ARGV[1]), 0) then return fail('insufficient_funds') end
redis.call('HINCRBY', KEYS[1], 'held', ARGV[1])
redis.call('HSET', KEYS[3], 'id', ARGV[3], 'account', a.number, 'payee', p.number,
  'amount', ARGV[1], 'captured', '0', 'currency', ARGV[2], 'desc', ARGV[6],
  'status', 'authorized', 'created', ARGV[4], 'expires', ARGV[5], 'by', ARGV[9])
redis.call('ZADD', KEYS[5], ARGV[5], ARGV[3])
redis.call('ZADD', KEYS[6], ARGV[4], ARGV[3])
touch(KEYS[1], a, ARGV[4])
idem_store(KEYS[4], ARGV[7], ARGV[3], ARGV[4], ARGV[8])
return {'ok', ARGV[3]}
