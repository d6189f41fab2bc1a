package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// privateKeyCols are the columns scanPrivateKey reads, in order.
const privateKeyCols = `id, user_id, encrypted_private_key, encryption_metadata, created_at, updated_at`

// scanPrivateKey reads a row of privateKeyCols.
func scanPrivateKey(sc scanner) (store.PrivateKey, error) {
	var (
		pk               store.PrivateKey
		meta             sql.NullString
		created, updated string
	)
	if err := sc.Scan(&pk.ID, &pk.UserID, &pk.EncryptedPrivateKey, &meta, &created, &updated); err != nil {
		return store.PrivateKey{}, err
	}
	if meta.Valid {
		pk.EncryptionMetadata = json.RawMessage(meta.String)
	}
	var err error
	if pk.CreatedAt, err = parseTime(created); err != nil {
		return store.PrivateKey{}, err
	}
	if pk.UpdatedAt, err = parseTime(updated); err != nil {
		return store.PrivateKey{}, err
	}
	return pk, nil
}

// UpsertPrivateKey stores the user's encrypted key, replacing any previous
// one (created_at is kept, updated_at set); store.ErrNotFound if the user
// does not exist. Empty metadata is stored as NULL.
func (s *Store) UpsertPrivateKey(ctx context.Context, userID int64, encrypted []byte, metadata json.RawMessage) (store.PrivateKey, error) {
	var meta any
	if len(metadata) > 0 {
		meta = string(metadata)
	}
	ts := formatTime(now())
	pk, err := scanPrivateKey(s.w.QueryRowContext(ctx,
		`INSERT INTO user_private_keys (user_id, encrypted_private_key, encryption_metadata, created_at, updated_at)
		 VALUES (?, ?, ?, ?, ?)
		 ON CONFLICT (user_id) DO UPDATE SET
		   encrypted_private_key = excluded.encrypted_private_key,
		   encryption_metadata = excluded.encryption_metadata,
		   updated_at = excluded.updated_at
		 RETURNING `+privateKeyCols,
		userID, encrypted, meta, ts, ts))
	if err != nil {
		return store.PrivateKey{}, wrapErr("upsert private key", err)
	}
	return pk, nil
}

// PrivateKey returns the user's encrypted key, or store.ErrNotFound.
func (s *Store) PrivateKey(ctx context.Context, userID int64) (store.PrivateKey, error) {
	pk, err := scanPrivateKey(s.r.QueryRowContext(ctx,
		`SELECT `+privateKeyCols+` FROM user_private_keys WHERE user_id = ?`, userID))
	if err != nil {
		return store.PrivateKey{}, wrapErr("private key", err)
	}
	return pk, nil
}

// DeletePrivateKey deletes the user's key; store.ErrNotFound if there is
// none.
func (s *Store) DeletePrivateKey(ctx context.Context, userID int64) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM user_private_keys WHERE user_id = ?`, userID)
	if err != nil {
		return wrapErr("delete private key", err)
	}
	return mustAffect("delete private key", res)
}

// HasPrivateKey reports whether the user has a stored key.
func (s *Store) HasPrivateKey(ctx context.Context, userID int64) (bool, error) {
	var has bool
	err := s.r.QueryRowContext(ctx,
		`SELECT EXISTS (SELECT 1 FROM user_private_keys WHERE user_id = ?)`, userID).Scan(&has)
	if err != nil {
		return false, wrapErr("has private key", err)
	}
	return has, nil
}
