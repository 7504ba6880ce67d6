-- One balanced posting between two accounts, all or nothing.
-- KEYS: 1 from account, 2 to account, 3 from journal, 4 to journal,
--       5 idempotency record (or '' for none: lib.lua's idem_check),
--       6 outbox stream (or '' for none): a new posting appends its
--         transfer.completed event there in this same atomic step, so the
--         event cannot be lost between the posting and its announcement
-- ARGV: 1 amount, 2 -amount, 3 currency, 4 now ms, 5 kind, 6 description,
--       7 request hash, 8 idempotency ttl s, 9 initiated by, 10 touch
--       ('from', 'to', 'both' or ''), 11 max balance, 12 audit record ('' or
--       absent when no staff action: lib.lua's audit)
-- Returns {status ('ok' or 'replay'), transfer id}: the id is the
-- posting's (money.lua's post names it), or the first one's on a replay.
local now = tonumber(ARGV[4])
local replay = idem_check(KEYS[5], ARGV[7], now, ARGV[8])
if replay then return replay end

local a = load_account(KEYS[1])
local b = load_account(KEYS[2])
local why = check_parties(a, b, ARGV[3])
if why then return fail(why) end
local amount = tonumber(ARGV[1])
if not has_funds(a, amount, 0) then return fail('insufficient_funds') end
if not within_limits(a, b, amount, tonumber(ARGV[11])) then return fail('balance_limit') end

-- The entry first: a trail that cannot be written stops the action
-- before it changes anything.
local tid, sid = transfer_id(KEYS[3], a, now)
audit(ARGV[12], {transfer = tid, amount = ARGV[1], currency = ARGV[3]})
post(KEYS[1], KEYS[3], a, KEYS[2], KEYS[4], b, ARGV[1], ARGV[2], '', ARGV[5], ARGV[6], ARGV[9], now, sid)
if ARGV[10] == 'from' or ARGV[10] == 'both' then touch(KEYS[1], a, ARGV[4]) end
if ARGV[10] == 'to' or ARGV[10] == 'both' then touch(KEYS[2], b, ARGV[4]) end
idem_store(KEYS[5], ARGV[7], tid, now, ARGV[8])
outbox(KEYS[6], 'transfer.completed', tid, ARGV[4])
return {'ok', tid}
