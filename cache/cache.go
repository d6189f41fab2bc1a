// Package cache serves verified API keys and automation settings from
// memory (ristretto), so that a request with a cached key makes no store
// call. It reads through to the store on a miss, caches unknown prefixes
// briefly (negative cache), writes last_used_at off the request path, and
// invalidates entries locally and, on PostgreSQL, across instances with
// LISTEN/NOTIFY.
//
// Invalidation does not rely on ristretto's (asynchronous) deletes alone.
// Every entry carries the generations it was loaded under: a per-prefix
// generation, a per-user generation for each key's owner, and a global
// epoch. Invalidating bumps the generation, which makes every entry
// stamped with the old one dead at once, including an entry that a read-
// through load started before the invalidation is still about to insert.
// Generations live in fixed tables of atomic counters indexed by a hash
// (a collision only costs a spurious reload).
package cache

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// Principal is an authenticated API key: who is calling, with which key.
type Principal struct {
	KeyID     int64
	UserID    int64
	KeyPrefix string
}

// Errors of Authenticate.
var (
	// ErrInvalidKey: the key is malformed, unknown, wrong, inactive, or its
	// user is inactive. Answer 401; never say which.
	ErrInvalidKey = errors.New("invalid API key")

	// ErrUnavailable: the key is not cached and the store cannot be
	// reached. Answer 503, never 401.
	ErrUnavailable = errors.New("API key store unavailable")
)

// Defaults of Config.
const (
	DefaultMaxKeys       = 1_000_000
	DefaultKeyTTL        = 5 * time.Minute
	DefaultNegativeTTL   = 10 * time.Second
	DefaultSettingsTTL   = 5 * time.Minute
	DefaultTouchInterval = time.Minute
)

// NotifyChannel is the PostgreSQL NOTIFY channel on which instances
// exchange invalidations. Payloads are "key:<prefix>", "created:<prefix>",
// "user:<id>" and "settings:<id>".
const NotifyChannel = "morpheus_cache"

const (
	// storeTimeout bounds a read-through load, which is shared by every
	// request waiting for it (singleflight), so it does not use any one
	// request's context.
	storeTimeout = 5 * time.Second
	// notifyTimeout bounds sending an invalidation to other instances.
	notifyTimeout = 2 * time.Second
	// closeFlushTimeout bounds the last last_used_at flush in Close.
	closeFlushTimeout = 2 * time.Second
)

// Config tunes the caches. Zero values take the defaults.
type Config struct {
	// MaxKeys is the number of key prefixes kept (default 1,000,000). It
	// also bounds cached automation settings (one per user).
	MaxKeys int64
	// KeyTTL is how long a verified key is served without asking the store
	// (default 5m). It is the hard bound on revocation if notifications
	// are lost.
	KeyTTL time.Duration
	// NegativeTTL is how long an unknown prefix is remembered (default 10s),
	// and how long a wrong secret tried against an adopted bcrypt key is
	// remembered.
	NegativeTTL time.Duration
	// SettingsTTL is how long automation settings are served without asking
	// the store (default 5m). For as long again, a stale value is still
	// served when the store cannot be reached.
	SettingsTTL time.Duration
	// TouchInterval: last_used_at is written at most this often per key
	// (default 1m). The writer wakes every TouchInterval/6 (at most 10s).
	TouchInterval time.Duration
	// Logger receives warnings (store errors, failed notifications). It
	// never receives raw keys or digests. Default: no logging.
	Logger *zap.Logger

	// touchTick overrides the writer's period (tests).
	touchTick time.Duration
}

func (cfg *Config) setDefaults() {
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	if cfg.KeyTTL <= 0 {
		cfg.KeyTTL = DefaultKeyTTL
	}
	if cfg.NegativeTTL <= 0 {
		cfg.NegativeTTL = DefaultNegativeTTL
	}
	if cfg.SettingsTTL <= 0 {
		cfg.SettingsTTL = DefaultSettingsTTL
	}
	if cfg.TouchInterval <= 0 {
		cfg.TouchInterval = DefaultTouchInterval
	}
	if cfg.touchTick <= 0 {
		cfg.touchTick = min(max(cfg.TouchInterval/6, 5*time.Millisecond), 10*time.Second)
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
}

// Cache is the API key and automation settings cache. Safe for concurrent use.
type Cache struct {
	s        store.Store
	notifier store.Notifier // nil when the store is not shared
	cfg      Config
	log      *zap.Logger

	keys     *ristretto.Cache[string, *keyEntry]     // prefix → verified keys
	neg      *ristretto.Cache[string, negEntry]      // unknown prefixes
	settings *ristretto.Cache[int64, *settingsEntry] // user id → settings

	gens generations

	keyLoads      singleflight.Group // by prefix and generation
	bcryptChecks  singleflight.Group // by prefix and digest
	settingsLoads singleflight.Group // by user id and generation
	bcryptSem     chan struct{}      // bounds concurrent bcrypt verifications
	bcryptRuns    atomic.Int64       // bcrypt comparisons made (tests)

	touch toucher

	lastPing atomic.Pointer[string] // last "ping:" payload received (tests)

	mu      sync.Mutex
	started bool
	closed  bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup // background goroutines

	// Loads run on singleflight goroutines that may outlive the request
	// that started them; Close waits for them before closing ristretto.
	loadsMu sync.RWMutex
	closing bool
	loads   sync.WaitGroup
}

// errClosed is the cause of ErrUnavailable after Close.
var errClosed = errors.New("cache: closed")

// enterLoad registers a load; false after Close.
func (c *Cache) enterLoad() bool {
	c.loadsMu.RLock()
	defer c.loadsMu.RUnlock()
	if c.closing {
		return false
	}
	c.loads.Add(1)
	return true
}

// New builds a cache over s. Call Start to begin background work.
func New(s store.Store, cfg Config) (*Cache, error) {
	if s == nil {
		return nil, errors.New("cache: nil store")
	}
	cfg.setDefaults()
	c := &Cache{
		s:         s,
		cfg:       cfg,
		log:       cfg.Logger,
		bcryptSem: make(chan struct{}, max(1, runtime.GOMAXPROCS(0))),
	}
	if n, ok := s.(store.Notifier); ok {
		c.notifier = n
	}

	var err error
	c.keys, err = ristretto.NewCache(&ristretto.Config[string, *keyEntry]{
		NumCounters:        numCounters(cfg.MaxKeys, 1<<20),
		MaxCost:            cfg.MaxKeys,
		BufferItems:        64,
		IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, fmt.Errorf("cache: keys: %w", err)
	}
	negMax := min(max(cfg.MaxKeys/10, 1024), 100_000)
	c.neg, err = ristretto.NewCache(&ristretto.Config[string, negEntry]{
		NumCounters:        numCounters(negMax, 1<<17),
		MaxCost:            negMax,
		BufferItems:        64,
		IgnoreInternalCost: true,
	})
	if err != nil {
		c.keys.Close()
		return nil, fmt.Errorf("cache: negative cache: %w", err)
	}
	c.settings, err = ristretto.NewCache(&ristretto.Config[int64, *settingsEntry]{
		NumCounters:        numCounters(cfg.MaxKeys, 1<<18),
		MaxCost:            cfg.MaxKeys,
		BufferItems:        64,
		IgnoreInternalCost: true,
	})
	if err != nil {
		c.keys.Close()
		c.neg.Close()
		return nil, fmt.Errorf("cache: settings: %w", err)
	}
	return c, nil
}

// numCounters sizes ristretto's admission sketch and doorkeeper (about 2
// bytes per counter, allocated up front): 10 counters per item as
// ristretto recommends, capped so that the fixed overhead of the three
// caches stays about 5 MiB. The sketch only matters once a cache is full,
// where a coarser estimate costs a little hit ratio, not correctness.
func numCounters(maxItems, limit int64) int64 {
	return min(max(maxItems*10, 1024), limit)
}

// Start starts the last_used_at writer and, when the store is shared
// (store.Notifier), the cross-instance invalidation listener.
func (c *Cache) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("cache: Start after Close")
	}
	if c.started {
		return nil
	}
	c.started = true
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel

	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.runToucher(ctx)
	}()
	if c.notifier != nil {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.runListener(ctx)
		}()
	}
	return nil
}

// Close stops the background work, flushing pending last_used_at writes.
// The cache must not be used afterwards.
func (c *Cache) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	started := c.started
	if c.cancel != nil {
		c.cancel()
	}
	c.mu.Unlock()

	c.wg.Wait()
	c.loadsMu.Lock()
	c.closing = true
	c.loadsMu.Unlock()
	c.loads.Wait() // bounded by storeTimeout
	if started {
		ctx, cancel := context.WithTimeout(context.Background(), closeFlushTimeout)
		c.flushTouches(ctx, time.Now(), true)
		cancel()
	}
	c.keys.Close()
	c.neg.Close()
	c.settings.Close()
	return nil
}

// unavailable wraps a store error as ErrUnavailable.
func unavailable(err error) error {
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
