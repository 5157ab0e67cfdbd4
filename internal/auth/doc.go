// Package auth decides who may call what: it classifies every RPC as a read
// or a write, authenticates the bearer token of writes against the admin
// token, and records the caller in the request context.
//
// It only inspects gRPC metadata; it never reads the store and never logs
// secrets.
package auth
