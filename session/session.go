// Package session owns the per-key session lifecycle on the Morpheus
// network: resolve-or-create for an authenticated key and a model, one
// active session per key, one open at a time per key, per-key serialisation
// of requests, renewal anchored on the on-chain EndsAt, model switches, and
// the cleanup loop.
//
// # State machine of a key
//
// A key has at most one active session (the store's unique index
// sessions_active_api_key_unique). A request takes the key's turn (Acquire)
// and then resolves, in this order:
//
//  1. the session cached in memory for the key, if it serves the requested
//     model and expires_at - RenewBefore is still ahead: used with zero
//     store calls (invariant 1);
//  2. the store's active row for the key, under the same conditions (then
//     cached);
//  3. otherwise a new session: if automation is disabled for the user,
//     ErrAutomationDisabled; else the old row (another model, or about to
//     expire) is marked inactive, a session is opened upstream for the
//     user's session_duration, its EndsAt is read back from the router and
//     recorded as expires_at, and the old session is closed upstream in
//     the background (a model switch: at once; a renewal: at its EndsAt,
//     so that no stake is locked by an early close).
//
// On a "session expired" answer the chat proxy calls Lease.Renew: the
// session is marked inactive, closed in the background, and a new one is
// opened for the same model (one retry, before any byte reached the
// client: the caller's rule).
//
// # Locking
//
// Each key has a FIFO ticket queue of one (keyState): requests on one key
// are served one at a time, in arrival order, because the proxy-router
// serialises prompts per session anyway (spec proxy-router §0.9). At most
// Config.QueueSize requests wait; the next one gets *QueueFullError (429).
// Waiting respects the request's context. Everything that changes a key's
// session (opens, switches, renewals, explicit opens and closes, the
// cleanup pass, KeyRevoked, the adoption of a reconciled session) holds the
// key's turn, so a session is never closed while a request of this
// instance is in flight on it. Across instances the store's unique index
// decides: the loser of a concurrent first open closes its own upstream
// session and uses the winner's.
//
// On-chain operations (opens, closes, approvals) run concurrently. After a
// nonce race (chain.IsNonceRace) they are serialised process-wide for a
// cooldown (20 s), and the failed operation is retried once under that
// lock after 200–500 ms of jitter; a second nonce race is returned (503).
//
// # Faults
//
// An open runs on a context detached from the client's (a client that goes
// away must not orphan a session that is being mined), bounded by the
// router client's OpenTimeout. An open that succeeded upstream is recorded;
// if recording fails it is closed again (invariant 7). An open whose
// outcome is unknown (chain.IsOutcomeUnknown: a timeout, a lost
// connection, "not mined") is not retried: the request fails (504/502) and
// a background reconciler polls the router wallet's sessions
// (GET /blockchain/sessions/user) for ReconcileWindow. A session of that
// wallet for the same model (or bid), opened after the open started, not
// closed, unknown to the store, not being recorded by this process, and
// seen so for at least ReconcileGrace, is an orphan: the newest one is
// adopted (recorded for the key, if the key has no active session by then
// and no local request holds it) and any other is closed; if the key
// already has a session the orphan is closed. Orphans cannot be told
// apart by key: two keys' timed-out opens of one model may swap orphans,
// which is harmless (same model, same wallet). Decisions are serialised
// and each candidate re-checked against the store before it is touched. Adoption was chosen over closing because an early
// close locks stake until the next UTC day; the grace period and the
// in-process pending set keep the reconciler away from sessions that
// another open is still recording. A router without UserSessions (see
// Reconciler) is not reconciled; the router's own expiry handler closes
// such orphans after their EndsAt.
//
// # Cleanup
//
// Every CleanupInterval (first pass at Start) the manager closes the
// store's active sessions whose expires_at is more than a minute past,
// under the store's advisory lock when it has one (store.Locker, so one
// instance of a cluster runs it), skipping keys a local request holds. A
// session is marked inactive only after the router closed it (or reported
// it already closed or unknown); a router failure leaves it for the next
// pass, and an unreachable router ends the pass.
//
// # Known limits
//
// The cached session of a key is per instance. If two instances serve the
// same key and one of them switches its model, the other keeps using the
// old session from its cache until it expires or the router rejects it
// (then Renew resolves it). Status reads the router but changes nothing.
package session

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"go.uber.org/zap"

	"github.com/morpheus-gateway/caddy-morpheus/cache"
	"github.com/morpheus-gateway/caddy-morpheus/chain"
	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// Router is what the manager needs of the proxy-router (*chain.Router
// implements it).
type Router interface {
	OpenModelSession(ctx context.Context, modelID string, duration time.Duration) (string, error)
	OpenBidSession(ctx context.Context, bidID string, duration time.Duration) (string, error)
	CloseSession(ctx context.Context, sessionID string) error
	Session(ctx context.Context, sessionID string) (chain.SessionInfo, error)
	Models(ctx context.Context) ([]chain.Model, error)
	RatedBids(ctx context.Context, modelID string) ([]chain.RatedBid, error)
	Approve(ctx context.Context, spender common.Address, amount *big.Int) (string, error)
}

// Reconciler is implemented by routers that can list the sessions of the
// router wallet (*chain.Router does). With it, the manager reconciles
// opens whose outcome is unknown; without it such opens are only logged.
type Reconciler interface {
	Wallet(ctx context.Context) (common.Address, error)
	UserSessions(ctx context.Context, user common.Address, offset, limit int) ([]chain.SessionInfo, error)
}

// Interface guards.
var (
	_ Router     = (*chain.Router)(nil)
	_ Reconciler = (*chain.Router)(nil)
)

// Principal is the authenticated caller a session belongs to.
type Principal struct {
	KeyID  int64
	UserID int64
}

// Model is a catalogue entry.
type Model struct {
	ID        string // 0x + 64 lowercase hex (blockchain model id)
	Name      string
	Tags      []string
	ModelType string
	CreatedAt time.Time
	OwnedBy   string
}

// Errors the HTTP layer maps to statuses.
var (
	// ErrModelNotFound: the requested model is not in the catalogue (400
	// model_not_found).
	ErrModelNotFound = errors.New("model not found")
	// ErrAutomationDisabled: the user disabled automatic sessions and has
	// no active one (400; open one with POST /session/modelsession).
	ErrAutomationDisabled = errors.New("automatic sessions are disabled for this user")
	// ErrNoSession: the key has no active session (for close/ping).
	ErrNoSession = errors.New("no active session")
	// ErrUnavailable: the store cannot be reached (503).
	ErrUnavailable = errors.New("session store unavailable")

	// ErrModelsUnavailable: the model catalogue could not be loaded from
	// the active-models feed and none is cached (503).
	ErrModelsUnavailable = errors.New("model catalogue unavailable")
	// ErrSessionConflict: another instance changed the key's session (to
	// another model) while this one was opening; nothing leaked, retry
	// (503 with Retry-After).
	ErrSessionConflict = errors.New("the API key's session was changed by a concurrent request; retry")
	// ErrApproveNotConfigured: Config.Diamond is not set (503).
	ErrApproveNotConfigured = errors.New("approvals are not configured (no Diamond contract address)")
)

// QueueFullError: too many requests are waiting on this key (429 with
// Retry-After).
type QueueFullError struct{ RetryAfter time.Duration }

func (e *QueueFullError) Error() string {
	return fmt.Sprintf("too many concurrent requests on this API key; retry after %s", e.RetryAfter)
}

// Defaults of Config.
const (
	DefaultDuration        = time.Hour
	DefaultRenewBefore     = 60 * time.Second
	DefaultQueueSize       = 16
	DefaultCleanupInterval = 15 * time.Minute
	DefaultModelsTTL       = 5 * time.Minute
	DefaultMaxKeys         = 100_000
	DefaultReconcileWindow = 10 * time.Minute
	DefaultReconcilePoll   = 10 * time.Second
	DefaultReconcileGrace  = 10 * time.Second
	// QueueRetryAfter is the Retry-After of a *QueueFullError.
	QueueRetryAfter = time.Second
)

// Tuning that is not configurable.
const (
	// nonceCooldown: after a nonce race, on-chain operations are
	// serialised for this long (spec proxy-router §7.2).
	nonceCooldown = 20 * time.Second
	// recordTimeout bounds the store writes that follow a successful open.
	recordTimeout = 10 * time.Second
	// cleanupGrace: the cleanup closes a session only this long after its
	// expires_at (the on-chain EndsAt), so that clock skew between the
	// gateway and the chain never makes it an early close.
	cleanupGrace = time.Minute
	// cleanupMaxBatches (with cleanupBatch) bounds one cleanup pass.
	cleanupMaxBatches = 10
	// stopWait bounds how long Stop waits for background closes before
	// cancelling them.
	stopWait = 10 * time.Second
	// reconcileSkew widens "opened after the open started" for the clock
	// difference between the gateway and block timestamps.
	reconcileSkew = time.Minute
	// cleanupLockName names the store.Locker lock of the cleanup pass.
	cleanupLockName = "session-cleanup"
)

// cleanupBatch is how many expired sessions one cleanup query reads (a
// variable so that tests can make batches small).
var cleanupBatch = 200

// Config tunes the manager. Zero values take the defaults.
type Config struct {
	DefaultModel    string        // name or 0x id used when a request names no model
	DefaultDuration time.Duration // for users without automation settings (default 1h)
	RenewBefore     time.Duration // a session ending sooner than this is renewed before use (default 60s)
	QueueSize       int           // requests that may wait per key (default 16)
	CleanupInterval time.Duration // default 15m
	ModelsURL       string        // active-models feed; empty: the router's /blockchain/models
	ModelsTTL       time.Duration // catalogue refresh (default 5m)
	Logger          *zap.Logger

	// Diamond is the Diamond contract, the spender of POST
	// /session/approve. Zero: Approve returns ErrApproveNotConfigured.
	Diamond common.Address
	// MaxKeys bounds the per-key states kept in memory (default 100,000);
	// idle ones beyond it are dropped (their next request reads the store).
	MaxKeys int
	// ReconcileWindow is how long an open with an unknown outcome is
	// reconciled (default 10m, longer than the router's worst-case open);
	// ReconcilePoll is the polling period (default 10s); ReconcileGrace is
	// how long a candidate must stay unrecorded before it is adopted or
	// closed (default 10s).
	ReconcileWindow, ReconcilePoll, ReconcileGrace time.Duration
	// Chain, when set, reads sessions (EndsAt, ClosedAt) from the Diamond
	// contract instead of the router; the router remains the fallback.
	Chain ChainReader
	// Now is the clock used for expiry decisions (default time.Now).
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.DefaultDuration <= 0 {
		c.DefaultDuration = DefaultDuration
	}
	if c.RenewBefore <= 0 {
		c.RenewBefore = DefaultRenewBefore
	}
	if c.QueueSize <= 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.CleanupInterval <= 0 {
		c.CleanupInterval = DefaultCleanupInterval
	}
	if c.ModelsTTL <= 0 {
		c.ModelsTTL = DefaultModelsTTL
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.MaxKeys <= 0 {
		c.MaxKeys = DefaultMaxKeys
	}
	if c.ReconcileWindow <= 0 {
		c.ReconcileWindow = DefaultReconcileWindow
	}
	if c.ReconcilePoll <= 0 {
		c.ReconcilePoll = DefaultReconcilePoll
	}
	if c.ReconcileGrace <= 0 {
		c.ReconcileGrace = DefaultReconcileGrace
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Manager is safe for concurrent use.
type Manager struct {
	store  store.Store
	cache  *cache.Cache // nil: settings are read from the store
	router Router
	cfg    Config
	log    *zap.Logger
	cat    *catalogue

	mu   sync.Mutex
	keys map[int64]*keyState

	// chainSem serialises on-chain operations while throttleUntil (unix
	// nanos, wall clock) is ahead: the nonce-race cooldown.
	chainSem      chan struct{}
	throttleUntil atomic.Int64

	pendingMu sync.Mutex
	pending   map[string]struct{} // opened upstream, not yet recorded

	reconcileMu sync.Mutex // one reconciler decides at a time

	bgCtx    context.Context
	bgCancel context.CancelFunc
	stopping chan struct{} // closed when Stop begins
	stopOnce sync.Once
	bgMu     sync.Mutex
	bgClosed bool
	bg       sync.WaitGroup

	loopMu     sync.Mutex
	loopState  int // 0 new, 1 started, 2 stopped
	loopCancel context.CancelFunc
	loopDone   chan struct{}
}

// New builds a manager. Start begins the cleanup loop.
func New(s store.Store, c *cache.Cache, r Router, cfg Config) (*Manager, error) {
	if s == nil {
		return nil, errors.New("session: nil store")
	}
	if r == nil {
		return nil, errors.New("session: nil router")
	}
	cfg.setDefaults()
	m := &Manager{
		store:    s,
		cache:    c,
		router:   r,
		cfg:      cfg,
		log:      cfg.Logger,
		keys:     make(map[int64]*keyState),
		chainSem: make(chan struct{}, 1),
		pending:  make(map[string]struct{}),
		stopping: make(chan struct{}),
	}
	m.cat = newCatalogue(m)
	m.bgCtx, m.bgCancel = context.WithCancel(context.Background())
	return m, nil
}

func (m *Manager) now() time.Time { return m.cfg.Now() }

// unavailable wraps a store (or settings cache) failure as ErrUnavailable.
func unavailable(err error) error {
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// goBackground runs fn on a goroutine that Stop waits for (bounded), with
// the manager's background context. After Stop it still runs, untracked,
// with a context of its own bounded by limit.
func (m *Manager) goBackground(what string, limit time.Duration, fn func(ctx context.Context)) {
	run := func(ctx context.Context) {
		defer func() {
			if v := recover(); v != nil {
				m.log.Error("session: background task panicked", zap.String("task", what), zap.Any("panic", v))
			}
		}()
		fn(ctx)
	}
	m.bgMu.Lock()
	if m.bgClosed {
		m.bgMu.Unlock()
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), limit)
			defer cancel()
			run(ctx)
		}()
		return
	}
	m.bg.Add(1)
	m.bgMu.Unlock()
	go func() {
		defer m.bg.Done()
		run(m.bgCtx)
	}()
}

// sleepCtx waits d or until ctx ends; it reports whether d elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// settings returns the user's automation settings as the session manager
// applies them: no row means automation on with DefaultDuration; a
// non-positive stored duration also takes DefaultDuration.
func (m *Manager) settings(ctx context.Context, userID int64) (enabled bool, duration time.Duration, err error) {
	var (
		a     store.AutomationSettings
		found bool
	)
	if m.cache != nil {
		a, found, err = m.cache.AutomationSettings(ctx, userID)
	} else {
		a, err = m.store.AutomationSettings(ctx, userID)
		found = err == nil
		if errors.Is(err, store.ErrNotFound) {
			err = nil
		}
	}
	if err != nil {
		return false, 0, unavailable(err)
	}
	if !found {
		return true, m.cfg.DefaultDuration, nil
	}
	duration = time.Duration(a.SessionDuration) * time.Second
	if duration <= 0 {
		duration = m.cfg.DefaultDuration
	}
	return a.IsEnabled, duration, nil
}
