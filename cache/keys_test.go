package cache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// TestCachedKeyMakesNoStoreCalls is invariant 1 for keys: once a key is
// cached, authenticating with it makes zero store calls.
func TestCachedKeyMakesNoStoreCalls(t *testing.T) {
	f := newFixture(t, Config{})
	u := newUser(t, f.db)
	raw, k := newKey(t, f.db, u.ID)

	mustAuth(t, f.c, raw, k) // warm
	if n := f.count.count("APIKeysByPrefix"); n != 1 {
		t.Fatalf("warming: %d APIKeysByPrefix calls, want 1", n)
	}
	before := f.count.total()
	for range 1000 {
		mustAuth(t, f.c, raw, k)
	}
	if n := f.count.total() - before; n != 0 {
		t.Fatalf("1000 authentications with a cached key made %d store calls (%v), want 0", n, f.count.calls)
	}
}

// TestMalformedKeyNoStoreCall: a key of the wrong shape is rejected
// without asking the store.
func TestMalformedKeyNoStoreCall(t *testing.T) {
	f := newFixture(t, Config{})
	raw, _, _, _ := GenerateAPIKey()
	for _, bad := range []string{
		"", "sk-", "sk-abc", raw[:len(raw)-1], raw + "0", "Bearer " + raw,
		"sk-abc!ef." + raw[10:], "sk-abcdef-" + raw[10:], raw[:20] + "A" + raw[21:], // uppercase hex
		"xx" + raw[2:],
	} {
		mustReject(t, f.c, bad, ErrInvalidKey)
	}
	if n := f.count.total(); n != 0 {
		t.Fatalf("malformed keys made %d store calls, want 0", n)
	}
}

// TestWrongSecret: a known prefix with a wrong secret never authenticates,
// cached or not.
func TestWrongSecret(t *testing.T) {
	f := newFixture(t, Config{})
	u := newUser(t, f.db)
	raw, k := newKey(t, f.db, u.ID)
	wrong := otherSecret(raw)

	mustReject(t, f.c, wrong, ErrInvalidKey) // uncached
	mustReject(t, f.c, wrong, ErrInvalidKey) // cached prefix
	mustAuth(t, f.c, raw, k)
	before := f.count.total()
	mustReject(t, f.c, wrong, ErrInvalidKey)
	if n := f.count.total() - before; n != 0 {
		t.Fatalf("a wrong secret against a cached prefix made %d store calls", n)
	}
	// A prefix never authenticates alone: another valid-looking secret.
	other, _, _, _ := GenerateAPIKey()
	mustReject(t, f.c, raw[:PrefixLen]+other[PrefixLen:], ErrInvalidKey)
}

// TestNegativeCache: an unknown prefix costs one store call per
// NegativeTTL, and KeyCreated makes a new key with it work at once.
func TestNegativeCache(t *testing.T) {
	f := newFixture(t, Config{NegativeTTL: time.Hour})
	u := newUser(t, f.db)
	raw, prefix, hashed, err := GenerateAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		mustReject(t, f.c, raw, ErrInvalidKey)
	}
	if n := f.count.count("APIKeysByPrefix"); n != 1 {
		t.Fatalf("20 attempts with an unknown prefix made %d APIKeysByPrefix calls, want 1", n)
	}

	k, err := f.db.CreateAPIKey(context.Background(), store.NewAPIKey{UserID: u.ID, KeyPrefix: prefix, HashedKey: hashed})
	if err != nil {
		t.Fatal(err)
	}
	mustReject(t, f.c, raw, ErrInvalidKey) // still negatively cached: nobody said
	f.c.KeyCreated(context.Background(), prefix)
	mustAuth(t, f.c, raw, k)
	if n := f.count.count("APIKeysByPrefix"); n != 2 {
		t.Fatalf("APIKeysByPrefix calls = %d, want 2", n)
	}
}

// TestNegativeCacheExpires: after NegativeTTL the store is asked again.
func TestNegativeCacheExpires(t *testing.T) {
	f := newFixture(t, Config{NegativeTTL: 100 * time.Millisecond})
	raw, _, _, _ := GenerateAPIKey()
	mustReject(t, f.c, raw, ErrInvalidKey)
	mustReject(t, f.c, raw, ErrInvalidKey)
	if n := f.count.count("APIKeysByPrefix"); n != 1 {
		t.Fatalf("APIKeysByPrefix calls = %d, want 1", n)
	}
	time.Sleep(150 * time.Millisecond)
	mustReject(t, f.c, raw, ErrInvalidKey)
	if n := f.count.count("APIKeysByPrefix"); n != 2 {
		t.Fatalf("APIKeysByPrefix calls after NegativeTTL = %d, want 2", n)
	}
}

// TestInactiveKeyAndUser: inactive keys and keys of inactive users are
// rejected, also from a cold cache.
func TestInactiveKeyAndUser(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Config{})
	u := newUser(t, f.db)
	raw, k := newKey(t, f.db, u.ID)
	if _, err := f.db.DeactivateAPIKey(ctx, k.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	mustReject(t, f.c, raw, ErrInvalidKey)

	u2 := newUser(t, f.db)
	raw2, k2 := newKey(t, f.db, u2.ID)
	inactive := false
	if _, err := f.db.UpdateUser(ctx, u2.ID, store.UserUpdate{IsActive: &inactive}); err != nil {
		t.Fatal(err)
	}
	mustReject(t, f.c, raw2, ErrInvalidKey)
	mustReject(t, f.c, raw2, ErrInvalidKey) // cached as disabled

	// Reactivating the user (and saying so) brings the key back.
	active := true
	if _, err := f.db.UpdateUser(ctx, u2.ID, store.UserUpdate{IsActive: &active}); err != nil {
		t.Fatal(err)
	}
	f.c.UserChanged(ctx, u2.ID)
	mustAuth(t, f.c, raw2, k2)
}

// TestKeyRevoked: after KeyRevoked the very next request is rejected.
func TestKeyRevoked(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Config{KeyTTL: time.Hour})
	u := newUser(t, f.db)
	raw, k := newKey(t, f.db, u.ID)
	raw2, k2 := newKey(t, f.db, u.ID) // another key of the user stays valid
	mustAuth(t, f.c, raw, k)
	mustAuth(t, f.c, raw2, k2)

	if _, err := f.db.DeactivateAPIKey(ctx, k.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	mustAuth(t, f.c, raw, k) // cached, and nobody said: still valid (bounded by KeyTTL)
	f.c.KeyRevoked(ctx, k.ID, k.KeyPrefix)
	mustReject(t, f.c, raw, ErrInvalidKey)
	mustAuth(t, f.c, raw2, k2)
}

// TestUserChanged: after UserChanged every key of the user is rejected at
// once; other users' keys keep working without a store call.
func TestUserChanged(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Config{KeyTTL: time.Hour})
	u := newUser(t, f.db)
	raw1, k1 := newKey(t, f.db, u.ID)
	raw2, k2 := newKey(t, f.db, u.ID)
	other := newUser(t, f.db)
	rawO, kO := newKey(t, f.db, other.ID)
	mustAuth(t, f.c, raw1, k1)
	mustAuth(t, f.c, raw2, k2)
	mustAuth(t, f.c, rawO, kO)

	inactive := false
	if _, err := f.db.UpdateUser(ctx, u.ID, store.UserUpdate{IsActive: &inactive}); err != nil {
		t.Fatal(err)
	}
	f.c.UserChanged(ctx, u.ID)
	mustReject(t, f.c, raw1, ErrInvalidKey)
	mustReject(t, f.c, raw2, ErrInvalidKey)
	before := f.count.total()
	mustAuth(t, f.c, rawO, kO)
	if userSlot(other.ID) != userSlot(u.ID) {
		if n := f.count.total() - before; n != 0 {
			t.Fatalf("another user's cached key made %d store calls after UserChanged", n)
		}
	}

	// Deleting the user works the same way.
	u3 := newUser(t, f.db)
	raw3, k3 := newKey(t, f.db, u3.ID)
	mustAuth(t, f.c, raw3, k3)
	if err := f.db.DeleteUser(ctx, u3.ID); err != nil {
		t.Fatal(err)
	}
	f.c.UserChanged(ctx, u3.ID)
	mustReject(t, f.c, raw3, ErrInvalidKey)
}

// TestKeyTTLHardBound: without any invalidation, a key deactivated in the
// store stops working once KeyTTL has passed.
func TestKeyTTLHardBound(t *testing.T) {
	ctx := context.Background()
	const ttl = 200 * time.Millisecond
	f := newFixture(t, Config{KeyTTL: ttl})
	u := newUser(t, f.db)
	raw, k := newKey(t, f.db, u.ID)
	mustAuth(t, f.c, raw, k)
	revoked := time.Now()
	if _, err := f.db.DeactivateAPIKey(ctx, k.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	for {
		_, err := f.c.Authenticate(ctx, raw)
		if errors.Is(err, ErrInvalidKey) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Since(revoked) > ttl+50*time.Millisecond {
			t.Fatalf("deactivated key still authenticates %v after deactivation (KeyTTL %v)", time.Since(revoked), ttl)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStoreDown: cached keys keep working; an uncached key gets
// ErrUnavailable, never ErrInvalidKey.
func TestStoreDown(t *testing.T) {
	f := newFixture(t, Config{})
	u := newUser(t, f.db)
	raw, k := newKey(t, f.db, u.ID)
	raw2, k2 := newKey(t, f.db, u.ID)
	mustAuth(t, f.c, raw, k)

	f.count.down.Store(true)
	for range 10 {
		mustAuth(t, f.c, raw, k)
	}
	_, err := f.c.Authenticate(context.Background(), raw2)
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInvalidKey) {
		t.Fatalf("uncached key with the store down: %v, want ErrUnavailable", err)
	}
	if !errors.Is(err, errDown) {
		t.Fatalf("ErrUnavailable does not wrap the cause: %v", err)
	}
	unknown, _, _, _ := GenerateAPIKey()
	if _, err := f.c.Authenticate(context.Background(), unknown); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("unknown key with the store down: %v, want ErrUnavailable", err)
	}
	// A store failure is not cached.
	f.count.down.Store(false)
	mustAuth(t, f.c, raw2, k2)
}

// TestBcryptAdoptedKey: a key of an adopted reference database (bcrypt of
// the full key, truncated to 72 bytes as passlib does) verifies once by
// bcrypt, is rehashed to SHA-256 in the store, and then verifies by
// SHA-256. Wrong secrets never authenticate and are not bcrypt-checked
// twice.
func TestBcryptAdoptedKey(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Config{NegativeTTL: time.Hour})
	u := newUser(t, f.db)
	raw, prefix, _, err := GenerateAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(raw[:72]), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	k, err := f.db.CreateAPIKey(ctx, store.NewAPIKey{UserID: u.ID, KeyPrefix: prefix, HashedKey: string(h)})
	if err != nil {
		t.Fatal(err)
	}

	wrong, _, _, _ := GenerateAPIKey()
	wrong = prefix + wrong[PrefixLen:]
	mustReject(t, f.c, wrong, ErrInvalidKey)
	mustReject(t, f.c, wrong, ErrInvalidKey)
	if n := f.c.bcryptRuns.Load(); n != 1 {
		t.Fatalf("the same wrong secret twice ran bcrypt %d times, want 1", n)
	}

	mustAuth(t, f.c, raw, k)
	got, err := f.db.APIKeyByID(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.HashedKey != HashAPIKey(raw) {
		t.Fatalf("stored hash after verification = %q, want the SHA-256 of the key", got.HashedKey)
	}
	runs := f.c.bcryptRuns.Load()
	before := f.count.total()
	for range 10 {
		mustAuth(t, f.c, raw, k)
	}
	if f.c.bcryptRuns.Load() != runs || f.count.total() != before {
		t.Fatal("a verified adopted key still costs bcrypt runs or store calls")
	}
	mustReject(t, f.c, wrong, ErrInvalidKey)

	// A fresh cache (another instance, or after the TTL) reads the SHA-256.
	c2 := newCache(t, f.count, Config{})
	mustAuth(t, c2, raw, k)
	if c2.bcryptRuns.Load() != 0 {
		t.Fatal("a rehashed key was verified with bcrypt again")
	}
}

// TestBcryptRehashFailure: if the rehash cannot be written, the key still
// authenticates.
func TestBcryptRehashFailure(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Config{})
	u := newUser(t, f.db)
	raw, prefix, _, _ := GenerateAPIKey()
	h, err := bcrypt.GenerateFromPassword([]byte(raw[:72]), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	k, err := f.db.CreateAPIKey(ctx, store.NewAPIKey{UserID: u.ID, KeyPrefix: prefix, HashedKey: string(h)})
	if err != nil {
		t.Fatal(err)
	}
	c := newCache(t, &failingRehash{f.count}, Config{})
	mustAuth(t, c, raw, k)
	mustAuth(t, c, raw, k)
	if n := c.bcryptRuns.Load(); n != 1 {
		t.Fatalf("bcrypt runs = %d, want 1", n)
	}
}

type failingRehash struct{ *countingStore }

func (failingRehash) SetAPIKeyHash(context.Context, int64, string) error { return errDown }

// TestConcurrentMissesOneLoad: a burst of requests for one uncached key
// makes one store call.
func TestConcurrentMissesOneLoad(t *testing.T) {
	f := newFixture(t, Config{})
	u := newUser(t, f.db)
	raw, k := newKey(t, f.db, u.ID)
	f.count.afterPrefix = func() { time.Sleep(50 * time.Millisecond) }

	var wg sync.WaitGroup
	var failures atomic.Int32
	start := make(chan struct{})
	for range 50 {
		wg.Go(func() {
			<-start
			p, err := f.c.Authenticate(context.Background(), raw)
			if err != nil || p.KeyID != k.ID {
				failures.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d of 50 concurrent authentications failed", n)
	}
	if n := f.count.count("APIKeysByPrefix"); n != 1 {
		t.Fatalf("50 concurrent misses made %d APIKeysByPrefix calls, want 1", n)
	}
}

// TestStaleLoadRace: an invalidation that lands while a read-through load
// is in flight (the load read the key as valid) must not let the load
// cache the revoked key.
func TestStaleLoadRace(t *testing.T) {
	for _, tc := range []struct {
		name       string
		invalidate func(f *fixture, k store.APIKey)
	}{
		{"KeyRevoked", func(f *fixture, k store.APIKey) {
			if _, err := f.db.DeactivateAPIKey(context.Background(), k.ID, k.UserID); err != nil {
				t.Error(err)
			}
			f.c.KeyRevoked(context.Background(), k.ID, k.KeyPrefix)
		}},
		{"UserChanged", func(f *fixture, k store.APIKey) {
			inactive := false
			if _, err := f.db.UpdateUser(context.Background(), k.UserID, store.UserUpdate{IsActive: &inactive}); err != nil {
				t.Error(err)
			}
			f.c.UserChanged(context.Background(), k.UserID)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Config{KeyTTL: time.Hour})
			u := newUser(t, f.db)
			raw, k := newKey(t, f.db, u.ID)

			entered := make(chan struct{})
			release := make(chan struct{})
			var once sync.Once
			f.count.afterPrefix = func() {
				once.Do(func() {
					close(entered)
					<-release
				})
			}
			done := make(chan error, 1)
			go func() {
				_, err := f.c.Authenticate(context.Background(), raw)
				done <- err
			}()
			<-entered // the load has read the key as valid
			tc.invalidate(f, k)
			close(release)
			if err := <-done; err != nil && !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("racing request: %v", err)
			}
			// The request that raced may have gone either way; every
			// later one must be rejected.
			mustReject(t, f.c, raw, ErrInvalidKey)
			f.c.keys.Wait()
			mustReject(t, f.c, raw, ErrInvalidKey)
		})
	}
}

// TestAuthenticateCanceled: a cancelled request waiting for a load gets
// ErrUnavailable, not ErrInvalidKey.
func TestAuthenticateCanceled(t *testing.T) {
	f := newFixture(t, Config{})
	u := newUser(t, f.db)
	raw, _ := newKey(t, f.db, u.ID)
	release := make(chan struct{})
	f.count.afterPrefix = func() { <-release }
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := f.c.Authenticate(ctx, raw); !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Authenticate with an expiring context = %v, want ErrUnavailable wrapping DeadlineExceeded", err)
	}
}
