// Package memory is the in-memory Store: the default engine, zero set-up,
// nothing kept across restarts. It is also the fake every other package tests
// against. Writes are serialized; reads take the published Graph without
// locking.
package memory
