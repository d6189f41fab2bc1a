package chain

import (
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// ErrInvalidPrivateKey is wrapped by every error ParsePrivateKey returns, so
// callers can map a malformed key to HTTP 400 with errors.Is. The wrapping
// error says what is wrong (length, character, range) but never contains the
// key or any part of it, so its message is safe to log and to show to the
// user who submitted the key.
var ErrInvalidPrivateKey = errors.New("invalid private key")

// privateKeyHexLen is the length of a secp256k1 private key in hex digits.
const privateKeyHexLen = 64

// ParsePrivateKey parses a wallet private key as an operator writes it in
// configuration (FALLBACK_PRIVATE_KEY) or a user submits it to
// POST /auth/private-key.
//
// It is strict, unlike the reference gateway's sanitize(), which silently
// dropped bad characters and padded or truncated the rest into a different
// key. Accepted: surrounding whitespace, an optional "0x" or "0X" prefix, then
// exactly 64 hexadecimal digits in either case whose value is a valid
// secp256k1 scalar (1 ≤ d < n), the same rule as go-ethereum's
// crypto.HexToECDSA. Anything else returns an error wrapping
// ErrInvalidPrivateKey.
func ParsePrivateKey(s string) (*ecdsa.PrivateKey, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		s = s[2:]
	}
	if s == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalidPrivateKey)
	}
	if len(s) != privateKeyHexLen {
		return nil, fmt.Errorf("%w: must be %d hex characters (optionally prefixed with 0x), got %d characters",
			ErrInvalidPrivateKey, privateKeyHexLen, len(s))
	}
	for i := 0; i < len(s); i++ {
		if !isHexDigit(s[i]) {
			// The position, not the character: the rest of the key must not
			// leak through an error message.
			return nil, fmt.Errorf("%w: non-hex character at position %d", ErrInvalidPrivateKey, i+1)
		}
	}
	b, err := hex.DecodeString(s)
	if err != nil { // unreachable after the loop above; kept for safety
		return nil, fmt.Errorf("%w: not hexadecimal", ErrInvalidPrivateKey)
	}
	k, err := crypto.ToECDSA(b)
	clear(b)
	if err != nil {
		// go-ethereum's messages ("invalid private key, >=N", "zero or
		// negative") carry no key material, but keep ours uniform.
		return nil, fmt.Errorf("%w: not a valid secp256k1 private key (zero or not below the curve order)", ErrInvalidPrivateKey)
	}
	return k, nil
}

// Address returns the Ethereum address (the wallet that pays for sessions) of
// a private key. It panics if k is nil.
func Address(k *ecdsa.PrivateKey) common.Address {
	return crypto.PubkeyToAddress(k.PublicKey)
}

// FormatPrivateKey returns k as "0x" followed by exactly 64 lowercase hex
// digits: the canonical form stored by the vault and the form the
// proxy-router expects in the X-Private-Key header. The result is a secret:
// never log it. It panics if k is nil.
func FormatPrivateKey(k *ecdsa.PrivateKey) string {
	return "0x" + hex.EncodeToString(crypto.FromECDSA(k))
}

func isHexDigit(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}
