-- Request a reversal of a posted transfer: record it as pending. No money
-- moves; a different admin approves it later (reverse.lua). The amount
-- may not exceed what remains unreversed now; approval checks again,
-- since pending requests do not reserve anything.
-- KEYS: 1 the original's hash (money.lua's transfer_extra: its legacy
--       record, or its extras), 2 reversal record, 3 pending index,
--       4 idempotency record (or '')
-- ARGV: 1 reversal id, 2 amount ('0' for all that remains unreversed),
--       3 reason, 4 requested by, 5 now ms, 6 request hash,
--       7 idempotency ttl s, 8 audit record ('' for none: lib.lua's audit),
--       9 the original's transfer id
local replay = idem_check(KEYS[4], ARGV[6], ARGV[5], ARGV[7])
if replay then return replay end

local t = transfer_fields(ARGV[9])
if not t then return fail('transfer_not_found') end
if t.kind == 'reversal' then return fail('transfer_not_reversible') end
local remaining = tonumber(t.amount) - tonumber(t.reversed or '0')
local amount = tonumber(ARGV[2])
if amount == 0 then amount = remaining end
if amount <= 0 or amount > remaining then return fail('reversal_exceeds_transfer') end

-- The entry first: a trail that cannot be written stops the action
-- before it changes anything.
audit(ARGV[8], {reversal = ARGV[1], transfer = t.id, amount = fmt(amount), currency = t.currency, reason = ARGV[3]}, {t.from, t.to})
-- The reversal pays back: from the original payee to the original payer.
redis.call('HSET', KEYS[2], 'id', ARGV[1], 'transfer', t.id, 'from', t.to, 'to', t.from, 'amount', fmt(amount),
  'currency', t.currency, 'reason', ARGV[3], 'status', 'pending', 'by', ARGV[4], 'created', ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
idem_store(KEYS[4], ARGV[6], ARGV[1], ARGV[5], ARGV[7])
return {'ok', ARGV[1]}
