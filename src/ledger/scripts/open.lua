-- Open a customer account, within the owner's exposure limits: at most
-- max_accounts open (not closed) accounts, and the overdraft limits of the
-- owner's open accounts in the currency, this one included, at most
-- max_overdraft in total. Counting, checking, numbering and writing are
-- one step, so concurrent opens for one owner cannot all pass the check.
-- The number is allocated only once the checks pass (a refusal leaves no
-- gap in the sequence); its Luhn check digit is computed as
-- bank.CustomerAccountNumber does (a test compares the two).
-- KEYS: 1 the owner's account index, 2 the set of account numbers,
--       3 the account-number sequence
-- ARGV: 1 the account key prefix, 2 owner, 3 name, 4 type, 5 currency,
--       6 overdraft limit, 7 interest rate bps, 8 now ms,
--       9 max open accounts, 10 max total overdraft
local prefix, currency, overdraft = ARGV[1], ARGV[5], tonumber(ARGV[6])

local open, total = owner_exposure(KEYS[1], prefix, currency, '')
if open >= tonumber(ARGV[9]) then return fail('account_limit_reached') end
if overdraft > 0 and total + overdraft > tonumber(ARGV[10]) then return fail('overdraft_cap_exceeded') end

-- luhn_digit is bank.LuhnDigit: the rightmost payload digit is doubled.
local function luhn_digit(payload)
  local sum, double = 0, true
  for i = #payload, 1, -1 do
    local d = tonumber(string.sub(payload, i, i))
    if double then
      d = d * 2
      if d > 9 then d = d - 9 end
    end
    sum = sum + d
    double = not double
  end
  return fmt((10 - sum % 10) % 10)
end

local seq = redis.call('INCR', KEYS[3])
local payload = fmt(100000000 + seq)
local n = payload .. luhn_digit(payload)
local key = prefix .. n
if redis.call('EXISTS', key) == 1 then return redis.error_reply('account number ' .. n .. ' is already in use') end
redis.call('HSET', key, 'number', n, 'owner', ARGV[2], 'name', ARGV[3], 'type', ARGV[4],
  'currency', currency, 'status', 'active', 'balance', '0', 'held', '0',
  'overdraft', ARGV[6], 'rate', ARGV[7], 'created', ARGV[8], 'last_activity', ARGV[8])
redis.call('SADD', KEYS[2], n)
redis.call('SADD', KEYS[1], n)
return {'ok', n}
