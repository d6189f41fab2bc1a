package cache

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// TestSettingsCached: cached settings (and a cached "no row") cost no
// store call; SettingsChanged and UserChanged drop them.
func TestSettingsCached(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Config{})
	u := newUser(t, f.db)
	none := newUser(t, f.db)
	enabled, dur := true, 600
	if _, err := f.db.CreateAutomationSettings(ctx, u.ID, store.AutomationUpdate{IsEnabled: &enabled, SessionDuration: &dur}); err != nil {
		t.Fatal(err)
	}

	s, found, err := f.c.AutomationSettings(ctx, u.ID)
	if err != nil || !found || !s.IsEnabled || s.SessionDuration != 600 || s.UserID != u.ID {
		t.Fatalf("AutomationSettings = %+v, %v, %v", s, found, err)
	}
	if _, found, err := f.c.AutomationSettings(ctx, none.ID); err != nil || found {
		t.Fatalf("AutomationSettings of a user without a row: found=%v, err=%v", found, err)
	}
	before := f.count.total()
	for range 100 {
		if _, found, err := f.c.AutomationSettings(ctx, u.ID); err != nil || !found {
			t.Fatal(found, err)
		}
		if _, found, err := f.c.AutomationSettings(ctx, none.ID); err != nil || found {
			t.Fatal(found, err)
		}
	}
	if n := f.count.total() - before; n != 0 {
		t.Fatalf("cached settings made %d store calls, want 0", n)
	}

	disabled := false
	if _, err := f.db.UpdateAutomationSettings(ctx, u.ID, store.AutomationUpdate{IsEnabled: &disabled}); err != nil {
		t.Fatal(err)
	}
	f.c.SettingsChanged(ctx, u.ID)
	if s, _, _ := f.c.AutomationSettings(ctx, u.ID); s.IsEnabled {
		t.Fatal("settings still cached after SettingsChanged")
	}

	if _, err := f.db.UpdateAutomationSettings(ctx, none.ID, store.AutomationUpdate{IsEnabled: &enabled}); err != nil {
		t.Fatal(err)
	}
	f.c.UserChanged(ctx, none.ID)
	if s, found, _ := f.c.AutomationSettings(ctx, none.ID); !found || !s.IsEnabled {
		t.Fatal("settings still cached after UserChanged")
	}
}

// TestSettingsStoreDown: a cached value is served (even past SettingsTTL,
// for another SettingsTTL) while the store is down; without one the error
// is ErrUnavailable.
func TestSettingsStoreDown(t *testing.T) {
	ctx := context.Background()
	const ttl = 100 * time.Millisecond
	f := newFixture(t, Config{SettingsTTL: ttl})
	u := newUser(t, f.db)
	other := newUser(t, f.db)
	if _, err := f.db.CreateAutomationSettings(ctx, u.ID, store.AutomationUpdate{}); err != nil {
		t.Fatal(err)
	}
	if _, found, err := f.c.AutomationSettings(ctx, u.ID); err != nil || !found {
		t.Fatal(found, err)
	}
	f.count.down.Store(true)
	time.Sleep(ttl + 20*time.Millisecond) // stale now
	if s, found, err := f.c.AutomationSettings(ctx, u.ID); err != nil || !found || s.SessionDuration != store.DefaultSessionDurationSec {
		t.Fatalf("stale settings with the store down: %+v %v %v", s, found, err)
	}
	if _, _, err := f.c.AutomationSettings(ctx, other.ID); !errors.Is(err, ErrUnavailable) || !errors.Is(err, errDown) {
		t.Fatalf("uncached settings with the store down: %v, want ErrUnavailable wrapping the cause", err)
	}
	// Invalidated values are not served.
	f.c.SettingsChanged(ctx, u.ID)
	if _, _, err := f.c.AutomationSettings(ctx, u.ID); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("invalidated settings with the store down: %v, want ErrUnavailable", err)
	}
	// Fresh again once the store is back.
	f.count.down.Store(false)
	if _, found, err := f.c.AutomationSettings(ctx, u.ID); err != nil || !found {
		t.Fatal(found, err)
	}
}
