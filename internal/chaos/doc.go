// Package chaos checks controlmap's promises under faults: two replicas on
// one PostgreSQL serve a pool of writers (creates, updates and deletes with
// etags) and of readers (asking for min_revision) while a scheduler kills
// and restarts the database, cuts a replica's LISTEN connection and
// restarts replicas at random moments.
//
// Afterwards every write's outcome is settled (acknowledged, refused by an
// answer of the service, or unknown and then looked up by its request id
// in the audit trail) and checked against the database, the audit trail and
// both replicas' answers. The package holds only that test; a seed makes
// the fault schedule repeatable (not the interleaving of requests):
//
//	CONTROLMAP_CHAOS_SEED=42 CONTROLMAP_CHAOS_DURATION=2m go test ./internal/chaos -v
package chaos
