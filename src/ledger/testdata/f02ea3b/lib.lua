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

-- audit appends a staff action to the audit trail in the same atomic step
-- as the action itself, so that nothing staff do can happen unrecorded.
-- rec is the JSON of an audit.Record the caller passed ('' when the
-- request is no staff action: then nothing is written); detail adds what
-- only the script knows (the new status, the transfer id); accounts, when
-- given, replaces the record's account list (a reversal is about both
-- parties of the original). The entry goes to the main stream and, with
-- the same id, to its actor's and each account's stream. KEY_AUDIT* are
-- keyspace's, prepended by luascript.
local function audit(rec, detail, accounts)
  if rec == nil or rec == '' then return nil end
  local r = cjson.decode(rec)
  local d = r.detail
  if type(d) ~= 'table' then d = {} end
  for k, v in pairs(detail or {}) do d[k] = v end
  local accts = accounts or r.accounts
  if type(accts) ~= 'table' then accts = {} end
  local f = {'actor', r.actor or '', 'actor_name', r.actor_name or '', 'role', r.role or '', 'action', r.action or '', 'target', r.target or '',
    'accounts', table.concat(accts, ' '), 'request_id', r.request_id or '', 'outcome', r.outcome or 'ok',
    'code', r.code or '', 'detail', cjson.encode(d)}
  local id = redis.call('XADD', KEY_AUDIT, '*', unpack(f))
  if (r.actor or '') ~= '' then redis.call('XADD', KEY_AUDIT_ACTOR .. r.actor, id, unpack(f)) end
  local seen = {}
  for _, n in ipairs(accts) do
    if n ~= '' and not seen[n] then
      seen[n] = true
      redis.call('XADD', KEY_AUDIT_ACCOUNT .. n, id, unpack(f))
    end
  end
  return id
end

-- caller is the user a bearer token belongs to, {id, username, role,
-- created}, or nil when the token is unknown or expired or its user is
-- gone: auth's rules (src/auth), here so that a script acting for a caller
-- checks them in its own atomic step, without a round trip before it.
-- token_key is the token's hash key; KEY_USER is keyspace's.
local function caller(token_key, now_ms)
  local t = redis.call('HMGET', token_key, 'user', 'expires')
  if not t[1] or tonumber(t[2] or '0') <= tonumber(now_ms) then return nil end
  local u = redis.call('HMGET', KEY_USER .. t[1], 'id', 'username', 'role', 'created')
  if not u[1] then return nil end
  return {id = u[1], username = u[2], role = u[3], created = u[4] or '0'}
end
