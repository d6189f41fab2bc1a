package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// sessionCols are the columns scanSession reads, in order.
const sessionCols = `id, user_id, api_key_id, model, type, created_at, expires_at, is_active`

// scanSession reads a row of sessionCols.
func scanSession(sc scanner) (store.Session, error) {
	var (
		ss               store.Session
		userID           sql.NullInt64
		created, expires string
	)
	if err := sc.Scan(&ss.ID, &userID, &ss.APIKeyID, &ss.Model, &ss.Type, &created, &expires, &ss.IsActive); err != nil {
		return store.Session{}, err
	}
	ss.UserID = userID.Int64
	var err error
	if ss.CreatedAt, err = parseTime(created); err != nil {
		return store.Session{}, err
	}
	if ss.ExpiresAt, err = parseTime(expires); err != nil {
		return store.Session{}, err
	}
	return ss, nil
}

// querySessions runs a SELECT of sessionCols on the reader pool.
func (s *Store) querySessions(ctx context.Context, op, query string, args ...any) ([]store.Session, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	ss, err := collect(rows, scanSession)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	return ss, nil
}

// querySession runs a single-row SELECT of sessionCols on the reader pool.
func (s *Store) querySession(ctx context.Context, op, query string, args ...any) (store.Session, error) {
	ss, err := scanSession(s.r.QueryRowContext(ctx, query, args...))
	if err != nil {
		return store.Session{}, wrapErr(op, err)
	}
	return ss, nil
}

// CreateSession records a session. A second active session for the same
// API key fails with store.ErrActiveSessionExists, a duplicate id with
// store.ErrConflict, an unknown API key or user with store.ErrNotFound. A
// zero CreatedAt is set to now.
func (s *Store) CreateSession(ctx context.Context, in store.Session) (store.Session, error) {
	created := in.CreatedAt
	if created.IsZero() {
		created = now()
	}
	out, err := scanSession(s.w.QueryRowContext(ctx,
		`INSERT INTO sessions (id, user_id, api_key_id, model, type, created_at, expires_at, is_active)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		 RETURNING `+sessionCols,
		in.ID, nullInt64(in.UserID), in.APIKeyID, in.Model, in.Type,
		formatTime(created), formatTime(in.ExpiresAt), in.IsActive))
	if err != nil {
		return store.Session{}, wrapErr("create session", err)
	}
	return out, nil
}

// SessionByID returns the session, or store.ErrNotFound.
func (s *Store) SessionByID(ctx context.Context, id string) (store.Session, error) {
	return s.querySession(ctx, "session by id",
		`SELECT `+sessionCols+` FROM sessions WHERE id = ?`, id)
}

// ActiveSessionByAPIKey returns the key's active session, or
// store.ErrNotFound. It does not look at expires_at.
func (s *Store) ActiveSessionByAPIKey(ctx context.Context, apiKeyID int64) (store.Session, error) {
	// "AND is_active" matches the partial index's WHERE, so the lookup
	// uses sessions_active_api_key_unique.
	return s.querySession(ctx, "active session by api key",
		`SELECT `+sessionCols+` FROM sessions WHERE api_key_id = ? AND is_active`, apiKeyID)
}

// LatestSessionByAPIKey returns the key's most recently created session,
// active or not, or store.ErrNotFound. Sessions created at the same
// instant are told apart by insertion order.
func (s *Store) LatestSessionByAPIKey(ctx context.Context, apiKeyID int64) (store.Session, error) {
	return s.querySession(ctx, "latest session by api key",
		`SELECT `+sessionCols+` FROM sessions WHERE api_key_id = ?
		 ORDER BY created_at DESC, rowid DESC LIMIT 1`, apiKeyID)
}

// ActiveSessions returns all active sessions ordered by expires_at.
func (s *Store) ActiveSessions(ctx context.Context) ([]store.Session, error) {
	return s.querySessions(ctx, "active sessions",
		`SELECT `+sessionCols+` FROM sessions WHERE is_active = 1 ORDER BY expires_at, id`)
}

// ExpiredActiveSessions returns at most limit active sessions whose
// expires_at is before now, oldest first.
func (s *Store) ExpiredActiveSessions(ctx context.Context, now time.Time, limit int) ([]store.Session, error) {
	_, limit = page(0, limit)
	return s.querySessions(ctx, "expired active sessions",
		`SELECT `+sessionCols+` FROM sessions
		 WHERE is_active = 1 AND expires_at < ?
		 ORDER BY expires_at, id LIMIT ?`, formatTime(now), limit)
}

// MarkSessionInactive sets is_active=false; store.ErrNotFound if the
// session does not exist. Marking an inactive session succeeds.
func (s *Store) MarkSessionInactive(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE sessions SET is_active = 0 WHERE id = ?`, id)
	if err != nil {
		return wrapErr("mark session inactive", err)
	}
	return mustAffect("mark session inactive", res)
}
