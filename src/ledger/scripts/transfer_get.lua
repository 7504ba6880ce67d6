-- One posting's record, by its id: money.lua's transfer_reply (its
-- sender's journal entry and extras, or a legacy record's hash), in one
-- round trip whatever the id's form.
-- ARGV: 1 transfer id
-- Returns the record's fields (none when there is no such posting).
return transfer_reply(ARGV[1])
