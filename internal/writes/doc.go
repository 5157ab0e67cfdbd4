// Package writes holds the rules every write obeys, once for every store
// engine and every entry point (the API services and the operator's
// command line): who may change what (ownership and visibility), what may
// change (immutable fields, etags), what a value must look like (text,
// ids, the mapping rules of the catalog), what a delete takes with it, and
// what the audit trail records. Each write runs its rules inside one
// store.Writer transaction, against the rows as they are stored, so a
// replica that is behind never decides a write.
package writes
