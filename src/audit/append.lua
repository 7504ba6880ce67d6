-- Append one entry (an audit.Record as JSON) to the audit trail: for what
-- writes nothing else, such as a refusal. Returns the entry's id.
-- ARGV: 1 the record
return audit(ARGV[1])
