-- A customer's transfer in one round trip: who asks (the bearer token,
-- lib.lua's caller), whether their role may, whether the sending account
-- is theirs, whether the receiver may be paid, then the posting itself
-- (transfer.lua's rules, wrapped as transfer_script by the loader) and
-- the record the answer needs. Nothing is read before this script and
-- nothing after, and a token revoked a moment ago is refused here.
-- KEYS: 1 token hash key, 2 from account, 3 to account, 4 from journal,
--       5 to journal, 6 transfer record, 7 outbox stream
-- ARGV: 1 now ms, 2 the roles the route allows, 3 the staff roles (they
--       see every account, so another's is 403 rather than 404), both
--       space-separated, 4 Idempotency-Key, 5 request hash, 6 idempotency
--       ttl s, 7 amount, 8 currency, 9 transfer id, 10 kind,
--       11 description, 12 touch, 13 max balance, 14 the idempotency
--       record prefix (the caller's id and the key follow), 15 the
--       transfer record prefix
-- Returns: status ('ok' or 'replay'), the caller's id, and the transfer
-- record's fields.
local function listed(list, word)
  for w in string.gmatch(list, '%S+') do
    if w == word then return true end
  end
  return false
end

local u = caller(KEYS[1], ARGV[1])
if not u then return fail('unauthorized') end
if not listed(ARGV[2], u.role) then return fail('forbidden') end
local a = load_account(KEYS[2])
-- Another customer's account is "not found", like one that does not
-- exist (BOLA); staff see it, but spend only their own.
if not a or (a.owner ~= u.id and not listed(ARGV[3], u.role)) then return fail('account_not_found') end
if a.owner ~= u.id then return fail('not_account_owner') end
if a.type == 'system' then return fail('system_account') end
local b = load_account(KEYS[3])
if not b then return fail('receiver_not_found') end
if b.type == 'system' then return fail('system_account') end

local idem = ''
if ARGV[4] ~= '' then idem = ARGV[14] .. u.id .. ':' .. ARGV[4] end
local r = transfer_script({KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], idem, KEYS[7]},
  {ARGV[7], '-' .. ARGV[7], ARGV[8], ARGV[9], ARGV[1], ARGV[10], ARGV[11], ARGV[5], ARGV[6], u.id, ARGV[12], ARGV[13], ''})
if type(r) == 'table' and r.err then return r end
-- A replay answers the first transfer, whose id the idempotency record named.
return {r[1], u.id, redis.call('HGETALL', ARGV[15] .. r[2])}
