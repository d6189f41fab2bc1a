package session

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/chain"
	"github.com/morpheus-gateway/caddy-morpheus/chain/fakerouter"
	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// First request opens a session for the default model; expires_at is the
// on-chain EndsAt (mined 7 s later than the call), not now + duration; the
// second request on the same model reuses it with zero store calls.
func TestFirstRequestOpensThenReusesWithoutStoreCalls(t *testing.T) {
	f := newFixture(t, fakerouter.Config{MinedDelay: 7 * time.Second})
	e := newEnv(t, f, newSQLite(t), nil)
	p := newKey(t, e.st.Store, nil)

	before := f.clock.Now()
	l := e.acquire(p, "")
	if l.Model.ID != f.modelA || l.Model.Name != "llama-3.3-70b" || l.Model.OwnedBy != OwnedBy {
		t.Fatalf("lease model = %+v", l.Model)
	}
	if err := f.chat(l.SessionID); err != nil {
		t.Fatalf("chat on the new session: %v", err)
	}
	l.Release()

	row := e.active(p)
	fs := f.session(row.ID)
	if row.ID != l.SessionID || row.Model != f.modelA || row.Type != store.SessionTypeAutomated || row.UserID != p.UserID {
		t.Fatalf("row = %+v", row)
	}
	if !row.ExpiresAt.Equal(fs.EndsAt) {
		t.Fatalf("expires_at = %s, want the chain's EndsAt %s", row.ExpiresAt, fs.EndsAt)
	}
	if d := fs.EndsAt.Sub(before.Add(time.Hour)); d < 5*time.Second {
		t.Fatalf("EndsAt only %s after now+duration: the test does not tell them apart", d)
	}
	if fs.RequestedDuration != time.Hour {
		t.Fatalf("requested duration %s, want the default 1h", fs.RequestedDuration)
	}

	calls := e.st.total()
	for range 3 {
		l := e.acquire(p, "LLAMA-3.3-70B")
		if l.SessionID != row.ID {
			t.Fatalf("reuse: got session %s, want %s", l.SessionID, row.ID)
		}
		l.Release()
	}
	if n := e.st.total() - calls; n != 0 {
		t.Fatalf("cached key+session made %d store calls, want 0", n)
	}
	if c := f.fake.Counters(); c.Opens != 1 {
		t.Fatalf("opens = %d, want 1", c.Opens)
	}
	if n := e.st.count("ActiveSessionByAPIKey"); n != 1 {
		t.Fatalf("ActiveSessionByAPIKey called %d times, want 1 (first request only)", n)
	}
}

// The per-key states are bounded: idle ones beyond MaxKeys are dropped and
// a dropped key's next request reads its session from the store.
func TestKeyStatesBounded(t *testing.T) {
	f := newFixture(t, fakerouter.Config{})
	e := newEnv(t, f, newSQLite(t), nil, func(c *Config) { c.MaxKeys = 10 })
	first := newKey(t, e.st.Store, nil)
	l := e.acquire(first, "")
	sid := l.SessionID
	l.Release()
	for range 30 {
		l := e.acquire(newKey(t, e.st.Store, nil), "")
		l.Release()
	}
	if n := e.m.keyCount(); n > 10 {
		t.Fatalf("%d key states kept, want at most 10", n)
	}
	l = e.acquire(first, "")
	defer l.Release()
	if l.SessionID != sid {
		t.Fatal("a dropped key state lost the session")
	}
}

// A request for another model closes the old session (in the background)
// and opens a new one; the old row is inactive.
func TestModelSwitch(t *testing.T) {
	f := newFixture(t, fakerouter.Config{})
	e := newEnv(t, f, newSQLite(t), nil)
	p := newKey(t, e.st.Store, nil)

	l := e.acquire(p, "llama-3.3-70b")
	oldID := l.SessionID
	l.Release()

	l = e.acquire(p, f.modelB)
	if l.SessionID == oldID || l.Model.ID != f.modelB {
		t.Fatalf("switch: lease %+v", l)
	}
	l.Release()
	if row := e.active(p); row.ID != l.SessionID || row.Model != f.modelB {
		t.Fatalf("active row = %+v", row)
	}
	old, err := e.st.Store.SessionByID(context.Background(), oldID)
	if err != nil || old.IsActive {
		t.Fatalf("old row = %+v, %v", old, err)
	}
	eventually(t, "old session closed upstream", func() bool { return !f.session(oldID).ClosedAt.IsZero() })
	if !f.session(l.SessionID).ClosedAt.IsZero() {
		t.Fatal("new session closed")
	}
}

// A model switch waits for the lease on the old session: it never closes a
// session with a request in flight.
func TestModelSwitchWaitsForHeldLease(t *testing.T) {
	f := newFixture(t, fakerouter.Config{})
	e := newEnv(t, f, newSQLite(t), nil)
	p := newKey(t, e.st.Store, nil)

	held := e.acquire(p, "llama-3.3-70b")
	got := make(chan *Lease, 1)
	go func() {
		l, err := e.m.Acquire(context.Background(), p, "mistral-31-24b")
		if err != nil {
			t.Error(err)
		}
		got <- l
	}()
	time.Sleep(150 * time.Millisecond)
	select {
	case <-got:
		t.Fatal("Acquire for another model returned while the old lease is held")
	default:
	}
	if c := f.fake.Counters(); c.Opens != 1 || c.Closes != 0 {
		t.Fatalf("while held: opens=%d closes=%d, want 1 and 0", c.Opens, c.Closes)
	}
	if !f.session(held.SessionID).ClosedAt.IsZero() {
		t.Fatal("old session closed while its lease is held")
	}
	held.Release()
	l := <-got
	if l == nil {
		t.FailNow()
	}
	defer l.Release()
	if l.Model.ID != f.modelB {
		t.Fatalf("lease model %s", l.Model.ID)
	}
	eventually(t, "old session closed after release", func() bool { return !f.session(held.SessionID).ClosedAt.IsZero() })
}

// A session within RenewBefore of its end is renewed before use; the old
// one is not closed early (it rides to its EndsAt).
func TestRenewalBeforeExpiry(t *testing.T) {
	f := newFixture(t, fakerouter.Config{})
	e := newEnv(t, f, newSQLite(t), nil, func(c *Config) { c.RenewBefore = 2 * time.Minute })
	p := newKey(t, e.st.Store, nil)

	l := e.acquire(p, "")
	oldID := l.SessionID
	l.Release()
	oldEnd := f.session(oldID).EndsAt

	f.clock.Advance(oldEnd.Sub(f.clock.Now()) - 3*time.Minute) // 3 min left: still usable
	l = e.acquire(p, "")
	if l.SessionID != oldID {
		t.Fatal("renewed too early")
	}
	l.Release()

	f.clock.Advance(90 * time.Second) // 90 s left: within RenewBefore
	l = e.acquire(p, "")
	defer l.Release()
	if l.SessionID == oldID {
		t.Fatal("session within RenewBefore was not renewed")
	}
	if row := e.active(p); row.ID != l.SessionID {
		t.Fatalf("active row %s, want %s", row.ID, l.SessionID)
	}
	time.Sleep(50 * time.Millisecond)
	if !f.session(oldID).ClosedAt.IsZero() {
		t.Fatal("the renewed session was closed before its EndsAt (stake lock)")
	}
	if c := f.fake.Counters(); c.Opens != 2 {
		t.Fatalf("opens = %d, want 2", c.Opens)
	}
}

// "session expired" from the router: Renew marks the session inactive,
// opens a new one and the one retry succeeds.
func TestRenewOnSessionExpired(t *testing.T) {
	f := newFixture(t, fakerouter.Config{})
	e := newEnv(t, f, newSQLite(t), nil)
	p := newKey(t, e.st.Store, nil)

	l := e.acquire(p, "")
	defer l.Release()
	oldID := l.SessionID
	f.fake.ExpireSession(oldID)
	err := f.chat(l.SessionID)
	if !chain.IsSessionExpired(err) {
		t.Fatalf("chat on an expired session: %v, want session expired", err)
	}
	if err := l.Renew(context.Background()); err != nil {
		t.Fatal(err)
	}
	if l.SessionID == oldID {
		t.Fatal("Renew kept the session id")
	}
	if err := f.chat(l.SessionID); err != nil {
		t.Fatalf("retry after renewal: %v", err)
	}
	if row := e.active(p); row.ID != l.SessionID {
		t.Fatalf("active row %s, want %s", row.ID, l.SessionID)
	}
	old, _ := e.st.Store.SessionByID(context.Background(), oldID)
	if old.IsActive {
		t.Fatal("expired session still active")
	}
	eventually(t, "expired session closed upstream", func() bool { return !f.session(oldID).ClosedAt.IsZero() })
}

// Session expired, then the renewal's open fails too: a clean, sanitized
// router error; nothing active is left behind, and the key recovers.
func TestRenewDoubleFailure(t *testing.T) {
	f := newFixture(t, fakerouter.Config{})
	e := newEnv(t, f, newSQLite(t), nil)
	p := newKey(t, e.st.Store, nil)

	l := e.acquire(p, "")
	f.fake.ExpireSession(l.SessionID)
	if err := f.chat(l.SessionID); !chain.IsSessionExpired(err) {
		t.Fatalf("want session expired, got %v", err)
	}
	for _, b := range f.bidsOf(f.modelA) {
		f.fake.SetMode(b, fakerouter.ModeUnreachable)
	}
	err := l.Renew(context.Background())
	var re *chain.RouterError
	if !errors.As(err, &re) || re.Kind != chain.KindNoProvider {
		t.Fatalf("Renew = %v, want a no-provider RouterError", err)
	}
	if strings.Contains(re.Message, "10.0.0.9") || strings.Contains(err.Error(), "10.0.0.9") {
		t.Fatalf("error leaks the provider address: %v", err)
	}
	l.Release()
	if _, err := e.st.Store.ActiveSessionByAPIKey(context.Background(), p.KeyID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an active session remains after the failed renewal: %v", err)
	}
	for _, b := range f.bidsOf(f.modelA) {
		f.fake.SetMode(b, fakerouter.ModeOK)
	}
	l = e.acquire(p, "")
	defer l.Release()
	if err := f.chat(l.SessionID); err != nil {
		t.Fatal(err)
	}
}

// bidsOf lists the bid ids of a model from the fake's rated bids.
func (f *fixture) bidsOf(model string) []string {
	r := f.router(0)
	bids, err := r.RatedBids(context.Background(), model)
	if err != nil {
		f.t.Fatal(err)
	}
	var ids []string
	for _, b := range bids {
		ids = append(ids, b.Bid.ID)
	}
	return ids
}

// 50 concurrent first requests on one key open exactly one session and all
// use it, one at a time.
func TestConcurrentFirstRequestsOpenOnce(t *testing.T) {
	f := newFixture(t, fakerouter.Config{OpenLatency: 50 * time.Millisecond})
	e := newEnv(t, f, newSQLite(t), nil, func(c *Config) { c.QueueSize = 64 })
	p := newKey(t, e.st.Store, nil)

	const n = 50
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		ids      = map[string]int{}
		inFlight int
		maxIn    int
	)
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			l, err := e.m.Acquire(context.Background(), p, "llama-3.3-70b")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			ids[l.SessionID]++
			inFlight++
			maxIn = max(maxIn, inFlight)
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			inFlight--
			mu.Unlock()
			l.Release()
		}()
	}
	close(start)
	wg.Wait()
	if c := f.fake.Counters(); c.Opens != 1 {
		t.Fatalf("opens = %d, want 1", c.Opens)
	}
	if len(ids) != 1 {
		t.Fatalf("sessions used: %v, want one", ids)
	}
	for _, c := range ids {
		if c != n {
			t.Fatalf("%d requests used the session, want %d", c, n)
		}
	}
	if maxIn != 1 {
		t.Fatalf("%d requests ran at once on one key, want 1", maxIn)
	}
}

// Past QueueSize waiters, 429 with Retry-After; a waiter whose context ends
// gives up its place.
func TestQueueFull(t *testing.T) {
	f := newFixture(t, fakerouter.Config{})
	e := newEnv(t, f, newSQLite(t), nil, func(c *Config) { c.QueueSize = 1 })
	p := newKey(t, e.st.Store, nil)

	held := e.acquire(p, "")
	ctx, cancel := context.WithCancel(context.Background())
	waiting := make(chan error, 1)
	go func() {
		l, err := e.m.Acquire(ctx, p, "")
		if err == nil {
			l.Release()
		}
		waiting <- err
	}()
	eventually(t, "one waiter queued", func() bool {
		ks := e.m.peekKey(p.KeyID)
		defer e.m.putKey(ks)
		ks.mu.Lock()
		defer ks.mu.Unlock()
		return len(ks.waiters) == 1
	})
	_, err := e.m.Acquire(context.Background(), p, "")
	var qf *QueueFullError
	if !errors.As(err, &qf) || qf.RetryAfter != time.Second {
		t.Fatalf("third request: %v, want *QueueFullError{1s}", err)
	}
	cancel()
	if err := <-waiting; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled waiter: %v", err)
	}
	// Its place is free again: a new waiter gets the turn after release.
	done := make(chan error, 1)
	go func() {
		l, err := e.m.Acquire(context.Background(), p, "")
		if err == nil {
			l.Release()
		}
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	held.Release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Automation disabled: no automatic open (ErrAutomationDisabled), but an
// explicitly opened session is used; the duration comes from the settings.
func TestAutomationSettings(t *testing.T) {
	f := newFixture(t, fakerouter.Config{})
	e := newEnv(t, f, newSQLite(t), nil)

	off := newKey(t, e.st.Store, &store.AutomationUpdate{IsEnabled: boolp(false), SessionDuration: intp(1800)})
	if _, err := e.m.Acquire(context.Background(), off, ""); !errors.Is(err, ErrAutomationDisabled) {
		t.Fatalf("disabled: %v, want ErrAutomationDisabled", err)
	}
	if c := f.fake.Counters(); c.Opens != 0 {
		t.Fatalf("opens = %d with automation disabled", c.Opens)
	}
	row, err := e.m.OpenModelSession(context.Background(), off, "llama-3.3-70b", 0)
	if err != nil {
		t.Fatal(err)
	}
	if row.Type != store.SessionTypeManual || f.session(row.ID).RequestedDuration != 30*time.Minute {
		t.Fatalf("manual open: %+v, duration %s", row, f.session(row.ID).RequestedDuration)
	}
	l := e.acquire(off, "")
	if l.SessionID != row.ID {
		t.Fatal("the manual session is not used")
	}
	l.Release()
	if _, err := e.m.Acquire(context.Background(), off, "mistral-31-24b"); !errors.Is(err, ErrAutomationDisabled) {
		t.Fatalf("other model with automation disabled: %v", err)
	}

	on := newKey(t, e.st.Store, &store.AutomationUpdate{IsEnabled: boolp(true), SessionDuration: intp(7200)})
	l = e.acquire(on, "")
	defer l.Release()
	if d := f.session(l.SessionID).RequestedDuration; d != 2*time.Hour {
		t.Fatalf("duration %s, want the user's 2h", d)
	}
}

// Unknown models are 400 model_not_found, never the default; names match
// case-insensitively and ids exactly (any hex case); deleted models are
// not served.
func TestResolveModel(t *testing.T) {
	f := newFixture(t, fakerouter.Config{})
	e := newEnv(t, f, newSQLite(t), nil)
	p := newKey(t, e.st.Store, nil)
	ctx := context.Background()

	for _, name := range []string{"gpt-4", "retired", "0x" + strings.Repeat("ab", 32), "0xzz"} {
		if _, err := e.m.ResolveModel(ctx, name); !errors.Is(err, ErrModelNotFound) {
			t.Errorf("ResolveModel(%q) = %v, want ErrModelNotFound", name, err)
		}
		if _, err := e.m.Acquire(ctx, p, name); !errors.Is(err, ErrModelNotFound) {
			t.Errorf("Acquire(%q) = %v, want ErrModelNotFound", name, err)
		}
	}
	for name, want := range map[string]string{
		"":                                   f.modelA,
		"Mistral-31-24B":                     f.modelB,
		"0X" + strings.ToUpper(f.modelB[2:]): f.modelB,
		f.modelA:                             f.modelA,
	} {
		mdl, err := e.m.ResolveModel(ctx, name)
		if err != nil || mdl.ID != want {
			t.Errorf("ResolveModel(%q) = %+v, %v; want %s", name, mdl, err, want)
		}
	}
	models, err := e.m.Models(ctx)
	if err != nil || len(models) != 2 {
		t.Fatalf("Models = %+v, %v; want the 2 live models", models, err)
	}
	if c := f.fake.Counters(); c.Opens != 0 {
		t.Fatalf("opens = %d", c.Opens)
	}

	noDefault := newEnv(t, f, newSQLite(t), nil, func(c *Config) { c.DefaultModel = "" })
	if _, err := noDefault.m.ResolveModel(ctx, ""); !errors.Is(err, ErrModelNotFound) {
		t.Fatalf("no default: %v", err)
	}
}

// Router down: a clean unreachable error, nothing recorded.
func TestRouterDown(t *testing.T) {
	f := newFixture(t, fakerouter.Config{})
	e := newEnv(t, f, newSQLite(t), nil)
	p := newKey(t, e.st.Store, nil)
	if _, err := e.m.Models(context.Background()); err != nil { // catalogue cached
		t.Fatal(err)
	}
	f.down()
	_, err := e.m.Acquire(context.Background(), p, "")
	if !chain.IsUnreachable(err) || chain.IsOutcomeUnknown(err) {
		t.Fatalf("Acquire with the router down: %v, want unreachable (not outcome-unknown)", err)
	}
	if _, err := e.st.Store.LatestSessionByAPIKey(context.Background(), p.KeyID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a session was recorded: %v", err)
	}

	cold := newEnv(t, f, newSQLite(t), nil) // no catalogue yet
	if _, err := cold.m.Acquire(context.Background(), newKey(t, cold.st.Store, nil), ""); !chain.IsUnreachable(err) {
		t.Fatalf("cold catalogue, router down: %v", err)
	}
}

// A nonce race is retried once under the lock; a second one is a clean
// KindNonceRace error and nothing is recorded.
func TestNonceRace(t *testing.T) {
	f := newFixture(t, fakerouter.Config{})
	e := newEnv(t, f, newSQLite(t), nil)
	p := newKey(t, e.st.Store, nil)

	f.fake.FailNextOnChainOps(1)
	l := e.acquire(p, "")
	l.Release()
	if c := f.fake.Counters(); c.NonceErrors != 1 || c.Opens != 2 {
		t.Fatalf("nonce errors %d opens %d, want 1 and 2", c.NonceErrors, c.Opens)
	}
	if e.m.throttleUntil.Load() <= time.Now().UnixNano() {
		t.Fatal("no cooldown after a nonce race")
	}

	q := newKey(t, e.st.Store, nil)
	f.fake.FailNextOnChainOps(2)
	_, err := e.m.Acquire(context.Background(), q, "")
	if !chain.IsNonceRace(err) {
		t.Fatalf("double nonce race: %v", err)
	}
	if c := f.fake.Counters(); c.Opens != 4 {
		t.Fatalf("opens = %d, want 4 (one retry, no more)", c.Opens)
	}
	if _, err := e.st.Store.LatestSessionByAPIKey(context.Background(), q.KeyID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("recorded after a failed open: %v", err)
	}
}

// An open that succeeded upstream but cannot be recorded is closed again.
func TestRecordFailureClosesUpstream(t *testing.T) {
	f := newFixture(t, fakerouter.Config{})
	e := newEnv(t, f, newSQLite(t), nil)
	p := newKey(t, e.st.Store, nil)

	e.st.setFail("CreateSession", errors.New("disk full"))
	_, err := e.m.Acquire(context.Background(), p, "")
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Acquire = %v, want ErrUnavailable", err)
	}
	sessions := f.fake.Sessions()
	if len(sessions) != 1 {
		t.Fatalf("%d sessions opened, want 1", len(sessions))
	}
	eventually(t, "unrecorded session closed upstream", func() bool { return !f.session(sessions[0].ID).ClosedAt.IsZero() })
	e.st.setFail("CreateSession", nil)
	l := e.acquire(p, "")
	l.Release()
}

// An open that times out is not retried; the session it created later is
// reconciled: adopted for the key, and used by the next request. Two
// timed-out opens: one orphan adopted, the other closed; nothing is left
// open and unrecorded.
func TestOpenTimeoutReconciled(t *testing.T) {
	f := newFixture(t, fakerouter.Config{OpenLatency: 300 * time.Millisecond})
	e := newEnv(t, f, newSQLite(t), f.router(50*time.Millisecond))
	p := newKey(t, e.st.Store, nil)

	_, err := e.m.Acquire(context.Background(), p, "")
	if !chain.IsTimeout(err) || !chain.IsOutcomeUnknown(err) {
		t.Fatalf("Acquire = %v, want an outcome-unknown timeout", err)
	}
	if c := f.fake.Counters(); c.Opens != 1 {
		t.Fatalf("opens = %d: a timed-out open was retried", c.Opens)
	}
	eventually(t, "orphan adopted", func() bool {
		_, err := e.st.Store.ActiveSessionByAPIKey(context.Background(), p.KeyID)
		return err == nil
	})
	row := e.active(p)
	if fs := f.session(row.ID); !fs.Orphaned || !row.ExpiresAt.Equal(fs.EndsAt) || row.Model != f.modelA {
		t.Fatalf("adopted row %+v for fake session %+v", row, fs)
	}
	l := e.acquire(p, "")
	if l.SessionID != row.ID {
		t.Fatal("the adopted session is not used")
	}
	l.Release()
	if c := f.fake.Counters(); c.Opens != 1 {
		t.Fatalf("opens = %d after adoption, want 1", c.Opens)
	}

	// Two timed-out opens on another key.
	q := newKey(t, e.st.Store, nil)
	for range 2 {
		if _, err := e.m.Acquire(context.Background(), q, "mistral-31-24b"); !chain.IsTimeout(err) {
			t.Fatalf("want timeout, got %v", err)
		}
	}
	eventually(t, "both orphans dealt with", func() bool {
		n := 0
		for _, s := range f.fake.Sessions() {
			if s.ModelID != f.modelB {
				continue
			}
			n++
			if !s.ClosedAt.IsZero() {
				continue
			}
			if _, err := e.st.Store.SessionByID(context.Background(), s.ID); err != nil {
				return false
			}
		}
		return n == 2
	})
	if row := e.active(q); !f.session(row.ID).ClosedAt.IsZero() {
		t.Fatal("adopted session is closed")
	}
	closed := 0
	for _, s := range f.fake.Sessions() {
		if s.ModelID == f.modelB && !s.ClosedAt.IsZero() {
			closed++
		}
	}
	if closed != 1 {
		t.Fatalf("%d orphans closed, want 1", closed)
	}
}

// CloseSession, Status, explicit opens and KeyRevoked.
func TestExplicitOperations(t *testing.T) {
	f := newFixture(t, fakerouter.Config{})
	e := newEnv(t, f, newSQLite(t), nil)
	p := newKey(t, e.st.Store, nil)
	ctx := context.Background()

	if _, _, err := e.m.Status(ctx, p); !errors.Is(err, ErrNoSession) {
		t.Fatalf("Status without session: %v", err)
	}
	if _, err := e.m.CloseSession(ctx, p); !errors.Is(err, ErrNoSession) {
		t.Fatalf("Close without session: %v", err)
	}
	row, err := e.m.OpenModelSession(ctx, p, "mistral-31-24b", 20*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if f.session(row.ID).RequestedDuration != 20*time.Minute {
		t.Fatal("explicit duration not honoured")
	}
	got, info, err := e.m.Status(ctx, p)
	if err != nil || got.ID != row.ID || !info.Open(f.clock.Now()) || info.ModelAgentID != f.modelB {
		t.Fatalf("Status = %+v %+v %v", got, info, err)
	}

	// Explicit open on a bid replaces it; the bid session serves its model.
	bid := f.bidsOf(f.modelA)[0]
	brow, err := e.m.OpenBidSession(ctx, p, strings.ToUpper(bid[2:]), 0)
	if err != nil {
		t.Fatal(err)
	}
	if brow.Type != store.SessionTypeBid || brow.Model != bid {
		t.Fatalf("bid row %+v", brow)
	}
	eventually(t, "replaced session closed", func() bool { return !f.session(row.ID).ClosedAt.IsZero() })
	e.m.getKey(p.KeyID).forget("") // force the store path for the bid row
	l := e.acquire(p, "llama-3.3-70b")
	if l.SessionID != brow.ID {
		t.Fatal("the bid session is not used for its model")
	}
	l.Release()
	if _, err := e.m.OpenBidSession(ctx, p, "nope", 0); chain.KindOf(err) != chain.KindBadRequest {
		t.Fatalf("invalid bid: %v", err)
	}

	closed, err := e.m.CloseSession(ctx, p)
	if err != nil || closed.ID != brow.ID || closed.IsActive {
		t.Fatalf("Close = %+v, %v", closed, err)
	}
	if f.session(brow.ID).ClosedAt.IsZero() {
		t.Fatal("not closed upstream")
	}

	// KeyRevoked waits for the lease, then closes.
	l = e.acquire(p, "")
	sid := l.SessionID
	e.m.KeyRevoked(ctx, p.KeyID)
	time.Sleep(50 * time.Millisecond)
	if !f.session(sid).ClosedAt.IsZero() {
		t.Fatal("revoked key's session closed while a request holds it")
	}
	l.Release()
	eventually(t, "revoked key's session closed", func() bool {
		s, _ := e.st.Store.SessionByID(ctx, sid)
		return !f.session(sid).ClosedAt.IsZero() && !s.IsActive
	})
}

// Approve needs the Diamond address.
func TestApprove(t *testing.T) {
	f := newFixture(t, fakerouter.Config{})
	e := newEnv(t, f, newSQLite(t), nil)
	if _, err := e.m.Approve(context.Background(), bigInt(5)); !errors.Is(err, ErrApproveNotConfigured) {
		t.Fatalf("no diamond: %v", err)
	}
	e2 := newEnv(t, f, newSQLite(t), nil, func(c *Config) { c.Diamond = diamond })
	tx, err := e2.m.Approve(context.Background(), bigInt(5))
	if err != nil || !strings.HasPrefix(tx, "0x") {
		t.Fatalf("approve: %q %v", tx, err)
	}
}

// An orphan of a timed-out open whose key was revoked meanwhile is closed,
// not adopted for the dead key.
func TestOpenTimeoutRevokedKeyNotAdopted(t *testing.T) {
	f := newFixture(t, fakerouter.Config{OpenLatency: 300 * time.Millisecond})
	e := newEnv(t, f, newSQLite(t), f.router(50*time.Millisecond))
	p := newKey(t, e.st.Store, nil)

	if _, err := e.m.Acquire(context.Background(), p, ""); !chain.IsTimeout(err) {
		t.Fatalf("Acquire = %v, want a timeout", err)
	}
	if _, err := e.st.Store.DeactivateAPIKey(context.Background(), p.KeyID, p.UserID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "orphan closed", func() bool {
		ss := f.fake.Sessions()
		return len(ss) == 1 && !ss[0].ClosedAt.IsZero()
	})
	if _, err := e.st.Store.LatestSessionByAPIKey(context.Background(), p.KeyID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a session was recorded for the revoked key: %v", err)
	}
}
