package api

// Permissions is the permission table, for the tests that try it.
var Permissions = permissions
