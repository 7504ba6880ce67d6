-- Read-only: the per-currency sum of every balance, read in one atomic
-- step so that postings running meanwhile cannot make a balanced ledger
-- look unbalanced. Each balance (|b| <= 1e15) is split into a high and a
-- low part that are summed separately: a plain sum over many accounts
-- could pass 2^53 and stop being exact, the two partial sums cannot
-- (1e7 * accounts and 1e8 * accounts stay far below it).
-- It also compares each account's held amount with the sum of its
-- authorised holds (the expiry index holds exactly the authorised ones).
-- KEYS: 1 the set of account numbers, 2 the hold expiry index
-- ARGV: 1 the account key prefix, 2 the hold key prefix
local holds = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local h = redis.call('HMGET', ARGV[2] .. id, 'account', 'amount')
  if h[1] then holds[h[1]] = (holds[h[1]] or 0) + tonumber(h[2] or '0') end
end
local held_bad = {}
local nums = redis.call('SMEMBERS', KEYS[1])
local hi, lo, count = {}, {}, {}
for _, n in ipairs(nums) do
  local v = redis.call('HMGET', ARGV[1] .. n, 'balance', 'currency', 'held')
  local held = tonumber(v[3] or '0')
  if held ~= (holds[n] or 0) then
    table.insert(held_bad, n)
    table.insert(held_bad, fmt(held))
    table.insert(held_bad, fmt(holds[n] or 0))
  end
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
return {out, held_bad}
