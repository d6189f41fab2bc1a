package chain

import (
	"errors"
	"strings"

	"github.com/ethereum/go-ethereum/common"
)

// ErrInvalidID is returned by NormalizeID for a value that is not a 32-byte
// hex ID. Router methods report the same problem as a KindBadRequest
// *RouterError, before any network call.
var ErrInvalidID = errors.New("invalid ID: want 0x followed by 64 hex digits")

// zeroHash32 is the canonical zero bytes32, e.g. the outer "ID" of every
// rated bid and the BidID of v4's zeroed session view.
const zeroHash32 = "0x0000000000000000000000000000000000000000000000000000000000000000"

// NormalizeID validates a model, bid or session ID (bytes32) and returns its
// canonical form: "0x" followed by 64 lowercase hex digits, the form the
// router returns and the form to store and compare. Surrounding whitespace
// and a missing or upper-case "0x"/"0X" prefix are tolerated (the router
// accepts an optional prefix too); anything else returns ErrInvalidID. The
// error never echoes the input.
func NormalizeID(s string) (string, error) {
	s = strings.TrimSpace(s)
	if has0xPrefix(s) {
		s = s[2:]
	}
	if len(s) != 64 || !isHex(s) {
		return "", ErrInvalidID
	}
	return "0x" + strings.ToLower(s), nil
}

// parseWireAddress decodes an address field of a router DTO: lowercase or
// EIP-55 hex, with "0x". Empty means the zero address (absent key).
func parseWireAddress(s string) (common.Address, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return common.Address{}, true
	}
	if !has0xPrefix(s) || !common.IsHexAddress(s) {
		return common.Address{}, false
	}
	return common.HexToAddress(s), true
}

// wireID normalises an ID read from a router response; the empty string and
// malformed values map to "" (the caller decides whether that is an error).
func wireID(s string) string {
	id, err := NormalizeID(s)
	if err != nil {
		return ""
	}
	return id
}

func isZeroID(id string) bool { return id == "" || id == zeroHash32 }
