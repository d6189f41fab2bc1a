package chain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
)

// row is a fake user_private_keys row for the lookup.
type row struct {
	ct []byte
	md json.RawMessage
}

func lookupFrom(rows map[int64]row) KeyLookup {
	return func(_ context.Context, userID int64) ([]byte, json.RawMessage, bool, error) {
		r, ok := rows[userID]
		if !ok {
			return nil, nil, false, nil
		}
		return r.ct, r.md, true, nil
	}
}

func TestResolvePrivateKey(t *testing.T) {
	ctx := context.Background()
	v, _ := newTestVault(t, "legacy-master")
	fallback, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	user, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ct, md, err := v.Encrypt(FormatPrivateKey(user))
	if err != nil {
		t.Fatal(err)
	}
	legacyCT, legacyMD := legacyRowForTest(t, "legacy-master", " 0x"+testKeyHex+"\n")
	garbageCT, garbageMD := legacyRowForTest(t, "legacy-master", "not a key")
	tampered := bytes.Clone(ct)
	tampered[0] ^= 1
	kmsMD := json.RawMessage(`{"algorithm":"fernet","salt":"AAAA","key":{"provider":"aws-kms","encrypted_key":"AA=="}}`)

	rows := lookupFrom(map[int64]row{
		1: {ct, md},
		2: {legacyCT, legacyMD},
		3: {tampered, md},
		4: {garbageCT, garbageMD},
		5: {legacyCT, kmsMD},
		6: {nil, md},
	})

	t.Run("user key", func(t *testing.T) {
		k, src, err := ResolvePrivateKey(ctx, rows, v, fallback, 1)
		if err != nil || src != KeySourceUser || Address(k) != Address(user) {
			t.Fatalf("got (%v, %v, %v)", k != nil, src, err)
		}
	})
	t.Run("legacy user key", func(t *testing.T) {
		k, src, err := ResolvePrivateKey(ctx, rows, v, fallback, 2)
		if err != nil || src != KeySourceUser || Address(k).Hex() != testKeyAddress {
			t.Fatalf("got (%v, %v, %v)", k != nil, src, err)
		}
	})
	t.Run("no user key, fallback", func(t *testing.T) {
		k, src, err := ResolvePrivateKey(ctx, rows, v, fallback, 99)
		if err != nil || src != KeySourceFallback || k != fallback {
			t.Fatalf("got (%v, %v, %v)", k != nil, src, err)
		}
	})
	t.Run("no user key, no fallback", func(t *testing.T) {
		k, src, err := ResolvePrivateKey(ctx, rows, v, nil, 99)
		if !errors.Is(err, ErrNoPrivateKey) || k != nil || src != KeySourceNone {
			t.Fatalf("got (%v, %v, %v)", k != nil, src, err)
		}
	})
	t.Run("nil lookup uses fallback", func(t *testing.T) {
		k, src, err := ResolvePrivateKey(ctx, nil, nil, fallback, 1)
		if err != nil || src != KeySourceFallback || k != fallback {
			t.Fatalf("got (%v, %v, %v)", k != nil, src, err)
		}
	})

	// A stored key that cannot be used is an error, never a silent fallback.
	unusable := []struct {
		name   string
		userID int64
		v      *Vault
		cause  error
	}{
		{"tampered ciphertext", 3, v, ErrDecrypt},
		{"decrypts to a non-key", 4, v, ErrInvalidPrivateKey},
		{"KMS row", 5, v, ErrKMSEncrypted},
		{"empty ciphertext", 6, v, nil},
		{"no vault configured", 1, nil, nil},
	}
	for _, c := range unusable {
		t.Run(c.name, func(t *testing.T) {
			k, src, err := ResolvePrivateKey(ctx, rows, c.v, fallback, c.userID)
			if !errors.Is(err, ErrStoredKeyUnusable) || k != nil || src != KeySourceNone {
				t.Fatalf("got (%v, %v, %v), want ErrStoredKeyUnusable", k != nil, src, err)
			}
			if c.cause != nil && !errors.Is(err, c.cause) {
				t.Fatalf("error %v does not wrap %v", err, c.cause)
			}
			assertNoSecret(t, err, FormatPrivateKey(user)[2:], testKeyHex, FormatPrivateKey(fallback)[2:])
		})
	}

	t.Run("lookup error", func(t *testing.T) {
		boom := errors.New("database is down")
		failing := func(context.Context, int64) ([]byte, json.RawMessage, bool, error) {
			return nil, nil, false, boom
		}
		k, src, err := ResolvePrivateKey(ctx, failing, v, fallback, 1)
		if !errors.Is(err, boom) || k != nil || src != KeySourceNone {
			t.Fatalf("got (%v, %v, %v), want the lookup error", k != nil, src, err)
		}
	})

	t.Run("lookup gets context and user id", func(t *testing.T) {
		type ctxKey struct{}
		c := context.WithValue(ctx, ctxKey{}, "marker")
		var gotID int64
		var gotMarker any
		spy := func(ctx context.Context, id int64) ([]byte, json.RawMessage, bool, error) {
			gotID, gotMarker = id, ctx.Value(ctxKey{})
			return nil, nil, false, nil
		}
		if _, _, err := ResolvePrivateKey(c, spy, v, fallback, 42); err != nil {
			t.Fatal(err)
		}
		if gotID != 42 || gotMarker != "marker" {
			t.Fatalf("lookup got id %d, ctx value %v", gotID, gotMarker)
		}
	})
}

func TestKeySourceString(t *testing.T) {
	for s, want := range map[KeySource]string{KeySourceNone: "none", KeySourceUser: "user", KeySourceFallback: "fallback", 7: "KeySource(7)"} {
		if got := s.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(s), got, want)
		}
	}
}
