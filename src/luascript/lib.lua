-- Shared helpers that src/luascript prepends to every script the bank runs.
-- Numbers: amounts and balances arrive as decimal strings and are bounded
-- (|balance| <= max_balance <= 1e15 < 2^53) so Lua doubles hold them
-- exactly; they are written back with string.format('%d'), never tostring,
-- which would switch to exponent notation above 1e14.

local function fmt(n) return string.format('%d', n) end

local function fail(code) return redis.error_reply(code) end

-- idem_check returns (nil) when the key is new, the stored result id when
-- the same request is replayed, or an error reply for a different request.
local function idem_check(key, hash)
  if key == '' then return nil end
  local prev = redis.call('HMGET', key, 'hash', 'result')
  if prev[1] == false then return nil end
  if prev[1] ~= hash then return fail('idempotency_conflict') end
  return {'replay', prev[2]}
end

local function idem_store(key, hash, result, ttl)
  if key == '' then return end
  redis.call('HSET', key, 'hash', hash, 'result', result)
  if tonumber(ttl) > 0 then redis.call('EXPIRE', key, ttl) end
end
