// Package store defines where the catalog lives: the Store interface, its
// contract, and the sentinel errors every implementation returns.
//
// Reads never reach a Store's backing storage: they are served from the
// immutable catalog.Graph that Snapshot returns. Writes go through the Store,
// which publishes a new Graph once they are committed. Implementations live
// in subpackages (memory/, postgres/) and pass the conformance suite in
// storetest/; this package holds no state of its own.
package store
