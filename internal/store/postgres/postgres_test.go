package postgres_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/controlmap/controlmap/internal/content"
	"github.com/controlmap/controlmap/internal/store"
	"github.com/controlmap/controlmap/internal/store/postgres"
	"github.com/controlmap/controlmap/internal/store/postgres/pgtest"
	"github.com/controlmap/controlmap/internal/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Cleanup()
	os.Exit(code)
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return nil
}

// openMigrated migrates the database at url with the built-in content and
// returns a ready store on it.
func openMigrated(t testing.TB, url string, cfg postgres.Config) *postgres.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := content.Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg.URL = url
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	s, err := postgres.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := postgres.Migrate(ctx, s.Pool(), c); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitForRevision(ctx, 1); err != nil {
		t.Fatalf("store never loaded the catalog: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openMigrated(t, pgtest.DatabaseURL(t), postgres.Config{})
	})
}
