// Package auth decides who may call what: it classifies every RPC (read,
// write, manage, operate), authenticates bearer tokens (the operator's admin
// token, or a tenant's API key from the store's directory), checks the
// key's scopes, and records the caller in the request context for the
// handlers and the audit trail. Which tenant's data a caller may touch is
// the service's to check, with Principal.
//
// It never writes to the store and never logs secrets.
package auth
