-- Change a checking account's overdraft limit within the owner's cap: the
-- limits of the owner's other open accounts in the currency plus the new
-- one at most max_overdraft. Lowering a limit is always allowed (it only
-- reduces exposure, even where older accounts are above today's cap); the
-- balance may then be below the new limit, and has_funds refuses further
-- debits until it is back within it.
-- KEYS: 1 account hash, 2 the owner's account index
-- ARGV: 1 the account key prefix, 2 the owner KEYS[2] belongs to,
--       3 the new limit, 4 max total overdraft, 5 now ms,
--       6 audit record ('' for none: lib.lua's audit)
local a = load_account(KEYS[1])
if not a then return fail('account_not_found') end
if a.type == 'system' then return fail('system_account') end
if a.type ~= 'checking' then return fail('not_checking_account') end
if a.status == 'closed' then return fail('account_closed') end
-- The owner index was named from the account read before this script;
-- owners never change, so a mismatch is a caller's mistake.
if a.owner ~= ARGV[2] then return redis.error_reply('owner index does not match the account') end
local limit = tonumber(ARGV[3])
if limit > a.overdraft then
  local _, others = owner_exposure(KEYS[2], ARGV[1], a.currency, a.number)
  if others + limit > tonumber(ARGV[4]) then return fail('overdraft_cap_exceeded') end
end
redis.call('HSET', KEYS[1], 'overdraft', ARGV[3], 'overdraft_changed', ARGV[5])
audit(ARGV[6], {from = fmt(a.overdraft), to = ARGV[3], currency = a.currency})
return {'ok', a.number}
