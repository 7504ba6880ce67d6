-- Post a transfer at most once for a business key, and record the outcome
-- either way in the same atomic step: 'executed:<transfer id>' or
-- 'failed:<error code>'. Standing orders use it so that a due date is
-- either paid or recorded as failed, never both, however many workers
-- run it and whenever funds arrive. The transfer rules are transfer.lua's
-- own (the loader wraps that file as the function transfer_script, see luascript.Function), so
-- the two can never disagree; the transfer id is the one the posting
-- gets (money.lua's post), recorded in the outcome.
-- An optional guard makes the posting conditional on the state of the
-- thing that asked for it (a standing order must still be active): the
-- check runs here, in the same atomic step as the posting, because a
-- check made by the caller beforehand can be overtaken by a cancel.
-- KEYS: 1-4 as transfer.lua, 5 outcome record (hash), 6 outbox stream
--       (transfer.lua's KEYS[6]: an executed posting's event goes there),
--       7 guard hash ('' for none)
-- ARGV: 1-11 as transfer.lua, 12 outcome field (the business key),
--       13 guard field, 14 the value the guard field must have
local prev = redis.call('HGET', KEYS[5], ARGV[12])
if prev then return {'done', prev} end
-- A refused guard records nothing: the date was neither paid nor failed.
if KEYS[7] ~= '' and redis.call('HGET', KEYS[7], ARGV[13]) ~= ARGV[14] then
  return {'guarded', ''}
end
local tk, ta = {KEYS[1], KEYS[2], KEYS[3], KEYS[4], '', KEYS[6]}, {}
for i = 1, 11 do ta[i] = ARGV[i] end
local r = transfer_script(tk, ta)
if type(r) == 'table' and r.err then
  local code = string.gsub(r.err, '^ERR ', '')
  local outcome = 'failed:' .. code
  redis.call('HSET', KEYS[5], ARGV[12], outcome)
  return {'failed', outcome}
end
local outcome = 'executed:' .. r[2]
redis.call('HSET', KEYS[5], ARGV[12], outcome)
return {'executed', outcome}
