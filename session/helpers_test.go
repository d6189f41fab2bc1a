package session

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/morpheus-gateway/caddy-morpheus/cache"
	"github.com/morpheus-gateway/caddy-morpheus/chain"
	"github.com/morpheus-gateway/caddy-morpheus/chain/fakerouter"
	"github.com/morpheus-gateway/caddy-morpheus/store"
	"github.com/morpheus-gateway/caddy-morpheus/store/postgres"
	"github.com/morpheus-gateway/caddy-morpheus/store/postgres/pgtest"
	"github.com/morpheus-gateway/caddy-morpheus/store/sqlite"
)

func init() {
	// Short nonce jitter and close retries in tests.
	nonceJitter = func() time.Duration { return 5 * time.Millisecond }
	closeRetryDelays = []time.Duration{10 * time.Millisecond}
}

// testClock is the clock of the manager and of the fake router.
type testClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// newSQLite returns a fresh migrated SQLite store.
func newSQLite(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

// newPostgres returns a DSN of a fresh migrated database.
func newPostgresDSN(t *testing.T) string {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	st := openPostgres(t, dsn)
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return dsn
}

func openPostgres(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), postgres.Config{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// fixture is a fake router served over HTTP with two models.
type fixture struct {
	t     *testing.T
	clock *testClock
	fake  *fakerouter.Router
	srv   *httptest.Server
	// transports of the clients made by router(), so that down() can drop
	// their idle connections: a request on a pooled connection the server
	// has just closed is, to the client, a request of unknown outcome.
	transports []*http.Transport
	modelA     string // "llama-3.3-70b"
	modelB     string // "mistral-31-24b"
}

func newFixture(t *testing.T, cfg fakerouter.Config) *fixture {
	t.Helper()
	clk := &testClock{}
	cfg.Now = clk.Now
	fake := fakerouter.New(cfg)
	f := &fixture{t: t, clock: clk, fake: fake}
	f.modelA = fake.AddModel(fakerouter.Model{Name: "llama-3.3-70b", Tags: []string{"llm"}})
	f.modelB = fake.AddModel(fakerouter.Model{Name: "mistral-31-24b", Tags: []string{"llm"}})
	fake.AddModel(fakerouter.Model{Name: "retired", IsDeleted: true})
	fake.AddBid(f.modelA, fakerouter.Bid{Score: 0.9})
	fake.AddBid(f.modelB, fakerouter.Bid{Score: 0.8})
	f.srv = fake.Start()
	t.Cleanup(f.srv.Close)
	return f
}

// down stops the fake router and drops the clients' pooled connections, so
// that the next call finds the router certainly unreachable.
func (f *fixture) down() {
	f.srv.Close()
	for _, tr := range f.transports {
		tr.CloseIdleConnections()
	}
}

// router returns a chain.Router client of the fake.
func (f *fixture) router(openTimeout time.Duration) *chain.Router {
	f.t.Helper()
	if openTimeout == 0 {
		openTimeout = 10 * time.Second
	}
	tr := chain.NewRouterTransport()
	f.transports = append(f.transports, tr)
	r, err := chain.NewRouter(chain.RouterConfig{BaseURL: f.srv.URL, Transport: tr, Username: fakerouter.DefaultUsername,
		Password: fakerouter.DefaultPassword, OpenTimeout: openTimeout, CloseTimeout: 10 * time.Second,
		ReadTimeout: 5 * time.Second})
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// session returns the fake's view of a session.
func (f *fixture) session(id string) fakerouter.SessionState {
	f.t.Helper()
	s, ok := f.fake.Session(id)
	if !ok {
		f.t.Fatalf("fake router does not know session %s", id)
	}
	return s
}

// chat sends a prompt on sid to the fake and classifies a failure like the
// chat proxy does.
func (f *fixture) chat(sid string) error {
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/v1/chat/completions",
		strings.NewReader(`{"messages":[{"role":"user","content":"hi"}],"stream":false}`))
	req.SetBasicAuth(fakerouter.DefaultUsername, fakerouter.DefaultPassword)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("session_id", sid)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if e := chain.ClassifyResponse("chat", res.StatusCode, res.Header.Get("Content-Type"), body); e != nil {
		return e
	}
	return nil
}

// env is a manager over a store with a user and an API key.
type env struct {
	*fixture
	t     *testing.T
	st    *countingStore
	cache *cache.Cache
	m     *Manager
}

type envOpt func(*Config)

// newEnv builds a manager over st (counted) and the fixture's router.
func newEnv(t *testing.T, f *fixture, st store.Store, r Router, opts ...envOpt) *env {
	t.Helper()
	cs := newCountingStore(st)
	c, err := cache.New(st, cache.Config{Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	cfg := Config{
		DefaultModel:    "llama-3.3-70b",
		Logger:          zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)),
		Now:             f.clock.Now,
		ReconcilePoll:   10 * time.Millisecond,
		ReconcileGrace:  30 * time.Millisecond,
		ReconcileWindow: 5 * time.Second,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if r == nil {
		r = f.router(0)
	}
	m, err := New(cs, c, r, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Stop() })
	return &env{fixture: f, t: t, st: cs, cache: c, m: m}
}

// newKey creates a user (with settings when given) and an API key in st.
func newKey(t *testing.T, st store.Store, settings *store.AutomationUpdate) Principal {
	t.Helper()
	ctx := context.Background()
	u, err := st.CreateUser(ctx, store.NewUser{Email: fmt.Sprintf("u%d@example.com", time.Now().UnixNano())})
	if err != nil {
		t.Fatal(err)
	}
	k, err := st.CreateAPIKey(ctx, store.NewAPIKey{UserID: u.ID, KeyPrefix: "sk-abcdef", HashedKey: fmt.Sprintf("%064x", time.Now().UnixNano())})
	if err != nil {
		t.Fatal(err)
	}
	if settings != nil {
		if _, err := st.CreateAutomationSettings(ctx, u.ID, *settings); err != nil {
			t.Fatal(err)
		}
	}
	return Principal{KeyID: k.ID, UserID: u.ID}
}

// acquire takes a lease or fails the test.
func (e *env) acquire(p Principal, model string) *Lease {
	e.t.Helper()
	l, err := e.m.Acquire(context.Background(), p, model)
	if err != nil {
		e.t.Fatalf("Acquire(%q): %v", model, err)
	}
	return l
}

// active returns the key's active row, or fails.
func (e *env) active(p Principal) store.Session {
	e.t.Helper()
	s, err := e.st.Store.ActiveSessionByAPIKey(context.Background(), p.KeyID)
	if err != nil {
		e.t.Fatalf("active session of key %d: %v", p.KeyID, err)
	}
	return s
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func boolp(b bool) *bool { return &b }
func intp(i int) *int    { return &i }

var diamond = common.HexToAddress(fakerouter.DiamondAddress)

func bigInt(n int64) *big.Int { return big.NewInt(n) }
