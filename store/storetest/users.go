package storetest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// userCases covers CreateUser, UserByID, UserByEmail, UpdateUser, ListUsers
// and DeleteUser.
func userCases() []testCase {
	return []testCase{
		{"CreateAndGet", testUserCreateAndGet},
		{"EmptyNameAndPassword", testUserEmptyNameAndPassword},
		{"NotFound", testUserNotFound},
		{"ByEmailIsExact", testUserByEmailIsExact},
		{"DuplicateEmail", testUserDuplicateEmail},
		{"UpdateEachField", testUserUpdateEachField},
		{"UpdateNothingTouchesUpdatedAt", testUserUpdateNothing},
		{"UpdateToTakenEmail", testUserUpdateTakenEmail},
		{"UpdateToOwnEmail", testUserUpdateOwnEmail},
		{"UpdateNotFound", testUserUpdateNotFound},
		{"ListPagination", testUserList},
		{"DeleteCascades", testUserDeleteCascades},
		{"DeleteNotFound", testUserDeleteNotFound},
	}
}

// checkUser compares every field of a user; timestamps to the microsecond.
func checkUser(t *testing.T, what string, got, want store.User) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || got.Email != want.Email ||
		got.HashedPassword != want.HashedPassword || got.IsActive != want.IsActive ||
		!sameTime(got.CreatedAt, want.CreatedAt) || !sameTime(got.UpdatedAt, want.UpdatedAt) {
		t.Errorf("%s:\n got  %+v\n want %+v", what, got, want)
	}
	checkUTC(t, what+".CreatedAt", got.CreatedAt)
	checkUTC(t, what+".UpdatedAt", got.UpdatedAt)
}

func testUserCreateAndGet(t *testing.T, s store.Store) {
	before := time.Now()
	in := store.NewUser{Name: "Ada Lovelace", Email: uniqueEmail(), HashedPassword: "$2b$12$abcdefghijklmnopqrstuv"}
	u, err := s.CreateUser(ctx(t), in)
	noErr(t, "CreateUser", err)
	if u.ID <= 0 {
		t.Errorf("CreateUser: ID = %d, want > 0", u.ID)
	}
	if u.Name != in.Name || u.Email != in.Email || u.HashedPassword != in.HashedPassword {
		t.Errorf("CreateUser returned %+v, want fields of %+v", u, in)
	}
	if !u.IsActive {
		t.Error("CreateUser: IsActive = false, want true")
	}
	checkRecent(t, "CreatedAt", u.CreatedAt, before)
	checkRecent(t, "UpdatedAt", u.UpdatedAt, before)

	byID, err := s.UserByID(ctx(t), u.ID)
	noErr(t, "UserByID", err)
	checkUser(t, "UserByID", byID, u)

	byEmail, err := s.UserByEmail(ctx(t), in.Email)
	noErr(t, "UserByEmail", err)
	checkUser(t, "UserByEmail", byEmail, u)

	// A second user gets a different id.
	other := mustUser(t, s)
	if other.ID == u.ID {
		t.Errorf("two users share id %d", u.ID)
	}
}

func testUserEmptyNameAndPassword(t *testing.T, s store.Store) {
	u, err := s.CreateUser(ctx(t), store.NewUser{Email: uniqueEmail()})
	noErr(t, "CreateUser", err)
	if u.Name != "" || u.HashedPassword != "" {
		t.Errorf("CreateUser returned Name %q, HashedPassword %q, want both empty", u.Name, u.HashedPassword)
	}
	got, err := s.UserByID(ctx(t), u.ID)
	noErr(t, "UserByID", err)
	checkUser(t, "UserByID", got, u)
}

func testUserNotFound(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	_, err := s.UserByID(ctx(t), u.ID+1000)
	wantErr(t, "UserByID(missing)", err, store.ErrNotFound)
	_, err = s.UserByEmail(ctx(t), "nobody-"+uniqueEmail())
	wantErr(t, "UserByEmail(missing)", err, store.ErrNotFound)
}

func testUserByEmailIsExact(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	_, err := s.UserByEmail(ctx(t), strings.ToUpper(u.Email))
	wantErr(t, "UserByEmail(upper-cased email)", err, store.ErrNotFound)
	_, err = s.UserByEmail(ctx(t), u.Email[:len(u.Email)-1])
	wantErr(t, "UserByEmail(prefix of email)", err, store.ErrNotFound)
	_, err = s.UserByEmail(ctx(t), "%")
	wantErr(t, "UserByEmail(\"%\")", err, store.ErrNotFound)
}

func testUserDuplicateEmail(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	_, err := s.CreateUser(ctx(t), store.NewUser{Name: "Other", Email: u.Email})
	wantErr(t, "CreateUser(duplicate email)", err, store.ErrDuplicateEmail)

	got, err := s.UserByEmail(ctx(t), u.Email)
	noErr(t, "UserByEmail", err)
	checkUser(t, "UserByEmail after refused duplicate", got, u)

	list, err := s.ListUsers(ctx(t), 0, 100)
	noErr(t, "ListUsers", err)
	if len(list) != 1 {
		t.Errorf("ListUsers after refused duplicate: %d users, want 1", len(list))
	}
}

func testUserUpdateEachField(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	other := mustUser(t, s)
	newName, empty := "Grace Hopper", ""
	newEmail := uniqueEmail()
	newHash := "$2b$12$anotherhashvalue"
	no, yes := false, true

	steps := []struct {
		name   string
		upd    store.UserUpdate
		mutate func(*store.User)
	}{
		{"Name", store.UserUpdate{Name: &newName}, func(w *store.User) { w.Name = newName }},
		{"Name to empty", store.UserUpdate{Name: &empty}, func(w *store.User) { w.Name = "" }},
		{"Email", store.UserUpdate{Email: &newEmail}, func(w *store.User) { w.Email = newEmail }},
		{"HashedPassword", store.UserUpdate{HashedPassword: &newHash}, func(w *store.User) { w.HashedPassword = newHash }},
		{"IsActive=false", store.UserUpdate{IsActive: &no}, func(w *store.User) { w.IsActive = false }},
		{"IsActive=true", store.UserUpdate{IsActive: &yes}, func(w *store.User) { w.IsActive = true }},
	}
	want := u
	for _, st := range steps {
		prev := want
		got, err := s.UpdateUser(ctx(t), u.ID, st.upd)
		noErr(t, "UpdateUser("+st.name+")", err)
		st.mutate(&want)
		if got.UpdatedAt.Before(prev.UpdatedAt.Truncate(time.Microsecond)) {
			t.Errorf("UpdateUser(%s): UpdatedAt went back from %v to %v", st.name, prev.UpdatedAt, got.UpdatedAt)
		}
		want.UpdatedAt = got.UpdatedAt
		checkUser(t, "UpdateUser("+st.name+") result", got, want)
		read, err := s.UserByID(ctx(t), u.ID)
		noErr(t, "UserByID", err)
		checkUser(t, "UserByID after UpdateUser("+st.name+")", read, want)
	}
	// The new email finds the user, the old one no longer does.
	_, err := s.UserByEmail(ctx(t), u.Email)
	wantErr(t, "UserByEmail(old email)", err, store.ErrNotFound)
	byEmail, err := s.UserByEmail(ctx(t), newEmail)
	noErr(t, "UserByEmail(new email)", err)
	if byEmail.ID != u.ID {
		t.Errorf("UserByEmail(new email).ID = %d, want %d", byEmail.ID, u.ID)
	}
	// The other user was not touched.
	gotOther, err := s.UserByID(ctx(t), other.ID)
	noErr(t, "UserByID(other)", err)
	checkUser(t, "other user", gotOther, other)
}

func testUserUpdateNothing(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	time.Sleep(10 * time.Millisecond)
	got, err := s.UpdateUser(ctx(t), u.ID, store.UserUpdate{})
	noErr(t, "UpdateUser(empty)", err)
	if got.UpdatedAt.Before(u.UpdatedAt.Truncate(time.Microsecond)) {
		t.Errorf("UpdatedAt went back from %v to %v", u.UpdatedAt, got.UpdatedAt)
	}
	want := u
	want.UpdatedAt = got.UpdatedAt
	checkUser(t, "UpdateUser(empty) result", got, want)
	read, err := s.UserByID(ctx(t), u.ID)
	noErr(t, "UserByID", err)
	checkUser(t, "UserByID after UpdateUser(empty)", read, got)
}

func testUserUpdateTakenEmail(t *testing.T, s store.Store) {
	a := mustUser(t, s)
	b := mustUser(t, s)
	name := "changed"
	_, err := s.UpdateUser(ctx(t), b.ID, store.UserUpdate{Email: &a.Email, Name: &name})
	wantErr(t, "UpdateUser(taken email)", err, store.ErrDuplicateEmail)
	got, err := s.UserByID(ctx(t), b.ID)
	noErr(t, "UserByID", err)
	checkUser(t, "user after refused update", got, b)
}

func testUserUpdateOwnEmail(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	got, err := s.UpdateUser(ctx(t), u.ID, store.UserUpdate{Email: &u.Email})
	noErr(t, "UpdateUser(own email)", err)
	if got.Email != u.Email {
		t.Errorf("Email = %q, want %q", got.Email, u.Email)
	}
}

func testUserUpdateNotFound(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	name := "x"
	_, err := s.UpdateUser(ctx(t), u.ID+1000, store.UserUpdate{Name: &name})
	wantErr(t, "UpdateUser(missing)", err, store.ErrNotFound)
	_, err = s.UpdateUser(ctx(t), u.ID+1000, store.UserUpdate{})
	wantErr(t, "UpdateUser(missing, empty update)", err, store.ErrNotFound)
}

func testUserList(t *testing.T, s store.Store) {
	empty, err := s.ListUsers(ctx(t), 0, 10)
	noErr(t, "ListUsers(empty store)", err)
	if len(empty) != 0 {
		t.Fatalf("ListUsers on an empty store returned %d users", len(empty))
	}
	var users []store.User
	for range 5 {
		users = append(users, mustUser(t, s))
	}
	for i := 1; i < len(users); i++ {
		if users[i].ID <= users[i-1].ID {
			t.Fatalf("user ids not increasing: %d then %d", users[i-1].ID, users[i].ID)
		}
	}
	pages := []struct {
		offset, limit int
		want          []store.User
	}{
		{0, 2, users[0:2]},
		{2, 2, users[2:4]},
		{4, 2, users[4:5]},
		{0, 100, users},
		{1, 3, users[1:4]},
		{5, 10, nil},
		{50, 10, nil},
		{0, 0, users}, // limit <= 0: no limit
		{2, -1, users[2:]},
		{-3, 2, users[0:2]}, // negative offset counts as 0
	}
	for _, p := range pages {
		got, err := s.ListUsers(ctx(t), p.offset, p.limit)
		noErr(t, "ListUsers", err)
		if len(got) != len(p.want) {
			t.Errorf("ListUsers(%d, %d) returned %d users, want %d", p.offset, p.limit, len(got), len(p.want))
			continue
		}
		for i := range got {
			checkUser(t, "ListUsers item", got[i], p.want[i])
		}
	}
}

// userWithEverything gives a user a key, sessions (one with a NULL user_id
// on the user's key), a private key, automation settings and two
// delegations.
type userWithEverything struct {
	user        store.User
	key         store.APIKey
	sessions    []store.Session
	delegations []store.Delegation
}

func mustUserWithEverything(t *testing.T, s store.Store) userWithEverything {
	t.Helper()
	var r userWithEverything
	r.user = mustUser(t, s)
	r.key = mustKey(t, s, r.user.ID)
	r.sessions = append(r.sessions, mustSession(t, s, newSession(r.user.ID, r.key.ID)))
	inactive := newSession(0, r.key.ID)
	inactive.IsActive = false
	r.sessions = append(r.sessions, mustSession(t, s, inactive))
	_, err := s.UpsertPrivateKey(ctx(t), r.user.ID, []byte{1, 2, 3}, json.RawMessage(`{"alg":"aes-256-gcm"}`))
	noErr(t, "UpsertPrivateKey", err)
	_, err = s.CreateAutomationSettings(ctx(t), r.user.ID, store.AutomationUpdate{})
	noErr(t, "CreateAutomationSettings", err)
	for range 2 {
		d, err := s.CreateDelegation(ctx(t), store.NewDelegation{
			UserID: r.user.ID, DelegateAddress: "0x1111111111111111111111111111111111111111", SignedDelegationData: "{}",
		})
		noErr(t, "CreateDelegation", err)
		r.delegations = append(r.delegations, d)
	}
	return r
}

func testUserDeleteCascades(t *testing.T, s store.Store) {
	victim := mustUserWithEverything(t, s)
	keeper := mustUserWithEverything(t, s)

	noErr(t, "DeleteUser", s.DeleteUser(ctx(t), victim.user.ID))

	// The victim and everything of theirs is gone.
	_, err := s.UserByID(ctx(t), victim.user.ID)
	wantErr(t, "UserByID(deleted)", err, store.ErrNotFound)
	_, err = s.UserByEmail(ctx(t), victim.user.Email)
	wantErr(t, "UserByEmail(deleted)", err, store.ErrNotFound)
	_, err = s.APIKeyByID(ctx(t), victim.key.ID)
	wantErr(t, "APIKeyByID(deleted user's key)", err, store.ErrNotFound)
	keys, err := s.APIKeysByPrefix(ctx(t), victim.key.KeyPrefix)
	noErr(t, "APIKeysByPrefix", err)
	if len(keys) != 0 {
		t.Errorf("APIKeysByPrefix(deleted user's prefix) returned %d keys", len(keys))
	}
	keyList, err := s.UserAPIKeys(ctx(t), victim.user.ID)
	noErr(t, "UserAPIKeys", err)
	if len(keyList) != 0 {
		t.Errorf("UserAPIKeys(deleted user) returned %d keys", len(keyList))
	}
	for _, sess := range victim.sessions {
		_, err = s.SessionByID(ctx(t), sess.ID)
		wantErr(t, "SessionByID(deleted user's session "+sess.ID+")", err, store.ErrNotFound)
	}
	has, err := s.HasPrivateKey(ctx(t), victim.user.ID)
	noErr(t, "HasPrivateKey", err)
	if has {
		t.Error("HasPrivateKey(deleted user) = true")
	}
	_, err = s.PrivateKey(ctx(t), victim.user.ID)
	wantErr(t, "PrivateKey(deleted user)", err, store.ErrNotFound)
	_, err = s.AutomationSettings(ctx(t), victim.user.ID)
	wantErr(t, "AutomationSettings(deleted user)", err, store.ErrNotFound)
	dels, err := s.UserDelegations(ctx(t), victim.user.ID, 0, 100)
	noErr(t, "UserDelegations", err)
	if len(dels) != 0 {
		t.Errorf("UserDelegations(deleted user) returned %d delegations", len(dels))
	}
	_, err = s.ActiveDelegation(ctx(t), victim.user.ID)
	wantErr(t, "ActiveDelegation(deleted user)", err, store.ErrNotFound)

	// The other user's rows are untouched.
	gotUser, err := s.UserByID(ctx(t), keeper.user.ID)
	noErr(t, "UserByID(keeper)", err)
	checkUser(t, "keeper", gotUser, keeper.user)
	_, err = s.APIKeyByID(ctx(t), keeper.key.ID)
	noErr(t, "APIKeyByID(keeper's key)", err)
	for _, sess := range keeper.sessions {
		_, err = s.SessionByID(ctx(t), sess.ID)
		noErr(t, "SessionByID(keeper's session)", err)
	}
	active, err := s.ActiveSessions(ctx(t))
	noErr(t, "ActiveSessions", err)
	if len(active) != 1 || active[0].ID != keeper.sessions[0].ID {
		t.Errorf("ActiveSessions after DeleteUser = %v, want only %s", sessionIDs(active), keeper.sessions[0].ID)
	}
	has, err = s.HasPrivateKey(ctx(t), keeper.user.ID)
	noErr(t, "HasPrivateKey(keeper)", err)
	if !has {
		t.Error("HasPrivateKey(keeper) = false after deleting another user")
	}
	_, err = s.AutomationSettings(ctx(t), keeper.user.ID)
	noErr(t, "AutomationSettings(keeper)", err)
	dels, err = s.UserDelegations(ctx(t), keeper.user.ID, 0, 100)
	noErr(t, "UserDelegations(keeper)", err)
	if len(dels) != len(keeper.delegations) {
		t.Errorf("UserDelegations(keeper) returned %d delegations, want %d", len(dels), len(keeper.delegations))
	}
	list, err := s.ListUsers(ctx(t), 0, 100)
	noErr(t, "ListUsers", err)
	if len(list) != 1 || list[0].ID != keeper.user.ID {
		t.Errorf("ListUsers after DeleteUser returned %d users, want only the keeper", len(list))
	}

	// The email is free again.
	_, err = s.CreateUser(ctx(t), store.NewUser{Email: victim.user.Email})
	noErr(t, "CreateUser(deleted user's email)", err)
}

func testUserDeleteNotFound(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	wantErr(t, "DeleteUser(missing)", s.DeleteUser(ctx(t), u.ID+1000), store.ErrNotFound)
	noErr(t, "DeleteUser", s.DeleteUser(ctx(t), u.ID))
	wantErr(t, "DeleteUser(twice)", s.DeleteUser(ctx(t), u.ID), store.ErrNotFound)
}
