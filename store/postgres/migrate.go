package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"

	"github.com/jackc/pgx/v5"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// ReferenceAlembicHead is the alembic revision of the reference gateway's
// schema that Migrate can adopt.
const ReferenceAlembicHead = "5f7a3e1b8d42"

// migrationLockKey is the key of the session-level advisory lock that
// serialises Migrate across processes: the FNV-1a hash of the migrations
// table's name.
func migrationLockKey() int64 {
	h := fnv.New64a()
	h.Write([]byte(store.MigrationsTable))
	return int64(h.Sum64())
}

// Migrate applies the embedded migrations that the database has not
// recorded yet, each in its own transaction, and records them in
// store.MigrationsTable. It holds a session-level advisory lock on one
// connection throughout, so instances starting together apply each
// migration once; the others wait and then find nothing to do. It is
// idempotent.
//
// A database written by the reference gateway is adopted in place: it must
// be at alembic head 5f7a3e1b8d42 (ReferenceAlembicHead), otherwise Migrate
// refuses to touch it. The alembic_version table is left in place: it is
// harmless, and it still tells the reference's tooling which revision the
// data came from.
//
// The advisory lock needs a real session: behind PgBouncer in transaction
// pooling mode, run Migrate with a DSN that reaches PostgreSQL directly.
func (s *Store) Migrate(ctx context.Context) error {
	migrations, err := store.LoadMigrations(migrationsFS, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}

	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: acquiring connection: %w", err)
	}
	defer conn.Release()

	key := migrationLockKey()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return fmt.Errorf("postgres: migrate: taking advisory lock: %w", err)
	}
	defer func() {
		// Unlock even when ctx is done. If that fails the lock may still be
		// held, so the connection is closed (which releases it) instead of
		// going back to the pool.
		uctx := context.WithoutCancel(ctx)
		if _, err := conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", key); err != nil {
			_ = conn.Conn().Close(uctx)
		}
	}()

	if err := checkAlembicVersion(ctx, conn.Conn()); err != nil {
		return err
	}

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+store.MigrationsTable+` (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`); err != nil {
		return fmt.Errorf("postgres: migrate: creating %s: %w", store.MigrationsTable, err)
	}

	rows, err := conn.Query(ctx, "SELECT version FROM "+store.MigrationsTable)
	if err != nil {
		return fmt.Errorf("postgres: migrate: reading applied versions: %w", err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return fmt.Errorf("postgres: migrate: reading applied versions: %w", err)
	}
	done := make(map[int]bool, len(applied))
	for _, v := range applied {
		done[int(v)] = true
	}

	// Versions recorded by a newer binary are tolerated (rolling deploys):
	// migrations only ever add to the schema.
	for _, m := range migrations {
		if done[m.Version] {
			continue
		}
		if err := applyMigration(ctx, conn.Conn(), m); err != nil {
			return err
		}
	}
	return nil
}

// applyMigration runs one migration and records it, in one transaction.
func applyMigration(ctx context.Context, conn *pgx.Conn, m store.Migration) error {
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// Without arguments pgx sends the script with the simple protocol,
		// which runs several statements (and DO blocks) in one call.
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return err
		}
		_, err := tx.Exec(ctx,
			"INSERT INTO "+store.MigrationsTable+" (version, name) VALUES ($1, $2)",
			m.Version, m.Name)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: migrate: applying %04d_%s: %w", m.Version, m.Name, err)
	}
	return nil
}

// checkAlembicVersion refuses a database written by the reference gateway
// at any alembic revision other than ReferenceAlembicHead.
func checkAlembicVersion(ctx context.Context, conn *pgx.Conn) error {
	var exists bool
	if err := conn.QueryRow(ctx,
		"SELECT to_regclass('alembic_version') IS NOT NULL").Scan(&exists); err != nil {
		return fmt.Errorf("postgres: migrate: looking for alembic_version: %w", err)
	}
	if !exists {
		return nil
	}
	rows, err := conn.Query(ctx, "SELECT version_num::text FROM alembic_version ORDER BY 1")
	if err != nil {
		return fmt.Errorf("postgres: migrate: reading alembic_version: %w", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("postgres: migrate: reading alembic_version: %w", err)
	}
	if len(versions) == 1 && versions[0] == ReferenceAlembicHead {
		return nil
	}
	found := "no revision"
	if len(versions) > 0 {
		found = fmt.Sprintf("%q", versions)
	}
	return errors.New("postgres: migrate: this database was written by the reference gateway at alembic revision " +
		found + ", but only revision " + ReferenceAlembicHead + " can be adopted: upgrade it with the reference's " +
		"`alembic upgrade " + ReferenceAlembicHead + "` first, then start the gateway again")
}
