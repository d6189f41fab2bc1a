package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// apiKeyCases covers CreateAPIKey, APIKeyByID, APIKeysByPrefix,
// UserAPIKeys, DeactivateAPIKey, TouchAPIKey and SetAPIKeyHash.
func apiKeyCases() []testCase {
	return []testCase{
		{"Create", testKeyCreate},
		{"CreateEmptyName", testKeyCreateEmptyName},
		{"CreateForMissingUser", testKeyCreateMissingUser},
		{"ByIDJoinsUser", testKeyByID},
		{"ByIDNotFound", testKeyByIDNotFound},
		{"ByPrefix", testKeyByPrefix},
		{"ByPrefixUnknown", testKeyByPrefixUnknown},
		{"ByPrefixReflectsUserDeactivation", testKeyByPrefixUserInactive},
		{"UserAPIKeys", testKeyUserKeys},
		{"Deactivate", testKeyDeactivate},
		{"DeactivateOtherUsersKey", testKeyDeactivateOther},
		{"DeactivateMissing", testKeyDeactivateMissing},
		{"Touch", testKeyTouch},
		{"SetHash", testKeySetHash},
	}
}

// checkKey compares every field of a key; timestamps to the microsecond.
func checkKey(t *testing.T, what string, got, want store.APIKey) {
	t.Helper()
	if got.ID != want.ID || got.KeyPrefix != want.KeyPrefix || got.HashedKey != want.HashedKey ||
		got.UserID != want.UserID || got.Name != want.Name || got.IsActive != want.IsActive ||
		!sameTime(got.CreatedAt, want.CreatedAt) || !sameTimePtr(got.LastUsedAt, want.LastUsedAt) {
		t.Errorf("%s:\n got  %+v (LastUsedAt %s)\n want %+v (LastUsedAt %s)",
			what, got, fmtTimePtr(got.LastUsedAt), want, fmtTimePtr(want.LastUsedAt))
	}
	checkUTC(t, what+".CreatedAt", got.CreatedAt)
	if got.LastUsedAt != nil {
		checkUTC(t, what+".LastUsedAt", *got.LastUsedAt)
	}
}

// keyIDs lists the ids of keys, for failure messages and order checks.
func keyIDs[K store.APIKey | store.APIKeyWithUser](keys []K) []int64 {
	ids := make([]int64, len(keys))
	for i, k := range keys {
		switch k := any(k).(type) {
		case store.APIKey:
			ids[i] = k.ID
		case store.APIKeyWithUser:
			ids[i] = k.ID
		}
	}
	return ids
}

func testKeyCreate(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	before := time.Now()
	in := store.NewAPIKey{UserID: u.ID, KeyPrefix: uniquePrefix(), HashedKey: fmt.Sprintf("%064x", 42), Name: "laptop"}
	k, err := s.CreateAPIKey(ctx(t), in)
	noErr(t, "CreateAPIKey", err)
	if k.ID <= 0 {
		t.Errorf("ID = %d, want > 0", k.ID)
	}
	if k.KeyPrefix != in.KeyPrefix || k.HashedKey != in.HashedKey || k.UserID != in.UserID || k.Name != in.Name {
		t.Errorf("CreateAPIKey returned %+v, want fields of %+v", k, in)
	}
	if !k.IsActive {
		t.Error("IsActive = false, want true")
	}
	if k.LastUsedAt != nil {
		t.Errorf("LastUsedAt = %v, want nil", *k.LastUsedAt)
	}
	checkRecent(t, "CreatedAt", k.CreatedAt, before)

	k2 := mustKey(t, s, u.ID)
	if k2.ID == k.ID {
		t.Errorf("two keys share id %d", k.ID)
	}
}

func testKeyCreateEmptyName(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	k, err := s.CreateAPIKey(ctx(t), store.NewAPIKey{UserID: u.ID, KeyPrefix: uniquePrefix(), HashedKey: "h"})
	noErr(t, "CreateAPIKey", err)
	if k.Name != "" {
		t.Errorf("Name = %q, want empty", k.Name)
	}
	got, err := s.APIKeyByID(ctx(t), k.ID)
	noErr(t, "APIKeyByID", err)
	checkKey(t, "APIKeyByID", got.APIKey, k)
}

func testKeyCreateMissingUser(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	_, err := s.CreateAPIKey(ctx(t), store.NewAPIKey{UserID: u.ID + 1000, KeyPrefix: uniquePrefix(), HashedKey: "h"})
	wantErr(t, "CreateAPIKey(missing user)", err, store.ErrNotFound)
	keys, err := s.UserAPIKeys(ctx(t), u.ID+1000)
	noErr(t, "UserAPIKeys", err)
	if len(keys) != 0 {
		t.Errorf("UserAPIKeys(missing user) returned %d keys after a refused create", len(keys))
	}
}

func testKeyByID(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	other := mustUser(t, s)
	mustKey(t, s, other.ID)
	k := mustKey(t, s, u.ID)
	got, err := s.APIKeyByID(ctx(t), k.ID)
	noErr(t, "APIKeyByID", err)
	checkKey(t, "APIKeyByID", got.APIKey, k)
	checkUser(t, "APIKeyByID.User", got.User, u)
}

func testKeyByIDNotFound(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	k := mustKey(t, s, u.ID)
	_, err := s.APIKeyByID(ctx(t), k.ID+1000)
	wantErr(t, "APIKeyByID(missing)", err, store.ErrNotFound)
}

func testKeyByPrefix(t *testing.T, s store.Store) {
	a := mustUser(t, s)
	b := mustUser(t, s)
	prefix := uniquePrefix()
	mustKey(t, s, a.ID) // another prefix, must not be returned
	k1 := mustKeyWithPrefix(t, s, a.ID, prefix)
	mustKey(t, s, b.ID)
	k2 := mustKeyWithPrefix(t, s, b.ID, prefix)
	k3 := mustKeyWithPrefix(t, s, a.ID, prefix)
	k3, err := s.DeactivateAPIKey(ctx(t), k3.ID, a.ID)
	noErr(t, "DeactivateAPIKey", err)

	got, err := s.APIKeysByPrefix(ctx(t), prefix)
	noErr(t, "APIKeysByPrefix", err)
	want := []store.APIKey{k1, k2, k3}
	owners := []store.User{a, b, a}
	if len(got) != len(want) {
		t.Fatalf("APIKeysByPrefix returned ids %v, want %v", keyIDs(got), keyIDs(want))
	}
	for i := range got {
		checkKey(t, fmt.Sprintf("APIKeysByPrefix[%d]", i), got[i].APIKey, want[i])
		checkUser(t, fmt.Sprintf("APIKeysByPrefix[%d].User", i), got[i].User, owners[i])
	}
}

func testKeyByPrefixUnknown(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	k := mustKey(t, s, u.ID)
	for _, p := range []string{uniquePrefix(), k.KeyPrefix[:5], k.KeyPrefix[:5] + "%", ""} {
		got, err := s.APIKeysByPrefix(ctx(t), p)
		noErr(t, fmt.Sprintf("APIKeysByPrefix(%q)", p), err)
		if len(got) != 0 {
			t.Errorf("APIKeysByPrefix(%q) returned %v, want none", p, keyIDs(got))
		}
	}
}

func testKeyByPrefixUserInactive(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	k := mustKey(t, s, u.ID)
	no := false
	_, err := s.UpdateUser(ctx(t), u.ID, store.UserUpdate{IsActive: &no})
	noErr(t, "UpdateUser(IsActive=false)", err)

	got, err := s.APIKeysByPrefix(ctx(t), k.KeyPrefix)
	noErr(t, "APIKeysByPrefix", err)
	if len(got) != 1 {
		t.Fatalf("APIKeysByPrefix returned %d keys, want 1", len(got))
	}
	if got[0].User.IsActive {
		t.Error("APIKeysByPrefix: User.IsActive = true after the user was deactivated")
	}
	if !got[0].IsActive {
		t.Error("APIKeysByPrefix: key IsActive = false; deactivating the user must not touch the key")
	}
	byID, err := s.APIKeyByID(ctx(t), k.ID)
	noErr(t, "APIKeyByID", err)
	if byID.User.IsActive {
		t.Error("APIKeyByID: User.IsActive = true after the user was deactivated")
	}
}

func testKeyUserKeys(t *testing.T, s store.Store) {
	a := mustUser(t, s)
	b := mustUser(t, s)
	none := mustUser(t, s)
	var want []store.APIKey
	for i := range 3 {
		want = append(want, mustKey(t, s, a.ID))
		if i == 0 {
			mustKey(t, s, b.ID)
		}
	}
	var err error
	want[1], err = s.DeactivateAPIKey(ctx(t), want[1].ID, a.ID)
	noErr(t, "DeactivateAPIKey", err)

	got, err := s.UserAPIKeys(ctx(t), a.ID)
	noErr(t, "UserAPIKeys", err)
	if len(got) != len(want) {
		t.Fatalf("UserAPIKeys returned ids %v, want %v", keyIDs(got), keyIDs(want))
	}
	for i := range got {
		checkKey(t, fmt.Sprintf("UserAPIKeys[%d]", i), got[i], want[i])
	}

	empty, err := s.UserAPIKeys(ctx(t), none.ID)
	noErr(t, "UserAPIKeys(no keys)", err)
	if len(empty) != 0 {
		t.Errorf("UserAPIKeys(user without keys) returned %v", keyIDs(empty))
	}
}

func testKeyDeactivate(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	k := mustKey(t, s, u.ID)
	sibling := mustKey(t, s, u.ID)

	got, err := s.DeactivateAPIKey(ctx(t), k.ID, u.ID)
	noErr(t, "DeactivateAPIKey", err)
	want := k
	want.IsActive = false
	checkKey(t, "DeactivateAPIKey result", got, want)
	read, err := s.APIKeyByID(ctx(t), k.ID)
	noErr(t, "APIKeyByID", err)
	checkKey(t, "APIKeyByID after deactivation", read.APIKey, want)

	again, err := s.DeactivateAPIKey(ctx(t), k.ID, u.ID)
	noErr(t, "DeactivateAPIKey(already inactive)", err)
	checkKey(t, "second DeactivateAPIKey result", again, want)

	sib, err := s.APIKeyByID(ctx(t), sibling.ID)
	noErr(t, "APIKeyByID(sibling)", err)
	if !sib.IsActive {
		t.Error("deactivating one key deactivated another key of the same user")
	}
}

func testKeyDeactivateOther(t *testing.T, s store.Store) {
	owner := mustUser(t, s)
	thief := mustUser(t, s)
	k := mustKey(t, s, owner.ID)
	_, err := s.DeactivateAPIKey(ctx(t), k.ID, thief.ID)
	wantErr(t, "DeactivateAPIKey(someone else's key)", err, store.ErrNotFound)
	read, err := s.APIKeyByID(ctx(t), k.ID)
	noErr(t, "APIKeyByID", err)
	if !read.IsActive {
		t.Error("DeactivateAPIKey by another user deactivated the key")
	}
}

func testKeyDeactivateMissing(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	k := mustKey(t, s, u.ID)
	_, err := s.DeactivateAPIKey(ctx(t), k.ID+1000, u.ID)
	wantErr(t, "DeactivateAPIKey(missing)", err, store.ErrNotFound)
}

func testKeyTouch(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	k := mustKey(t, s, u.ID)
	other := mustKey(t, s, u.ID)

	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Microsecond)
	noErr(t, "TouchAPIKey", s.TouchAPIKey(ctx(t), k.ID, at))
	got, err := s.APIKeyByID(ctx(t), k.ID)
	noErr(t, "APIKeyByID", err)
	want := k
	want.LastUsedAt = &at
	checkKey(t, "APIKeyByID after TouchAPIKey", got.APIKey, want)

	later := at.Add(90 * time.Second)
	noErr(t, "TouchAPIKey(later)", s.TouchAPIKey(ctx(t), k.ID, later))
	keys, err := s.APIKeysByPrefix(ctx(t), k.KeyPrefix)
	noErr(t, "APIKeysByPrefix", err)
	if len(keys) != 1 || !sameTimePtr(keys[0].LastUsedAt, &later) {
		t.Errorf("after second touch: keys %v, LastUsedAt %v, want %v", keyIDs(keys), func() string {
			if len(keys) == 0 {
				return "-"
			}
			return fmtTimePtr(keys[0].LastUsedAt)
		}(), later)
	}

	o, err := s.APIKeyByID(ctx(t), other.ID)
	noErr(t, "APIKeyByID(other)", err)
	if o.LastUsedAt != nil {
		t.Errorf("touching one key set LastUsedAt of another to %v", *o.LastUsedAt)
	}
}

func testKeySetHash(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	k := mustKey(t, s, u.ID)
	other := mustKey(t, s, u.ID)
	newHash := fmt.Sprintf("%064x", 0xfeed)
	noErr(t, "SetAPIKeyHash", s.SetAPIKeyHash(ctx(t), k.ID, newHash))
	got, err := s.APIKeyByID(ctx(t), k.ID)
	noErr(t, "APIKeyByID", err)
	want := k
	want.HashedKey = newHash
	checkKey(t, "APIKeyByID after SetAPIKeyHash", got.APIKey, want)

	o, err := s.APIKeyByID(ctx(t), other.ID)
	noErr(t, "APIKeyByID(other)", err)
	checkKey(t, "other key after SetAPIKeyHash", o.APIKey, other)
}
