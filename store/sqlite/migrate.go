package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"os"
	"path/filepath"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// migrationsFS holds the schema migrations, "migrations/NNNN_name.sql".
//
//go:embed migrations/*.sql
var migrationsFS embed.FS

// Migrate creates the database file's directory (0700) if need be and
// applies the embedded migrations not yet recorded in
// store.MigrationsTable, each in its own write transaction. It is
// idempotent, and safe to run from several Stores or processes at once:
// each migration's transaction begins IMMEDIATE, so the check "is this
// version recorded?" and the migration itself happen under the write lock.
func (s *Store) Migrate(ctx context.Context) error {
	migrations, err := store.LoadMigrations(migrationsFS, "migrations")
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if s.path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
			return fmt.Errorf("sqlite: creating the database directory: %w", err)
		}
	}
	createTable := `CREATE TABLE IF NOT EXISTS ` + store.MigrationsTable + ` (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL
	)`
	if _, err := s.w.ExecContext(ctx, createTable); err != nil {
		return fmt.Errorf("sqlite: creating %s: %w", store.MigrationsTable, err)
	}
	for _, m := range migrations {
		if err := s.apply(ctx, m); err != nil {
			return fmt.Errorf("sqlite: migration %04d_%s: %w", m.Version, m.Name, err)
		}
	}
	return nil
}

// apply runs one migration and records it, unless it is already recorded.
func (s *Store) apply(ctx context.Context, m store.Migration) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var applied bool
		err := tx.QueryRowContext(ctx,
			`SELECT EXISTS (SELECT 1 FROM `+store.MigrationsTable+` WHERE version = ?)`,
			m.Version).Scan(&applied)
		if err != nil {
			return err
		}
		if applied {
			return nil
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO `+store.MigrationsTable+` (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, formatTime(now()))
		return err
	})
}
