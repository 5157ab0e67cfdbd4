package postgres

import (
	"errors"
	"io"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/controlmap/controlmap/internal/store"
)

// A write whose COMMIT may have been carried out is never reported as not
// written: only answers the database gave for a statement mean it rolled
// back.
func TestCommitErrorOutcome(t *testing.T) {
	for _, c := range []struct {
		name    string
		err     error
		unknown bool
	}{
		{"unique violation", &pgconn.PgError{Severity: "ERROR", Code: "23505"}, false},
		{"unique violation, named", writeError(&pgconn.PgError{Severity: "ERROR", Code: "23505"}, []store.Change{{Kind: store.KindFramework}}), false},
		{"foreign key violation, named", writeError(&pgconn.PgError{Severity: "ERROR", Code: "23503"}, []store.Change{{Kind: store.KindAPIKey}}), false},
		{"serialization failure", &pgconn.PgError{Severity: "ERROR", Code: "40001"}, false},
		{"statement timeout", &pgconn.PgError{Severity: "ERROR", Code: "57014"}, false},
		{"administrator shutdown", &pgconn.PgError{Severity: "FATAL", Code: "57P01"}, true},
		{"crash of another backend", &pgconn.PgError{Severity: "FATAL", Code: "57P02"}, true},
		{"connection failure", &pgconn.PgError{Severity: "ERROR", Code: "08006"}, true},
		{"connection reset", &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}, true},
		{"end of stream", io.ErrUnexpectedEOF, true},
	} {
		got := commitError(c.err)
		if errors.Is(got, store.ErrOutcomeUnknown) != c.unknown {
			t.Errorf("%s: %v, want unknown=%v", c.name, got, c.unknown)
		}
		if retryable(got) && c.unknown {
			t.Errorf("%s: an unknown outcome is retried", c.name)
		}
		if errors.Is(classify(got), store.ErrUnavailable) && c.unknown {
			t.Errorf("%s: an unknown outcome is reported as not written", c.name)
		}
	}
}
