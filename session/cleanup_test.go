package session

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/chain/fakerouter"
	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// expireAll moves the clocks (manager and fake) past every session's
// expires_at plus the cleanup grace.
func expireAll(f *fixture) { f.clock.Advance(2 * time.Hour) }

// Two instances on one PostgreSQL database run the cleanup at the same
// time: the advisory lock makes every expired session close exactly once.
func TestCleanupOnceAcrossTwoInstances(t *testing.T) {
	f := newFixture(t, fakerouter.Config{})
	dsn := newPostgresDSN(t)
	a := newEnv(t, f, openPostgres(t, dsn), nil)
	b := newEnv(t, f, openPostgres(t, dsn), nil)

	var ids []string
	for range 3 {
		p := newKey(t, a.st.Store, nil)
		l := a.acquire(p, "")
		ids = append(ids, l.SessionID)
		l.Release()
	}
	// Not expired yet: nothing to do.
	if res, err := a.m.Cleanup(context.Background()); err != nil || res.Closed != 0 {
		t.Fatalf("early cleanup: %+v %v", res, err)
	}
	expireAll(f)

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		sums CleanupResult
	)
	for _, e := range []*env{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := e.m.Cleanup(context.Background())
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			sums.Closed += res.Closed
			sums.Failed += res.Failed
			mu.Unlock()
		}()
	}
	wg.Wait()
	if sums.Closed != 3 || sums.Failed != 0 {
		t.Fatalf("cleanup totals %+v, want 3 closed", sums)
	}
	if c := f.fake.Counters(); c.Closes != 3 {
		t.Fatalf("close calls = %d, want 3 (once each)", c.Closes)
	}
	for _, id := range ids {
		s, err := a.st.Store.SessionByID(context.Background(), id)
		if err != nil || s.IsActive || f.session(id).ClosedAt.IsZero() {
			t.Fatalf("session %s: row %+v err %v, closed at %s", id, s, err, f.session(id).ClosedAt)
		}
		if f.session(id).OnHold.Sign() != 0 {
			t.Fatalf("session %s closed early (stake on hold)", id)
		}
	}
}

// A router outage deactivates nothing; the next pass closes the sessions.
func TestCleanupRouterDown(t *testing.T) {
	f := newFixture(t, fakerouter.Config{})
	e := newEnv(t, f, newSQLite(t), nil)
	p := newKey(t, e.st.Store, nil)
	l := e.acquire(p, "")
	l.Release()
	expireAll(f)

	down := newFixture(t, fakerouter.Config{})
	down.down()
	e.m.router = down.router(0)
	res, err := e.m.Cleanup(context.Background())
	if err != nil || res.Closed != 0 || res.Failed != 1 {
		t.Fatalf("cleanup with the router down: %+v %v", res, err)
	}
	if row := e.active(p); row.ID != l.SessionID {
		t.Fatal("the session was deactivated during an outage")
	}
	e.m.router = f.router(0)
	if res, err := e.m.Cleanup(context.Background()); err != nil || res.Closed != 1 {
		t.Fatalf("cleanup after the outage: %+v %v", res, err)
	}
	if _, err := e.st.Store.ActiveSessionByAPIKey(context.Background(), p.KeyID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("still active: %v", err)
	}
}

// A session already closed upstream (by the router's own expiry handler)
// counts as closed; a key held by a request is skipped.
func TestCleanupAlreadyClosedAndBusy(t *testing.T) {
	f := newFixture(t, fakerouter.Config{})
	e := newEnv(t, f, newSQLite(t), nil)
	p, q := newKey(t, e.st.Store, nil), newKey(t, e.st.Store, nil)
	lp := e.acquire(p, "")
	lp.Release()
	lq := e.acquire(q, "") // held during the pass
	defer lq.Release()
	if err := f.router(0).CloseSession(context.Background(), lp.SessionID); err != nil {
		t.Fatal(err)
	}
	expireAll(f)
	res, err := e.m.Cleanup(context.Background())
	if err != nil || res.Closed != 1 || res.Busy != 1 {
		t.Fatalf("cleanup: %+v %v", res, err)
	}
	if !f.session(lq.SessionID).ClosedAt.IsZero() {
		t.Fatal("closed a session whose key a request holds")
	}
}

// Start runs the loop (a pass at once, then every interval); Stop ends it.
func TestCleanupLoop(t *testing.T) {
	f := newFixture(t, fakerouter.Config{})
	e := newEnv(t, f, newSQLite(t), nil, func(c *Config) { c.CleanupInterval = 20 * time.Millisecond })
	p := newKey(t, e.st.Store, nil)
	if err := e.m.Start(); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Start(); err != nil {
		t.Fatal("second Start:", err)
	}
	l := e.acquire(p, "")
	l.Release()
	expireAll(f)
	eventually(t, "loop closes the expired session", func() bool {
		_, err := e.st.Store.ActiveSessionByAPIKey(context.Background(), p.KeyID)
		return errors.Is(err, store.ErrNotFound) && !f.session(l.SessionID).ClosedAt.IsZero()
	})
	if err := e.m.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Start(); err == nil {
		t.Fatal("Start after Stop succeeded")
	}
}

// Two managers on one PostgreSQL database race to open the first session
// of one key: one row is recorded, both requests use it, the loser's
// upstream session is closed.
func TestActiveSessionExistsRace(t *testing.T) {
	f := newFixture(t, fakerouter.Config{OpenLatency: 150 * time.Millisecond})
	dsn := newPostgresDSN(t)
	a := newEnv(t, f, openPostgres(t, dsn), nil)
	b := newEnv(t, f, openPostgres(t, dsn), nil)
	p := newKey(t, a.st.Store, nil)
	for _, e := range []*env{a, b} { // warm the catalogues so both opens start together
		if _, err := e.m.Models(context.Background()); err != nil {
			t.Fatal(err)
		}
	}

	var wg sync.WaitGroup
	leases := make([]*Lease, 2)
	start := make(chan struct{})
	for i, e := range []*env{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			l, err := e.m.Acquire(context.Background(), p, "")
			if err != nil {
				t.Error(err)
				return
			}
			leases[i] = l
		}()
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	defer leases[0].Release()
	defer leases[1].Release()
	if leases[0].SessionID != leases[1].SessionID {
		t.Fatalf("the instances use different sessions: %s, %s", leases[0].SessionID, leases[1].SessionID)
	}
	row := a.active(p)
	if row.ID != leases[0].SessionID {
		t.Fatalf("recorded %s, leases use %s", row.ID, leases[0].SessionID)
	}
	sessions := f.fake.Sessions()
	if len(sessions) != 2 {
		t.Fatalf("%d upstream opens, want 2 (the race did not happen)", len(sessions))
	}
	for _, s := range sessions {
		if s.ID == row.ID {
			continue
		}
		eventually(t, "loser's session closed upstream", func() bool { return !f.session(s.ID).ClosedAt.IsZero() })
		if _, err := a.st.Store.SessionByID(context.Background(), s.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("loser's session recorded: %v", err)
		}
	}
	if !f.session(row.ID).ClosedAt.IsZero() {
		t.Fatal("the winner's session was closed")
	}
}

// Expired sessions that cannot be closed in this pass (their keys are busy)
// do not hide newer expired sessions from it.
func TestCleanupPagesPastBusyKeys(t *testing.T) {
	defer func(n int) { cleanupBatch = n }(cleanupBatch)
	cleanupBatch = 2
	f := newFixture(t, fakerouter.Config{})
	e := newEnv(t, f, newSQLite(t), nil)
	var held []*Lease
	for range 2 { // the oldest two: held by requests during the pass
		l := e.acquire(newKey(t, e.st.Store, nil), "")
		held = append(held, l)
	}
	defer func() {
		for _, l := range held {
			l.Release()
		}
	}()
	f.clock.Advance(time.Minute)
	free := e.acquire(newKey(t, e.st.Store, nil), "")
	free.Release()
	expireAll(f)

	res, err := e.m.Cleanup(context.Background())
	if err != nil || res.Busy != 2 || res.Closed != 1 {
		t.Fatalf("cleanup: %+v %v", res, err)
	}
	if f.session(free.SessionID).ClosedAt.IsZero() {
		t.Fatal("the newer expired session was not reached")
	}
}
