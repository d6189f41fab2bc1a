package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// apiKeyCols are the columns scanAPIKey reads, in order.
const apiKeyCols = `id, key_prefix, hashed_key, user_id, name, created_at, last_used_at, is_active`

// apiKeyColsK is apiKeyCols qualified with the alias k, for joins.
const apiKeyColsK = `k.id, k.key_prefix, k.hashed_key, k.user_id, k.name, k.created_at, k.last_used_at, k.is_active`

// apiKeyDest returns the scan destinations of apiKeyCols and a function
// that finishes k once they are filled.
func apiKeyDest(k *store.APIKey) ([]any, func() error) {
	var (
		name, lastUsed sql.NullString
		created        string
	)
	dest := []any{&k.ID, &k.KeyPrefix, &k.HashedKey, &k.UserID, &name, &created, &lastUsed, &k.IsActive}
	return dest, func() error {
		k.Name = name.String
		var err error
		if k.CreatedAt, err = parseTime(created); err != nil {
			return err
		}
		k.LastUsedAt, err = parseNullTime(lastUsed)
		return err
	}
}

// scanAPIKey reads a row of apiKeyCols.
func scanAPIKey(sc scanner) (store.APIKey, error) {
	var k store.APIKey
	dest, finish := apiKeyDest(&k)
	if err := sc.Scan(dest...); err != nil {
		return store.APIKey{}, err
	}
	if err := finish(); err != nil {
		return store.APIKey{}, err
	}
	return k, nil
}

// scanAPIKeyWithUser reads a row of apiKeyColsK followed by userColsU.
func scanAPIKeyWithUser(sc scanner) (store.APIKeyWithUser, error) {
	var ku store.APIKeyWithUser
	keyDest, finishKey := apiKeyDest(&ku.APIKey)
	userDest, finishUser := userDest(&ku.User)
	if err := sc.Scan(append(keyDest, userDest...)...); err != nil {
		return store.APIKeyWithUser{}, err
	}
	if err := errors.Join(finishKey(), finishUser()); err != nil {
		return store.APIKeyWithUser{}, err
	}
	return ku, nil
}

// selectKeyWithUser selects apiKeyColsK and userColsU; append a WHERE.
const selectKeyWithUser = `SELECT ` + apiKeyColsK + `, ` + userColsU + `
	FROM api_keys k JOIN users u ON u.id = k.user_id `

// CreateAPIKey inserts an active key; store.ErrNotFound if the user does
// not exist.
func (s *Store) CreateAPIKey(ctx context.Context, nk store.NewAPIKey) (store.APIKey, error) {
	k, err := scanAPIKey(s.w.QueryRowContext(ctx,
		`INSERT INTO api_keys (key_prefix, hashed_key, user_id, name, created_at, is_active)
		 VALUES (?, ?, ?, ?, ?, 1)
		 RETURNING `+apiKeyCols,
		nk.KeyPrefix, nk.HashedKey, nk.UserID, nullString(nk.Name), formatTime(now())))
	if err != nil {
		return store.APIKey{}, wrapErr("create api key", err)
	}
	return k, nil
}

// APIKeyByID returns the key with its owner, or store.ErrNotFound.
func (s *Store) APIKeyByID(ctx context.Context, id int64) (store.APIKeyWithUser, error) {
	ku, err := scanAPIKeyWithUser(s.r.QueryRowContext(ctx,
		selectKeyWithUser+`WHERE k.id = ?`, id))
	if err != nil {
		return store.APIKeyWithUser{}, wrapErr("api key by id", err)
	}
	return ku, nil
}

// APIKeysByPrefix returns every key (active or not) with this prefix, with
// its owner, ordered by id.
func (s *Store) APIKeysByPrefix(ctx context.Context, prefix string) ([]store.APIKeyWithUser, error) {
	rows, err := s.r.QueryContext(ctx,
		selectKeyWithUser+`WHERE k.key_prefix = ? ORDER BY k.id`, prefix)
	if err != nil {
		return nil, wrapErr("api keys by prefix", err)
	}
	ks, err := collect(rows, scanAPIKeyWithUser)
	if err != nil {
		return nil, wrapErr("api keys by prefix", err)
	}
	return ks, nil
}

// UserAPIKeys returns all keys of a user ordered by id.
func (s *Store) UserAPIKeys(ctx context.Context, userID int64) ([]store.APIKey, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+apiKeyCols+` FROM api_keys WHERE user_id = ? ORDER BY id`, userID)
	if err != nil {
		return nil, wrapErr("user api keys", err)
	}
	ks, err := collect(rows, scanAPIKey)
	if err != nil {
		return nil, wrapErr("user api keys", err)
	}
	return ks, nil
}

// DeactivateAPIKey sets is_active=false on the user's key and returns it;
// store.ErrNotFound if the key does not exist or belongs to someone else.
func (s *Store) DeactivateAPIKey(ctx context.Context, id, userID int64) (store.APIKey, error) {
	k, err := scanAPIKey(s.w.QueryRowContext(ctx,
		`UPDATE api_keys SET is_active = 0 WHERE id = ? AND user_id = ? RETURNING `+apiKeyCols,
		id, userID))
	if err != nil {
		return store.APIKey{}, wrapErr("deactivate api key", err)
	}
	return k, nil
}

// TouchAPIKey sets last_used_at; store.ErrNotFound if there is no such key.
func (s *Store) TouchAPIKey(ctx context.Context, id int64, at time.Time) error {
	res, err := s.w.ExecContext(ctx,
		`UPDATE api_keys SET last_used_at = ? WHERE id = ?`, formatTime(at), id)
	if err != nil {
		return wrapErr("touch api key", err)
	}
	return mustAffect("touch api key", res)
}

// SetAPIKeyHash replaces hashed_key; store.ErrNotFound if there is no such
// key.
func (s *Store) SetAPIKeyHash(ctx context.Context, id int64, hashedKey string) error {
	res, err := s.w.ExecContext(ctx,
		`UPDATE api_keys SET hashed_key = ? WHERE id = ?`, hashedKey, id)
	if err != nil {
		return wrapErr("set api key hash", err)
	}
	return mustAffect("set api key hash", res)
}
