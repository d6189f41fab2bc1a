package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// wrapErr turns a database error into the store's typed errors and adds
// what was being done. sql.ErrNoRows becomes store.ErrNotFound; a unique
// constraint failure becomes store.ErrDuplicateEmail (users.email),
// store.ErrActiveSessionExists (sessions_active_api_key_unique) or
// store.ErrConflict; a foreign key failure (the user or API key the row
// refers to does not exist) becomes store.ErrNotFound. The driver's error
// stays in the chain for errors.As. nil stays nil.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: %s: %w", op, store.ErrNotFound)
	}
	if kind := classify(err); kind != nil {
		return fmt.Errorf("sqlite: %s: %w (%w)", op, kind, err)
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// classify returns the store error a constraint failure stands for, or nil.
func classify(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return nil
	}
	code, msg := se.Code(), se.Error()
	switch {
	case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE,
		code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY,
		code&0xff == sqlite3.SQLITE_CONSTRAINT && strings.Contains(msg, "UNIQUE constraint failed"):
		// SQLite names the index by its columns: "UNIQUE constraint
		// failed: users.email".
		switch {
		case strings.Contains(msg, "users.email"):
			return store.ErrDuplicateEmail
		case strings.Contains(msg, "sessions.api_key_id, sessions.is_active"),
			strings.Contains(msg, "sessions_active_api_key_unique"):
			return store.ErrActiveSessionExists
		}
		return store.ErrConflict
	case code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY,
		code&0xff == sqlite3.SQLITE_CONSTRAINT && strings.Contains(msg, "FOREIGN KEY constraint failed"):
		return store.ErrNotFound
	}
	return nil
}

// notFound returns the wrapped store.ErrNotFound for op.
func notFound(op string) error {
	return fmt.Errorf("sqlite: %s: %w", op, store.ErrNotFound)
}

// mustAffect returns notFound(op) unless res reports an affected row.
func mustAffect(op string, res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return wrapErr(op, err)
	}
	if n == 0 {
		return notFound(op)
	}
	return nil
}
