// Package pgtest gives tests a PostgreSQL to talk to: the server named by
// CONTROLMAP_TEST_DATABASE_URL, or else a throwaway cluster started from the
// local PostgreSQL binaries on a free loopback port in a temporary directory
// and removed afterwards. Without either, tests skip with the reason, except
// under CI=true, where that is a failure.
//
// It is for tests only: it starts and stops processes and creates databases.
package pgtest
