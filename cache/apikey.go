package cache

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// API key format: "sk-" + 6 characters of [A-Za-z0-9] (the 9-character
// prefix, stored in api_keys.key_prefix) + "." + 64 lowercase hex
// characters. Stored: the prefix and the hex SHA-256 of the full key.

// PrefixLen is the length of an API key's prefix ("sk-XXXXXX").
const PrefixLen = 9

// KeyLen is the length of a full API key: the prefix, ".", and 64 hex
// characters (32 random bytes).
const KeyLen = PrefixLen + 1 + 64

const prefixAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// GenerateAPIKey makes a new key; only hashedKey and prefix are stored.
func GenerateAPIKey() (key, prefix, hashedKey string, err error) {
	var b [PrefixLen]byte
	copy(b[:], "sk-")
	// Uniform over 62 characters: reject bytes >= 248 (= 4*62).
	var rnd [16]byte
	for i := 3; i < PrefixLen; {
		if _, err := rand.Read(rnd[:]); err != nil {
			return "", "", "", fmt.Errorf("cache: generating API key: %w", err)
		}
		for _, r := range rnd {
			if r >= 248 || i >= PrefixLen {
				continue
			}
			b[i] = prefixAlphabet[int(r)%len(prefixAlphabet)]
			i++
		}
	}
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", "", "", fmt.Errorf("cache: generating API key: %w", err)
	}
	prefix = string(b[:])
	key = prefix + "." + hex.EncodeToString(secret[:])
	return key, prefix, HashAPIKey(key), nil
}

// HashAPIKey is the hex SHA-256 of the full key, as stored in api_keys.hashed_key.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// ParseAuthorization extracts an API key from an Authorization header value:
// "Bearer sk-…" (scheme case-insensitive) or a bare "sk-…".
//
// It only checks that the value looks like an API key ("sk-" and no
// spaces); Authenticate validates the exact format. A JWT, another scheme
// ("Basic …") or an empty value give ok=false.
func ParseAuthorization(header string) (key string, ok bool) {
	v := strings.TrimSpace(header)
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		v = strings.TrimLeft(v[7:], " \t")
	}
	if !strings.HasPrefix(v, "sk-") || strings.ContainsAny(v, " \t") {
		return "", false
	}
	return v, true
}

// validKeyFormat reports whether raw is "sk-" + 6 of [A-Za-z0-9] + "." +
// 64 lowercase hex characters. It does not allocate.
func validKeyFormat(raw string) bool {
	if len(raw) != KeyLen || raw[:3] != "sk-" || raw[PrefixLen] != '.' {
		return false
	}
	for i := 3; i < PrefixLen; i++ {
		c := raw[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	for i := PrefixLen + 1; i < KeyLen; i++ {
		c := raw[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
