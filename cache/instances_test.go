package cache

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/store"
	"github.com/morpheus-gateway/caddy-morpheus/store/postgres"
	"github.com/morpheus-gateway/caddy-morpheus/store/postgres/pgtest"
)

// countingNotifier is a countingStore that is also a store.Notifier.
type countingNotifier struct {
	*countingStore
	store.Notifier
}

func openPostgres(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), postgres.Config{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// rejectedWithin polls c until raw is rejected, failing after d.
func rejectedWithin(t *testing.T, c *Cache, raw string, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		_, err := c.Authenticate(context.Background(), raw)
		if errors.Is(err, ErrInvalidKey) {
			return time.Since(start)
		}
		if err != nil {
			t.Fatalf("Authenticate: %v", err)
		}
		if time.Since(start) > d {
			t.Fatalf("key still accepted %v after the change on the other instance", d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTwoInstancesPostgres runs two gateway instances (two pools, two
// caches) on one PostgreSQL database. Changes made through instance A
// reach instance B's cache within 5 s by LISTEN/NOTIFY alone: B's KeyTTL
// is an hour and its negative TTL too.
func TestTwoInstancesPostgres(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	sa, sb := openPostgres(t, dsn), openPostgres(t, dsn)
	if err := sa.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	long := Config{KeyTTL: time.Hour, NegativeTTL: time.Hour, SettingsTTL: time.Hour}
	ca := newCache(t, sa, long)
	cbStore := countingNotifier{newCounting(sb), sb}
	cb := newCache(t, cbStore, long)
	for _, c := range []*Cache{ca, cb} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := c.waitListening(wctx)
		cancel()
		if err != nil {
			t.Fatalf("listener not up: %v", err)
		}
	}

	u := newUser(t, sa)
	raw, k := newKey(t, sa, u.ID)
	u2 := newUser(t, sa)
	raw2, k2 := newKey(t, sa, u2.ID)
	raw2b, k2b := newKey(t, sa, u2.ID)
	for _, c := range []*Cache{ca, cb} {
		mustAuth(t, c, raw, k)
		mustAuth(t, c, raw2, k2)
		mustAuth(t, c, raw2b, k2b)
	}
	before := cbStore.total()
	mustAuth(t, cb, raw, k)
	if n := cbStore.total() - before; n != 0 {
		t.Fatalf("instance B: cached key made %d store calls", n)
	}

	t.Run("KeyRevoked", func(t *testing.T) {
		if _, err := sa.DeactivateAPIKey(ctx, k.ID, u.ID); err != nil {
			t.Fatal(err)
		}
		ca.KeyRevoked(ctx, k.ID, k.KeyPrefix)
		mustReject(t, ca, raw, ErrInvalidKey)
		d := rejectedWithin(t, cb, raw, 5*time.Second)
		t.Logf("instance B rejected the revoked key after %v", d)
	})

	t.Run("UserChanged", func(t *testing.T) {
		inactive := false
		if _, err := sa.UpdateUser(ctx, u2.ID, store.UserUpdate{IsActive: &inactive}); err != nil {
			t.Fatal(err)
		}
		ca.UserChanged(ctx, u2.ID)
		mustReject(t, ca, raw2, ErrInvalidKey)
		d := rejectedWithin(t, cb, raw2, 5*time.Second)
		mustReject(t, cb, raw2b, ErrInvalidKey)
		t.Logf("instance B rejected the deactivated user's keys after %v", d)
	})

	t.Run("KeyCreated", func(t *testing.T) {
		u3 := newUser(t, sa)
		raw3, prefix, hashed, err := GenerateAPIKey()
		if err != nil {
			t.Fatal(err)
		}
		mustReject(t, cb, raw3, ErrInvalidKey) // B caches the prefix as unknown
		k3, err := sa.CreateAPIKey(ctx, store.NewAPIKey{UserID: u3.ID, KeyPrefix: prefix, HashedKey: hashed})
		if err != nil {
			t.Fatal(err)
		}
		ca.KeyCreated(ctx, prefix)
		mustAuth(t, ca, raw3, k3)
		eventually(t, 5*time.Second, "new key accepted by instance B", func() bool {
			p, err := cb.Authenticate(ctx, raw3)
			return err == nil && p.KeyID == k3.ID
		})
	})

	t.Run("SettingsChanged", func(t *testing.T) {
		if _, found, err := cb.AutomationSettings(ctx, u.ID); err != nil || found {
			t.Fatal(found, err)
		}
		enabled := true
		if _, err := sa.UpdateAutomationSettings(ctx, u.ID, store.AutomationUpdate{IsEnabled: &enabled}); err != nil {
			t.Fatal(err)
		}
		ca.SettingsChanged(ctx, u.ID)
		eventually(t, 5*time.Second, "new settings seen by instance B", func() bool {
			s, found, err := cb.AutomationSettings(ctx, u.ID)
			return err == nil && found && s.IsEnabled
		})
	})

	t.Run("ListenerReconnectDropsEverything", func(t *testing.T) {
		// A change nobody announced, then the listening connections die:
		// notifications may have been missed, so B drops its cache.
		u4 := newUser(t, sa)
		raw4, k4 := newKey(t, sa, u4.ID)
		mustAuth(t, cb, raw4, k4)
		if _, err := sa.DeactivateAPIKey(ctx, k4.ID, u4.ID); err != nil {
			t.Fatal(err)
		}
		mustAuth(t, cb, raw4, k4) // cached, unannounced
		var killed int
		if err := sa.Pool().QueryRow(ctx, `
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
 WHERE datname = current_database() AND query LIKE 'LISTEN %' AND pid <> pg_backend_pid()`).Scan(&killed); err != nil {
			t.Fatal(err)
		}
		if killed == 0 {
			t.Fatal("no listening backend found")
		}
		d := rejectedWithin(t, cb, raw4, 5*time.Second)
		t.Logf("instance B dropped its cache %v after its listener's connection was killed", d)
	})
}
