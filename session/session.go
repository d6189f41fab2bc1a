// Package session owns the per-key session lifecycle on the Morpheus
// network: resolve-or-create for an authenticated key and a model, one
// active session per key, one open at a time per key, per-key serialisation
// of requests, renewal anchored on the on-chain EndsAt, model switches, and
// the cleanup loop.
//
// STUB: the API the rest of the gateway codes against; the implementation
// is being written. Exported names and signatures are fixed.
package session

import (
	"context"
	"errors"
	"fmt"
	"math/big"
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
)

// QueueFullError: too many requests are waiting on this key (429 with
// Retry-After).
type QueueFullError struct{ RetryAfter time.Duration }

func (e *QueueFullError) Error() string {
	return fmt.Sprintf("too many concurrent requests on this API key; retry after %s", e.RetryAfter)
}

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
}

// Manager is safe for concurrent use.
type Manager struct{}

// New builds a manager. Start begins the cleanup loop.
func New(s store.Store, c *cache.Cache, r Router, cfg Config) (*Manager, error) {
	return &Manager{}, nil
}

// Start starts the cleanup loop; Stop stops it and waits.
func (m *Manager) Start() error { return nil }

// Stop stops the cleanup loop and waits for it.
func (m *Manager) Stop() error { return nil }

// Lease is a request's hold on its key's session: requests on one key are
// served one at a time. Release it when the request is done.
type Lease struct {
	SessionID string
	Model     Model
}

// Acquire waits for the key's turn (bounded queue: *QueueFullError), then
// resolves or creates the key's session for model ("" = default model).
func (m *Manager) Acquire(ctx context.Context, p Principal, model string) (*Lease, error) {
	return nil, ErrUnavailable
}

// Renew replaces the lease's session after the router answered "session
// expired": marks it inactive, opens a new one for the same model and
// updates SessionID. Call it only before anything reached the client.
func (l *Lease) Renew(ctx context.Context) error { return ErrUnavailable }

// Release ends the lease; the next waiting request on the key proceeds.
func (l *Lease) Release() {}

// OpenModelSession opens (or replaces) the key's session for model with the
// given duration (0 = the user's setting), for POST /session/modelsession.
func (m *Manager) OpenModelSession(ctx context.Context, p Principal, model string, duration time.Duration) (store.Session, error) {
	return store.Session{}, ErrUnavailable
}

// OpenBidSession opens (or replaces) the key's session on one bid.
func (m *Manager) OpenBidSession(ctx context.Context, p Principal, bidID string, duration time.Duration) (store.Session, error) {
	return store.Session{}, ErrUnavailable
}

// CloseSession closes the key's active session upstream and marks it
// inactive; ErrNoSession if there is none.
func (m *Manager) CloseSession(ctx context.Context, p Principal) (store.Session, error) {
	return store.Session{}, ErrUnavailable
}

// Status reports the key's active session as the router/chain sees it
// (not a paid prompt); ErrNoSession if there is none.
func (m *Manager) Status(ctx context.Context, p Principal) (store.Session, chain.SessionInfo, error) {
	return store.Session{}, chain.SessionInfo{}, ErrUnavailable
}

// Models returns the catalogue (deleted models filtered out).
func (m *Manager) Models(ctx context.Context) ([]Model, error) { return nil, ErrUnavailable }

// ResolveModel finds a model by name (case-insensitive) or 0x id (exact);
// "" is the default model.
func (m *Manager) ResolveModel(ctx context.Context, name string) (Model, error) {
	return Model{}, ErrModelNotFound
}

// KeyRevoked closes the key's session in the background (when no request
// holds it).
func (m *Manager) KeyRevoked(ctx context.Context, keyID int64) {}
