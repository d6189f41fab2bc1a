package storetest

import (
	"testing"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// timestampCases checks the package-wide time rules: every time comes back
// in UTC, explicit times survive a round trip to the microsecond whatever
// zone they were given in, and database-set times are about now.
func timestampCases() []testCase {
	return []testCase{
		{"DatabaseSetTimesAreRecentUTC", testTimesRecentUTC},
		{"ExplicitTimesRoundTripMicroseconds", testTimesRoundTrip},
		{"NonUTCInputComesBackUTC", testTimesNonUTCInput},
	}
}

// oddInstant is a fixed instant with a non-zero microsecond part.
var oddInstant = time.Date(2031, time.March, 14, 15, 9, 26, 535897000, time.UTC)

func testTimesRecentUTC(t *testing.T, s store.Store) {
	before := time.Now()
	u := mustUser(t, s)
	k := mustKey(t, s, u.ID)
	sess := mustSession(t, s, newSession(u.ID, k.ID))
	pk, err := s.UpsertPrivateKey(ctx(t), u.ID, []byte("x"), nil)
	noErr(t, "UpsertPrivateKey", err)
	as, err := s.CreateAutomationSettings(ctx(t), u.ID, store.AutomationUpdate{})
	noErr(t, "CreateAutomationSettings", err)
	d, err := s.CreateDelegation(ctx(t), store.NewDelegation{UserID: u.ID, DelegateAddress: "0xabc", SignedDelegationData: "sig"})
	noErr(t, "CreateDelegation", err)

	checkRecent(t, "User.CreatedAt", u.CreatedAt, before)
	checkRecent(t, "APIKey.CreatedAt", k.CreatedAt, before)
	checkRecent(t, "Session.CreatedAt", sess.CreatedAt, before)
	checkRecent(t, "PrivateKey.CreatedAt", pk.CreatedAt, before)
	checkRecent(t, "PrivateKey.UpdatedAt", pk.UpdatedAt, before)
	checkRecent(t, "AutomationSettings.CreatedAt", as.CreatedAt, before)
	checkRecent(t, "AutomationSettings.UpdatedAt", as.UpdatedAt, before)
	checkRecent(t, "Delegation.CreatedAt", d.CreatedAt, before)

	// The same through the read paths.
	kw, err := s.APIKeyByID(ctx(t), k.ID)
	noErr(t, "APIKeyByID", err)
	checkRecent(t, "APIKeyByID.CreatedAt", kw.CreatedAt, before)
	checkRecent(t, "APIKeyByID.User.CreatedAt", kw.User.CreatedAt, before)
	checkRecent(t, "APIKeyByID.User.UpdatedAt", kw.User.UpdatedAt, before)
	rs, err := s.SessionByID(ctx(t), sess.ID)
	noErr(t, "SessionByID", err)
	checkRecent(t, "SessionByID.CreatedAt", rs.CreatedAt, before)
	checkUTC(t, "SessionByID.ExpiresAt", rs.ExpiresAt)
	rpk, err := s.PrivateKey(ctx(t), u.ID)
	noErr(t, "PrivateKey", err)
	checkRecent(t, "PrivateKey read CreatedAt", rpk.CreatedAt, before)
	ras, err := s.AutomationSettings(ctx(t), u.ID)
	noErr(t, "AutomationSettings", err)
	checkRecent(t, "AutomationSettings read UpdatedAt", ras.UpdatedAt, before)
	rd, err := s.ActiveDelegation(ctx(t), u.ID)
	noErr(t, "ActiveDelegation", err)
	checkRecent(t, "ActiveDelegation.CreatedAt", rd.CreatedAt, before)
}

func testTimesRoundTrip(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	k := mustKey(t, s, u.ID)

	in := newSession(u.ID, k.ID)
	in.CreatedAt = oddInstant.Add(-time.Hour)
	in.ExpiresAt = oddInstant
	got := mustSession(t, s, in)
	read, err := s.SessionByID(ctx(t), in.ID)
	noErr(t, "SessionByID", err)
	for _, c := range []struct {
		what      string
		got, want time.Time
	}{
		{"CreateSession.CreatedAt", got.CreatedAt, in.CreatedAt},
		{"CreateSession.ExpiresAt", got.ExpiresAt, in.ExpiresAt},
		{"SessionByID.CreatedAt", read.CreatedAt, in.CreatedAt},
		{"SessionByID.ExpiresAt", read.ExpiresAt, in.ExpiresAt},
	} {
		if !sameTime(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.what, c.got.Format(time.RFC3339Nano), c.want.Format(time.RFC3339Nano))
		}
		checkUTC(t, c.what, c.got)
	}

	// A nanosecond part below the microsecond is allowed to be dropped but
	// must not shift the microseconds.
	withNanos := oddInstant.Add(789 * time.Nanosecond)
	noErr(t, "TouchAPIKey", s.TouchAPIKey(ctx(t), k.ID, withNanos))
	kw, err := s.APIKeyByID(ctx(t), k.ID)
	noErr(t, "APIKeyByID", err)
	if kw.LastUsedAt == nil || !sameTime(*kw.LastUsedAt, withNanos) {
		t.Errorf("LastUsedAt = %s, want %v", fmtTimePtr(kw.LastUsedAt), withNanos.Format(time.RFC3339Nano))
	}

	exp := oddInstant.Add(24 * time.Hour)
	d, err := s.CreateDelegation(ctx(t), store.NewDelegation{UserID: u.ID, DelegateAddress: "0xabc", SignedDelegationData: "sig", Expiry: &exp})
	noErr(t, "CreateDelegation", err)
	if !sameTimePtr(d.Expiry, &exp) {
		t.Errorf("CreateDelegation.Expiry = %s, want %v", fmtTimePtr(d.Expiry), exp)
	}
	rd, err := s.ActiveDelegation(ctx(t), u.ID)
	noErr(t, "ActiveDelegation", err)
	if !sameTimePtr(rd.Expiry, &exp) {
		t.Errorf("ActiveDelegation.Expiry = %s, want %v", fmtTimePtr(rd.Expiry), exp)
	}
}

func testTimesNonUTCInput(t *testing.T, s store.Store) {
	zone := time.FixedZone("UTC+05:30", 5*3600+1800)
	west := time.FixedZone("UTC-08:00", -8*3600)
	u := mustUser(t, s)
	k := mustKey(t, s, u.ID)

	in := newSession(u.ID, k.ID)
	in.CreatedAt = oddInstant.In(zone)
	in.ExpiresAt = oddInstant.Add(time.Hour).In(west)
	got := mustSession(t, s, in)
	read, err := s.SessionByID(ctx(t), in.ID)
	noErr(t, "SessionByID", err)
	for _, c := range []struct {
		what      string
		got, want time.Time
	}{
		{"CreateSession.CreatedAt", got.CreatedAt, in.CreatedAt},
		{"CreateSession.ExpiresAt", got.ExpiresAt, in.ExpiresAt},
		{"SessionByID.CreatedAt", read.CreatedAt, in.CreatedAt},
		{"SessionByID.ExpiresAt", read.ExpiresAt, in.ExpiresAt},
	} {
		if !sameTime(c.got, c.want) {
			t.Errorf("%s = %v, want the instant %v", c.what, c.got, c.want)
		}
		checkUTC(t, c.what, c.got)
	}

	at := oddInstant.In(west)
	noErr(t, "TouchAPIKey", s.TouchAPIKey(ctx(t), k.ID, at))
	keys, err := s.UserAPIKeys(ctx(t), u.ID)
	noErr(t, "UserAPIKeys", err)
	if len(keys) != 1 || keys[0].LastUsedAt == nil {
		t.Fatalf("UserAPIKeys = %+v, want one key with LastUsedAt set", keys)
	}
	if !sameTime(*keys[0].LastUsedAt, at) {
		t.Errorf("LastUsedAt = %v, want the instant %v", *keys[0].LastUsedAt, at)
	}
	checkUTC(t, "LastUsedAt", *keys[0].LastUsedAt)

	exp := oddInstant.In(zone)
	_, err = s.CreateDelegation(ctx(t), store.NewDelegation{UserID: u.ID, DelegateAddress: "0xabc", SignedDelegationData: "sig", Expiry: &exp})
	noErr(t, "CreateDelegation", err)
	ds, err := s.UserDelegations(ctx(t), u.ID, 0, 10)
	noErr(t, "UserDelegations", err)
	if len(ds) != 1 || ds[0].Expiry == nil {
		t.Fatalf("UserDelegations = %+v, want one delegation with Expiry set", ds)
	}
	if !sameTime(*ds[0].Expiry, exp) {
		t.Errorf("Expiry = %v, want the instant %v", *ds[0].Expiry, exp)
	}
	checkUTC(t, "Expiry", *ds[0].Expiry)

	// Comparisons in queries use the instant, not the wall clock: a session
	// that expired 30 minutes ago, given in a zone east of UTC, is expired.
	k2 := mustKey(t, s, u.ID)
	old := newSession(u.ID, k2.ID)
	old.ExpiresAt = time.Now().Add(-30 * time.Minute).In(zone)
	mustSession(t, s, old)
	exp2, err := s.ExpiredActiveSessions(ctx(t), time.Now().In(west), 10)
	noErr(t, "ExpiredActiveSessions", err)
	if len(exp2) != 1 || exp2[0].ID != old.ID {
		t.Errorf("ExpiredActiveSessions = %v, want [%s]", sessionIDs(exp2), old.ID)
	}
}
