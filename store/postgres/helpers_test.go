package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/morpheus-gateway/caddy-morpheus/store/postgres/pgtest"
)

// allTables lists the six tables of the schema.
const allTables = "users, api_keys, sessions, user_private_keys, user_automation_settings, delegations"

// emptyTables deletes every row of the six tables and restarts their id
// sequences, as TRUNCATE … RESTART IDENTITY CASCADE would. TRUNCATE takes
// 330–420 ms here (it swaps and fsyncs the files of 6 tables and ~25
// indexes), DELETE on the few rows a test case writes about 3 ms: over the
// ~75 cases of the conformance suite that is 30 s against 3 s.
func emptyTables(t testing.TB, s *Store) {
	t.Helper()
	exec(t, s, `
DELETE FROM sessions; DELETE FROM delegations; DELETE FROM user_private_keys;
DELETE FROM user_automation_settings; DELETE FROM api_keys; DELETE FROM users;
SELECT setval(pg_get_serial_sequence(tbl, 'id'), 1, false)
  FROM unnest(ARRAY['users', 'api_keys', 'user_private_keys', 'user_automation_settings', 'delegations']) AS tbl;`)
}

// openStore opens a Store on dsn with the statement mode and closes it when
// the test ends.
func openStore(t testing.TB, dsn, mode string) *Store {
	t.Helper()
	s, err := Open(context.Background(), Config{DSN: dsn, StatementMode: mode})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// newMigratedStore creates a fresh database, migrates it and returns a
// Store on it (default statement mode) and its DSN.
func newMigratedStore(t testing.TB) (*Store, string) {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	s := openStore(t, dsn, "")
	if err := s.Migrate(testCtx(t)); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s, dsn
}

// testCtx returns a context that ends with the test or after a minute.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// exec runs sql (one or several statements) on the store's pool.
func exec(t testing.TB, s *Store, sql string, args ...any) {
	t.Helper()
	if _, err := s.Pool().Exec(testCtx(t), sql, args...); err != nil {
		t.Fatalf("exec %q: %v", sql, err)
	}
}

// queryInt runs a query returning one integer.
func queryInt(t testing.TB, s *Store, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := s.Pool().QueryRow(testCtx(t), sql, args...).Scan(&n); err != nil {
		t.Fatalf("query %q: %v", sql, err)
	}
	return n
}

// queryStrings runs a query returning one text column per row.
func queryStrings(t testing.TB, s *Store, sql string, args ...any) []string {
	t.Helper()
	rows, err := s.Pool().Query(testCtx(t), sql, args...)
	if err != nil {
		t.Fatalf("query %q: %v", sql, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("query %q: %v", sql, err)
	}
	return out
}

// schemaDump describes the schema of the six tables (columns, indexes,
// constraints) as comparable lines, leaving out alembic_version.
func schemaDump(t testing.TB, s *Store) []string {
	t.Helper()
	return queryStrings(t, s, `
SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' null=' || is_nullable
       || ' default=' || COALESCE(column_default, '-')
  FROM information_schema.columns
 WHERE table_schema = current_schema() AND table_name <> 'alembic_version'
UNION ALL
SELECT 'index ' || indexname || ': ' || indexdef
  FROM pg_indexes
 WHERE schemaname = current_schema() AND tablename <> 'alembic_version'
UNION ALL
SELECT 'constraint ' || conrelid::regclass::text || '.' || conname || ': ' || pg_get_constraintdef(oid)
  FROM pg_constraint
 WHERE connamespace = current_schema()::regnamespace AND conrelid <> 0
   AND conrelid::regclass::text <> 'alembic_version'
ORDER BY 1`)
}
