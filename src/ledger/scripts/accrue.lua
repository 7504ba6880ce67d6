-- Accrue one day of savings interest on one account, all or nothing:
-- check the day was not accrued yet, read the account's balance at the end
-- of that day from its journal, compute balance × rate / 365 in integer
-- arithmetic with the carried sub-cent remainder, post the whole cents from
-- the interest-expense account and store the new remainder and the day.
-- Re-running a day, or running it on two workers at once, is a no-op.
-- KEYS: 1 interest-expense account, 2 savings account, 3 expense journal,
--       4 savings journal, 5 interest state (hash)
-- ARGV: 1 day ordinal (days since 1970-01-01), 2 end of that day (ms,
--       exclusive), 3 now ms, 4 description, 5 max balance, 6 date
--       (YYYY-MM-DD, for people reading the state)
-- Returns {status, amount, carry, balance}: status 'ok' (posted or
-- nothing due), 'done' (already accrued), 'closed' (no interest).
local day = tonumber(ARGV[1])
local st = redis.call('HMGET', KEYS[5], 'last_day', 'carry')
local carry = tonumber(st[2] or '0')
if st[1] and tonumber(st[1]) >= day then return {'done', '0', fmt(carry), '0'} end

local s = load_account(KEYS[2])
if not s then return fail('account_not_found') end
if s.type ~= 'savings' then return fail('not_savings') end
local function mark()
  redis.call('HSET', KEYS[5], 'last_day', ARGV[1], 'last_date', ARGV[6], 'carry', fmt(carry))
end
if s.status == 'closed' then mark(); return {'closed', '0', fmt(carry), '0'} end

-- The balance at the end of the day: the newest journal entry before it.
local bal = 0
local last = redis.call('XREVRANGE', KEYS[4], fmt(tonumber(ARGV[2]) - 1), '-', 'COUNT', 1)
if #last > 0 then
  local f = last[1][2]
  for i = 1, #f, 2 do if f[i] == 'balance' then bal = tonumber(f[i + 1]) end end
end

-- interest = (bal × rate + carry) / K with K = 365 days × 10,000 bp. bal
-- can reach 1e15 and rate 1e4, beyond the 2^53 that doubles hold exactly,
-- so bal is split into q·K + r first: q·rate and r·rate + carry both stay
-- far below 2^53.
local K = 3650000
local rate = tonumber(s.rate or '0')
local amount = 0
if bal > 0 and rate > 0 then
  local q = math.floor(bal / K)
  local r = bal - q * K
  if r < 0 then q = q - 1; r = r + K elseif r >= K then q = q + 1; r = r - K end
  local x = r * rate + carry
  local extra = math.floor(x / K)
  amount = q * rate + extra
  carry = x - extra * K
end

if amount > 0 then
  local e = load_account(KEYS[1])
  if not e or e.type ~= 'system' then return fail('account_not_found') end
  if e.currency ~= s.currency then return fail('currency_mismatch') end
  if not within_limits(e, s, amount, tonumber(ARGV[5])) then return fail('balance_limit') end
  local a = fmt(amount)
  post(KEYS[1], KEYS[3], e, KEYS[2], KEYS[4], s, a, '-' .. a, '', 'interest', ARGV[4], 'system', tonumber(ARGV[3]))
end
mark()
return {'ok', fmt(amount), fmt(carry), fmt(bal)}
