-- Change an account's status: freeze, unfreeze, close, dormant, activate.
-- KEYS: 1 account
-- ARGV: 1 action, 2 now ms, 3 (dormant only) inactivity cutoff ms,
--       4 audit record ('' for none: lib.lua's audit)
local a = load_account(KEYS[1])
if not a then return fail('account_not_found') end
if a.type == 'system' then return fail('system_account') end
local action, s = ARGV[1], a.status
local to
if action == 'freeze' then
  if s == 'active' or s == 'dormant' then to = 'frozen' end
elseif action == 'unfreeze' then
  if s == 'frozen' then to = 'active' end
elseif action == 'close' then
  if s ~= 'closed' then
    if a.balance ~= 0 or a.held ~= 0 then return fail('account_not_empty') end
    to = 'closed'
  end
elseif action == 'dormant' then
  -- The sweeper only demotes active accounts; 'noop' keeps it idempotent.
  if s ~= 'active' then return {'noop', s} end
  -- Re-checked here so that activity racing the sweep keeps the account active.
  if tonumber(a.last_activity or '0') >= tonumber(ARGV[3]) then return {'noop', s} end
  to = 'dormant'
end
if not to then return fail('invalid_status_transition') end
redis.call('HSET', KEYS[1], 'status', to, 'status_changed', ARGV[2])
audit(ARGV[4], {from = s, to = to})
return {'ok', to}
