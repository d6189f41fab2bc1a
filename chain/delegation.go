package chain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"
)

// Delegation is a MetaMask Delegation Toolkit delegation: the delegator lets
// the delegate act on its behalf, within the limits of the caveats. It is
// what users store in delegations.signed_delegation_data (as JSON, see
// ParseDelegation) with the gateway's address as delegate.
type Delegation struct {
	Delegate  common.Address
	Delegator common.Address
	// Authority is the hash of the parent delegation, or RootAuthority for
	// a delegation issued directly by the delegator's account.
	Authority common.Hash
	Caveats   []Caveat
	Salt      *big.Int
	// Signature is the delegator's EIP-712 signature over the delegation.
	Signature []byte
}

// Caveat restricts a delegation; Enforcer is the caveat enforcer contract
// that checks Terms on chain. Args are supplied at redemption time and are
// not covered by the delegator's signature.
type Caveat struct {
	Enforcer common.Address
	Terms    []byte
	Args     []byte
}

// RootAuthority is the Authority of a root delegation (one not derived from
// another delegation): bytes32 with every bit set, as in the toolkit.
var RootAuthority = common.HexToHash("0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")

// EIP-712 names of the Delegation Toolkit's DelegationManager.
const (
	DelegationDomainName    = "DelegationManager"
	DelegationDomainVersion = "1"
)

// Errors of ParseDelegation and DelegationVerifier.Verify, for errors.Is. The
// errors actually returned are *DelegationError values wrapping one of these;
// their messages name the offending field and are meant to be shown to the
// API user who submitted the delegation.
var (
	// ErrDelegationMalformed: the JSON or one of its fields cannot be parsed.
	ErrDelegationMalformed = errors.New("malformed delegation")
	// ErrDelegationSignature: the signature is malformed or was not made by
	// the delegator over this delegation, chain and DelegationManager.
	ErrDelegationSignature = errors.New("invalid delegation signature")
	// ErrDelegationDelegate: the delegation is not granted to this gateway.
	ErrDelegationDelegate = errors.New("delegation is not granted to this gateway")
	// ErrDelegationExpired: the delegation's expiry has passed.
	ErrDelegationExpired = errors.New("delegation has expired")
)

// DelegationError is the error ParseDelegation and Verify return: Kind is one
// of the ErrDelegation… sentinels, Field the JSON field at fault (empty when
// the whole document is) and Reason a short explanation. Error() is fit to
// show to API users.
type DelegationError struct {
	Kind   error
	Field  string
	Reason string
}

func (e *DelegationError) Error() string {
	if e.Field == "" {
		return e.Kind.Error() + ": " + e.Reason
	}
	return e.Kind.Error() + ": " + e.Field + ": " + e.Reason
}

// Unwrap returns Kind, so errors.Is(err, ErrDelegationSignature) works.
func (e *DelegationError) Unwrap() error { return e.Kind }

func delegationErr(kind error, field, format string, args ...any) *DelegationError {
	return &DelegationError{Kind: kind, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// delegationJSON is the toolkit's JSON form of a Delegation.
type delegationJSON struct {
	Delegate  *string          `json:"delegate"`
	Delegator *string          `json:"delegator"`
	Authority *string          `json:"authority"`
	Caveats   []caveatJSON     `json:"caveats"`
	Salt      *json.RawMessage `json:"salt"`
	Signature *string          `json:"signature"`
}

type caveatJSON struct {
	Enforcer *string `json:"enforcer"`
	Terms    *string `json:"terms"`
	Args     *string `json:"args"`
}

// ParseDelegation parses a delegation in the Delegation Toolkit's JSON form:
//
//	{"delegate":"0x…","delegator":"0x…","authority":"0x<32 bytes>",
//	 "caveats":[{"enforcer":"0x…","terms":"0x…","args":"0x…"}],
//	 "salt":"0x…" | "123" | 123, "signature":"0x…"}
//
// Addresses are 0x-prefixed hex in any case (the EIP-55 checksum is not
// enforced); authority is 32 bytes of 0x hex; terms, args and signature are
// 0x hex ("0x" for empty); salt is a non-negative uint256 written as a
// decimal string, a 0x hex string ("0x" alone is 0, as the toolkit writes it)
// or a JSON integer. "caveats" may be absent
// or null (no caveats) and "args" absent (empty); every other field is
// required. Unknown fields are ignored. Errors are *DelegationError wrapping
// ErrDelegationMalformed. ParseDelegation does not check the signature; use
// DelegationVerifier.Verify.
func ParseDelegation(data []byte) (Delegation, error) {
	var (
		d   Delegation
		raw delegationJSON
	)
	if len(bytes.TrimSpace(data)) == 0 {
		return d, delegationErr(ErrDelegationMalformed, "", "empty document")
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return d, delegationErr(ErrDelegationMalformed, typeErr.Field, "wrong JSON type (%s)", typeErr.Value)
		}
		return d, delegationErr(ErrDelegationMalformed, "", "not a JSON object")
	}
	var err error
	if d.Delegate, err = parseAddressField("delegate", raw.Delegate); err != nil {
		return Delegation{}, err
	}
	if d.Delegator, err = parseAddressField("delegator", raw.Delegator); err != nil {
		return Delegation{}, err
	}
	auth, err := parseHexField("authority", raw.Authority, true)
	if err != nil {
		return Delegation{}, err
	}
	if len(auth) != common.HashLength {
		return Delegation{}, delegationErr(ErrDelegationMalformed, "authority", "must be %d bytes, got %d", common.HashLength, len(auth))
	}
	d.Authority = common.BytesToHash(auth)
	for i, c := range raw.Caveats {
		var cv Caveat
		prefix := fmt.Sprintf("caveats[%d].", i)
		if cv.Enforcer, err = parseAddressField(prefix+"enforcer", c.Enforcer); err != nil {
			return Delegation{}, err
		}
		if cv.Terms, err = parseHexField(prefix+"terms", c.Terms, true); err != nil {
			return Delegation{}, err
		}
		if cv.Args, err = parseHexField(prefix+"args", c.Args, false); err != nil {
			return Delegation{}, err
		}
		d.Caveats = append(d.Caveats, cv)
	}
	if d.Salt, err = parseSalt(raw.Salt); err != nil {
		return Delegation{}, err
	}
	if d.Signature, err = parseHexField("signature", raw.Signature, true); err != nil {
		return Delegation{}, err
	}
	return d, nil
}

func parseAddressField(field string, s *string) (common.Address, error) {
	if s == nil {
		return common.Address{}, delegationErr(ErrDelegationMalformed, field, "missing")
	}
	v := strings.TrimSpace(*s)
	if !has0xPrefix(v) || !common.IsHexAddress(v) {
		return common.Address{}, delegationErr(ErrDelegationMalformed, field, "must be a 0x-prefixed 20-byte hex address")
	}
	return common.HexToAddress(v), nil
}

func parseHexField(field string, s *string, required bool) ([]byte, error) {
	if s == nil {
		if required {
			return nil, delegationErr(ErrDelegationMalformed, field, "missing")
		}
		return []byte{}, nil
	}
	b, err := hexutil.Decode(strings.TrimSpace(*s))
	if err != nil {
		return nil, delegationErr(ErrDelegationMalformed, field, "must be 0x-prefixed hex with an even number of digits")
	}
	return b, nil
}

// parseSalt accepts a JSON integer, a decimal string or a 0x hex string.
func parseSalt(raw *json.RawMessage) (*big.Int, error) {
	if raw == nil || string(*raw) == "null" {
		return nil, delegationErr(ErrDelegationMalformed, "salt", "missing")
	}
	text := string(*raw)
	if strings.HasPrefix(text, `"`) {
		var s string
		if err := json.Unmarshal(*raw, &s); err != nil {
			return nil, delegationErr(ErrDelegationMalformed, "salt", "not a valid JSON string")
		}
		text = strings.TrimSpace(s)
	}
	n := new(big.Int)
	ok := false
	switch {
	case has0xPrefix(text):
		switch digits := text[2:]; {
		case digits == "":
			// The toolkit's createDelegation writes salt "0x", which viem
			// encodes as 0.
			ok = true
		case isHex(digits):
			_, ok = n.SetString(digits, 16)
		}
	case text != "" && isDecimal(text):
		_, ok = n.SetString(text, 10)
	}
	if !ok {
		return nil, delegationErr(ErrDelegationMalformed, "salt", "must be a non-negative integer (decimal, 0x hex, or a JSON number without fraction or exponent)")
	}
	if n.BitLen() > 256 {
		return nil, delegationErr(ErrDelegationMalformed, "salt", "does not fit in uint256")
	}
	return n, nil
}

func has0xPrefix(s string) bool {
	return len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHexDigit(s[i]) {
			return false
		}
	}
	return true
}

func isDecimal(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// delegationTypes is the EIP-712 type definition of the Delegation Toolkit's
// DelegationManager. The field order is part of the hash and must match the
// contract's DELEGATION_TYPEHASH:
//
//	Delegation(address delegate,address delegator,bytes32 authority,Caveat[] caveats,uint256 salt)Caveat(address enforcer,bytes terms)
//
// A caveat's args are not part of the signed struct.
var delegationTypes = apitypes.Types{
	"EIP712Domain": {
		{Name: "name", Type: "string"},
		{Name: "version", Type: "string"},
		{Name: "chainId", Type: "uint256"},
		{Name: "verifyingContract", Type: "address"},
	},
	"Delegation": {
		{Name: "delegate", Type: "address"},
		{Name: "delegator", Type: "address"},
		{Name: "authority", Type: "bytes32"},
		{Name: "caveats", Type: "Caveat[]"},
		{Name: "salt", Type: "uint256"},
	},
	"Caveat": {
		{Name: "enforcer", Type: "address"},
		{Name: "terms", Type: "bytes"},
	},
}

// DelegationVerifier checks delegations submitted to this gateway. All three
// fields are configuration and must be set.
//
// Only delegations signed by an externally owned account are supported: the
// signature must be a 65-byte ECDSA signature recovering to Delegator.
// Delegators that are smart accounts (MetaMask smart accounts, whose
// signatures are checked on chain with ERC-1271, possibly ERC-6492-wrapped)
// are not supported yet and fail with ErrDelegationSignature.
//
// Verify checks the signature, the delegate and the expiry. It does not
// interpret caveats (their enforcers check them on chain when the delegation
// is redeemed) and does not follow Authority to a parent delegation.
type DelegationVerifier struct {
	// ChainID is the chain whose DelegationManager the delegation is for
	// (e.g. 42161 for Arbitrum One).
	ChainID *big.Int
	// VerifyingContract is that DelegationManager's address.
	VerifyingContract common.Address
	// DelegateAddress is the gateway's delegate account
	// (GATEWAY_DELEGATE_ADDRESS).
	DelegateAddress common.Address
}

// TypedData returns the EIP-712 typed data the delegator signs for d.
func (v DelegationVerifier) TypedData(d Delegation) apitypes.TypedData {
	caveats := make([]any, len(d.Caveats))
	for i, c := range d.Caveats {
		terms := c.Terms
		if terms == nil {
			terms = []byte{}
		}
		caveats[i] = map[string]any{
			"enforcer": c.Enforcer.Bytes(),
			"terms":    terms,
		}
	}
	var chainID *math.HexOrDecimal256
	if v.ChainID != nil {
		chainID = (*math.HexOrDecimal256)(new(big.Int).Set(v.ChainID))
	}
	return apitypes.TypedData{
		Types:       delegationTypes,
		PrimaryType: "Delegation",
		Domain: apitypes.TypedDataDomain{
			Name:              DelegationDomainName,
			Version:           DelegationDomainVersion,
			ChainId:           chainID,
			VerifyingContract: v.VerifyingContract.Hex(),
		},
		Message: apitypes.TypedDataMessage{
			"delegate":  d.Delegate.Bytes(),
			"delegator": d.Delegator.Bytes(),
			"authority": d.Authority.Bytes(),
			"caveats":   caveats,
			"salt":      d.Salt,
		},
	}
}

// SigningHash returns the EIP-712 digest
// keccak256("\x19\x01" ‖ domainSeparator ‖ hashStruct(d)) that the delegator
// signs, for this verifier's chain and DelegationManager.
func (v DelegationVerifier) SigningHash(d Delegation) (common.Hash, error) {
	if err := v.checkConfig(); err != nil {
		return common.Hash{}, err
	}
	if d.Salt == nil {
		return common.Hash{}, delegationErr(ErrDelegationMalformed, "salt", "missing")
	}
	h, _, err := apitypes.TypedDataAndHash(v.TypedData(d))
	if err != nil {
		// Only reachable with out-of-range values (e.g. a salt above 2^256
		// set in Go), never with a parsed delegation.
		return common.Hash{}, delegationErr(ErrDelegationMalformed, "", "cannot be hashed: %v", err)
	}
	return common.BytesToHash(h), nil
}

// Verify checks a delegation submitted by a user:
//
//   - Delegate must equal DelegateAddress (as addresses, so hex case does
//     not matter), else ErrDelegationDelegate;
//   - expiry, the row's optional expiry, must be after now, else
//     ErrDelegationExpired;
//   - Signature must be 65 bytes r ‖ s ‖ v with v in {27, 28} or {0, 1} and a
//     low s (EIP-2), and must recover to Delegator over the EIP-712 digest
//     for this chain and DelegationManager, else ErrDelegationSignature.
//
// Errors are *DelegationError values whose messages may be shown to the user.
// A verifier with missing configuration returns a plain (non-Delegation)
// error.
func (v DelegationVerifier) Verify(d Delegation, now time.Time, expiry *time.Time) error {
	if err := v.checkConfig(); err != nil {
		return err
	}
	if d.Delegate != v.DelegateAddress {
		return delegationErr(ErrDelegationDelegate, "delegate", "must be the gateway's delegate address %s", v.DelegateAddress.Hex())
	}
	if expiry != nil && !now.Before(*expiry) {
		return delegationErr(ErrDelegationExpired, "expiry", "expired at %s", expiry.UTC().Format(time.RFC3339))
	}
	if d.Delegator == (common.Address{}) {
		return delegationErr(ErrDelegationSignature, "delegator", "must not be the zero address")
	}
	sig, err := normalizeSignature(d.Signature)
	if err != nil {
		return err
	}
	hash, err := v.SigningHash(d)
	if err != nil {
		return err
	}
	pub, err := crypto.SigToPub(hash.Bytes(), sig)
	if err != nil {
		return delegationErr(ErrDelegationSignature, "signature", "no signer can be recovered from it")
	}
	if signer := crypto.PubkeyToAddress(*pub); signer != d.Delegator {
		return delegationErr(ErrDelegationSignature, "signature",
			"was not made by the delegator %s for this delegation on chain %s (smart-account delegators are not supported)",
			d.Delegator.Hex(), v.ChainID)
	}
	return nil
}

// normalizeSignature checks a 65-byte r ‖ s ‖ v signature and returns a copy
// with v in {0, 1}, as go-ethereum's recovery wants it.
func normalizeSignature(sig []byte) ([]byte, error) {
	if len(sig) != crypto.SignatureLength {
		return nil, delegationErr(ErrDelegationSignature, "signature", "must be %d bytes (r, s, v), got %d", crypto.SignatureLength, len(sig))
	}
	out := make([]byte, crypto.SignatureLength)
	copy(out, sig)
	switch out[64] {
	case 27, 28:
		out[64] -= 27
	case 0, 1:
	default:
		return nil, delegationErr(ErrDelegationSignature, "signature", "recovery id v must be 27, 28, 0 or 1, got %d", sig[64])
	}
	r := new(big.Int).SetBytes(out[:32])
	s := new(big.Int).SetBytes(out[32:64])
	if !crypto.ValidateSignatureValues(out[64], r, s, true) {
		return nil, delegationErr(ErrDelegationSignature, "signature", "r or s out of range (s must be in the lower half of the curve order)")
	}
	return out, nil
}

func (v DelegationVerifier) checkConfig() error {
	switch {
	case v.ChainID == nil || v.ChainID.Sign() <= 0:
		return errors.New("delegation verifier: chain id not configured")
	case v.VerifyingContract == (common.Address{}):
		return errors.New("delegation verifier: DelegationManager address not configured")
	case v.DelegateAddress == (common.Address{}):
		return errors.New("delegation verifier: gateway delegate address not configured")
	}
	return nil
}
