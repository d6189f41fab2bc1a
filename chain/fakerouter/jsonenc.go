package fakerouter

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"

	"github.com/ethereum/go-ethereum/common"
)

// Wire encodings (spec §1.3).
//
//   - DTO fields that are *big.Int in the real router marshal as bare JSON
//     numbers; encoding/json already does that for *big.Int.
//   - lib.BigInt fields (bid prices, balances) marshal as quoted decimal
//     strings: bigString.
//   - Inputs that are lib.BigInt accept a number or a quoted string: jsonBigInt.
//   - lib.Hash inputs accept an optional 0x prefix and an odd number of
//     digits; a bad digit or a length other than 32 bytes is a 400.

const (
	contentJSON = "application/json; charset=utf-8"
	contentSSE  = "text/event-stream"
	zeroHash    = "0x0000000000000000000000000000000000000000000000000000000000000000"
	zeroAddress = "0x0000000000000000000000000000000000000000"
)

var errInvalidHashLen = errors.New("invalid hash length")

// parseHash mirrors lib.HexToHash: optional 0x/0X, odd length padded with a
// leading 0, hex decoding errors returned verbatim, then a length check.
// The result is lowercase 0x + 64 hex.
func parseHash(s string) (string, error) {
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	if len(s)%2 == 1 {
		s = "0" + s
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return "", err
	}
	if len(b) != common.HashLength {
		return "", errInvalidHashLen
	}
	return "0x" + hex.EncodeToString(b), nil
}

// mustHash normalises a hash given by a test author; it panics on bad input.
func mustHash(s string) string {
	h, err := parseHash(s)
	if err != nil {
		panic(fmt.Sprintf("fakerouter: bad hash %q: %v", s, err))
	}
	return h
}

// mustAddress normalises an address given by a test author to lowercase hex;
// it panics on bad input.
func mustAddress(s string) string {
	if !common.IsHexAddress(s) {
		panic(fmt.Sprintf("fakerouter: bad address %q", s))
	}
	return strings.ToLower(common.HexToAddress(s).Hex())
}

// checksum returns the EIP-55 form used in the real router's error strings.
func checksum(addr string) string { return common.HexToAddress(addr).Hex() }

// jsonBigInt is lib.BigInt on input: a JSON number or a quoted decimal string.
type jsonBigInt struct{ big.Int }

// UnmarshalJSON strips optional quotes and parses base 10, with the real
// router's error text.
func (b *jsonBigInt) UnmarshalJSON(data []byte) error {
	str := string(data)
	if len(str) > 1 && str[0] == '"' {
		str = str[1 : len(str)-1]
	}
	if _, ok := b.Int.SetString(str, 10); !ok {
		return fmt.Errorf("invalid big.Int string: %s", str)
	}
	return nil
}

// bigString is lib.BigInt on output: a quoted decimal string.
type bigString struct{ v *big.Int }

// MarshalJSON writes the value as a quoted decimal string ("0" for nil).
func (b bigString) MarshalJSON() ([]byte, error) {
	if b.v == nil {
		return []byte(`"0"`), nil
	}
	return []byte(`"` + b.v.String() + `"`), nil
}

func bs(v *big.Int) bigString { return bigString{v} }

// bi returns a bare-number *big.Int (never nil, so it marshals as 0, not null).
func bi(v *big.Int) *big.Int {
	if v == nil {
		return new(big.Int)
	}
	return v
}

func bigFrom(n int64) *big.Int { return big.NewInt(n) }

func cloneBig(v *big.Int) *big.Int {
	if v == nil {
		return nil
	}
	return new(big.Int).Set(v)
}

// writeJSON writes v like gin's c.JSON: json.Marshal (HTML-escaping, compact,
// no trailing newline), and a JSON content type only if none was set before
// (gin never overwrites one, which produces the "500 + text/event-stream"
// quirk on streaming requests).
func (r *Router) writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("fakerouter: marshal: %v", err))
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", contentJSON)
	}
	w.WriteHeader(status)
	if _, err := w.Write(body); err != nil {
		r.count(func(c *Counters) { c.WriteErrors++ })
	}
}

// writeError writes {"error": msg}.
func (r *Router) writeError(w http.ResponseWriter, status int, msg string) {
	r.writeJSON(w, status, map[string]string{"error": msg})
}

// notFound is gin's default 404 for unknown routes and wrong methods.
func notFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte("404 page not found"))
}

// dropConnection reproduces a handler panic without recovery middleware:
// the connection is closed and no response is written.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = conn.Close()
		return
	}
	panic(http.ErrAbortHandler)
}
