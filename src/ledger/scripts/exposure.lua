-- The exposure helper shared by open.lua and set_overdraft.lua; the
-- ledger loads it after money.lua.

-- owner_exposure reads the owner's account index (key idx; account
-- hashes under prefix) and returns how many of the accounts are open (not
-- closed) and the sum of the overdraft limits of the open ones kept in
-- currency, leaving out the account numbered except ('' for none). A
-- closed account can never send again, so its limit is no exposure.
local function owner_exposure(idx, prefix, currency, except)
  local open, total = 0, 0
  for _, n in ipairs(redis.call('SMEMBERS', idx)) do
    local v = redis.call('HMGET', prefix .. n, 'status', 'currency', 'overdraft')
    if v[1] and v[1] ~= 'closed' then
      open = open + 1
      if n ~= except and v[2] == currency then total = total + tonumber(v[3] or '0') end
    end
  end
  return open, total
end
