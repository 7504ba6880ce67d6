-- Postings' records, by id: money.lua's load_transfer (the sender's
-- journal entry and extras, or a legacy record's hash) for each, in one
-- round trip whatever the ids' forms.
-- ARGV: the transfer ids
-- Returns one record (its fields; none when there is no such posting)
-- per id, in order.
local out = {}
for i = 1, #ARGV do out[i] = load_transfer(ARGV[i]) end
return out
