package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/controlmap/controlmap/internal/content"
	"github.com/controlmap/controlmap/internal/store"
	"github.com/controlmap/controlmap/internal/store/postgres"
)

// openPostgres opens the PostgreSQL store. It never waits for the database:
// the store migrates (with cfg.Migrate) and loads the catalog in the
// background once the database answers.
func openPostgres(ctx context.Context, cfg Config, log *slog.Logger) (store.Store, error) {
	if cfg.DatabaseURL == "" {
		return nil, errors.New("--datastore postgres needs --database-url (or CONTROLMAP_DATABASE_URL, DATABASE_URL)")
	}
	pc := postgres.Config{URL: cfg.DatabaseURL, Logger: log, ChangeRetention: cfg.ChangeRetention, PollInterval: cfg.PollInterval,
		StartupGrace: cfg.StartupGrace, TracerProvider: cfg.TracerProvider}
	if cfg.Migrate && cfg.NoContent {
		pc.MigrateSchema = true
	} else if cfg.Migrate {
		c, err := content.Load()
		if err != nil {
			return nil, fmt.Errorf("built-in content: %w", err)
		}
		pc.Migrate = c
	}
	st, err := postgres.Open(ctx, pc)
	if err != nil {
		return nil, err
	}
	log.Info("datastore: postgres; reads are served from memory, writes go to the database", "migrate", cfg.Migrate)
	return st, nil
}
