package handlers

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/morpheus-gateway/caddy-morpheus/chain"
	"github.com/morpheus-gateway/caddy-morpheus/store"
)

func newVault(t *testing.T) *chain.Vault {
	t.Helper()
	key := make([]byte, chain.VaultKeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	v, err := chain.NewVault(key, "")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// newWalletKey returns a fresh key as hex (no 0x) and its address, derived
// with go-ethereum independently of the chain package.
func newWalletKey(t *testing.T) (string, string) {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(crypto.FromECDSA(k)), crypto.PubkeyToAddress(k.PublicKey).Hex()
}

func TestPrivateKey(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		vault := newVault(t)
		e := newEnv(t, st, func(c *Config) { c.Vault = vault })
		uid, access := e.newUser("nina@example.com")
		_, other := e.newUser("omar@example.com")
		keyHex, addr := newWalletKey(t)

		// Nothing stored yet.
		r := e.request("GET", "/auth/private-key", nil, bearer(access))
		wantStatus(t, r, http.StatusOK)
		if got := r.object(t); got["has_private_key"] != false || got["address"] != nil || got["created_at"] != nil {
			t.Fatalf("status %s", r.body)
		}
		wantError(t, e.request("DELETE", "/auth/private-key", nil, bearer(access)), http.StatusNotFound, TypeNotFound, "")

		// Invalid keys: 400 naming the field, without echoing the input.
		for _, bad := range []string{"", "0x1234", strings.Repeat("g", 64), strings.Repeat("0", 64), "0x" + keyHex + "00"} {
			r := e.request("POST", "/auth/private-key", map[string]any{"private_key": bad}, bearer(access))
			msg := wantError(t, r, http.StatusBadRequest, TypeInvalidRequest, "private_key")
			if len(bad) > 8 && strings.Contains(msg, bad[2:10]) {
				t.Errorf("message %q echoes the key", msg)
			}
		}
		wantError(t, e.request("POST", "/auth/private-key", map[string]any{}, bearer(access)), http.StatusBadRequest, TypeInvalidRequest, "private_key")
		wantError(t, e.request("POST", "/auth/private-key", `{"private_key":12}`, bearer(access)), http.StatusUnprocessableEntity, TypeInvalidRequest, "private_key")

		// Store (with 0X prefix and upper case): 201; GET shows the address.
		r = e.request("POST", "/auth/private-key", map[string]any{"private_key": "0X" + strings.ToUpper(keyHex)}, bearer(access))
		wantStatus(t, r, http.StatusCreated)
		if strings.Contains(strings.ToLower(string(r.body)), keyHex) {
			t.Fatal("reply contains the key")
		}
		if got := r.object(t); got["address"] != addr {
			t.Fatalf("store reply %s, want address %s", r.body, addr)
		}
		r = e.request("GET", "/auth/private-key", nil, bearer(access))
		wantStatus(t, r, http.StatusOK)
		got := r.object(t)
		if got["has_private_key"] != true || got["address"] != addr || got["created_at"] == nil || got["updated_at"] == nil {
			t.Fatalf("status %s, want address %s", r.body, addr)
		}
		// The database holds no plaintext.
		row, err := st.PrivateKey(context.Background(), uid)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := hex.DecodeString(keyHex)
		lower := []byte(strings.ToLower(string(row.EncryptedPrivateKey)))
		if bytes.Contains(lower, []byte(keyHex)) || bytes.Contains(row.EncryptedPrivateKey, raw) ||
			bytes.Contains(row.EncryptionMetadata, []byte(keyHex)) {
			t.Fatal("stored bytes contain the plaintext key")
		}
		// Another user has none.
		r = e.request("GET", "/auth/private-key", nil, bearer(other))
		if r.object(t)["has_private_key"] != false {
			t.Fatalf("other user's status %s", r.body)
		}

		// Replace with another key.
		key2, addr2 := newWalletKey(t)
		wantStatus(t, e.request("POST", "/auth/private-key", map[string]any{"private_key": key2}, bearer(access)), http.StatusCreated)
		if got := e.request("GET", "/auth/private-key", nil, bearer(access)).object(t); got["address"] != addr2 {
			t.Fatalf("after replace: %v, want %s", got, addr2)
		}

		// A server with another vault key: has_private_key, address null.
		e2 := newEnv(t, st, func(c *Config) { c.Vault = newVault(t) })
		r = e2.request("GET", "/auth/private-key", nil, bearer(access))
		wantStatus(t, r, http.StatusOK)
		if got := r.object(t); got["has_private_key"] != true || got["address"] != nil {
			t.Fatalf("wrong vault: %s", r.body)
		}
		// Without a vault: storing is 503; GET and DELETE work.
		e3 := newEnv(t, st)
		r = e3.request("POST", "/auth/private-key", map[string]any{"private_key": keyHex}, bearer(access))
		if msg := wantError(t, r, http.StatusServiceUnavailable, TypeUnavailable, ""); !strings.Contains(msg, "encryption_key is not configured") {
			t.Errorf("message %q", msg)
		}
		r = e3.request("GET", "/auth/private-key", nil, bearer(access))
		if got := r.object(t); got["has_private_key"] != true || got["address"] != nil {
			t.Fatalf("no vault: %s", r.body)
		}

		// Delete: 200, then 404.
		r = e3.request("DELETE", "/auth/private-key", nil, bearer(access))
		wantStatus(t, r, http.StatusOK)
		wantError(t, e.request("DELETE", "/auth/private-key", nil, bearer(access)), http.StatusNotFound, TypeNotFound, "")
		if got := e.request("GET", "/auth/private-key", nil, bearer(access)).object(t); got["has_private_key"] != false {
			t.Fatalf("after delete: %v", got)
		}
	})
}
