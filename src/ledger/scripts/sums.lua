-- Read-only: the per-currency sum of every balance, read in one atomic
-- step so that postings running meanwhile cannot make a balanced ledger
-- look unbalanced. Each balance (|b| <= 1e15) is split into a high and a
-- low part that are summed separately: a plain sum over many accounts
-- could pass 2^53 and stop being exact, the two partial sums cannot
-- (1e7 * accounts and 1e8 * accounts stay far below it).
-- KEYS: 1 the set of account numbers
-- ARGV: 1 the account key prefix
local nums = redis.call('SMEMBERS', KEYS[1])
local hi, lo, count = {}, {}, {}
for _, n in ipairs(nums) do
  local v = redis.call('HMGET', ARGV[1] .. n, 'balance', 'currency')
  local c = v[2] or '?'
  local b = tonumber(v[1] or '0')
  local h = (b >= 0) and math.floor(b / 1e8) or -math.floor(-b / 1e8)
  hi[c] = (hi[c] or 0) + h
  lo[c] = (lo[c] or 0) + (b - h * 1e8)
  count[c] = (count[c] or 0) + 1
end
local out = {}
for c, h in pairs(hi) do
  table.insert(out, c)
  table.insert(out, fmt(h))
  table.insert(out, fmt(lo[c]))
  table.insert(out, fmt(count[c]))
end
return out
