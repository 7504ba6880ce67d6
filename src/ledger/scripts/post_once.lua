-- Post a transfer at most once for a business key, and record the outcome
-- either way in the same atomic step: 'executed:<transfer id>' or
-- 'failed:<error code>'. Standing orders use it so that a due date is
-- either paid or recorded as failed, never both, however many workers
-- run it and whenever funds arrive. The transfer rules are transfer.lua's
-- own (the loader wraps that file as the function transfer_script, see luascript.Function), so
-- the two can never disagree.
-- An optional guard makes the posting conditional on the state of the
-- thing that asked for it (a standing order must still be active): the
-- check runs here, in the same atomic step as the posting, because a
-- check made by the caller beforehand can be overtaken by a cancel.
-- KEYS: 1-6 as transfer.lua, 7 outcome record (hash), 8 outbox stream
--       (transfer.lua's KEYS[7]: an executed posting's event goes there),
--       9 guard hash ('' for none)
-- ARGV: 1-12 as transfer.lua, 13 outcome field (the business key),
--       14 guard field, 15 the value the guard field must have
local prev = redis.call('HGET', KEYS[7], ARGV[13])
if prev then return {'done', prev} end
-- A refused guard records nothing: the date was neither paid nor failed.
if KEYS[9] ~= '' and redis.call('HGET', KEYS[9], ARGV[14]) ~= ARGV[15] then
  return {'guarded', ''}
end
local tk, ta = {}, {}
for i = 1, 6 do tk[i] = KEYS[i] end
tk[7] = KEYS[8]
for i = 1, 12 do ta[i] = ARGV[i] end
local r = transfer_script(tk, ta)
if type(r) == 'table' and r.err then
  local code = string.gsub(r.err, '^ERR ', '')
  local outcome = 'failed:' .. code
  redis.call('HSET', KEYS[7], ARGV[13], outcome)
  return {'failed', outcome}
end
local outcome = 'executed:' .. r[2]
redis.call('HSET', KEYS[7], ARGV[13], outcome)
return {'executed', outcome}
