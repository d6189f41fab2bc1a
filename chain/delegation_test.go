package chain

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/crypto"
)

const delegationTypeString = "Delegation(address delegate,address delegator,bytes32 authority,Caveat[] caveats,uint256 salt)Caveat(address enforcer,bytes terms)"

var (
	testDelegationManager = common.HexToAddress("0xdb9B1e94B5b69Df7e401DDbedE43491141047dB3")
	testGatewayDelegate   = common.HexToAddress("0x00000000000000000000000000000000000000a1")
)

func testVerifier() DelegationVerifier {
	return DelegationVerifier{
		ChainID:           big.NewInt(42161),
		VerifyingContract: testDelegationManager,
		DelegateAddress:   testGatewayDelegate,
	}
}

// signDelegation signs d for v with key, as a wallet's eth_signTypedData_v4
// does (v = 27/28).
func signDelegation(t *testing.T, v DelegationVerifier, d Delegation, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	h, err := v.SigningHash(d)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := crypto.Sign(h.Bytes(), key)
	if err != nil {
		t.Fatal(err)
	}
	sig[64] += 27
	return sig
}

// newSignedDelegation returns a delegation from a fresh EOA to the gateway,
// with two caveats, signed for testVerifier.
func newSignedDelegation(t *testing.T) (Delegation, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	d := Delegation{
		Delegate:  testGatewayDelegate,
		Delegator: crypto.PubkeyToAddress(key.PublicKey),
		Authority: RootAuthority,
		Caveats: []Caveat{
			{Enforcer: common.HexToAddress("0x7F20f61b1f09b08D970938F6fa563634d65c4EeB"), Terms: common.FromHex("0x1234abcd"), Args: []byte{}},
			{Enforcer: common.HexToAddress("0x1046bb45C8d673d4ea75321280DB34899413c069"), Terms: bytes.Repeat([]byte{0x42}, 64), Args: []byte{1, 2, 3}},
		},
		Salt: big.NewInt(1234567),
	}
	d.Signature = signDelegation(t, testVerifier(), d, key)
	return d, key
}

func cloneDelegation(d Delegation) Delegation {
	c := d
	c.Caveats = make([]Caveat, len(d.Caveats))
	for i, cv := range d.Caveats {
		c.Caveats[i] = Caveat{Enforcer: cv.Enforcer, Terms: bytes.Clone(cv.Terms), Args: bytes.Clone(cv.Args)}
	}
	c.Salt = new(big.Int).Set(d.Salt)
	c.Signature = bytes.Clone(d.Signature)
	return c
}

// toolkitJSON renders d the way the Delegation Toolkit serializes it.
func toolkitJSON(d Delegation, delegate string) []byte {
	caveats := make([]map[string]string, len(d.Caveats))
	for i, c := range d.Caveats {
		caveats[i] = map[string]string{
			"enforcer": c.Enforcer.Hex(),
			"terms":    hexutil.Encode(c.Terms),
			"args":     hexutil.Encode(c.Args),
		}
	}
	b, _ := json.Marshal(map[string]any{
		"delegate":  delegate,
		"delegator": d.Delegator.Hex(),
		"authority": d.Authority.Hex(),
		"caveats":   caveats,
		"salt":      hexutil.EncodeBig(d.Salt),
		"signature": hexutil.Encode(d.Signature),
	})
	return b
}

func wantDelegationErr(t *testing.T, err, kind error, field string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("error = %v, want %v", err, kind)
	}
	var de *DelegationError
	if !errors.As(err, &de) {
		t.Fatalf("error %T is not a *DelegationError", err)
	}
	if de.Field != field {
		t.Fatalf("error field = %q, want %q (%v)", de.Field, field, err)
	}
	if field != "" && !strings.Contains(err.Error(), field) {
		t.Fatalf("message %q does not name the field %q", err, field)
	}
}

func TestDelegationTypeHash(t *testing.T) {
	td := testVerifier().TypedData(Delegation{Salt: big.NewInt(0)})
	if got := string(td.EncodeType("Delegation")); got != delegationTypeString {
		t.Fatalf("encodeType(Delegation) =\n  %s\nwant\n  %s", got, delegationTypeString)
	}
	if got, want := common.BytesToHash(td.TypeHash("Delegation")), crypto.Keccak256Hash([]byte(delegationTypeString)); got != want {
		t.Fatalf("Delegation typehash = %s, want %s", got, want)
	}
	if got, want := common.BytesToHash(td.TypeHash("Caveat")), crypto.Keccak256Hash([]byte("Caveat(address enforcer,bytes terms)")); got != want {
		t.Fatalf("Caveat typehash = %s, want %s", got, want)
	}
	domain := "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
	if got, want := common.BytesToHash(td.TypeHash("EIP712Domain")), crypto.Keccak256Hash([]byte(domain)); got != want {
		t.Fatalf("domain typehash = %s, want %s", got, want)
	}
}

// TestDelegationSigningHashByHand recomputes the EIP-712 digest without
// apitypes, following the contract's encoding, to guard against a misuse of
// the library (e.g. args entering the hash, terms not hashed).
func TestDelegationSigningHashByHand(t *testing.T) {
	d, _ := newSignedDelegation(t)
	v := testVerifier()
	pad := func(a common.Address) []byte { return common.LeftPadBytes(a.Bytes(), 32) }
	u256 := func(n *big.Int) []byte { return math.U256Bytes(new(big.Int).Set(n)) }

	caveatTypeHash := crypto.Keccak256([]byte("Caveat(address enforcer,bytes terms)"))
	var caveatHashes []byte
	for _, c := range d.Caveats {
		caveatHashes = append(caveatHashes, crypto.Keccak256(caveatTypeHash, pad(c.Enforcer), crypto.Keccak256(c.Terms))...)
	}
	structHash := crypto.Keccak256(
		crypto.Keccak256([]byte(delegationTypeString)),
		pad(d.Delegate), pad(d.Delegator), d.Authority.Bytes(),
		crypto.Keccak256(caveatHashes), u256(d.Salt),
	)
	domainSeparator := crypto.Keccak256(
		crypto.Keccak256([]byte("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")),
		crypto.Keccak256([]byte("DelegationManager")), crypto.Keccak256([]byte("1")),
		u256(v.ChainID), pad(v.VerifyingContract),
	)
	want := crypto.Keccak256Hash([]byte{0x19, 0x01}, domainSeparator, structHash)
	got, err := v.SigningHash(d)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("SigningHash = %s, by hand %s", got, want)
	}

	// No caveats: the array hash is keccak256 of nothing.
	d.Caveats = nil
	structHash = crypto.Keccak256(
		crypto.Keccak256([]byte(delegationTypeString)),
		pad(d.Delegate), pad(d.Delegator), d.Authority.Bytes(),
		crypto.Keccak256(), u256(d.Salt),
	)
	want = crypto.Keccak256Hash([]byte{0x19, 0x01}, domainSeparator, structHash)
	if got, err = v.SigningHash(d); err != nil || got != want {
		t.Fatalf("no caveats: SigningHash = %s (%v), by hand %s", got, err, want)
	}
}

func TestDelegationVerifyOK(t *testing.T) {
	d, _ := newSignedDelegation(t)
	v := testVerifier()
	now := time.Now()
	if err := v.Verify(d, now, nil); err != nil {
		t.Fatal(err)
	}
	future := now.Add(time.Hour)
	if err := v.Verify(d, now, &future); err != nil {
		t.Fatalf("future expiry: %v", err)
	}
	// v in {0, 1}.
	low := cloneDelegation(d)
	low.Signature[64] -= 27
	if err := v.Verify(low, now, nil); err != nil {
		t.Fatalf("v=0/1: %v", err)
	}
	// Args are not signed: changing them keeps the signature valid.
	args := cloneDelegation(d)
	args.Caveats[0].Args = []byte("redeemer-supplied")
	if err := v.Verify(args, now, nil); err != nil {
		t.Fatalf("changed args: %v", err)
	}
}

func TestDelegationVerifyThroughJSON(t *testing.T) {
	d, _ := newSignedDelegation(t)
	v := testVerifier()
	lower := strings.ToLower(testGatewayDelegate.Hex())
	upper := "0x" + strings.ToUpper(lower[2:])
	for _, delegate := range []string{testGatewayDelegate.Hex(), lower, upper} {
		parsed, err := ParseDelegation(toolkitJSON(d, delegate))
		if err != nil {
			t.Fatalf("delegate %s: %v", delegate, err)
		}
		if err := v.Verify(parsed, time.Now(), nil); err != nil {
			t.Fatalf("delegate %s: %v", delegate, err)
		}
	}
}

func TestDelegationVerifyRejectsSignature(t *testing.T) {
	d, _ := newSignedDelegation(t)
	v := testVerifier()
	now := time.Now()
	other, _ := crypto.GenerateKey()

	mutate := map[string]func(d *Delegation, v *DelegationVerifier){
		"wrong signer": func(d *Delegation, v *DelegationVerifier) {
			d.Signature = signDelegation(t, *v, *d, other)
		},
		"other delegator": func(d *Delegation, _ *DelegationVerifier) {
			d.Delegator = crypto.PubkeyToAddress(other.PublicKey)
		},
		"modified caveat terms": func(d *Delegation, _ *DelegationVerifier) { d.Caveats[0].Terms[0] ^= 1 },
		"modified enforcer": func(d *Delegation, _ *DelegationVerifier) {
			d.Caveats[1].Enforcer = common.HexToAddress("0x0000000000000000000000000000000000000bad")
		},
		"dropped caveat": func(d *Delegation, _ *DelegationVerifier) { d.Caveats = d.Caveats[:1] },
		"reordered caveats": func(d *Delegation, _ *DelegationVerifier) {
			d.Caveats[0], d.Caveats[1] = d.Caveats[1], d.Caveats[0]
		},
		"modified salt":      func(d *Delegation, _ *DelegationVerifier) { d.Salt.Add(d.Salt, big.NewInt(1)) },
		"modified authority": func(d *Delegation, _ *DelegationVerifier) { d.Authority = common.Hash{1} },
		"other chain id":     func(_ *Delegation, v *DelegationVerifier) { v.ChainID = big.NewInt(1) },
		"other verifying contract": func(_ *Delegation, v *DelegationVerifier) {
			v.VerifyingContract = common.HexToAddress("0x0000000000000000000000000000000000000dd1")
		},
		"high s": func(d *Delegation, _ *DelegationVerifier) {
			n := crypto.S256().Params().N
			s := new(big.Int).Sub(n, new(big.Int).SetBytes(d.Signature[32:64]))
			copy(d.Signature[32:64], common.LeftPadBytes(s.Bytes(), 32))
			d.Signature[64] ^= 1 // 27 <-> 28: same signer, malleated
		},
		"bad v":          func(d *Delegation, _ *DelegationVerifier) { d.Signature[64] = 29 },
		"zero r":         func(d *Delegation, _ *DelegationVerifier) { copy(d.Signature[:32], make([]byte, 32)) },
		"short":          func(d *Delegation, _ *DelegationVerifier) { d.Signature = d.Signature[:64] },
		"long":           func(d *Delegation, _ *DelegationVerifier) { d.Signature = append(d.Signature, 0) },
		"empty":          func(d *Delegation, _ *DelegationVerifier) { d.Signature = nil },
		"zero delegator": func(d *Delegation, _ *DelegationVerifier) { d.Delegator = common.Address{} },
	}
	for name, f := range mutate {
		t.Run(name, func(t *testing.T) {
			dd, vv := cloneDelegation(d), v
			f(&dd, &vv)
			err := vv.Verify(dd, now, nil)
			field := "signature"
			if name == "zero delegator" {
				field = "delegator"
			}
			wantDelegationErr(t, err, ErrDelegationSignature, field)
		})
	}
}

func TestDelegationVerifyDelegate(t *testing.T) {
	d, key := newSignedDelegation(t)
	v := testVerifier()
	d.Delegate = common.HexToAddress("0x00000000000000000000000000000000000000b2")
	d.Signature = signDelegation(t, v, d, key) // validly signed, but not for us
	err := v.Verify(d, time.Now(), nil)
	wantDelegationErr(t, err, ErrDelegationDelegate, "delegate")
	if !strings.Contains(err.Error(), testGatewayDelegate.Hex()) {
		t.Errorf("message %q does not tell the user the expected delegate", err)
	}
}

func TestDelegationVerifyExpiry(t *testing.T) {
	d, _ := newSignedDelegation(t)
	v := testVerifier()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	past := now.Add(-time.Second)
	wantDelegationErr(t, v.Verify(d, now, &past), ErrDelegationExpired, "expiry")
	wantDelegationErr(t, v.Verify(d, now, &now), ErrDelegationExpired, "expiry")
	future := now.Add(time.Second)
	if err := v.Verify(d, now, &future); err != nil {
		t.Fatal(err)
	}
}

func TestDelegationVerifierConfig(t *testing.T) {
	d, _ := newSignedDelegation(t)
	for name, v := range map[string]DelegationVerifier{
		"no chain id":  {VerifyingContract: testDelegationManager, DelegateAddress: testGatewayDelegate},
		"no contract":  {ChainID: big.NewInt(1), DelegateAddress: testGatewayDelegate},
		"no delegate":  {ChainID: big.NewInt(1), VerifyingContract: testDelegationManager},
		"zero chainid": {ChainID: big.NewInt(0), VerifyingContract: testDelegationManager, DelegateAddress: testGatewayDelegate},
	} {
		err := v.Verify(d, time.Now(), nil)
		var de *DelegationError
		if err == nil || errors.As(err, &de) {
			t.Errorf("%s: error = %v, want a configuration error", name, err)
		}
	}
}

func TestParseDelegation(t *testing.T) {
	d, _ := newSignedDelegation(t)
	parsed, err := ParseDelegation(toolkitJSON(d, d.Delegate.Hex()))
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Delegate != d.Delegate || parsed.Delegator != d.Delegator || parsed.Authority != d.Authority ||
		parsed.Salt.Cmp(d.Salt) != 0 || !bytes.Equal(parsed.Signature, d.Signature) || len(parsed.Caveats) != 2 {
		t.Fatalf("parsed = %+v", parsed)
	}
	for i, c := range parsed.Caveats {
		if c.Enforcer != d.Caveats[i].Enforcer || !bytes.Equal(c.Terms, d.Caveats[i].Terms) || !bytes.Equal(c.Args, d.Caveats[i].Args) {
			t.Fatalf("caveat %d = %+v", i, c)
		}
	}
}

func TestParseDelegationSalt(t *testing.T) {
	base := `{"delegate":"0x00000000000000000000000000000000000000a1","delegator":"0x00000000000000000000000000000000000000c1",` +
		`"authority":"0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff","caveats":[],"signature":"0x","salt":%s}`
	maxU256 := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
	ok := map[string]*big.Int{
		`"1234567"`:                            big.NewInt(1234567),
		`"0x12d687"`:                           big.NewInt(1234567),
		`"0X12D687"`:                           big.NewInt(1234567),
		`1234567`:                              big.NewInt(1234567),
		`"0x"`:                                 big.NewInt(0),
		`"0"`:                                  big.NewInt(0),
		`0`:                                    big.NewInt(0),
		`"` + maxU256.String() + `"`:           maxU256,
		`"` + hexutil.EncodeBig(maxU256) + `"`: maxU256,
		`123456789012345678901234567890`:       mustBig("123456789012345678901234567890"),
	}
	for in, want := range ok {
		d, err := ParseDelegation([]byte(fmt.Sprintf(base, in)))
		if err != nil {
			t.Errorf("salt %s: %v", in, err)
			continue
		}
		if d.Salt.Cmp(want) != 0 {
			t.Errorf("salt %s = %s, want %s", in, d.Salt, want)
		}
	}
	tooBig := new(big.Int).Add(maxU256, big.NewInt(1))
	for _, in := range []string{`null`, `""`, `"-1"`, `-1`, `1.5`, `1e3`, `"0xzz"`, `"12a"`, `true`, `{}`, `"` + tooBig.String() + `"`} {
		_, err := ParseDelegation([]byte(fmt.Sprintf(base, in)))
		wantDelegationErr(t, err, ErrDelegationMalformed, "salt")
	}
}

func TestParseDelegationErrors(t *testing.T) {
	good := map[string]any{
		"delegate":  "0x00000000000000000000000000000000000000a1",
		"delegator": "0x00000000000000000000000000000000000000c1",
		"authority": "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"caveats":   []any{map[string]any{"enforcer": "0x00000000000000000000000000000000000000e1", "terms": "0x01", "args": "0x"}},
		"salt":      "0x1",
		"signature": "0x" + strings.Repeat("11", 65),
	}
	render := func(f func(m map[string]any)) []byte {
		m := map[string]any{}
		for k, v := range good {
			m[k] = v
		}
		m["caveats"] = []any{map[string]any{"enforcer": "0x00000000000000000000000000000000000000e1", "terms": "0x01", "args": "0x"}}
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	caveat := func(m map[string]any) map[string]any { return m["caveats"].([]any)[0].(map[string]any) }

	if _, err := ParseDelegation(render(func(map[string]any) {})); err != nil {
		t.Fatalf("baseline: %v", err)
	}
	// Optional parts.
	for name, f := range map[string]func(m map[string]any){
		"caveats absent": func(m map[string]any) { delete(m, "caveats") },
		"caveats null":   func(m map[string]any) { m["caveats"] = nil },
		"args absent":    func(m map[string]any) { delete(caveat(m), "args") },
		"empty terms":    func(m map[string]any) { caveat(m)["terms"] = "0x" },
		"unknown field":  func(m map[string]any) { m["chainId"] = 1 },
		"lowercase":      func(m map[string]any) { m["delegator"] = strings.ToLower(m["delegator"].(string)) },
	} {
		if _, err := ParseDelegation(render(f)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	for _, c := range []struct {
		name  string
		doc   []byte
		field string
	}{
		{"empty document", []byte(" "), ""},
		{"not JSON", []byte(`{"delegate":`), ""},
		{"JSON array", []byte(`[]`), ""},
		{"missing delegate", render(func(m map[string]any) { delete(m, "delegate") }), "delegate"},
		{"delegate not hex", render(func(m map[string]any) { m["delegate"] = "0xGatewayDelegateAccountAddressPlaceholder" }), "delegate"},
		{"delegate short", render(func(m map[string]any) { m["delegate"] = "0x00a1" }), "delegate"},
		{"delegate no 0x", render(func(m map[string]any) { m["delegate"] = strings.Repeat("0", 38) + "a1" }), "delegate"},
		{"delegate number", render(func(m map[string]any) { m["delegate"] = 161 }), "delegate"},
		{"missing delegator", render(func(m map[string]any) { delete(m, "delegator") }), "delegator"},
		{"authority short", render(func(m map[string]any) { m["authority"] = "0xffff" }), "authority"},
		{"authority bad hex", render(func(m map[string]any) { m["authority"] = "0x" + strings.Repeat("zz", 32) }), "authority"},
		{"missing authority", render(func(m map[string]any) { delete(m, "authority") }), "authority"},
		{"caveats not array", render(func(m map[string]any) { m["caveats"] = "0x" }), "caveats"},
		{"enforcer missing", render(func(m map[string]any) { delete(caveat(m), "enforcer") }), "caveats[0].enforcer"},
		{"terms bad hex", render(func(m map[string]any) { caveat(m)["terms"] = "0xzz" }), "caveats[0].terms"},
		{"terms odd length", render(func(m map[string]any) { caveat(m)["terms"] = "0x123" }), "caveats[0].terms"},
		{"terms no 0x", render(func(m map[string]any) { caveat(m)["terms"] = "1234" }), "caveats[0].terms"},
		{"terms missing", render(func(m map[string]any) { delete(caveat(m), "terms") }), "caveats[0].terms"},
		{"args bad hex", render(func(m map[string]any) { caveat(m)["args"] = "0xq" }), "caveats[0].args"},
		{"missing salt", render(func(m map[string]any) { delete(m, "salt") }), "salt"},
		{"missing signature", render(func(m map[string]any) { delete(m, "signature") }), "signature"},
		{"signature bad hex", render(func(m map[string]any) { m["signature"] = "0x" + strings.Repeat("g", 130) }), "signature"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseDelegation(c.doc)
			if c.field == "caveats" {
				// A JSON type error: the field name comes from encoding/json.
				if !errors.Is(err, ErrDelegationMalformed) || !strings.Contains(err.Error(), "caveats") {
					t.Fatalf("error = %v", err)
				}
				return
			}
			wantDelegationErr(t, err, ErrDelegationMalformed, c.field)
		})
	}
}

// A short (but well-formed hex) signature parses and is then refused by Verify.
func TestDelegationShortSignatureThroughJSON(t *testing.T) {
	d, _ := newSignedDelegation(t)
	d.Signature = d.Signature[:40]
	parsed, err := ParseDelegation(toolkitJSON(d, d.Delegate.Hex()))
	if err != nil {
		t.Fatal(err)
	}
	err = testVerifier().Verify(parsed, time.Now(), nil)
	wantDelegationErr(t, err, ErrDelegationSignature, "signature")
	if !strings.Contains(err.Error(), "got 40") {
		t.Errorf("message %q does not give the length", err)
	}
}

func mustBig(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return n
}
