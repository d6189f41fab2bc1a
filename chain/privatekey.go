package chain

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
)

// KeySource says where a resolved private key came from.
type KeySource int

const (
	// KeySourceNone is returned together with an error.
	KeySourceNone KeySource = iota
	// KeySourceUser means the user's own stored key was used.
	KeySourceUser
	// KeySourceFallback means the user has no stored key and the operator's
	// fallback key (FALLBACK_PRIVATE_KEY) was used; the reference marked such
	// replies "using fallback key (FOR DEBUGGING ONLY)".
	KeySourceFallback
)

// String returns "none", "user" or "fallback".
func (s KeySource) String() string {
	switch s {
	case KeySourceUser:
		return "user"
	case KeySourceFallback:
		return "fallback"
	case KeySourceNone:
		return "none"
	default:
		return fmt.Sprintf("KeySource(%d)", int(s))
	}
}

var (
	// ErrNoPrivateKey means the user has no stored key and no fallback key
	// is configured. The reference replied with the message "No private key
	// found and no fallback key configured".
	ErrNoPrivateKey = errors.New("no private key found and no fallback key configured")
	// ErrStoredKeyUnusable means the user has a stored key that cannot be
	// used: it does not decrypt, or it decrypts to something that is not a
	// valid key. It wraps the cause (ErrDecrypt, ErrKMSEncrypted,
	// ErrInvalidPrivateKey, …).
	ErrStoredKeyUnusable = errors.New("stored private key cannot be used")
)

// KeyLookup fetches a user's row of user_private_keys. It reports found=false,
// with a nil error, when the user has no row; err is for failures of the
// lookup itself. Adapt the store to it, e.g.
//
//	func(ctx context.Context, id int64) ([]byte, json.RawMessage, bool, error) {
//		row, err := st.PrivateKey(ctx, id)
//		if errors.Is(err, store.ErrNotFound) {
//			return nil, nil, false, nil
//		}
//		return row.EncryptedPrivateKey, row.EncryptionMetadata, err == nil, err
//	}
type KeyLookup func(ctx context.Context, userID int64) (ciphertext []byte, metadata json.RawMessage, found bool, err error)

// ResolvePrivateKey returns the wallet key to send to the proxy-router on
// behalf of userID (the reference's get_private_key_with_fallback):
//
//  1. If the user has a stored key, it is decrypted with v and parsed; that
//     key is returned with KeySourceUser.
//  2. Otherwise fallback, if non-nil, is returned with KeySourceFallback.
//  3. Otherwise the error is ErrNoPrivateKey.
//
// Unlike the reference, a stored key that cannot be decrypted or parsed is an
// error wrapping ErrStoredKeyUnusable and its cause, not a silent switch to
// the fallback wallet: paying from the operator's wallet because a user's key
// broke would be a surprise to both. A failing lookup is returned as is
// (wrapped), also without falling back. v may be nil if no vault is
// configured; a user with a stored key then gets ErrStoredKeyUnusable.
func ResolvePrivateKey(ctx context.Context, lookup KeyLookup, v *Vault, fallback *ecdsa.PrivateKey, userID int64) (*ecdsa.PrivateKey, KeySource, error) {
	if lookup != nil {
		ciphertext, metadata, found, err := lookup(ctx, userID)
		if err != nil {
			return nil, KeySourceNone, fmt.Errorf("looking up stored private key of user %d: %w", userID, err)
		}
		if found {
			k, err := openStoredKey(v, ciphertext, metadata)
			if err != nil {
				return nil, KeySourceNone, fmt.Errorf("user %d: %w: %w", userID, ErrStoredKeyUnusable, err)
			}
			return k, KeySourceUser, nil
		}
	}
	if fallback != nil {
		return fallback, KeySourceFallback, nil
	}
	return nil, KeySourceNone, ErrNoPrivateKey
}

func openStoredKey(v *Vault, ciphertext []byte, metadata json.RawMessage) (*ecdsa.PrivateKey, error) {
	if v == nil {
		return nil, errors.New("no key vault is configured")
	}
	if len(ciphertext) == 0 {
		return nil, errors.New("the row has no ciphertext")
	}
	plain, err := v.Decrypt(ciphertext, metadata)
	if err != nil {
		return nil, err
	}
	return ParsePrivateKey(plain)
}
