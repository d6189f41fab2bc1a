package chain

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Algorithms recorded in the "algorithm" field of user_private_keys.encryption_metadata.
const (
	// AlgorithmAESGCM is what Vault.Encrypt writes: AES-256-GCM under the
	// gateway's 32-byte vault key.
	AlgorithmAESGCM = "aes-256-gcm"
	// AlgorithmFernet marks rows written by the reference (Python) gateway.
	// Vault can read them when given the reference's master secret; it never
	// writes them.
	AlgorithmFernet = "fernet"
)

const (
	// VaultKeySize is the size of the vault key in bytes (AES-256).
	VaultKeySize = 32

	// vaultFormatVersion is the "version" written to the metadata.
	vaultFormatVersion = 1

	// vaultAAD is the GCM additional authenticated data. It binds a
	// ciphertext to its purpose, so a blob encrypted under the same key for
	// something else cannot be passed off as a user's wallet key.
	vaultAAD = "morpheus:user_private_key:v1"

	gcmNonceSize = 12
)

// Errors returned by Vault.Decrypt, for errors.Is. Their messages never
// contain key material and are fit for operator logs; they are not meant for
// API users (tell those "your stored key cannot be used, store it again").
var (
	// ErrDecrypt means authentication failed: the ciphertext, nonce or
	// metadata were altered, or the row was encrypted under another key.
	ErrDecrypt = errors.New("stored private key cannot be decrypted (wrong key or tampered data)")
	// ErrVaultKeyMismatch means the row records a key id (kid) different from
	// the configured vault key: the key was rotated or misconfigured.
	ErrVaultKeyMismatch = errors.New("stored private key was encrypted under a different vault key")
	// ErrKMSEncrypted means the row was written by the reference gateway in
	// AWS KMS mode. This gateway has no KMS client, so the user has to store
	// the key again.
	ErrKMSEncrypted = errors.New("stored private key was encrypted with AWS KMS by the previous gateway; this gateway cannot decrypt KMS-encrypted rows, store the key again")
	// ErrNoLegacySecret means the row is a legacy Fernet row but the vault
	// was created without the reference's master secret.
	ErrNoLegacySecret = errors.New("stored private key is a legacy (Fernet) row and no legacy master secret is configured")
	// ErrBadMetadata means encryption_metadata is missing, not JSON, names an
	// unknown algorithm or version, or lacks a field the algorithm needs.
	ErrBadMetadata = errors.New("stored private key has invalid encryption metadata")
)

// Vault encrypts wallet private keys for the user_private_keys table and
// decrypts them again.
//
// New rows use AES-256-GCM directly under the 32-byte vault key, with a random
// 96-bit nonce per row (safe for far more rows than this table will ever
// hold). The metadata records the algorithm, the nonce, a format version and
// the key id "kid" (the first 8 hex digits of SHA-256 of the key), so that a
// row encrypted under another key is reported as such instead of as
// tampering.
//
// Rows written by the reference gateway ("fernet") are read, not written, if
// the vault was given the reference's master secret. Rows the reference wrote
// in AWS KMS mode cannot be read (ErrKMSEncrypted).
//
// A Vault is safe for concurrent use. Formatting it with fmt prints only the
// key id.
type Vault struct {
	aead         cipher.AEAD
	kid          string
	legacySecret string
}

// NewVault returns a Vault using key, which must be exactly 32 random bytes
// (see DecodeVaultKey for reading it from configuration).
//
// legacyMasterSecret is the reference gateway's MASTER_ENCRYPTION_KEY (or,
// where that was unset, its JWT_SECRET_KEY), used as UTF-8 bytes exactly as
// the reference did. Pass "" when there are no legacy rows to read; such rows
// then fail with ErrNoLegacySecret.
func NewVault(key []byte, legacyMasterSecret string) (*Vault, error) {
	if len(key) != VaultKeySize {
		return nil, fmt.Errorf("vault key must be %d bytes (AES-256), got %d", VaultKeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("vault key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("vault key: %w", err)
	}
	return &Vault{aead: aead, kid: keyID(key), legacySecret: legacyMasterSecret}, nil
}

// DecodeVaultKey reads a vault key as an operator writes it in configuration:
// 64 hex digits (optionally 0x-prefixed), or standard or URL-safe base64 (with
// or without padding) of 32 bytes — e.g. the output of `openssl rand -hex 32`
// or `openssl rand -base64 32`. Surrounding whitespace is ignored. Errors do
// not echo the input.
func DecodeVaultKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("vault key is empty")
	}
	h := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if len(h) == 2*VaultKeySize {
		if b, err := hex.DecodeString(h); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.Strict().DecodeString(s); err == nil && len(b) == VaultKeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("vault key must be %d bytes written as %d hex digits or as base64", VaultKeySize, 2*VaultKeySize)
}

// KeyID returns the vault key's id: the first 8 hex digits of SHA-256 of the
// key. It identifies the key in logs and metadata without revealing it.
func (v *Vault) KeyID() string { return v.kid }

// String implements fmt.Stringer without revealing key material.
func (v *Vault) String() string { return "chain.Vault{kid:" + v.kid + "}" }

// GoString implements fmt.GoStringer without revealing key material.
func (v *Vault) GoString() string { return v.String() }

// gcmMetadata is the encryption_metadata of an AES-256-GCM row.
type gcmMetadata struct {
	Algorithm string `json:"algorithm"`
	Nonce     string `json:"nonce"`
	Version   int    `json:"version"`
	KID       string `json:"kid,omitempty"`
}

// anyMetadata is the union of the fields Decrypt reads from
// encryption_metadata, across both formats.
type anyMetadata struct {
	Algorithm string `json:"algorithm"`
	// aes-256-gcm
	Nonce   string `json:"nonce"`
	Version int    `json:"version"`
	KID     string `json:"kid"`
	// fernet (reference gateway)
	Salt string `json:"salt"`
	Key  *struct {
		Provider string `json:"provider"`
	} `json:"key"`
}

// Encrypt encrypts a wallet private key for storage and returns the bytes for
// user_private_keys.encrypted_private_key and the JSON for
// encryption_metadata:
//
//	{"algorithm":"aes-256-gcm","nonce":"<std base64>","version":1,"kid":"<8 hex>"}
//
// The key is validated with ParsePrivateKey (the error wraps
// ErrInvalidPrivateKey) and stored in its canonical form "0x" + 64 lowercase
// hex, so Decrypt always returns that form for rows written here.
func (v *Vault) Encrypt(privateKeyHex string) (ciphertext []byte, metadata json.RawMessage, err error) {
	k, err := ParsePrivateKey(privateKeyHex)
	if err != nil {
		return nil, nil, err
	}
	plaintext := []byte(FormatPrivateKey(k))
	defer clear(plaintext)

	nonce := make([]byte, gcmNonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, fmt.Errorf("vault: reading random nonce: %w", err)
	}
	ciphertext = v.aead.Seal(nil, nonce, plaintext, []byte(vaultAAD))
	metadata, err = json.Marshal(gcmMetadata{
		Algorithm: AlgorithmAESGCM,
		Nonce:     base64.StdEncoding.EncodeToString(nonce),
		Version:   vaultFormatVersion,
		KID:       v.kid,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("vault: encoding metadata: %w", err)
	}
	return ciphertext, metadata, nil
}

// Decrypt returns the private key stored in a user_private_keys row, as the
// text that was encrypted (the canonical "0x…" form for rows written by
// Encrypt; whatever the user submitted, unvalidated, for legacy rows — pass
// it through ParsePrivateKey before use). The result is a secret: never log
// it.
//
// It dispatches on the metadata's "algorithm":
//   - "aes-256-gcm": this gateway's format. A "kid" that differs from this
//     vault's gives ErrVaultKeyMismatch; any authentication failure gives
//     ErrDecrypt.
//   - "fernet": the reference gateway's local-mode format, decrypted with the
//     legacy master secret (ErrNoLegacySecret without one; ErrDecrypt if the
//     secret is wrong or the token altered). Deriving the key costs 100000
//     PBKDF2 rounds, a few tens of milliseconds.
//
// Metadata whose "key.provider" is "aws-kms" gives ErrKMSEncrypted whatever
// the algorithm. Anything else gives ErrBadMetadata.
func (v *Vault) Decrypt(ciphertext []byte, metadata json.RawMessage) (string, error) {
	if len(metadata) == 0 {
		return "", fmt.Errorf("%w: metadata is empty", ErrBadMetadata)
	}
	var md anyMetadata
	if err := json.Unmarshal(metadata, &md); err != nil {
		return "", fmt.Errorf("%w: not a JSON object", ErrBadMetadata)
	}
	if md.Key != nil {
		switch md.Key.Provider {
		case "aws-kms":
			return "", ErrKMSEncrypted
		case "local", "":
		default:
			return "", fmt.Errorf("%w: unknown key provider %q", ErrBadMetadata, md.Key.Provider)
		}
	}
	switch md.Algorithm {
	case AlgorithmAESGCM:
		return v.decryptGCM(ciphertext, md)
	case AlgorithmFernet:
		return v.decryptFernet(ciphertext, md)
	case "":
		return "", fmt.Errorf("%w: no algorithm", ErrBadMetadata)
	default:
		return "", fmt.Errorf("%w: unsupported algorithm %q", ErrBadMetadata, md.Algorithm)
	}
}

func (v *Vault) decryptGCM(ciphertext []byte, md anyMetadata) (string, error) {
	if md.Version != vaultFormatVersion {
		return "", fmt.Errorf("%w: unsupported %s version %d", ErrBadMetadata, AlgorithmAESGCM, md.Version)
	}
	if md.KID != "" && md.KID != v.kid {
		return "", fmt.Errorf("%w (row kid %q, configured kid %q)", ErrVaultKeyMismatch, md.KID, v.kid)
	}
	nonce, err := base64.StdEncoding.Strict().DecodeString(md.Nonce)
	if err != nil || len(nonce) != gcmNonceSize {
		return "", fmt.Errorf("%w: nonce must be %d bytes in standard base64", ErrBadMetadata, gcmNonceSize)
	}
	pt, err := v.aead.Open(nil, nonce, ciphertext, []byte(vaultAAD))
	if err != nil {
		return "", ErrDecrypt
	}
	defer clear(pt)
	return string(pt), nil
}

func (v *Vault) decryptFernet(ciphertext []byte, md anyMetadata) (string, error) {
	if v.legacySecret == "" {
		return "", ErrNoLegacySecret
	}
	salt, err := base64.StdEncoding.DecodeString(md.Salt)
	if err != nil || len(salt) == 0 {
		return "", fmt.Errorf("%w: legacy row needs a non-empty standard-base64 salt", ErrBadMetadata)
	}
	key, err := legacyFernetKey(v.legacySecret, salt)
	if err != nil {
		return "", err
	}
	defer clear(key)
	pt, err := fernetDecrypt(key, ciphertext)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrDecrypt, err)
	}
	defer clear(pt)
	return string(pt), nil
}

// keyID is the first 8 hex digits of SHA-256 of key.
func keyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}
