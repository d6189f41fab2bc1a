package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// sessionCases covers CreateSession, SessionByID, ActiveSessionByAPIKey,
// LatestSessionByAPIKey, ActiveSessions, ExpiredActiveSessions and
// MarkSessionInactive (single goroutine; races are in concurrency.go).
func sessionCases() []testCase {
	return []testCase{
		{"CreateAndGet", testSessionCreateAndGet},
		{"ZeroCreatedAtIsNow", testSessionZeroCreatedAt},
		{"NullUser", testSessionNullUser},
		{"ByIDNotFound", testSessionByIDNotFound},
		{"ActiveByAPIKey", testSessionActiveByKey},
		{"ActiveByAPIKeyIgnoresExpiry", testSessionActiveIgnoresExpiry},
		{"SecondActiveRefused", testSessionSecondActive},
		{"ActiveAgainAfterMarkInactive", testSessionActiveAfterInactive},
		{"InactiveSessionsCoexist", testSessionInactiveCoexist},
		{"ActivePerKeyNotGlobal", testSessionActivePerKey},
		{"DuplicateID", testSessionDuplicateID},
		{"LatestByAPIKey", testSessionLatest},
		{"ActiveSessions", testSessionActiveList},
		{"ExpiredActiveSessions", testSessionExpired},
		{"MarkInactive", testSessionMarkInactive},
		{"MarkInactiveMissing", testSessionMarkInactiveMissing},
	}
}

// checkSession compares every field of a session; times to the microsecond.
func checkSession(t *testing.T, what string, got, want store.Session) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.APIKeyID != want.APIKeyID ||
		got.Model != want.Model || got.Type != want.Type || got.IsActive != want.IsActive ||
		!sameTime(got.CreatedAt, want.CreatedAt) || !sameTime(got.ExpiresAt, want.ExpiresAt) {
		t.Errorf("%s:\n got  %+v\n want %+v", what, got, want)
	}
	checkUTC(t, what+".CreatedAt", got.CreatedAt)
	checkUTC(t, what+".ExpiresAt", got.ExpiresAt)
}

// sessionIDs lists the ids of sessions, for failure messages.
func sessionIDs(ss []store.Session) []string {
	ids := make([]string, len(ss))
	for i, s := range ss {
		ids[i] = s.ID
	}
	return ids
}

// checkSessionIDs fails unless the sessions have exactly these ids, in order.
func checkSessionIDs(t *testing.T, what string, got []store.Session, want ...store.Session) {
	t.Helper()
	if !slices.Equal(sessionIDs(got), sessionIDs(want)) {
		t.Errorf("%s = %v, want %v", what, sessionIDs(got), sessionIDs(want))
		return
	}
	for i := range got {
		checkSession(t, fmt.Sprintf("%s[%d]", what, i), got[i], want[i])
	}
}

func testSessionCreateAndGet(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	k := mustKey(t, s, u.ID)
	for _, typ := range []string{store.SessionTypeAutomated, store.SessionTypeManual, store.SessionTypeBid} {
		in := newSession(u.ID, k.ID)
		in.Type = typ
		in.Model = "model-for-" + typ
		in.CreatedAt = time.Now().UTC().Add(-time.Minute).Truncate(time.Microsecond)
		in.IsActive = typ == store.SessionTypeBid // one active session per key
		got, err := s.CreateSession(ctx(t), in)
		noErr(t, "CreateSession("+typ+")", err)
		checkSession(t, "CreateSession("+typ+") result", got, in)
		read, err := s.SessionByID(ctx(t), in.ID)
		noErr(t, "SessionByID", err)
		checkSession(t, "SessionByID("+typ+")", read, in)
	}
}

func testSessionZeroCreatedAt(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	k := mustKey(t, s, u.ID)
	before := time.Now()
	in := newSession(u.ID, k.ID)
	got := mustSession(t, s, in)
	checkRecent(t, "CreateSession.CreatedAt", got.CreatedAt, before)
	read, err := s.SessionByID(ctx(t), in.ID)
	noErr(t, "SessionByID", err)
	checkRecent(t, "SessionByID.CreatedAt", read.CreatedAt, before)
	checkSession(t, "SessionByID", read, got)
}

func testSessionNullUser(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	k := mustKey(t, s, u.ID)
	in := newSession(0, k.ID)
	got := mustSession(t, s, in)
	if got.UserID != 0 {
		t.Errorf("CreateSession.UserID = %d, want 0", got.UserID)
	}
	read, err := s.SessionByID(ctx(t), in.ID)
	noErr(t, "SessionByID", err)
	if read.UserID != 0 {
		t.Errorf("SessionByID.UserID = %d, want 0 (NULL)", read.UserID)
	}
	checkSession(t, "SessionByID", read, got)
	active, err := s.ActiveSessionByAPIKey(ctx(t), k.ID)
	noErr(t, "ActiveSessionByAPIKey", err)
	checkSession(t, "ActiveSessionByAPIKey", active, got)
}

func testSessionByIDNotFound(t *testing.T, s store.Store) {
	mustOwnedSession(t, s)
	_, err := s.SessionByID(ctx(t), uniqueSessionID())
	wantErr(t, "SessionByID(missing)", err, store.ErrNotFound)
}

func testSessionActiveByKey(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	k := mustKey(t, s, u.ID)
	other := mustKey(t, s, u.ID)

	_, err := s.ActiveSessionByAPIKey(ctx(t), k.ID)
	wantErr(t, "ActiveSessionByAPIKey(no sessions)", err, store.ErrNotFound)

	old := newSession(u.ID, k.ID)
	old.IsActive = false
	mustSession(t, s, old)
	mustSession(t, s, newSession(u.ID, other.ID))
	_, err = s.ActiveSessionByAPIKey(ctx(t), k.ID)
	wantErr(t, "ActiveSessionByAPIKey(only inactive sessions)", err, store.ErrNotFound)

	cur := mustSession(t, s, newSession(u.ID, k.ID))
	got, err := s.ActiveSessionByAPIKey(ctx(t), k.ID)
	noErr(t, "ActiveSessionByAPIKey", err)
	checkSession(t, "ActiveSessionByAPIKey", got, cur)
}

func testSessionActiveIgnoresExpiry(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	k := mustKey(t, s, u.ID)
	in := newSession(u.ID, k.ID)
	in.ExpiresAt = time.Now().UTC().Add(-time.Hour).Truncate(time.Microsecond)
	cur := mustSession(t, s, in)
	got, err := s.ActiveSessionByAPIKey(ctx(t), k.ID)
	noErr(t, "ActiveSessionByAPIKey(expired but active)", err)
	checkSession(t, "ActiveSessionByAPIKey", got, cur)
}

func testSessionSecondActive(t *testing.T, s store.Store) {
	u, k, first := mustOwnedSession(t, s)
	second := newSession(u.ID, k.ID)
	_, err := s.CreateSession(ctx(t), second)
	wantErr(t, "CreateSession(second active)", err, store.ErrActiveSessionExists)

	got, err := s.ActiveSessionByAPIKey(ctx(t), k.ID)
	noErr(t, "ActiveSessionByAPIKey", err)
	checkSession(t, "ActiveSessionByAPIKey after refused second", got, first)
	_, err = s.SessionByID(ctx(t), second.ID)
	wantErr(t, "SessionByID(refused session)", err, store.ErrNotFound)
}

func testSessionActiveAfterInactive(t *testing.T, s store.Store) {
	u, k, first := mustOwnedSession(t, s)
	noErr(t, "MarkSessionInactive", s.MarkSessionInactive(ctx(t), first.ID))
	second := mustSession(t, s, newSession(u.ID, k.ID))
	got, err := s.ActiveSessionByAPIKey(ctx(t), k.ID)
	noErr(t, "ActiveSessionByAPIKey", err)
	checkSession(t, "ActiveSessionByAPIKey", got, second)
	old, err := s.SessionByID(ctx(t), first.ID)
	noErr(t, "SessionByID(first)", err)
	if old.IsActive {
		t.Error("first session active again")
	}
}

func testSessionInactiveCoexist(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	k := mustKey(t, s, u.ID)
	var made []store.Session
	for range 3 {
		in := newSession(u.ID, k.ID)
		in.IsActive = false
		made = append(made, mustSession(t, s, in))
	}
	for _, m := range made {
		got, err := s.SessionByID(ctx(t), m.ID)
		noErr(t, "SessionByID", err)
		checkSession(t, "SessionByID(inactive)", got, m)
	}
	active := mustSession(t, s, newSession(u.ID, k.ID))
	got, err := s.ActiveSessionByAPIKey(ctx(t), k.ID)
	noErr(t, "ActiveSessionByAPIKey", err)
	checkSession(t, "ActiveSessionByAPIKey", got, active)
}

func testSessionActivePerKey(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	var want []store.Session
	for range 3 {
		k := mustKey(t, s, u.ID)
		want = append(want, mustSession(t, s, newSession(u.ID, k.ID)))
	}
	for _, w := range want {
		got, err := s.ActiveSessionByAPIKey(ctx(t), w.APIKeyID)
		noErr(t, "ActiveSessionByAPIKey", err)
		checkSession(t, "ActiveSessionByAPIKey", got, w)
	}
}

func testSessionDuplicateID(t *testing.T, s store.Store) {
	u, _, first := mustOwnedSession(t, s)
	k2 := mustKey(t, s, u.ID)
	k3 := mustKey(t, s, u.ID)

	dupInactive := newSession(u.ID, k2.ID)
	dupInactive.ID = first.ID
	dupInactive.IsActive = false
	_, err := s.CreateSession(ctx(t), dupInactive)
	wantErr(t, "CreateSession(duplicate id, inactive)", err, store.ErrConflict)

	dupActive := newSession(u.ID, k3.ID)
	dupActive.ID = first.ID
	_, err = s.CreateSession(ctx(t), dupActive)
	wantErr(t, "CreateSession(duplicate id, active on a free key)", err, store.ErrConflict)

	got, err := s.SessionByID(ctx(t), first.ID)
	noErr(t, "SessionByID", err)
	checkSession(t, "original session after refused duplicates", got, first)
	_, err = s.ActiveSessionByAPIKey(ctx(t), k3.ID)
	wantErr(t, "ActiveSessionByAPIKey(key of refused duplicate)", err, store.ErrNotFound)
}

func testSessionLatest(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	k := mustKey(t, s, u.ID)
	other := mustKey(t, s, u.ID)
	empty := mustKey(t, s, u.ID)
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Microsecond)

	mk := func(key int64, created time.Time, active bool) store.Session {
		in := newSession(u.ID, key)
		in.CreatedAt = created
		in.IsActive = active
		return mustSession(t, s, in)
	}
	// Inserted out of created_at order; the newest is inactive.
	mk(k.ID, base.Add(10*time.Minute), true)
	newest := mk(k.ID, base.Add(20*time.Minute), false)
	mk(k.ID, base, false)
	mk(other.ID, base.Add(30*time.Minute), true) // another key's, newer still

	got, err := s.LatestSessionByAPIKey(ctx(t), k.ID)
	noErr(t, "LatestSessionByAPIKey", err)
	checkSession(t, "LatestSessionByAPIKey", got, newest)

	_, err = s.LatestSessionByAPIKey(ctx(t), empty.ID)
	wantErr(t, "LatestSessionByAPIKey(no sessions)", err, store.ErrNotFound)
}

func testSessionActiveList(t *testing.T, s store.Store) {
	none, err := s.ActiveSessions(ctx(t))
	noErr(t, "ActiveSessions(empty)", err)
	if len(none) != 0 {
		t.Fatalf("ActiveSessions on an empty store = %v", sessionIDs(none))
	}
	u := mustUser(t, s)
	now := time.Now().UTC().Truncate(time.Microsecond)
	mk := func(expires time.Duration, active bool) store.Session {
		k := mustKey(t, s, u.ID)
		in := newSession(u.ID, k.ID)
		in.ExpiresAt = now.Add(expires)
		in.IsActive = active
		return mustSession(t, s, in)
	}
	a := mk(2*time.Hour, true)
	mk(30*time.Minute, false)
	b := mk(-time.Hour, true) // expired but still active: listed
	c := mk(time.Hour, true)
	mk(-2*time.Hour, false)
	d := mk(3*time.Hour, true)
	noErr(t, "MarkSessionInactive", s.MarkSessionInactive(ctx(t), d.ID))

	got, err := s.ActiveSessions(ctx(t))
	noErr(t, "ActiveSessions", err)
	checkSessionIDs(t, "ActiveSessions", got, b, c, a)
}

func testSessionExpired(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	now := time.Now().UTC().Truncate(time.Microsecond)
	mk := func(expires time.Duration, active bool) store.Session {
		k := mustKey(t, s, u.ID)
		in := newSession(u.ID, k.ID)
		in.ExpiresAt = now.Add(expires)
		in.IsActive = active
		return mustSession(t, s, in)
	}
	e1 := mk(-1*time.Hour, true)
	mk(time.Hour, true)     // not expired
	mk(-5*time.Hour, false) // expired but inactive
	e3 := mk(-3*time.Hour, true)
	mk(0, true) // expires exactly now: not before now
	e2 := mk(-2*time.Hour, true)
	mk(time.Microsecond, true) // just after now

	got, err := s.ExpiredActiveSessions(ctx(t), now, 10)
	noErr(t, "ExpiredActiveSessions", err)
	checkSessionIDs(t, "ExpiredActiveSessions(now, 10)", got, e3, e2, e1)

	got, err = s.ExpiredActiveSessions(ctx(t), now, 2)
	noErr(t, "ExpiredActiveSessions", err)
	checkSessionIDs(t, "ExpiredActiveSessions(now, 2)", got, e3, e2)

	got, err = s.ExpiredActiveSessions(ctx(t), now, 1)
	noErr(t, "ExpiredActiveSessions", err)
	checkSessionIDs(t, "ExpiredActiveSessions(now, 1)", got, e3)

	got, err = s.ExpiredActiveSessions(ctx(t), now.Add(-150*time.Minute), 10)
	noErr(t, "ExpiredActiveSessions", err)
	checkSessionIDs(t, "ExpiredActiveSessions(now-2h30m, 10)", got, e3)

	noErr(t, "MarkSessionInactive", s.MarkSessionInactive(ctx(t), e3.ID))
	got, err = s.ExpiredActiveSessions(ctx(t), now, 10)
	noErr(t, "ExpiredActiveSessions", err)
	checkSessionIDs(t, "ExpiredActiveSessions after marking the oldest inactive", got, e2, e1)
}

func testSessionMarkInactive(t *testing.T, s store.Store) {
	u, k, sess := mustOwnedSession(t, s)
	k2 := mustKey(t, s, u.ID)
	keep := mustSession(t, s, newSession(u.ID, k2.ID))

	noErr(t, "MarkSessionInactive", s.MarkSessionInactive(ctx(t), sess.ID))
	got, err := s.SessionByID(ctx(t), sess.ID)
	noErr(t, "SessionByID", err)
	want := sess
	want.IsActive = false
	checkSession(t, "SessionByID after MarkSessionInactive", got, want)
	_, err = s.ActiveSessionByAPIKey(ctx(t), k.ID)
	wantErr(t, "ActiveSessionByAPIKey after MarkSessionInactive", err, store.ErrNotFound)
	latest, err := s.LatestSessionByAPIKey(ctx(t), k.ID)
	noErr(t, "LatestSessionByAPIKey", err)
	checkSession(t, "LatestSessionByAPIKey after MarkSessionInactive", latest, want)
	active, err := s.ActiveSessions(ctx(t))
	noErr(t, "ActiveSessions", err)
	checkSessionIDs(t, "ActiveSessions", active, keep)

	noErr(t, "MarkSessionInactive(already inactive)", s.MarkSessionInactive(ctx(t), sess.ID))
	got, err = s.SessionByID(ctx(t), sess.ID)
	noErr(t, "SessionByID", err)
	checkSession(t, "SessionByID after second MarkSessionInactive", got, want)
}

func testSessionMarkInactiveMissing(t *testing.T, s store.Store) {
	mustOwnedSession(t, s)
	wantErr(t, "MarkSessionInactive(missing)", s.MarkSessionInactive(ctx(t), uniqueSessionID()), store.ErrNotFound)
}
