-- The money helpers shared by the ledger's scripts; the ledger loads
-- them after luascript's lib.lua and before each script.

-- journal_id returns an explicit stream id "<ms>-*" at or after both the
-- caller's clock and the stream's last entry, so ids stay monotonic per
-- account even when API replicas' clocks disagree slightly.
local function journal_id(stream, now_ms)
  local last = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
  local ms = now_ms
  if #last > 0 then
    local lms = tonumber(string.match(last[1][1], '^(%d+)'))
    if lms > ms then ms = lms end
  end
  return fmt(ms) .. '-*'
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

-- post moves amount from account a (key ka, journal ja) to b (kb, jb),
-- after the caller has checked every rule. It appends one journal entry to
-- each side and returns nothing.
local function post(ka, ja, a, kb, jb, b, amount_s, neg_s, tid, hold, kind, desc, now_ms)
  local ba = redis.call('HINCRBY', ka, 'balance', neg_s)
  local bb = redis.call('HINCRBY', kb, 'balance', amount_s)
  redis.call('XADD', ja, journal_id(ja, now_ms), 'amount', neg_s, 'balance', fmt(ba),
    'counterparty', b.number, 'transfer', tid, 'hold', hold, 'kind', kind, 'desc', desc)
  redis.call('XADD', jb, journal_id(jb, now_ms), 'amount', amount_s, 'balance', fmt(bb),
    'counterparty', a.number, 'transfer', tid, 'hold', hold, 'kind', kind, 'desc', desc)
end

-- record_transfer writes the record of a posting from a to b, the hash
-- that getTransfer reads; hold is the hold a capture settles, or ''.
local function record_transfer(key, id, kind, a, b, amount_s, desc, by, created, hold)
  redis.call('HSET', key, 'id', id, 'kind', kind, 'from', a.number, 'to', b.number, 'amount', amount_s,
    'currency', a.currency, 'desc', desc, 'by', by, 'status', 'completed', 'created', created)
  if hold ~= '' then redis.call('HSET', key, 'hold', hold) end
end

-- transfer_reply is a posting's record as a script returns it to the
-- ledger (field, value, ...: transferFrom decodes it); prefix is
-- keyspace's transfer record family. Every script that answers with a
-- transfer builds its reply here, so how a transfer is stored is decided
-- in one place.
local function transfer_reply(prefix, id)
  return redis.call('HGETALL', prefix .. id)
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
