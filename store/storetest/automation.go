package storetest

import (
	"testing"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// automationCases covers CreateAutomationSettings, AutomationSettings,
// UpdateAutomationSettings and DeleteAutomationSettings.
func automationCases() []testCase {
	return []testCase{
		{"CreateDefaults", testAutoCreateDefaults},
		{"CreateExplicit", testAutoCreateExplicit},
		{"CreateTwice", testAutoCreateTwice},
		{"GetMissing", testAutoGetMissing},
		{"UpdatePartial", testAutoUpdatePartial},
		{"UpdateCreatesMissing", testAutoUpdateCreates},
		{"Delete", testAutoDelete},
	}
}

// checkAuto compares settings with the expected values; times to the
// microsecond.
func checkAuto(t *testing.T, what string, got, want store.AutomationSettings) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.IsEnabled != want.IsEnabled ||
		got.SessionDuration != want.SessionDuration ||
		!sameTime(got.CreatedAt, want.CreatedAt) || !sameTime(got.UpdatedAt, want.UpdatedAt) {
		t.Errorf("%s:\n got  %+v\n want %+v", what, got, want)
	}
	checkUTC(t, what+".CreatedAt", got.CreatedAt)
	checkUTC(t, what+".UpdatedAt", got.UpdatedAt)
}

func ptr[T any](v T) *T { return &v }

func testAutoCreateDefaults(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	before := time.Now()
	as, err := s.CreateAutomationSettings(ctx(t), u.ID, store.AutomationUpdate{})
	noErr(t, "CreateAutomationSettings", err)
	if as.ID <= 0 || as.UserID != u.ID {
		t.Errorf("ID, UserID = %d, %d; want > 0, %d", as.ID, as.UserID, u.ID)
	}
	if as.IsEnabled != store.DefaultAutomationEnabled || as.SessionDuration != store.DefaultSessionDurationSec {
		t.Errorf("IsEnabled, SessionDuration = %v, %d; want defaults %v, %d",
			as.IsEnabled, as.SessionDuration, store.DefaultAutomationEnabled, store.DefaultSessionDurationSec)
	}
	checkRecent(t, "CreatedAt", as.CreatedAt, before)
	checkRecent(t, "UpdatedAt", as.UpdatedAt, before)
	got, err := s.AutomationSettings(ctx(t), u.ID)
	noErr(t, "AutomationSettings", err)
	checkAuto(t, "AutomationSettings", got, as)
}

func testAutoCreateExplicit(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	as, err := s.CreateAutomationSettings(ctx(t), u.ID, store.AutomationUpdate{IsEnabled: ptr(!store.DefaultAutomationEnabled), SessionDuration: ptr(7200)})
	noErr(t, "CreateAutomationSettings", err)
	if as.IsEnabled != !store.DefaultAutomationEnabled || as.SessionDuration != 7200 {
		t.Errorf("IsEnabled, SessionDuration = %v, %d; want %v, 7200", as.IsEnabled, as.SessionDuration, !store.DefaultAutomationEnabled)
	}
	got, err := s.AutomationSettings(ctx(t), u.ID)
	noErr(t, "AutomationSettings", err)
	checkAuto(t, "AutomationSettings", got, as)

	// Only one field given: the other takes its default.
	v := mustUser(t, s)
	as2, err := s.CreateAutomationSettings(ctx(t), v.ID, store.AutomationUpdate{IsEnabled: ptr(!store.DefaultAutomationEnabled)})
	noErr(t, "CreateAutomationSettings(IsEnabled only)", err)
	if as2.IsEnabled != !store.DefaultAutomationEnabled || as2.SessionDuration != store.DefaultSessionDurationSec {
		t.Errorf("IsEnabled only: got %v, %d; want %v, %d", as2.IsEnabled, as2.SessionDuration, !store.DefaultAutomationEnabled, store.DefaultSessionDurationSec)
	}
	if as2.ID == as.ID {
		t.Errorf("two users' settings share id %d", as.ID)
	}
}

func testAutoCreateTwice(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	as, err := s.CreateAutomationSettings(ctx(t), u.ID, store.AutomationUpdate{SessionDuration: ptr(600)})
	noErr(t, "CreateAutomationSettings", err)
	_, err = s.CreateAutomationSettings(ctx(t), u.ID, store.AutomationUpdate{SessionDuration: ptr(900), IsEnabled: ptr(true)})
	wantErr(t, "CreateAutomationSettings(twice)", err, store.ErrConflict)
	got, err := s.AutomationSettings(ctx(t), u.ID)
	noErr(t, "AutomationSettings", err)
	checkAuto(t, "settings after refused second create", got, as)
}

func testAutoGetMissing(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	_, err := s.AutomationSettings(ctx(t), u.ID)
	wantErr(t, "AutomationSettings(none)", err, store.ErrNotFound)
	_, err = s.AutomationSettings(ctx(t), u.ID+1000)
	wantErr(t, "AutomationSettings(missing user)", err, store.ErrNotFound)
}

func testAutoUpdatePartial(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	other := mustUser(t, s)
	as, err := s.CreateAutomationSettings(ctx(t), u.ID, store.AutomationUpdate{IsEnabled: ptr(true), SessionDuration: ptr(1800)})
	noErr(t, "CreateAutomationSettings", err)
	oas, err := s.CreateAutomationSettings(ctx(t), other.ID, store.AutomationUpdate{})
	noErr(t, "CreateAutomationSettings(other)", err)
	time.Sleep(10 * time.Millisecond)

	steps := []struct {
		name   string
		upd    store.AutomationUpdate
		mutate func(*store.AutomationSettings)
	}{
		{"SessionDuration only", store.AutomationUpdate{SessionDuration: ptr(900)}, func(w *store.AutomationSettings) { w.SessionDuration = 900 }},
		{"IsEnabled only", store.AutomationUpdate{IsEnabled: ptr(false)}, func(w *store.AutomationSettings) { w.IsEnabled = false }},
		{"both", store.AutomationUpdate{IsEnabled: ptr(true), SessionDuration: ptr(120)}, func(w *store.AutomationSettings) {
			w.IsEnabled, w.SessionDuration = true, 120
		}},
		{"nothing", store.AutomationUpdate{}, func(*store.AutomationSettings) {}},
	}
	want := as
	for _, st := range steps {
		prev := want
		got, err := s.UpdateAutomationSettings(ctx(t), u.ID, st.upd)
		noErr(t, "UpdateAutomationSettings("+st.name+")", err)
		st.mutate(&want)
		if got.UpdatedAt.Before(prev.UpdatedAt.Truncate(time.Microsecond)) {
			t.Errorf("UpdateAutomationSettings(%s): UpdatedAt went back from %v to %v", st.name, prev.UpdatedAt, got.UpdatedAt)
		}
		want.UpdatedAt = got.UpdatedAt
		checkAuto(t, "UpdateAutomationSettings("+st.name+") result", got, want)
		read, err := s.AutomationSettings(ctx(t), u.ID)
		noErr(t, "AutomationSettings", err)
		checkAuto(t, "AutomationSettings after UpdateAutomationSettings("+st.name+")", read, want)
	}
	got, err := s.AutomationSettings(ctx(t), other.ID)
	noErr(t, "AutomationSettings(other)", err)
	checkAuto(t, "other user's settings", got, oas)
}

func testAutoUpdateCreates(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	before := time.Now()
	as, err := s.UpdateAutomationSettings(ctx(t), u.ID, store.AutomationUpdate{SessionDuration: ptr(600)})
	noErr(t, "UpdateAutomationSettings(no row)", err)
	if as.ID <= 0 || as.UserID != u.ID || as.IsEnabled != store.DefaultAutomationEnabled || as.SessionDuration != 600 {
		t.Errorf("UpdateAutomationSettings(no row) = %+v, want user %d, IsEnabled %v, SessionDuration 600",
			as, u.ID, store.DefaultAutomationEnabled)
	}
	checkRecent(t, "CreatedAt", as.CreatedAt, before)
	got, err := s.AutomationSettings(ctx(t), u.ID)
	noErr(t, "AutomationSettings", err)
	checkAuto(t, "AutomationSettings", got, as)

	v := mustUser(t, s)
	vs, err := s.UpdateAutomationSettings(ctx(t), v.ID, store.AutomationUpdate{IsEnabled: ptr(!store.DefaultAutomationEnabled)})
	noErr(t, "UpdateAutomationSettings(no row, IsEnabled only)", err)
	if vs.IsEnabled != !store.DefaultAutomationEnabled || vs.SessionDuration != store.DefaultSessionDurationSec {
		t.Errorf("got %v, %d; want %v, %d", vs.IsEnabled, vs.SessionDuration, !store.DefaultAutomationEnabled, store.DefaultSessionDurationSec)
	}

	w := mustUser(t, s)
	ws, err := s.UpdateAutomationSettings(ctx(t), w.ID, store.AutomationUpdate{})
	noErr(t, "UpdateAutomationSettings(no row, nothing)", err)
	if ws.IsEnabled != store.DefaultAutomationEnabled || ws.SessionDuration != store.DefaultSessionDurationSec {
		t.Errorf("got %v, %d; want defaults", ws.IsEnabled, ws.SessionDuration)
	}
	_, err = s.CreateAutomationSettings(ctx(t), w.ID, store.AutomationUpdate{})
	wantErr(t, "CreateAutomationSettings after an update created the row", err, store.ErrConflict)
}

func testAutoDelete(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	other := mustUser(t, s)
	_, err := s.CreateAutomationSettings(ctx(t), u.ID, store.AutomationUpdate{})
	noErr(t, "CreateAutomationSettings", err)
	_, err = s.CreateAutomationSettings(ctx(t), other.ID, store.AutomationUpdate{})
	noErr(t, "CreateAutomationSettings(other)", err)

	noErr(t, "DeleteAutomationSettings", s.DeleteAutomationSettings(ctx(t), u.ID))
	_, err = s.AutomationSettings(ctx(t), u.ID)
	wantErr(t, "AutomationSettings after delete", err, store.ErrNotFound)
	wantErr(t, "DeleteAutomationSettings(twice)", s.DeleteAutomationSettings(ctx(t), u.ID), store.ErrNotFound)
	_, err = s.AutomationSettings(ctx(t), other.ID)
	noErr(t, "AutomationSettings(other) after deleting another user's", err)

	// They can be created again.
	_, err = s.CreateAutomationSettings(ctx(t), u.ID, store.AutomationUpdate{})
	noErr(t, "CreateAutomationSettings after delete", err)
}
