-- Shared helpers that src/luascript prepends to every script the bank runs.
-- Numbers: amounts and balances arrive as decimal strings and are bounded
-- (|balance| <= max_balance <= 1e15 < 2^53) so Lua doubles hold them
-- exactly; they are written back with string.format('%d'), never tostring,
-- which would switch to exponent notation above 1e14.

local function fmt(n) return string.format('%d', n) end

local function fail(code) return redis.error_reply(code) end

-- Idempotency records. ref names a client's key in its scope as
-- keyspace.IdempotencyRecord does, KEY_IDEM .. scope .. ':' .. key ('' for
-- no key); the scope is what precedes the first ':' (a caller's or job's
-- id, or "standing" for standing orders, whose keys go on with the
-- owner's id). Records live in TTL-long windows, one hash per scope and
-- window: KEY_IDEM_WINDOW .. scope .. ':' .. floor(now / ttl), field the
-- client's key, value '<result id> <fingerprint>' (64 bits of the request
-- hash): one key per caller and week instead of one per request. A window
-- expires at the end of the next one (by the caller's clock), and a check
-- reads its own window and the one before, so a record written at any
-- moment of window w is found while the clock is in w or w + 1: at least
-- ttl seconds, gone within 2 ttl. A check also reads the window after its
-- own, for a record written by a replica whose clock runs a little ahead.
-- A ttl of 0 keeps records forever (window 0, no expiry).
local function idem_where(ref, now_ms, ttl)
  local scope, key = string.match(string.sub(ref, #KEY_IDEM + 1), '^([^:]*):(.*)$')
  ttl = tonumber(ttl)
  local b = 0
  if ttl > 0 then b = math.floor(tonumber(now_ms) / 1000 / ttl) end
  return KEY_IDEM_WINDOW .. scope .. ':', key, b, ttl
end

-- fingerprint shortens a request hash to 64 bits, through SHA-1 so that
-- any hash a caller passes (hex or not) spreads over them.
local function fingerprint(hash) return string.sub(redis.sha1hex(hash), 1, 16) end

-- idem_check returns (nil) when the key is new, {'replay', the stored
-- result id} when the same request is replayed, or an error reply for a
-- different request. now_ms is the caller's clock (the ledger's), ttl
-- the idempotency window in seconds.
local function idem_check(ref, hash, now_ms, ttl)
  if ref == '' then return nil end
  local prefix, key, b, t = idem_where(ref, now_ms, ttl)
  local prev = redis.call('HGET', prefix .. fmt(b), key)
  if not prev and t > 0 then prev = redis.call('HGET', prefix .. fmt(b - 1), key) end
  -- The next window too: a record another replica wrote with its clock
  -- a little ahead, across a window's end.
  if not prev and t > 0 then prev = redis.call('HGET', prefix .. fmt(b + 1), key) end
  if prev then
    local result, fp = string.match(prev, '^(%S+) (.*)$')
    if fp ~= fingerprint(hash) then return fail('idempotency_conflict') end
    return {'replay', result}
  end
  -- Transition (remove once the release that brought the buckets has run
  -- for one idempotency TTL, 7 days by default: no legacy record is left
  -- then): releases before it kept one hash per key, {hash, result}, at
  -- ref itself. They are read, never written, so a retry across the
  -- upgrade cannot pay twice.
  local old = redis.call('HMGET', ref, 'hash', 'result')
  if old[1] == false then return nil end
  if old[1] ~= hash then return fail('idempotency_conflict') end
  return {'replay', old[2]}
end

-- idem_store records result for a new request under ref (see idem_check).
local function idem_store(ref, hash, result, now_ms, ttl)
  if ref == '' then return end
  local prefix, key, b, t = idem_where(ref, now_ms, ttl)
  local k = prefix .. fmt(b)
  redis.call('HSET', k, key, result .. ' ' .. fingerprint(hash))
  -- The end of the next window on the caller's clock, as a time to live:
  -- a clock set back (the demo's history) still keeps records a window.
  if t > 0 then redis.call('EXPIRE', k, fmt((b + 2) * t - math.floor(tonumber(now_ms) / 1000))) end
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
