-- The money helpers shared by the ledger's scripts; the ledger loads
-- them after luascript's lib.lua and before each script.

-- journal_id returns an explicit stream id "<ms>-<seq>" after both the
-- caller's clock and the stream's last entry, so ids stay monotonic per
-- account even when API replicas' clocks disagree slightly. It is chosen
-- here, not by XADD's "*", because the sender's id names the transfer and
-- goes into the entry itself (post).
local function journal_id(stream, now_ms)
  local last = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
  local ms, seq = now_ms, 0
  if #last > 0 then
    local lms, lseq = string.match(last[1][1], '^(%d+)-(%d+)$')
    lms, lseq = tonumber(lms), tonumber(lseq)
    if lms > ms then ms = lms end
    if lms == ms then seq = lseq + 1 end
  end
  return fmt(ms) .. '-' .. fmt(seq)
end

-- load_account returns the account hash as a table, or nil.
local function load_account(key)
  local raw = redis.call('HGETALL', key)
  if #raw == 0 then return nil end
  local a = {}
  for i = 1, #raw, 2 do a[raw[i]] = raw[i + 1] end
  a.balance = tonumber(a.balance)
  a.held = tonumber(a.held or '0')
  a.overdraft = tonumber(a.overdraft or '0')
  return a
end

-- can_move checks the status rules for moving money from a to b: a closed
-- or frozen account cannot send (frozen may send only when
-- frozen_may_send: a correction the bank posts), a closed one cannot
-- receive. It returns the refusal's code, or nil.
local function can_move(a, b, frozen_may_send)
  if a.status == 'closed' then return 'account_closed' end
  if a.status == 'frozen' and not frozen_may_send then return 'account_frozen' end
  if b.status == 'closed' then return 'account_closed' end
  return nil
end

-- check_pair checks that a and b (either may be nil) exist, differ and
-- are kept in currency.
local function check_pair(a, b, currency)
  if not a or not b then return 'account_not_found' end
  if a.number == b.number then return 'same_account' end
  if a.currency ~= currency or b.currency ~= currency then return 'currency_mismatch' end
  return nil
end

-- check_parties checks a new movement from a to b in currency:
-- check_pair, and can_move.
local function check_parties(a, b, currency)
  return check_pair(a, b, currency) or can_move(a, b)
end

-- check_correction checks a correction the bank posts from a to b (an
-- approved reversal): as check_parties, but a frozen a may be debited:
-- freezing stops its owner, not the bank taking back, under four eyes,
-- money that should never have reached it.
local function check_correction(a, b, currency)
  return check_pair(a, b, currency) or can_move(a, b, true)
end

-- has_funds checks that debiting amount leaves a's available balance
-- (balance - held) at or above -overdraft; released is a reservation of
-- a's own that the debit consumes (a captured hold), 0 otherwise. System
-- accounts have no limit.
local function has_funds(a, amount, released)
  return a.type == 'system' or a.balance - (a.held - released) - amount >= -a.overdraft
end

-- transfer_id returns the id the next posting from account a (journal
-- ja) gets, 'tr_<sender>_<stream id>', and that stream id: a script that
-- must name the posting before it moves money (in the audit trail) asks
-- here first and passes the stream id to post.
local function transfer_id(ja, a, now_ms)
  local sid = journal_id(ja, now_ms)
  return 'tr_' .. a.number .. '_' .. sid, sid
end

-- post moves amount from account a (key ka, journal ja) to b (kb, jb),
-- after the caller has checked every rule, and returns the posting's
-- transfer id. The journal entries are the posting's record: one to each
-- side, with the same fields on every entry (a stream stores the field
-- names once per node), and the id names the sender's entry (transfer_id),
-- so a transfer needs no key of its own (load_transfer reads it back).
-- What one entry says is not repeated in the other: the sender's leaves
-- 'transfer' empty (its id is 'tr_<account>_<entry id>', which the
-- journal's readers derive), the receiver's leaves 'by' (who initiated
-- it) empty. hold is the hold a capture settles, or ''; sid the sender's
-- stream id from transfer_id, or nil.
local function post(ka, ja, a, kb, jb, b, amount_s, neg_s, hold, kind, desc, by, now_ms, sid)
  local tid
  if sid then tid = 'tr_' .. a.number .. '_' .. sid else tid, sid = transfer_id(ja, a, now_ms) end
  local ba = redis.call('HINCRBY', ka, 'balance', neg_s)
  local bb = redis.call('HINCRBY', kb, 'balance', amount_s)
  redis.call('XADD', ja, sid, 'amount', neg_s, 'balance', fmt(ba),
    'counterparty', b.number, 'transfer', '', 'hold', hold, 'kind', kind, 'desc', desc, 'by', by)
  redis.call('XADD', jb, journal_id(jb, now_ms), 'amount', amount_s, 'balance', fmt(bb),
    'counterparty', a.number, 'transfer', tid, 'hold', hold, 'kind', kind, 'desc', desc, 'by', '')
  return tid
end

-- transfer_parts splits a transfer id of the journal's form into the
-- sender's account number and the stream id of its entry; nil for a
-- legacy id (tr_<24 hex>, in_..., so_...), whose record is a hash.
local function transfer_parts(id)
  local n, ms, seq = string.match(id, '^tr_(%d+)_(%d+)%-(%d+)$')
  -- Canonical numbers only: Redis reads 017-00 as 17-0, and a second name
  -- for one posting would keep a second set of extras (what was reversed).
  local function canonical(d) return d == '0' or string.sub(d, 1, 1) ~= '0' end
  if not n or not canonical(ms) or not canonical(seq) then return nil end
  return n, ms .. '-' .. seq
end

-- load_transfer returns a posting's record (field, value, ...: what
-- transferFrom decodes), or {} when there is none. Every script that
-- answers with a transfer builds its reply with it, so how a transfer is
-- stored is decided in one place. A posting of the
-- journal's form is its sender's entry, which must be of that form (an
-- empty 'transfer': a legacy entry names its posting) and debit the
-- sender (so no id can make a receiver's entry pass for a record), with
-- the account's currency and the extras hash of its mutable or rare
-- parts (reversals); a legacy posting is its hash. KEY_* are the
-- ledger's keyspace families, prepended by the loader.
local function load_transfer(id)
  local n, sid = transfer_parts(id)
  if not n then return redis.call('HGETALL', KEY_TRANSFER .. id) end
  local e = redis.call('XRANGE', KEY_JOURNAL .. n, sid, sid)
  if #e == 0 then return {} end
  local f = {}
  local raw = e[1][2]
  for i = 1, #raw, 2 do f[raw[i]] = raw[i + 1] end
  if f.transfer ~= '' or string.sub(f.amount or '', 1, 1) ~= '-' then return {} end
  local out = {'id', id, 'kind', f.kind, 'from', n, 'to', f.counterparty, 'amount', string.sub(f.amount, 2),
    'currency', redis.call('HGET', KEY_ACCOUNT .. n, 'currency') or '', 'desc', f.desc, 'by', f.by or '',
    'status', 'completed', 'created', string.match(sid, '^(%d+)'), 'hold', f.hold or ''}
  local x = redis.call('HGETALL', KEY_TRANSFER .. id)
  for i = 1, #x do out[#out + 1] = x[i] end
  return out
end

-- transfer_fields is load_transfer's record as a table, or nil.
local function transfer_fields(id)
  local raw = load_transfer(id)
  if #raw == 0 then return nil end
  local t = {}
  for i = 1, #raw, 2 do t[raw[i]] = raw[i + 1] end
  return t
end

-- transfer_extra records the mutable or rare parts of a posting (a
-- reversal's links, the running reversed total): fields of the hash
-- KEY_TRANSFER .. id, which exists only when they do (for a legacy
-- posting, the hash is its whole record).
local function transfer_extra(id, ...)
  redis.call('HSET', KEY_TRANSFER .. id, ...)
end

-- within_limits checks both balances stay inside ±max after the posting.
local function within_limits(a, b, amount, max)
  if a.balance - amount < -max or b.balance + amount > max then return false end
  return true
end

-- outbox appends an event about a new posting to the outbox stream (a
-- relay moves it to the webhooks); key '' means the caller wants none.
-- id is the event's business key (transfer or hold id), at the posting's
-- time in ms. Replays return before this, so they add nothing.
local function outbox(key, typ, id, at_ms)
  if key == nil or key == '' then return end
  redis.call('XADD', key, '*', 'type', typ, 'id', id, 'at', at_ms)
end

-- touch records customer activity on an account and revives a dormant one.
local function touch(key, a, now_ms)
  redis.call('HSET', key, 'last_activity', now_ms)
  if a.status == 'dormant' then redis.call('HSET', key, 'status', 'active') end
end
