package postgres

import (
	"context"
	"encoding/json"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// privateKeyColumns is the select list scanned by scanPrivateKey. The JSON
// metadata is read as text so that every statement mode sees the same
// thing.
const privateKeyColumns = `id, COALESCE(user_id, 0), encrypted_private_key, encryption_metadata::text, created_at, updated_at`

// scanPrivateKey scans one row of privateKeyColumns.
func scanPrivateKey(r rowScanner) (store.PrivateKey, error) {
	var (
		k    store.PrivateKey
		meta *string
	)
	if err := r.Scan(&k.ID, &k.UserID, &k.EncryptedPrivateKey, &meta, &k.CreatedAt, &k.UpdatedAt); err != nil {
		return store.PrivateKey{}, err
	}
	if meta != nil {
		k.EncryptionMetadata = json.RawMessage(*meta)
	}
	k.CreatedAt = k.CreatedAt.UTC()
	k.UpdatedAt = k.UpdatedAt.UTC()
	return k, nil
}

// UpsertPrivateKey stores the user's encrypted key, replacing any previous
// one (created_at is kept, updated_at set). Nil metadata is stored as
// NULL. store.ErrNotFound if the user does not exist.
func (s *Store) UpsertPrivateKey(ctx context.Context, userID int64, encrypted []byte, metadata json.RawMessage) (store.PrivateKey, error) {
	var meta *string
	if metadata != nil {
		m := string(metadata)
		meta = &m
	}
	if encrypted == nil {
		encrypted = []byte{}
	}
	row := s.pool.QueryRow(ctx, `
INSERT INTO user_private_keys (user_id, encrypted_private_key, encryption_metadata, created_at, updated_at)
VALUES ($1, $2, $3::text::json, now(), now())
ON CONFLICT (user_id) DO UPDATE
   SET encrypted_private_key = EXCLUDED.encrypted_private_key,
       encryption_metadata   = EXCLUDED.encryption_metadata,
       updated_at            = now()
RETURNING `+privateKeyColumns, userID, encrypted, meta)
	k, err := scanPrivateKey(row)
	return k, wrapErr("upsert private key", err)
}

// PrivateKey returns the user's encrypted key, or store.ErrNotFound.
func (s *Store) PrivateKey(ctx context.Context, userID int64) (store.PrivateKey, error) {
	row := s.pool.QueryRow(ctx, `SELECT `+privateKeyColumns+` FROM user_private_keys WHERE user_id = $1`, userID)
	k, err := scanPrivateKey(row)
	return k, wrapErr("private key", err)
}

// DeletePrivateKey deletes the user's key; store.ErrNotFound if there is
// none.
func (s *Store) DeletePrivateKey(ctx context.Context, userID int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM user_private_keys WHERE user_id = $1`, userID)
	if err != nil {
		return wrapErr("delete private key", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("delete private key")
	}
	return nil
}

// HasPrivateKey reports whether the user has a stored key.
func (s *Store) HasPrivateKey(ctx context.Context, userID int64) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM user_private_keys WHERE user_id = $1)`, userID).Scan(&ok)
	return ok, wrapErr("has private key", err)
}
