// Package storetest is the conformance suite every store.Store backend must
// pass. A backend's own test calls Run with a Factory that hands out a fresh,
// empty, migrated store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s := openEmptyStore(t) // registers its cleanup with t.Cleanup
//			return s
//		})
//	}
//
// Every case checks the contract written in the doc comments of
// store.Store; the cases are grouped one table (or concern) per file.
// Subtests run sequentially, so a backend may reuse one database and empty
// it in the Factory.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// Factory returns a fresh, empty, migrated store for one subtest. The
// backend registers any cleanup with t.Cleanup.
type Factory func(t *testing.T) store.Store

// testCase is one leaf subtest: it receives a fresh store.
type testCase struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

// group is a named set of cases, run as one level of subtests.
type group struct {
	name  string
	cases []testCase
}

// groups lists every group of the suite, in the order Run runs them.
func groups() []group {
	return []group{
		{"Users", userCases()},
		{"Timestamps", timestampCases()},
		{"APIKeys", apiKeyCases()},
		{"Sessions", sessionCases()},
		{"Concurrency", concurrencyCases()},
		{"PrivateKeys", privateKeyCases()},
		{"Automation", automationCases()},
		{"Delegations", delegationCases()},
		{"Housekeeping", housekeepingCases()},
	}
}

// Run runs the whole conformance suite against the backend.
func Run(t *testing.T, newStore Factory) {
	t.Helper()
	for _, g := range groups() {
		t.Run(g.name, func(t *testing.T) {
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) {
					s := newStore(t)
					if s == nil {
						t.Fatal("Factory returned a nil store")
					}
					c.fn(t, s)
				})
			}
		})
	}
}

// ---- unique test data ----

// seq makes emails, prefixes and session ids unique across subtests even
// when a backend reuses one database.
var seq atomic.Int64

func next() int64 { return seq.Add(1) }

// uniqueEmail returns an email no other call returns.
func uniqueEmail() string { return fmt.Sprintf("user%d@example.test", next()) }

// uniquePrefix returns a 9-character key prefix ("sk-" + 6 characters) no
// other call returns (within a million calls).
func uniquePrefix() string { return fmt.Sprintf("sk-%06d", next()%1000000) }

// uniqueSessionID returns a blockchain-looking session id (0x + 64 hex).
func uniqueSessionID() string { return fmt.Sprintf("0x%064x", next()) }

// ---- creation helpers ----

// mustUser creates a user with a name, a unique email and a password hash.
func mustUser(t *testing.T, s store.Store) store.User {
	t.Helper()
	n := next()
	u, err := s.CreateUser(t.Context(), store.NewUser{
		Name:           fmt.Sprintf("User %d", n),
		Email:          fmt.Sprintf("user%d@example.test", n),
		HashedPassword: fmt.Sprintf("$2b$12$hash%d", n),
	})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	return u
}

// mustKey creates an active API key for the user with a unique prefix.
func mustKey(t *testing.T, s store.Store, userID int64) store.APIKey {
	t.Helper()
	return mustKeyWithPrefix(t, s, userID, uniquePrefix())
}

// mustKeyWithPrefix creates an active API key with the given prefix.
func mustKeyWithPrefix(t *testing.T, s store.Store, userID int64, prefix string) store.APIKey {
	t.Helper()
	n := next()
	k, err := s.CreateAPIKey(t.Context(), store.NewAPIKey{
		UserID:    userID,
		KeyPrefix: prefix,
		HashedKey: fmt.Sprintf("%064x", n),
		Name:      fmt.Sprintf("key %d", n),
	})
	if err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	return k
}

// newSession returns an active session (not yet stored) for the key, with a
// unique id, expiring in an hour, CreatedAt left zero.
func newSession(userID, apiKeyID int64) store.Session {
	return store.Session{
		ID:        uniqueSessionID(),
		UserID:    userID,
		APIKeyID:  apiKeyID,
		Model:     "0x" + fmt.Sprintf("%064x", 0xabc),
		Type:      store.SessionTypeAutomated,
		ExpiresAt: time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond),
		IsActive:  true,
	}
}

// mustSession stores the session and fails the test on error.
func mustSession(t *testing.T, s store.Store, sess store.Session) store.Session {
	t.Helper()
	got, err := s.CreateSession(t.Context(), sess)
	if err != nil {
		t.Fatalf("CreateSession(%s): %v", sess.ID, err)
	}
	return got
}

// mustOwnedSession creates a user, a key and an active session for it.
func mustOwnedSession(t *testing.T, s store.Store) (store.User, store.APIKey, store.Session) {
	t.Helper()
	u := mustUser(t, s)
	k := mustKey(t, s, u.ID)
	return u, k, mustSession(t, s, newSession(u.ID, k.ID))
}

// ---- assertion helpers ----

// wantErr fails unless errors.Is(err, target).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error = %v, want errors.Is(err, %v)", what, err, target)
	}
}

// noErr fails the test on a non-nil error.
func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// sameTime reports whether a and b are the same instant to the microsecond.
func sameTime(a, b time.Time) bool {
	return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond))
}

// sameTimePtr is sameTime for nullable times.
func sameTimePtr(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return sameTime(*a, *b)
}

// fmtTimePtr formats a nullable time for failure messages.
func fmtTimePtr(p *time.Time) string {
	if p == nil {
		return "<nil>"
	}
	return p.Format(time.RFC3339Nano)
}

// checkUTC fails unless the time is in time.UTC.
func checkUTC(t *testing.T, what string, got time.Time) {
	t.Helper()
	if got.Location() != time.UTC {
		t.Errorf("%s = %v: location %q, want UTC", what, got, got.Location())
	}
}

// recentSlack is how far a database-set timestamp may be from the test's
// clock (clock skew between a database server and the test process).
const recentSlack = 5 * time.Second

// checkRecent fails unless got is non-zero, UTC and within recentSlack of
// the interval [before, time.Now()].
func checkRecent(t *testing.T, what string, got, before time.Time) {
	t.Helper()
	after := time.Now()
	if got.IsZero() {
		t.Errorf("%s is zero, want about now", what)
		return
	}
	checkUTC(t, what, got)
	if got.Before(before.Add(-recentSlack)) || got.After(after.Add(recentSlack)) {
		t.Errorf("%s = %v, want within %v of [%v, %v]", what, got, recentSlack, before.UTC(), after.UTC())
	}
}

// ctx is shorthand for the test's context.
func ctx(t *testing.T) context.Context { return t.Context() }
