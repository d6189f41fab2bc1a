// Package sqlite is the embedded store.Store backend: one SQLite database
// file, driven by the pure-Go modernc.org/sqlite driver (no cgo).
//
// SQLite admits one writer at a time. The Store therefore keeps two
// connection pools on the same file: a writer pool of exactly one
// connection, whose transactions begin IMMEDIATE, through which every write
// goes; and a reader pool of several query-only connections for plain
// reads. Writers of one process queue for the writer connection in Go
// instead of colliding inside SQLite, so a unique index settles a race
// (one success, typed errors for the rest) rather than failing with
// SQLITE_BUSY; writers of other processes wait on busy_timeout. The
// database runs in WAL mode, so readers never block the writer and see
// every committed write.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// busyTimeoutMillis is how long a connection waits for another process's
// lock before giving up with SQLITE_BUSY.
const busyTimeoutMillis = 5000

// Store is a store.Store (and store.Migrator) on one SQLite database file.
// It is safe for concurrent use.
type Store struct {
	path string
	// w is the writer pool: one connection, transactions BEGIN IMMEDIATE.
	// Every statement that writes goes through it.
	w *sql.DB
	// r is the reader pool: query-only connections for plain reads. For an
	// in-memory database it is w itself.
	r *sql.DB
}

// Open returns a Store on the database file at path. It is lazy: it checks
// the path and prepares the connection pools but touches neither the file
// nor its directory; the first query (or Migrate, which also creates the
// parent directory) opens the file, creating it if need be.
//
// path is a file system path. ":memory:" gives a private in-memory
// database (one connection, so readers and the writer share it), which is
// lost on Close.
func Open(path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	if strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: database path %q: want a plain file path (no URI, no '?' or '#')", path)
	}
	if path == ":memory:" {
		db, err := openDB(dsn(path, true, false))
		if err != nil {
			return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
		}
		// One connection: every connection to ":memory:" is its own
		// database, and it must outlive idle periods.
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
		return &Store{path: path, w: db, r: db}, nil
	}

	w, err := openDB(dsn(path, true, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	r, err := openDB(dsn(path, false, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	n := max(4, runtime.NumCPU())
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)

	return &Store{path: path, w: w, r: r}, nil
}

// openDB returns a lazy pool on dsn: modernc.org/sqlite's "sqlite" driver
// behind a retryConnector. Like sql.Open, it opens no connection.
func openDB(dsn string) (*sql.DB, error) {
	c, err := newRetryConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(c), nil
}

// dsn builds the modernc.org/sqlite data source name for path. Every
// connection gets the same pragmas; the writer's transactions begin
// IMMEDIATE (taking the write lock up front, so a transaction never fails
// half-way on upgrading a read lock), and readers are query-only.
func dsn(path string, writer, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	}
	if writer {
		q.Set("_txlock", "immediate")
	}
	return path + "?" + q.Encode()
}

// Path returns the database file's path as given to Open.
func (s *Store) Path() string { return s.path }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close releases the store's connections.
func (s *Store) Close() error {
	if s.r == s.w {
		return s.w.Close()
	}
	return errors.Join(s.r.Close(), s.w.Close())
}

// inTx runs fn in a write transaction on the writer connection (BEGIN
// IMMEDIATE), committing if fn returns nil and rolling back otherwise.
// fn must use only tx: the writer pool has one connection, held by tx.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Interface guards.
var (
	_ store.Store    = (*Store)(nil)
	_ store.Migrator = (*Store)(nil)
)
