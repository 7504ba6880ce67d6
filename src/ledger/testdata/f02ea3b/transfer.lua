-- One balanced posting between two accounts, all or nothing.
-- KEYS: 1 from account, 2 to account, 3 from journal, 4 to journal,
--       5 transfer record, 6 idempotency record (or '' for none),
--       7 outbox stream (or '' for none): a new posting appends its
--         transfer.completed event there in this same atomic step, so the
--         event cannot be lost between the posting and its announcement
-- ARGV: 1 amount, 2 -amount, 3 currency, 4 transfer id, 5 now ms,
--       6 kind, 7 description, 8 request hash, 9 idempotency ttl s,
--       10 initiated by, 11 touch ('from', 'to', 'both' or ''), 12 max balance,
--       13 audit record ('' or absent when no staff action: lib.lua's audit)
local replay = idem_check(KEYS[6], ARGV[8])
if replay then return replay end

local a = load_account(KEYS[1])
local b = load_account(KEYS[2])
local why = check_parties(a, b, ARGV[3])
if why then return fail(why) end
local amount = tonumber(ARGV[1])
if not has_funds(a, amount, 0) then return fail('insufficient_funds') end
if not within_limits(a, b, amount, tonumber(ARGV[12])) then return fail('balance_limit') end

-- The entry first: a trail that cannot be written stops the action
-- before it changes anything.
audit(ARGV[13], {transfer = ARGV[4], amount = ARGV[1], currency = ARGV[3]})
local now = tonumber(ARGV[5])
post(KEYS[1], KEYS[3], a, KEYS[2], KEYS[4], b, ARGV[1], ARGV[2], ARGV[4], '', ARGV[6], ARGV[7], now)
record_transfer(KEYS[5], ARGV[4], ARGV[6], a, b, ARGV[1], ARGV[7], ARGV[10], ARGV[5], '')
if ARGV[11] == 'from' or ARGV[11] == 'both' then touch(KEYS[1], a, ARGV[5]) end
if ARGV[11] == 'to' or ARGV[11] == 'both' then touch(KEYS[2], b, ARGV[5]) end
idem_store(KEYS[6], ARGV[8], ARGV[4], ARGV[9])
outbox(KEYS[7], 'transfer.completed', ARGV[4], ARGV[5])
return {'ok', ARGV[4]}
