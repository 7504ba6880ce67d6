-- The checks of a money-moving request made for a bearer token, in the
-- script that moves the money (transfer_as.lua, hold_as.lua), so that
-- nothing is read before it: who asks (lib.lua's caller), whether their
-- role may, whether the paying account is theirs and whether the
-- receiving one may be paid. The API's permission table gives the roles.

-- listed reports whether word is one of the space-separated list.
local function listed(list, word)
  for w in string.gmatch(list, '%S+') do
    if w == word then return true end
  end
  return false
end

-- staff_record is the audit record (audit.Record's JSON, as lib.lua's
-- audit takes it) of what the caller u did or tried (act: the action and
-- the request id) on target and accounts, with its outcome and code.
local function staff_record(u, act, target, accounts, outcome, code)
  return cjson.encode({actor = u.id, actor_name = u.username, role = u.role, action = act.action, target = target,
    accounts = accounts, request_id = act.request_id, outcome = outcome, code = code})
end

-- audit_staff appends, when the caller is staff, what they did or tried
-- on a customer's money route (act: the action and the request id) to the
-- audit trail (lib.lua's audit): a teller voiding a customer's hold, or
-- refused moving a customer's money. Customers' own requests are not
-- staff actions.
local function audit_staff(u, staff, act, target, accounts, outcome, code, detail)
  if not listed(staff, u.role) then return end
  audit(staff_record(u, act, target, accounts, outcome, code), detail, accounts)
end

-- refuse answers a refusal (code, the API's problem code; reply, when
-- given, is the reply instead) and puts it on the audit trail when the
-- caller u is staff, about target and accounts.
local function refuse(u, staff, act, target, accounts, code, reply)
  audit_staff(u, staff, act, target, accounts, 'refused', code)
  return fail(reply or code)
end

-- allowed_caller returns the caller of token_key when their role is one
-- the route allows, else nil and the refusal: unauthorized, or forbidden
-- (on the audit trail for staff, about target).
local function allowed_caller(token_key, now_ms, allowed, staff, act, target)
  local u = caller(token_key, now_ms)
  if not u then return nil, fail('unauthorized') end
  if not listed(allowed, u.role) then return nil, refuse(u, staff, act, target, {}, 'forbidden') end
  return u, nil
end

-- payer_checks returns the caller, or nil and the refusal: unauthorized,
-- forbidden (role), account_not_found (not there, or another customer's:
-- BOLA, exactly like one that does not exist), not_account_owner (staff
-- see every account but spend only their own), system_account, then,
-- for the receiver, same_account, receiver_not_found, system_account.
-- A staff member refused by role or ownership is on the audit trail.
local function payer_checks(token_key, now_ms, allowed, staff, from_key, to_key, act)
  local u, refused = allowed_caller(token_key, now_ms, allowed, staff, act, '')
  if not u then return nil, refused end
  local a = load_account(from_key)
  if not a or (a.owner ~= u.id and not listed(staff, u.role)) then return nil, fail('account_not_found') end
  if a.owner ~= u.id then return nil, refuse(u, staff, act, a.number, {a.number}, 'not_account_owner') end
  if a.type == 'system' then return nil, fail('system_account') end
  if from_key == to_key then return nil, fail('same_account') end
  local b = load_account(to_key)
  if not b then return nil, fail('receiver_not_found') end
  if b.type == 'system' then return nil, fail('system_account') end
  return u, nil
end

-- scoped is an Idempotency-Key's record, scoped to the caller: prefix,
-- then the caller's id and the key; '' for no key.
local function scoped(prefix, u, key)
  if key == '' then return '' end
  return prefix .. u.id .. ':' .. key
end
