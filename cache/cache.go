// Package cache serves verified API keys and automation settings from
// memory (ristretto), so that a request with a cached key makes no store
// call. It reads through to the store on a miss, caches unknown prefixes
// briefly (negative cache), writes last_used_at off the request path, and
// invalidates entries locally and, on PostgreSQL, across instances with
// LISTEN/NOTIFY.
package cache

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

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

// STUB: the API the rest of the gateway codes against; the implementation
// is being written. Signatures are fixed.

// Config tunes the caches. Zero values take the defaults.
type Config struct {
	MaxKeys       int64         // default 1,000,000 cached keys
	KeyTTL        time.Duration // default 5m: hard bound on revocation if notifications are lost
	NegativeTTL   time.Duration // default 10s: how long an unknown prefix is remembered
	SettingsTTL   time.Duration // default 5m
	TouchInterval time.Duration // default 1m: last_used_at written at most this often per key
	Logger        *zap.Logger
}

// Cache is the API key and automation settings cache. Safe for concurrent use.
type Cache struct{ s store.Store }

// New builds a cache over s. Call Start to begin background work.
func New(s store.Store, cfg Config) (*Cache, error) { return &Cache{s: s}, nil }

// Start starts the last_used_at writer and, when the store is shared
// (store.Notifier), the cross-instance invalidation listener.
func (c *Cache) Start() error { return nil }

// Close stops the background work, flushing pending last_used_at writes.
func (c *Cache) Close() error { return nil }

// Authenticate verifies a raw API key ("sk-XXXXXX.<64 hex>").
func (c *Cache) Authenticate(ctx context.Context, rawKey string) (Principal, error) {
	return Principal{}, ErrUnavailable
}

// AutomationSettings returns the user's settings; found is false when the
// user has no row.
func (c *Cache) AutomationSettings(ctx context.Context, userID int64) (s store.AutomationSettings, found bool, err error) {
	return store.AutomationSettings{}, false, ErrUnavailable
}

// KeyCreated clears the negative-cache entry of prefix, here and on other instances.
func (c *Cache) KeyCreated(ctx context.Context, prefix string) {}

// KeyRevoked drops the key from the cache, here and on other instances.
func (c *Cache) KeyRevoked(ctx context.Context, keyID int64, prefix string) {}

// UserChanged drops every cached key and the settings of the user (after
// deactivation or deletion), here and on other instances.
func (c *Cache) UserChanged(ctx context.Context, userID int64) {}

// SettingsChanged drops the user's cached settings, here and on other instances.
func (c *Cache) SettingsChanged(ctx context.Context, userID int64) {}

// GenerateAPIKey makes a new key; only hashedKey and prefix are stored.
func GenerateAPIKey() (key, prefix, hashedKey string, err error) { return "", "", "", ErrUnavailable }

// HashAPIKey is the hex SHA-256 of the full key, as stored in api_keys.hashed_key.
func HashAPIKey(key string) string { return "" }

// ParseAuthorization extracts an API key from an Authorization header value:
// "Bearer sk-…" (scheme case-insensitive) or a bare "sk-…".
func ParseAuthorization(header string) (key string, ok bool) { return "", false }
