// Package satisfaction answers the questions users come for, as pure
// functions over an immutable catalog.Graph: what a control satisfies
// (Satisfies), how far a set of controls covers a framework (Coverage), and
// every sound path between two controls (Explain).
//
// Inferred results come only from catalog.Compose, the composition table in
// the README's Semantics section; paths change framework at every step and never revisit a
// control. The package does no I/O and keeps no state between calls except
// pooled scratch space.
package satisfaction
