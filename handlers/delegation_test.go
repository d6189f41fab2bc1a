package handlers

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/morpheus-gateway/caddy-morpheus/chain"
	"github.com/morpheus-gateway/caddy-morpheus/store"
)

var (
	testGateway = common.HexToAddress("0x1111111111111111111111111111111111111111")
	testManager = common.HexToAddress("0xdb9B1e94B5b69Df7e401DDbedE43491141047dB3")
)

func testVerifier() *chain.DelegationVerifier {
	return &chain.DelegationVerifier{ChainID: big.NewInt(42161), VerifyingContract: testManager, DelegateAddress: testGateway}
}

// signDelegation builds a root delegation from key's account to delegate,
// signed for v, in the toolkit's JSON form.
func signDelegation(t *testing.T, v *chain.DelegationVerifier, key *ecdsa.PrivateKey, delegate common.Address, salt int64) map[string]any {
	t.Helper()
	d := chain.Delegation{
		Delegate:  delegate,
		Delegator: crypto.PubkeyToAddress(key.PublicKey),
		Authority: chain.RootAuthority,
		Caveats:   []chain.Caveat{{Enforcer: common.HexToAddress("0x2222222222222222222222222222222222222222"), Terms: []byte{1, 2, 3}}},
		Salt:      big.NewInt(salt),
	}
	h, err := v.SigningHash(d)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := crypto.Sign(h.Bytes(), key)
	if err != nil {
		t.Fatal(err)
	}
	sig[64] += 27
	return map[string]any{
		"delegate":  d.Delegate.Hex(),
		"delegator": d.Delegator.Hex(),
		"authority": d.Authority.Hex(),
		"caveats":   []map[string]any{{"enforcer": d.Caveats[0].Enforcer.Hex(), "terms": hexutil.Encode(d.Caveats[0].Terms), "args": "0x"}},
		"salt":      strconv.FormatInt(salt, 10),
		"signature": hexutil.Encode(sig),
	}
}

func TestDelegation(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		v := testVerifier()
		e := newEnv(t, st, func(c *Config) { c.Delegations = v })
		uid, access := e.newUser("pia@example.com")
		_, other := e.newUser("quinn@example.com")
		key, _ := crypto.GenerateKey()

		// No active delegation: null.
		r := e.request("GET", "/auth/delegation/active", nil, bearer(access))
		wantStatus(t, r, http.StatusOK)
		if strings.TrimSpace(string(r.body)) != "null" {
			t.Fatalf("active %s", r.body)
		}

		// POST with the delegation as an object, lower-case delegate address.
		d1 := signDelegation(t, v, key, testGateway, 1)
		expiry := e.clock.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
		r = e.request("POST", "/auth/delegation", map[string]any{
			"signed_delegation_data": d1,
			"delegate_address":       strings.ToLower(testGateway.Hex()),
			"expiry":                 expiry.Format(time.RFC3339),
		}, bearer(access))
		wantStatus(t, r, http.StatusOK)
		var first delegationReply
		r.decode(t, &first)
		if first.ID == 0 || first.UserID != uid || first.DelegateAddress != testGateway.Hex() || !first.IsActive ||
			first.Expiry == nil || first.CreatedAt == "" {
			t.Fatalf("reply %s", r.body)
		}
		if exp, err := time.Parse(time.RFC3339, *first.Expiry); err != nil || !exp.Equal(expiry) {
			t.Fatalf("expiry %v, want %v", *first.Expiry, expiry)
		}
		var stored map[string]any
		if err := json.Unmarshal([]byte(first.SignedDelegationData), &stored); err != nil || stored["signature"] != d1["signature"] {
			t.Fatalf("signed_delegation_data %q", first.SignedDelegationData)
		}

		// Second POST (as a string, no expiry) deactivates the first.
		d2 := signDelegation(t, v, key, testGateway, 2)
		d2JSON, _ := json.Marshal(d2)
		r = e.request("POST", "/auth/delegation", map[string]any{
			"signed_delegation_data": string(d2JSON),
			"delegate_address":       testGateway.Hex(),
		}, bearer(access))
		wantStatus(t, r, http.StatusOK)
		var second delegationReply
		r.decode(t, &second)
		if second.Expiry != nil || second.SignedDelegationData != string(d2JSON) {
			t.Fatalf("second %s", r.body)
		}
		r = e.request("GET", "/auth/delegation/active", nil, bearer(access))
		wantStatus(t, r, http.StatusOK)
		var active delegationReply
		r.decode(t, &active)
		if active.ID != second.ID {
			t.Fatalf("active %s, want id %d", r.body, second.ID)
		}
		r = e.request("GET", "/auth/delegation", nil, bearer(access))
		wantStatus(t, r, http.StatusOK)
		var list []delegationReply
		r.decode(t, &list)
		if len(list) != 2 || list[0].ID != second.ID || list[1].ID != first.ID || list[1].IsActive {
			t.Fatalf("list %s", r.body)
		}
		r = e.request("GET", "/auth/delegation?skip=1&limit=1", nil, bearer(access))
		list = nil
		r.decode(t, &list)
		if len(list) != 1 || list[0].ID != first.ID {
			t.Fatalf("paged list %s", r.body)
		}
		wantError(t, e.request("GET", "/auth/delegation?limit=0", nil, bearer(access)), http.StatusBadRequest, TypeInvalidRequest, "limit")

		// Errors.
		post := func(body map[string]any) resp { return e.request("POST", "/auth/delegation", body, bearer(access)) }
		wrongDelegate := signDelegation(t, v, key, common.HexToAddress("0x3333333333333333333333333333333333333333"), 3)
		wantError(t, post(map[string]any{"signed_delegation_data": wrongDelegate, "delegate_address": testGateway.Hex()}),
			http.StatusBadRequest, TypeInvalidRequest, "signed_delegation_data.delegate")
		wantError(t, post(map[string]any{"signed_delegation_data": d1, "delegate_address": "0x3333333333333333333333333333333333333333"}),
			http.StatusBadRequest, TypeInvalidRequest, "delegate_address")
		wantError(t, post(map[string]any{"signed_delegation_data": d1}), http.StatusBadRequest, TypeInvalidRequest, "delegate_address")
		// Bad signature: signed by another key, or tampered salt.
		otherKey, _ := crypto.GenerateKey()
		forged := signDelegation(t, v, otherKey, testGateway, 4)
		forged["delegator"] = crypto.PubkeyToAddress(key.PublicKey).Hex()
		wantError(t, post(map[string]any{"signed_delegation_data": forged, "delegate_address": testGateway.Hex()}),
			http.StatusBadRequest, TypeInvalidRequest, "signed_delegation_data.signature")
		tampered := signDelegation(t, v, key, testGateway, 5)
		tampered["salt"] = "6"
		wantError(t, post(map[string]any{"signed_delegation_data": tampered, "delegate_address": testGateway.Hex()}),
			http.StatusBadRequest, TypeInvalidRequest, "signed_delegation_data.signature")
		// Expired.
		wantError(t, post(map[string]any{"signed_delegation_data": d1, "delegate_address": testGateway.Hex(),
			"expiry": e.clock.Now().Add(-time.Minute).UTC().Format(time.RFC3339)}), http.StatusBadRequest, TypeInvalidRequest, "expiry")
		wantError(t, post(map[string]any{"signed_delegation_data": d1, "delegate_address": testGateway.Hex(), "expiry": "tomorrow"}),
			http.StatusUnprocessableEntity, TypeInvalidRequest, "expiry")
		// Malformed delegation data.
		wantError(t, post(map[string]any{"signed_delegation_data": "not json", "delegate_address": testGateway.Hex()}),
			http.StatusBadRequest, TypeInvalidRequest, "signed_delegation_data")
		wantError(t, post(map[string]any{"delegate_address": testGateway.Hex()}), http.StatusBadRequest, TypeInvalidRequest, "signed_delegation_data")
		wantError(t, post(map[string]any{"signed_delegation_data": 5, "delegate_address": testGateway.Hex()}),
			http.StatusUnprocessableEntity, TypeInvalidRequest, "signed_delegation_data")
		// None of the failures changed the active delegation.
		r = e.request("GET", "/auth/delegation/active", nil, bearer(access))
		active = delegationReply{}
		r.decode(t, &active)
		if active.ID != second.ID {
			t.Fatalf("active after failures %s", r.body)
		}

		// DELETE: someone else's is 404; own is 204 and deactivates.
		path := "/auth/delegation/" + strconv.FormatInt(second.ID, 10)
		wantError(t, e.request("DELETE", path, nil, bearer(other)), http.StatusNotFound, TypeNotFound, "")
		wantError(t, e.request("DELETE", "/auth/delegation/x", nil, bearer(access)), http.StatusBadRequest, TypeInvalidRequest, "delegation_id")
		r = e.request("DELETE", path, nil, bearer(access))
		wantStatus(t, r, http.StatusNoContent)
		if len(r.body) != 0 {
			t.Fatalf("204 with body %q", r.body)
		}
		if _, err := st.ActiveDelegation(context.Background(), uid); err == nil {
			t.Fatal("delegation still active")
		}
		r = e.request("GET", "/auth/delegation/active", nil, bearer(access))
		if strings.TrimSpace(string(r.body)) != "null" {
			t.Fatalf("active after delete %s", r.body)
		}

		// Not configured: 503 on every delegation endpoint.
		e2 := newEnv(t, st)
		for _, m := range [][2]string{{"POST", "/auth/delegation"}, {"GET", "/auth/delegation"}, {"GET", "/auth/delegation/active"}, {"DELETE", "/auth/delegation/1"}} {
			var body any
			if m[0] == "POST" {
				body = map[string]any{"signed_delegation_data": d1, "delegate_address": testGateway.Hex()}
			}
			r := e2.request(m[0], m[1], body, bearer(access))
			if msg := wantError(t, r, http.StatusServiceUnavailable, TypeUnavailable, ""); !strings.Contains(msg, "delegation verification is not configured") {
				t.Errorf("%s %s: %q", m[0], m[1], msg)
			}
		}
	})
}
