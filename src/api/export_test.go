package api

// Permissions is the permission table, for the tests that try it.
var Permissions = permissions

// AuditActions is the table of audited routes, for the test that every
// staff write is in it.
var AuditActions = auditActions

// TransferIDs is the shape check of transfer ids, for the test that the
// OpenAPI document states the same.
var TransferIDs = transferIDs
