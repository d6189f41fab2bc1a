package chain

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// This file reads the reference gateway's legacy private-key rows
// (core/key_vault.py, "local" mode): a Fernet token whose key is derived from
// the master secret with PBKDF2. It only decrypts; new rows are written with
// AES-256-GCM by Vault.Encrypt.
//
// Fernet (https://github.com/fernet/spec):
//
//	token = base64url( 0x80 ‖ timestamp(8, big-endian) ‖ IV(16) ‖ AES-128-CBC(PKCS7(plaintext)) ‖ HMAC-SHA256(32) )
//
// with a 32-byte key whose first half is the HMAC signing key and second half
// the AES key. The HMAC covers everything before it.

const (
	// legacyKDFIterations is the PBKDF2 iteration count the reference used.
	// It ignored the "kdf_iterations" metadata field and hard-coded this
	// value, so this package does the same.
	legacyKDFIterations = 100000

	fernetVersion   = 0x80
	fernetHeaderLen = 1 + 8 + aes.BlockSize // version, timestamp, IV
	fernetMACLen    = sha256.Size
)

// errFernetToken is the single error for every malformed or unauthentic
// token: which check failed is not reported, so the decoder is no oracle.
var errFernetToken = errors.New("legacy Fernet token is malformed or was not made with this master secret")

// legacyFernetKey derives the 32-byte Fernet key of a legacy row:
// PBKDF2-HMAC-SHA256(utf8(masterSecret), salt, 100000, 32). The reference
// base64url-encoded this for the Python Fernet constructor, which decodes it
// again, so the raw bytes are the key.
func legacyFernetKey(masterSecret string, salt []byte) ([]byte, error) {
	k, err := pbkdf2.Key(sha256.New, masterSecret, salt, legacyKDFIterations, 32)
	if err != nil {
		return nil, fmt.Errorf("deriving legacy key: %w", err)
	}
	return k, nil
}

// fernetDecrypt verifies and decrypts a Fernet token (the base64url text as
// stored in the bytea column) with a 32-byte key. The token's timestamp is
// not checked: the reference never set a TTL.
func fernetDecrypt(key, token []byte) ([]byte, error) {
	if len(key) != 32 {
		return nil, errors.New("legacy Fernet key must be 32 bytes")
	}
	raw, err := decodeBase64URL(bytes.TrimSpace(token))
	if err != nil {
		return nil, errFernetToken
	}
	// At least one cipher block after the header, plus the MAC.
	if len(raw) < fernetHeaderLen+aes.BlockSize+fernetMACLen || raw[0] != fernetVersion {
		return nil, errFernetToken
	}
	signed, mac := raw[:len(raw)-fernetMACLen], raw[len(raw)-fernetMACLen:]
	h := hmac.New(sha256.New, key[:16])
	h.Write(signed)
	if !hmac.Equal(h.Sum(nil), mac) {
		return nil, errFernetToken
	}
	// signed[1:9] is the timestamp: authenticated above, not checked (no TTL).
	iv := signed[9:fernetHeaderLen]
	ct := signed[fernetHeaderLen:]
	if len(ct)%aes.BlockSize != 0 {
		return nil, errFernetToken
	}
	block, err := aes.NewCipher(key[16:])
	if err != nil {
		return nil, err
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(pt, ct)
	return pkcs7Unpad(pt, aes.BlockSize)
}

// pkcs7Unpad removes PKCS#7 padding. The data has already been authenticated,
// so a constant-time check is not needed; it is strict all the same.
func pkcs7Unpad(b []byte, blockSize int) ([]byte, error) {
	if len(b) == 0 || len(b)%blockSize != 0 {
		return nil, errFernetToken
	}
	n := int(b[len(b)-1])
	if n == 0 || n > blockSize {
		return nil, errFernetToken
	}
	for _, c := range b[len(b)-n:] {
		if int(c) != n {
			return nil, errFernetToken
		}
	}
	return b[:len(b)-n], nil
}

// decodeBase64URL accepts URL-safe base64 with padding (what Python's
// base64.urlsafe_b64encode writes) or without.
func decodeBase64URL(b []byte) ([]byte, error) {
	enc := base64.URLEncoding
	if len(b)%4 != 0 {
		enc = base64.RawURLEncoding
	}
	out := make([]byte, enc.DecodedLen(len(b)))
	n, err := enc.Strict().Decode(out, b)
	if err != nil {
		return nil, err
	}
	return out[:n], nil
}
