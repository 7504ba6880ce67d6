-- Request a reversal of a posted transfer: record it as pending. No money
-- moves; a different admin approves it later (reverse.lua). The amount
-- may not exceed what remains unreversed now; approval checks again,
-- since pending requests do not reserve anything.
-- KEYS: 1 original transfer record, 2 reversal record, 3 pending index,
--       4 idempotency record (or '')
-- ARGV: 1 reversal id, 2 amount ('0' for all that remains unreversed),
--       3 reason, 4 requested by, 5 now ms, 6 request hash,
--       7 idempotency ttl s, 8 audit record ('' for none: lib.lua's audit)
local replay = idem_check(KEYS[4], ARGV[6])
if replay then return replay end

local t = redis.call('HMGET', KEYS[1], 'id', 'kind', 'from', 'to', 'amount', 'currency', 'reversed')
if t[1] == false then return fail('transfer_not_found') end
if t[2] == 'reversal' then return fail('transfer_not_reversible') end
local remaining = tonumber(t[5]) - tonumber(t[7] or '0')
local amount = tonumber(ARGV[2])
if amount == 0 then amount = remaining end
if amount <= 0 or amount > remaining then return fail('reversal_exceeds_transfer') end

-- The reversal pays back: from the original payee to the original payer.
redis.call('HSET', KEYS[2], 'id', ARGV[1], 'transfer', t[1], 'from', t[4], 'to', t[3], 'amount', fmt(amount),
  'currency', t[6], 'reason', ARGV[3], 'status', 'pending', 'by', ARGV[4], 'created', ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
idem_store(KEYS[4], ARGV[6], ARGV[1], ARGV[7])
audit(ARGV[8], {reversal = ARGV[1], transfer = t[1], amount = fmt(amount), currency = t[6], reason = ARGV[3]}, {t[3], t[4]})
return {'ok', ARGV[1]}
