package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// racers is how many goroutines each concurrency round starts, and
// raceRounds how many rounds (with fresh rows) each case runs.
const (
	racers     = 8
	raceRounds = 5
)

// concurrencyCases checks that uniqueness rules hold, and map to the
// documented errors, when writers really race: no lost update, no second
// winner, and no backend-specific error (SQLITE_BUSY, serialization
// failure, deadlock) leaking out instead of the typed one.
func concurrencyCases() []testCase {
	return []testCase{
		{"OneActiveSessionPerKey", testRaceActiveSession},
		{"DuplicateEmail", testRaceDuplicateEmail},
		{"UpsertPrivateKey", testRaceUpsertPrivateKey},
		{"UpdateAutomationSettingsCreates", testRaceUpdateAutomation},
	}
}

// race runs fn(i) for i in [0, racers) in goroutines released together by a
// closed channel, and returns their errors indexed by i.
func race(fn func(i int) error) []error {
	errs := make([]error, racers)
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	for i := range racers {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return errs
}

// oneWinner checks that exactly one error is nil and every other one
// matches loserErr, and returns the winner's index.
func oneWinner(t *testing.T, what string, errs []error, loserErr error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("%s: goroutines %d and %d both succeeded", what, winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, loserErr):
			t.Errorf("%s: goroutine %d failed with %v, want errors.Is(err, %v)", what, i, err, loserErr)
		}
	}
	if winner < 0 {
		t.Errorf("%s: no goroutine succeeded", what)
	}
	return winner
}

func testRaceActiveSession(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	for round := range raceRounds {
		k := mustKey(t, s, u.ID)
		sessions := make([]store.Session, racers)
		for i := range sessions {
			sessions[i] = newSession(u.ID, k.ID)
		}
		errs := race(func(i int) error {
			_, err := s.CreateSession(ctx(t), sessions[i])
			return err
		})
		what := fmt.Sprintf("round %d: concurrent CreateSession", round)
		w := oneWinner(t, what, errs, store.ErrActiveSessionExists)
		if w < 0 {
			continue
		}
		got, err := s.ActiveSessionByAPIKey(ctx(t), k.ID)
		noErr(t, "ActiveSessionByAPIKey", err)
		if got.ID != sessions[w].ID {
			t.Errorf("%s: active session is %s, want the winner's %s", what, got.ID, sessions[w].ID)
		}
		for i, sess := range sessions {
			if i == w {
				continue
			}
			if _, err := s.SessionByID(ctx(t), sess.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: loser %d's session: SessionByID error = %v, want ErrNotFound", what, i, err)
			}
		}
	}
	active, err := s.ActiveSessions(ctx(t))
	noErr(t, "ActiveSessions", err)
	if len(active) != raceRounds {
		t.Errorf("ActiveSessions after %d rounds = %d sessions, want %d", raceRounds, len(active), raceRounds)
	}
}

func testRaceDuplicateEmail(t *testing.T, s store.Store) {
	for round := range raceRounds {
		email := uniqueEmail()
		ids := make([]int64, racers)
		errs := race(func(i int) error {
			u, err := s.CreateUser(ctx(t), store.NewUser{Name: fmt.Sprintf("racer %d", i), Email: email})
			ids[i] = u.ID
			return err
		})
		what := fmt.Sprintf("round %d: concurrent CreateUser", round)
		w := oneWinner(t, what, errs, store.ErrDuplicateEmail)
		if w < 0 {
			continue
		}
		got, err := s.UserByEmail(ctx(t), email)
		noErr(t, "UserByEmail", err)
		if got.ID != ids[w] || got.Name != fmt.Sprintf("racer %d", w) {
			t.Errorf("%s: stored user %+v, want the winner's (id %d, racer %d)", what, got, ids[w], w)
		}
	}
	list, err := s.ListUsers(ctx(t), 0, 1000)
	noErr(t, "ListUsers", err)
	if len(list) != raceRounds {
		t.Errorf("ListUsers after %d rounds = %d users, want %d", raceRounds, len(list), raceRounds)
	}
}

func testRaceUpsertPrivateKey(t *testing.T, s store.Store) {
	for round := range raceRounds {
		u := mustUser(t, s)
		errs := race(func(i int) error {
			_, err := s.UpsertPrivateKey(ctx(t), u.ID, []byte{byte(i), 0xff}, json.RawMessage(fmt.Sprintf(`{"racer":%d}`, i)))
			return err
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d: concurrent UpsertPrivateKey %d: %v", round, i, err)
			}
		}
		pk, err := s.PrivateKey(ctx(t), u.ID)
		noErr(t, "PrivateKey", err)
		if len(pk.EncryptedPrivateKey) != 2 || int(pk.EncryptedPrivateKey[0]) >= racers ||
			!bytes.Equal(pk.EncryptedPrivateKey[1:], []byte{0xff}) {
			t.Errorf("round %d: stored key %x is none of the racers'", round, pk.EncryptedPrivateKey)
			continue
		}
		var meta map[string]int
		if err := json.Unmarshal(pk.EncryptionMetadata, &meta); err != nil || meta["racer"] != int(pk.EncryptedPrivateKey[0]) {
			t.Errorf("round %d: metadata %s does not belong with key %x (torn write)", round, pk.EncryptionMetadata, pk.EncryptedPrivateKey)
		}
	}
}

func testRaceUpdateAutomation(t *testing.T, s store.Store) {
	for round := range raceRounds {
		u := mustUser(t, s)
		errs := race(func(i int) error {
			d := 1000 + i
			_, err := s.UpdateAutomationSettings(ctx(t), u.ID, store.AutomationUpdate{SessionDuration: &d})
			return err
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d: concurrent UpdateAutomationSettings %d on a missing row: %v", round, i, err)
			}
		}
		as, err := s.AutomationSettings(ctx(t), u.ID)
		noErr(t, "AutomationSettings", err)
		if as.SessionDuration < 1000 || as.SessionDuration >= 1000+racers {
			t.Errorf("round %d: SessionDuration = %d, want one of the racers' values", round, as.SessionDuration)
		}
		if as.IsEnabled != store.DefaultAutomationEnabled {
			t.Errorf("round %d: IsEnabled = %v, want the default %v", round, as.IsEnabled, store.DefaultAutomationEnabled)
		}
	}
}
