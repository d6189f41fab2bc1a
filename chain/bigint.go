package chain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// BigInt is a *big.Int that decodes both integer encodings the proxy-router
// uses side by side (spec §1.3):
//
//   - bare JSON numbers, from *big.Int fields (model Fee/Stake/CreatedAt and
//     every number of the session view), often above 2^63;
//   - quoted decimal strings, from the router's lib.BigInt fields (bid
//     PricePerSecond/Nonce/CreatedAt/DeletedAt, balances, allowances).
//
// Values never pass through float64. JSON null leaves Int nil. Anything else
// (fractions, exponents, hex, empty strings, booleans, objects) is an error.
//
// BigInt marshals as a quoted decimal string (the lib.BigInt form, safe for
// JavaScript clients), or null when Int is nil; the router accepts both forms
// on input and so does UnmarshalJSON.
type BigInt struct{ *big.Int }

// UnmarshalJSON implements json.Unmarshaler.
func (b *BigInt) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, []byte("null")) {
		b.Int = nil
		return nil
	}
	s := string(data)
	if len(data) > 0 && data[0] == '"' {
		if err := json.Unmarshal(data, &s); err != nil {
			return fmt.Errorf("big integer: malformed JSON string")
		}
	}
	n, err := parseDecimal(s)
	if err != nil {
		return err
	}
	b.Int = n
	return nil
}

// MarshalJSON implements json.Marshaler.
func (b BigInt) MarshalJSON() ([]byte, error) {
	if b.Int == nil {
		return []byte("null"), nil
	}
	return []byte(`"` + b.Int.String() + `"`), nil
}

// parseDecimal accepts an optional sign followed by decimal digits only.
// big.Int.SetString would also accept underscores with base 0; base 10 is
// strict, but the explicit check keeps the error message ours.
func parseDecimal(s string) (*big.Int, error) {
	digits := s
	if len(digits) > 0 && (digits[0] == '-' || digits[0] == '+') {
		digits = digits[1:]
	}
	if digits == "" || !isDecimal(digits) {
		// The value is public chain data, but keep messages short.
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		return nil, fmt.Errorf("big integer: %q is not a decimal integer", s)
	}
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, fmt.Errorf("big integer: %q is not a decimal integer", s)
	}
	return n, nil
}

// orZero returns b's value, or a fresh zero when it is nil (JSON null or an
// absent key), so that decoded structs never carry nil *big.Int fields.
func (b BigInt) orZero() *big.Int {
	if b.Int == nil {
		return new(big.Int)
	}
	return b.Int
}

// errTimeRange is returned for Unix timestamps that cannot be a block time.
var errTimeRange = errors.New("timestamp out of range")

// unixTime converts a Unix-seconds block timestamp (the router's encoding for
// OpenedAt, EndsAt, ClosedAt, CreatedAt, DeletedAt) to a UTC time. Zero (and
// null) map to the zero time.Time, the contract's "not set".
func (b BigInt) unixTime() (time.Time, error) {
	if b.Int == nil || b.Sign() == 0 {
		return time.Time{}, nil
	}
	// Year 9999 is far beyond any block time and keeps time.Unix exact.
	if b.Sign() < 0 || !b.IsInt64() || b.Int64() > 253402300799 {
		return time.Time{}, errTimeRange
	}
	return time.Unix(b.Int64(), 0).UTC(), nil
}
