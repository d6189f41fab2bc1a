package storetest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// privateKeyCases covers UpsertPrivateKey, PrivateKey, DeletePrivateKey and
// HasPrivateKey.
func privateKeyCases() []testCase {
	return []testCase{
		{"UpsertAndGet", testPKUpsertAndGet},
		{"UpsertReplaces", testPKUpsertReplaces},
		{"NilMetadata", testPKNilMetadata},
		{"Missing", testPKMissing},
		{"Delete", testPKDelete},
	}
}

// binaryKey holds every byte value, so that a backend storing the key as
// text (or stopping at a NUL) fails.
func binaryKey(seed byte) []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i) ^ seed
	}
	return b
}

// sameJSON reports whether two JSON documents are equal as values (object
// key order and whitespace may differ).
func sameJSON(t *testing.T, got, want json.RawMessage) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("metadata %q is not JSON: %v", got, err)
		return false
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("test metadata %q is not JSON: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

// checkPK compares a private key row with what was stored.
func checkPK(t *testing.T, what string, got store.PrivateKey, userID int64, key []byte, meta json.RawMessage) {
	t.Helper()
	if got.UserID != userID {
		t.Errorf("%s: UserID = %d, want %d", what, got.UserID, userID)
	}
	if !bytes.Equal(got.EncryptedPrivateKey, key) {
		t.Errorf("%s: EncryptedPrivateKey = %x, want %x", what, got.EncryptedPrivateKey, key)
	}
	if meta == nil {
		if len(got.EncryptionMetadata) != 0 {
			t.Errorf("%s: EncryptionMetadata = %q, want empty (NULL)", what, got.EncryptionMetadata)
		}
	} else if !sameJSON(t, got.EncryptionMetadata, meta) {
		t.Errorf("%s: EncryptionMetadata = %s, want %s", what, got.EncryptionMetadata, meta)
	}
	checkUTC(t, what+".CreatedAt", got.CreatedAt)
	checkUTC(t, what+".UpdatedAt", got.UpdatedAt)
}

var testMeta = json.RawMessage(`{"algorithm": "aes-256-gcm", "nonce": "AAECAwQFBgcICQoL", "kdf": {"name": "scrypt", "n": 32768}, "version": 1}`)

func testPKUpsertAndGet(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	other := mustUser(t, s)
	key := binaryKey(0)
	before := time.Now()
	pk, err := s.UpsertPrivateKey(ctx(t), u.ID, key, testMeta)
	noErr(t, "UpsertPrivateKey", err)
	if pk.ID <= 0 {
		t.Errorf("ID = %d, want > 0", pk.ID)
	}
	checkPK(t, "UpsertPrivateKey result", pk, u.ID, key, testMeta)
	checkRecent(t, "CreatedAt", pk.CreatedAt, before)
	checkRecent(t, "UpdatedAt", pk.UpdatedAt, before)

	got, err := s.PrivateKey(ctx(t), u.ID)
	noErr(t, "PrivateKey", err)
	checkPK(t, "PrivateKey", got, u.ID, key, testMeta)
	if got.ID != pk.ID || !sameTime(got.CreatedAt, pk.CreatedAt) || !sameTime(got.UpdatedAt, pk.UpdatedAt) {
		t.Errorf("PrivateKey = %+v, want id and times of %+v", got, pk)
	}

	has, err := s.HasPrivateKey(ctx(t), u.ID)
	noErr(t, "HasPrivateKey", err)
	if !has {
		t.Error("HasPrivateKey = false after UpsertPrivateKey")
	}
	has, err = s.HasPrivateKey(ctx(t), other.ID)
	noErr(t, "HasPrivateKey(other)", err)
	if has {
		t.Error("HasPrivateKey(other user) = true")
	}
}

func testPKUpsertReplaces(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	other := mustUser(t, s)
	first, err := s.UpsertPrivateKey(ctx(t), u.ID, binaryKey(1), testMeta)
	noErr(t, "UpsertPrivateKey(first)", err)
	otherKey, err := s.UpsertPrivateKey(ctx(t), other.ID, binaryKey(9), testMeta)
	noErr(t, "UpsertPrivateKey(other)", err)
	time.Sleep(10 * time.Millisecond)

	newMeta := json.RawMessage(`{"algorithm":"xchacha20-poly1305","version":2}`)
	second, err := s.UpsertPrivateKey(ctx(t), u.ID, binaryKey(2), newMeta)
	noErr(t, "UpsertPrivateKey(second)", err)
	checkPK(t, "second UpsertPrivateKey result", second, u.ID, binaryKey(2), newMeta)
	if !sameTime(second.CreatedAt, first.CreatedAt) {
		t.Errorf("CreatedAt changed from %v to %v; upsert must keep it", first.CreatedAt, second.CreatedAt)
	}
	if second.UpdatedAt.Before(first.UpdatedAt.Truncate(time.Microsecond)) {
		t.Errorf("UpdatedAt went back from %v to %v", first.UpdatedAt, second.UpdatedAt)
	}

	got, err := s.PrivateKey(ctx(t), u.ID)
	noErr(t, "PrivateKey", err)
	checkPK(t, "PrivateKey after replace", got, u.ID, binaryKey(2), newMeta)
	if !sameTime(got.CreatedAt, first.CreatedAt) || !sameTime(got.UpdatedAt, second.UpdatedAt) {
		t.Errorf("PrivateKey times = (%v, %v), want (%v, %v)", got.CreatedAt, got.UpdatedAt, first.CreatedAt, second.UpdatedAt)
	}

	o, err := s.PrivateKey(ctx(t), other.ID)
	noErr(t, "PrivateKey(other)", err)
	checkPK(t, "other user's key", o, other.ID, binaryKey(9), testMeta)
	if !sameTime(o.UpdatedAt, otherKey.UpdatedAt) {
		t.Errorf("other user's UpdatedAt changed from %v to %v", otherKey.UpdatedAt, o.UpdatedAt)
	}
}

func testPKNilMetadata(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	pk, err := s.UpsertPrivateKey(ctx(t), u.ID, binaryKey(3), nil)
	noErr(t, "UpsertPrivateKey(nil metadata)", err)
	checkPK(t, "UpsertPrivateKey(nil metadata) result", pk, u.ID, binaryKey(3), nil)
	got, err := s.PrivateKey(ctx(t), u.ID)
	noErr(t, "PrivateKey", err)
	checkPK(t, "PrivateKey(nil metadata)", got, u.ID, binaryKey(3), nil)

	// Replacing a key with metadata by one without clears the metadata.
	_, err = s.UpsertPrivateKey(ctx(t), u.ID, binaryKey(4), testMeta)
	noErr(t, "UpsertPrivateKey(with metadata)", err)
	_, err = s.UpsertPrivateKey(ctx(t), u.ID, binaryKey(5), nil)
	noErr(t, "UpsertPrivateKey(nil metadata again)", err)
	got, err = s.PrivateKey(ctx(t), u.ID)
	noErr(t, "PrivateKey", err)
	checkPK(t, "PrivateKey after replacing with nil metadata", got, u.ID, binaryKey(5), nil)
}

func testPKMissing(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	_, err := s.PrivateKey(ctx(t), u.ID)
	wantErr(t, "PrivateKey(none)", err, store.ErrNotFound)
	has, err := s.HasPrivateKey(ctx(t), u.ID)
	noErr(t, "HasPrivateKey(none)", err)
	if has {
		t.Error("HasPrivateKey(none) = true")
	}
	wantErr(t, "DeletePrivateKey(none)", s.DeletePrivateKey(ctx(t), u.ID), store.ErrNotFound)
	wantErr(t, "DeletePrivateKey(missing user)", s.DeletePrivateKey(ctx(t), u.ID+1000), store.ErrNotFound)
}

func testPKDelete(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	other := mustUser(t, s)
	_, err := s.UpsertPrivateKey(ctx(t), u.ID, binaryKey(6), testMeta)
	noErr(t, "UpsertPrivateKey", err)
	_, err = s.UpsertPrivateKey(ctx(t), other.ID, binaryKey(7), testMeta)
	noErr(t, "UpsertPrivateKey(other)", err)

	noErr(t, "DeletePrivateKey", s.DeletePrivateKey(ctx(t), u.ID))
	has, err := s.HasPrivateKey(ctx(t), u.ID)
	noErr(t, "HasPrivateKey", err)
	if has {
		t.Error("HasPrivateKey = true after DeletePrivateKey")
	}
	_, err = s.PrivateKey(ctx(t), u.ID)
	wantErr(t, "PrivateKey after delete", err, store.ErrNotFound)
	wantErr(t, "DeletePrivateKey(twice)", s.DeletePrivateKey(ctx(t), u.ID), store.ErrNotFound)

	has, err = s.HasPrivateKey(ctx(t), other.ID)
	noErr(t, "HasPrivateKey(other)", err)
	if !has {
		t.Error("deleting one user's key deleted another's")
	}

	// A new key can be stored after a delete.
	_, err = s.UpsertPrivateKey(ctx(t), u.ID, binaryKey(8), nil)
	noErr(t, "UpsertPrivateKey after delete", err)
	got, err := s.PrivateKey(ctx(t), u.ID)
	noErr(t, "PrivateKey", err)
	checkPK(t, "PrivateKey after re-upsert", got, u.ID, binaryKey(8), nil)
}
