// Package storetest is the conformance suite every store.Store must pass:
// the same named cases, a fresh store each, against the memory store and
// PostgreSQL alike. It is imported by tests only.
package storetest
