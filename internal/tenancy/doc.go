// Package tenancy holds the records of who may do what: tenants, their API
// keys (stored only as hashes), and the audit events every change leaves,
// plus the Directory a store publishes so that checking a key never touches
// the database. It does no I/O.
package tenancy
