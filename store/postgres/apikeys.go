package postgres

import (
	"context"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// apiKeyColumns is the select list scanned by apiKeyDest, with the columns
// qualified by prefix (for example "k.").
func apiKeyColumns(p string) string {
	return p + "id, COALESCE(" + p + "key_prefix, ''), COALESCE(" + p + "hashed_key, ''), COALESCE(" +
		p + "user_id, 0), COALESCE(" + p + "name, ''), " + p + "created_at, " + p + "last_used_at, " + p + "is_active"
}

// apiKeyDest returns the scan destinations of apiKeyColumns in k.
func apiKeyDest(k *store.APIKey) []any {
	return []any{&k.ID, &k.KeyPrefix, &k.HashedKey, &k.UserID, &k.Name, &k.CreatedAt, &k.LastUsedAt, &k.IsActive}
}

// utcAPIKey converts k's times to UTC.
func utcAPIKey(k *store.APIKey) {
	k.CreatedAt = k.CreatedAt.UTC()
	k.LastUsedAt = utcPtr(k.LastUsedAt)
}

// scanAPIKey scans one row of apiKeyColumns.
func scanAPIKey(r rowScanner) (store.APIKey, error) {
	var k store.APIKey
	if err := r.Scan(apiKeyDest(&k)...); err != nil {
		return store.APIKey{}, err
	}
	utcAPIKey(&k)
	return k, nil
}

// apiKeyWithUserQuery selects keys, filtered by where, joined with their
// owners; keys without an owner (possible only in adopted data) are never
// returned.
func apiKeyWithUserQuery(where string) string {
	return `SELECT ` + apiKeyColumns("k.") + `, ` + userColumns("u.") + `
  FROM api_keys k JOIN users u ON u.id = k.user_id ` + where
}

// scanAPIKeyWithUser scans one row of apiKeyWithUserQuery.
func scanAPIKeyWithUser(r rowScanner) (store.APIKeyWithUser, error) {
	var k store.APIKeyWithUser
	if err := r.Scan(append(apiKeyDest(&k.APIKey), userDest(&k.User)...)...); err != nil {
		return store.APIKeyWithUser{}, err
	}
	utcAPIKey(&k.APIKey)
	utcUser(&k.User)
	return k, nil
}

// CreateAPIKey inserts an active key; store.ErrNotFound if the user does
// not exist. An empty name is stored as NULL.
func (s *Store) CreateAPIKey(ctx context.Context, k store.NewAPIKey) (store.APIKey, error) {
	row := s.pool.QueryRow(ctx, `
INSERT INTO api_keys (key_prefix, hashed_key, user_id, name, is_active, created_at)
VALUES ($1, $2, $3, NULLIF($4, ''), true, now())
RETURNING `+apiKeyColumns(""), k.KeyPrefix, k.HashedKey, k.UserID, k.Name)
	key, err := scanAPIKey(row)
	return key, wrapErr("create api key", err)
}

// APIKeyByID returns the key with its owner, or store.ErrNotFound.
func (s *Store) APIKeyByID(ctx context.Context, id int64) (store.APIKeyWithUser, error) {
	row := s.pool.QueryRow(ctx, apiKeyWithUserQuery(`WHERE k.id = $1`), id)
	key, err := scanAPIKeyWithUser(row)
	return key, wrapErr("api key by id", err)
}

// APIKeysByPrefix returns every key with this prefix, with its owner,
// ordered by id.
func (s *Store) APIKeysByPrefix(ctx context.Context, prefix string) ([]store.APIKeyWithUser, error) {
	rows, err := s.pool.Query(ctx, apiKeyWithUserQuery(`WHERE k.key_prefix = $1 ORDER BY k.id`), prefix)
	if err != nil {
		return nil, wrapErr("api keys by prefix", err)
	}
	keys, err := collect(rows, scanAPIKeyWithUser)
	return keys, wrapErr("api keys by prefix", err)
}

// UserAPIKeys returns all keys of a user ordered by id.
func (s *Store) UserAPIKeys(ctx context.Context, userID int64) ([]store.APIKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+apiKeyColumns("")+` FROM api_keys WHERE user_id = $1 ORDER BY id`, userID)
	if err != nil {
		return nil, wrapErr("user api keys", err)
	}
	keys, err := collect(rows, scanAPIKey)
	return keys, wrapErr("user api keys", err)
}

// DeactivateAPIKey sets is_active=false on the user's key and returns it;
// store.ErrNotFound if the key does not exist or belongs to someone else.
func (s *Store) DeactivateAPIKey(ctx context.Context, id, userID int64) (store.APIKey, error) {
	row := s.pool.QueryRow(ctx, `
UPDATE api_keys SET is_active = false WHERE id = $1 AND user_id = $2
RETURNING `+apiKeyColumns(""), id, userID)
	key, err := scanAPIKey(row)
	return key, wrapErr("deactivate api key", err)
}

// TouchAPIKey sets last_used_at; store.ErrNotFound if there is no such
// key.
func (s *Store) TouchAPIKey(ctx context.Context, id int64, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE api_keys SET last_used_at = $2 WHERE id = $1`, id, micro(at))
	if err != nil {
		return wrapErr("touch api key", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("touch api key")
	}
	return nil
}

// SetAPIKeyHash replaces hashed_key; store.ErrNotFound if there is no such
// key.
func (s *Store) SetAPIKeyHash(ctx context.Context, id int64, hashedKey string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE api_keys SET hashed_key = $2 WHERE id = $1`, id, hashedKey)
	if err != nil {
		return wrapErr("set api key hash", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("set api key hash")
	}
	return nil
}
