package postgres

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// PostgreSQL error codes and constraint names that map to store errors.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"

	constraintUsersEmail          = "ix_users_email"
	constraintActiveSessionPerKey = "sessions_active_api_key_unique"
)

// wrapErr adds op as context to err and maps database errors to the typed
// errors of package store:
//
//   - pgx.ErrNoRows → store.ErrNotFound
//   - unique violation on ix_users_email → store.ErrDuplicateEmail
//   - unique violation on sessions_active_api_key_unique →
//     store.ErrActiveSessionExists
//   - any other unique violation → store.ErrConflict
//   - foreign key violation → store.ErrNotFound (the row referred to, such
//     as the user of a new API key, does not exist; with the ON DELETE
//     CASCADE keys of migration 0004 deletes cannot violate one)
//
// The original error stays in the chain, so errors.As finds the
// *pgconn.PgError too. It returns nil for a nil err.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w", op, store.ErrNotFound)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		var typed error
		switch pgErr.Code {
		case codeUniqueViolation:
			switch pgErr.ConstraintName {
			case constraintUsersEmail:
				typed = store.ErrDuplicateEmail
			case constraintActiveSessionPerKey:
				typed = store.ErrActiveSessionExists
			default:
				typed = store.ErrConflict
			}
		case codeForeignKeyViolation:
			typed = store.ErrNotFound
		}
		if typed != nil {
			return fmt.Errorf("postgres: %s: %w (%w)", op, typed, err)
		}
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// notFound is the error of an operation that matched no row.
func notFound(op string) error {
	return fmt.Errorf("postgres: %s: %w", op, store.ErrNotFound)
}
