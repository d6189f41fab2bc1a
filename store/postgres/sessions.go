package postgres

import (
	"context"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// sessionColumns is the select list scanned by scanSession.
const sessionColumns = `id, COALESCE(user_id, 0), COALESCE(api_key_id, 0), model, type, created_at, expires_at, is_active`

// scanSession scans one row of sessionColumns.
func scanSession(r rowScanner) (store.Session, error) {
	var s store.Session
	if err := r.Scan(&s.ID, &s.UserID, &s.APIKeyID, &s.Model, &s.Type, &s.CreatedAt, &s.ExpiresAt, &s.IsActive); err != nil {
		return store.Session{}, err
	}
	s.CreatedAt = s.CreatedAt.UTC()
	s.ExpiresAt = s.ExpiresAt.UTC()
	return s, nil
}

// CreateSession records a session and returns it as stored (times have
// microsecond precision). A zero CreatedAt is set to now; a zero UserID or
// APIKeyID is stored as NULL. A second active session for the key is
// store.ErrActiveSessionExists, a duplicate id store.ErrConflict, and an
// unknown user or key store.ErrNotFound.
func (s *Store) CreateSession(ctx context.Context, sess store.Session) (store.Session, error) {
	if sess.CreatedAt.IsZero() {
		sess.CreatedAt = time.Now()
	}
	row := s.pool.QueryRow(ctx, `
INSERT INTO sessions (id, user_id, api_key_id, model, type, created_at, expires_at, is_active)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING `+sessionColumns,
		sess.ID, nullID(sess.UserID), nullID(sess.APIKeyID), sess.Model, sess.Type,
		micro(sess.CreatedAt), micro(sess.ExpiresAt), sess.IsActive)
	out, err := scanSession(row)
	return out, wrapErr("create session", err)
}

// SessionByID returns the session, or store.ErrNotFound.
func (s *Store) SessionByID(ctx context.Context, id string) (store.Session, error) {
	row := s.pool.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id)
	out, err := scanSession(row)
	return out, wrapErr("session by id", err)
}

// ActiveSessionByAPIKey returns the key's active session, or
// store.ErrNotFound. It does not look at expires_at.
func (s *Store) ActiveSessionByAPIKey(ctx context.Context, apiKeyID int64) (store.Session, error) {
	row := s.pool.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions
 WHERE api_key_id = $1 AND is_active
 ORDER BY created_at DESC, id DESC LIMIT 1`, apiKeyID)
	out, err := scanSession(row)
	return out, wrapErr("active session by api key", err)
}

// LatestSessionByAPIKey returns the key's most recently created session,
// active or not, or store.ErrNotFound.
func (s *Store) LatestSessionByAPIKey(ctx context.Context, apiKeyID int64) (store.Session, error) {
	row := s.pool.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions
 WHERE api_key_id = $1
 ORDER BY created_at DESC, is_active DESC, id DESC LIMIT 1`, apiKeyID)
	out, err := scanSession(row)
	return out, wrapErr("latest session by api key", err)
}

// ActiveSessions returns all active sessions ordered by expires_at.
func (s *Store) ActiveSessions(ctx context.Context) ([]store.Session, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sessionColumns+` FROM sessions
 WHERE is_active ORDER BY expires_at, id`)
	if err != nil {
		return nil, wrapErr("active sessions", err)
	}
	out, err := collect(rows, scanSession)
	return out, wrapErr("active sessions", err)
}

// ExpiredActiveSessions returns at most limit (all when limit <= 0) active
// sessions whose expires_at is before now, oldest first. It uses the index
// ix_sessions_is_active_expires_at.
func (s *Store) ExpiredActiveSessions(ctx context.Context, now time.Time, limit int) ([]store.Session, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sessionColumns+` FROM sessions
 WHERE is_active AND expires_at < $1
 ORDER BY expires_at, id LIMIT $2`, micro(now), limitArg(limit))
	if err != nil {
		return nil, wrapErr("expired active sessions", err)
	}
	out, err := collect(rows, scanSession)
	return out, wrapErr("expired active sessions", err)
}

// MarkSessionInactive sets is_active=false; store.ErrNotFound if the
// session does not exist.
func (s *Store) MarkSessionInactive(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE sessions SET is_active = false WHERE id = $1`, id)
	if err != nil {
		return wrapErr("mark session inactive", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("mark session inactive")
	}
	return nil
}
