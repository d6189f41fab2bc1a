package cache

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/morpheus-gateway/caddy-morpheus/store"
	"github.com/morpheus-gateway/caddy-morpheus/store/sqlite"
)

// errDown is what countingStore returns while down.
var errDown = errors.New("test: store is down")

// countingStore wraps a store.Store, counting every method call; while
// down is set, every call fails with errDown.
type countingStore struct {
	store.Store
	down atomic.Bool

	mu    sync.Mutex
	calls map[string]int

	// afterPrefix, if set, runs after the real APIKeysByPrefix answered and
	// before its answer is returned (to simulate a slow or stale load).
	afterPrefix func()
}

func newCounting(s store.Store) *countingStore {
	return &countingStore{Store: s, calls: map[string]int{}}
}

func (w *countingStore) call(name string) error {
	w.mu.Lock()
	w.calls[name]++
	w.mu.Unlock()
	if w.down.Load() {
		return errDown
	}
	return nil
}

// total is the number of calls of every method so far.
func (w *countingStore) total() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, c := range w.calls {
		n += c
	}
	return n
}

// count is the number of calls of one method so far.
func (w *countingStore) count(name string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls[name]
}

func (w *countingStore) APIKeysByPrefix(ctx context.Context, prefix string) ([]store.APIKeyWithUser, error) {
	if err := w.call("APIKeysByPrefix"); err != nil {
		return nil, err
	}
	rows, err := w.Store.APIKeysByPrefix(ctx, prefix)
	if w.afterPrefix != nil {
		w.afterPrefix()
	}
	return rows, err
}

func (w *countingStore) Close() error {
	_ = w.call("Close")
	return w.Store.Close()
}

// newSQLite returns a migrated SQLite store in the test's directory.
func newSQLite(t testing.TB) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "morpheus.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// fixture is a SQLite store, its counting wrapper, and a cache over the
// wrapper.
type fixture struct {
	db    store.Store // the real store: setup goes here, uncounted
	count *countingStore
	c     *Cache
}

func newFixture(t testing.TB, cfg Config) *fixture {
	t.Helper()
	db := newSQLite(t)
	f := &fixture{db: db, count: newCounting(db)}
	f.c = newCache(t, f.count, cfg)
	return f
}

// newCache builds a cache (with a test logger unless cfg has one) and
// closes it when the test ends.
func newCache(t testing.TB, s store.Store, cfg Config) *Cache {
	t.Helper()
	if cfg.Logger == nil {
		if tt, ok := t.(*testing.T); ok {
			cfg.Logger = zaptest.NewLogger(tt)
		}
	}
	c, err := New(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

var userSeq atomic.Int64

// newUser creates an active user.
func newUser(t testing.TB, db store.Store) store.User {
	t.Helper()
	u, err := db.CreateUser(context.Background(), store.NewUser{
		Name:  "test",
		Email: fmt.Sprintf("user%d-%d@example.com", time.Now().UnixNano(), userSeq.Add(1)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// newKey creates an active SHA-256 key for the user and returns it raw.
func newKey(t testing.TB, db store.Store, userID int64) (raw string, k store.APIKey) {
	t.Helper()
	raw, prefix, hashed, err := GenerateAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	k, err = db.CreateAPIKey(context.Background(), store.NewAPIKey{UserID: userID, KeyPrefix: prefix, HashedKey: hashed, Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return raw, k
}

// mustAuth authenticates raw and checks the principal.
func mustAuth(t testing.TB, c *Cache, raw string, k store.APIKey) {
	t.Helper()
	p, err := c.Authenticate(context.Background(), raw)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	want := Principal{KeyID: k.ID, UserID: k.UserID, KeyPrefix: k.KeyPrefix}
	if p != want {
		t.Fatalf("Authenticate = %+v, want %+v", p, want)
	}
}

// mustReject checks that Authenticate fails with want.
func mustReject(t testing.TB, c *Cache, raw string, want error) {
	t.Helper()
	p, err := c.Authenticate(context.Background(), raw)
	if !errors.Is(err, want) {
		t.Fatalf("Authenticate = %+v, %v; want error %v", p, err, want)
	}
	if p != (Principal{}) {
		t.Fatalf("Authenticate returned principal %+v with error %v", p, err)
	}
}

// otherSecret returns raw with the secret replaced (same prefix).
func otherSecret(raw string) string {
	last := raw[len(raw)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	return raw[:len(raw)-1] + string(repl)
}

// eventually polls cond every 10ms until it holds or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
