package morpheus

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/ethereum/go-ethereum/common"
	"go.uber.org/zap"

	"github.com/morpheus-gateway/caddy-morpheus/chain"
	"github.com/morpheus-gateway/caddy-morpheus/handlers"
	"github.com/morpheus-gateway/caddy-morpheus/session"
	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// App is the `morpheus` app: it owns the gateway's configuration, its store
// (PostgreSQL, or embedded SQLite by default), and the background work. The
// `morpheus` HTTP handler serves the API with it.
//
// Secrets should be given as `{env.NAME}` placeholders; they are expanded
// when the config is loaded, so they never appear in the adapted JSON or
// the admin API.
type App struct {
	// Where the data lives: `postgres://…` / `postgresql://…` (pgx DSN; TLS
	// via `sslmode` and friends), or `sqlite:<path>`. Default: an embedded
	// SQLite database at `<caddy data dir>/morpheus/morpheus.db`.
	DatabaseURL string `json:"database_url,omitempty"`

	// PostgreSQL only: the maximum number of pooled connections.
	// Default: pgx's default (the larger of 4 and the number of CPUs).
	DatabaseMaxConns int32 `json:"database_max_conns,omitempty"`

	// PostgreSQL only: the number of connections kept open when idle.
	// Default: 0.
	DatabaseMinConns int32 `json:"database_min_conns,omitempty"`

	// PostgreSQL only: how statements are sent. One of `cache_statement`
	// (default), `cache_describe`, `describe_exec`, `exec` or
	// `simple_protocol`; use `exec` or `simple_protocol` behind PgBouncer in
	// transaction-pooling mode.
	DatabaseStatementMode string `json:"database_statement_mode,omitempty"`

	// The HMAC secret that signs login tokens (JWT, HS256).
	JWTSecret string `json:"jwt_secret,omitempty"`

	// The key that encrypts users' private keys at rest (AES-256-GCM):
	// 32 bytes, written as 64 hex characters or as base64.
	EncryptionKey string `json:"encryption_key,omitempty"`

	// The wallet key used for users who have not stored their own:
	// a secp256k1 private key as 64 hex characters (optionally 0x-prefixed).
	// It is validated strictly when the config loads.
	FallbackPrivateKey string `json:"fallback_private_key,omitempty"`

	// The Morpheus proxy-router the gateway opens sessions through and
	// proxies chat completions to.
	Router *RouterConfig `json:"router,omitempty"`

	// How long a login access token is valid. Default: `30m`.
	AccessTokenTTL caddy.Duration `json:"access_token_ttl,omitempty"`

	// How long a login refresh token is valid. Default: `7d`.
	RefreshTokenTTL caddy.Duration `json:"refresh_token_ttl,omitempty"`

	// The secret the reference gateway encrypted private keys with (its
	// MASTER_ENCRYPTION_KEY, or JWT_SECRET_KEY where that was unset). Only
	// needed to read private keys stored by the reference gateway in an
	// adopted database; new keys always use encryption_key.
	LegacyEncryptionSecret string `json:"legacy_encryption_secret,omitempty"`

	// The session duration for users who have no automation settings.
	// Between 60s and 24h. Default: `1h`.
	DefaultSessionDuration caddy.Duration `json:"default_session_duration,omitempty"`

	// How delegations (EIP-712 signed MetaMask Delegation Toolkit
	// delegations) are verified. Without it the delegation endpoints answer
	// 503.
	Delegation *DelegationConfig `json:"delegation,omitempty"`

	// Tuning of the in-memory API key cache.
	KeyCache *KeyCacheConfig `json:"key_cache,omitempty"`

	// The model used when a request names none (a name from the catalogue
	// or a 0x model id). Without it, such requests answer 400.
	DefaultModel string `json:"default_model,omitempty"`

	// The active-models feed (`{"models":[…]}`) that names the models users
	// may ask for. Default: the proxy-router's /blockchain/models.
	ModelsURL string `json:"models_url,omitempty"`

	// How often expired sessions are closed upstream and marked inactive.
	// Default: `15m`.
	CleanupInterval caddy.Duration `json:"cleanup_interval,omitempty"`

	// How many requests may wait for their turn on one API key (requests on
	// a key are served one at a time, as the router serialises prompts per
	// session). Past it: 429 with Retry-After. Default: 16.
	QueueSize int `json:"queue_size,omitempty"`

	// The largest chat or embeddings request body accepted, in bytes.
	// Default: 10 MiB.
	MaxBodySize int64 `json:"max_body_size,omitempty"`

	// Direct on-chain reads (go-ethereum): the session's EndsAt/ClosedAt from
	// the Diamond contract, independent of the router. Optional.
	Chain *ChainConfig `json:"chain,omitempty"`

	// Per-client-IP limit on login attempts. Default: 10 per minute.
	LoginRateLimit *RateLimitConfig `json:"login_rate_limit,omitempty"`

	// Per-client-IP limit on registrations. Default: 5 per minute.
	RegisterRateLimit *RateLimitConfig `json:"register_rate_limit,omitempty"`

	db       *pooledStore
	dbKey    string
	sess     *pooledSessions
	sessKey  string
	router   *chain.Router
	sessions *session.Manager
	secrets  secrets
	ctx      caddy.Context
	logger   *zap.Logger
}

// RouterConfig locates the Morpheus proxy-router.
type RouterConfig struct {
	// Base URL of the proxy-router's HTTP API. Default: `http://127.0.0.1:8082`.
	URL string `json:"url,omitempty"`
	// Basic-auth user name of the proxy-router's API.
	Username string `json:"username,omitempty"`
	// Basic-auth password of the proxy-router's API.
	Password string `json:"password,omitempty"`
}

// DelegationConfig is what a delegation must be signed for.
type DelegationConfig struct {
	// The gateway's delegate address: a delegation is accepted only when
	// its delegate is this address.
	DelegateAddress string `json:"delegate_address,omitempty"`
	// The chain id of the EIP-712 domain (for example 42161 for Arbitrum
	// One).
	ChainID int64 `json:"chain_id,omitempty"`
	// The DelegationManager contract address: the EIP-712 domain's
	// verifying contract.
	DelegationManager string `json:"delegation_manager,omitempty"`
}

// ChainConfig locates the Morpheus Diamond contract for direct reads.
type ChainConfig struct {
	// JSON-RPC endpoint of the chain (may carry an API key: write it as an
	// {env.*} placeholder).
	RPCURL string `json:"rpc_url,omitempty"`
	// Address of the Morpheus Diamond contract.
	Diamond string `json:"diamond,omitempty"`
}

// KeyCacheConfig tunes the API key cache.
type KeyCacheConfig struct {
	// The most keys kept in memory. Default: 1000000.
	MaxKeys int64 `json:"max_keys,omitempty"`
	// How long a verified key is trusted without asking the database: the
	// hard bound on revocation when cross-instance notifications are lost.
	// Default: `5m`.
	TTL caddy.Duration `json:"ttl,omitempty"`
	// How long an unknown key prefix is remembered. Default: `10s`.
	NegativeTTL caddy.Duration `json:"negative_ttl,omitempty"`
}

// RateLimitConfig allows Events per Window per client IP.
type RateLimitConfig struct {
	Events int            `json:"events,omitempty"`
	Window caddy.Duration `json:"window,omitempty"`
}

// secrets holds the expanded, parsed secret values; never logged.
type secrets struct {
	jwtSecret      []byte
	vault          *chain.Vault      // nil when encryption_key is not configured
	fallbackKey    *ecdsa.PrivateKey // nil when fallback_private_key is not configured
	routerURL      *url.URL
	routerUser     string
	routerPassword string
	delegations    *chain.DelegationVerifier // nil when delegation is not configured
}

// DefaultRouterURL is the proxy-router's address when none is configured.
const DefaultRouterURL = "http://127.0.0.1:8082"

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "morpheus",
		New: func() caddy.Module { return new(App) },
	}
}

// Provision expands placeholders, parses secrets and obtains the store from
// the pool shared across config reloads. It does no network or disk I/O, so
// `caddy validate` stays cheap.
func (a *App) Provision(ctx caddy.Context) error {
	a.ctx = ctx
	a.logger = ctx.Logger()
	if err := registerMetrics(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	repl := caddy.NewReplacer()
	expand := func(s string) string { return strings.TrimSpace(repl.ReplaceAll(s, "")) }

	var err error
	if a.secrets, err = a.parseSecrets(expand); err != nil {
		return err
	}

	dbc, err := parseDatabaseConfig(expand(a.DatabaseURL), a.DatabaseMaxConns, a.DatabaseMinConns, a.DatabaseStatementMode)
	if err != nil {
		return err
	}
	if a.KeyCache != nil {
		dbc.cache.MaxKeys = a.KeyCache.MaxKeys
		dbc.cache.KeyTTL = time.Duration(a.KeyCache.TTL)
		dbc.cache.NegativeTTL = time.Duration(a.KeyCache.NegativeTTL)
	}
	dbc.cache.Logger = a.logger.Named("cache")
	if err := a.checkDurations(); err != nil {
		return err
	}
	if a.QueueSize < 0 || a.MaxBodySize < 0 {
		return fmt.Errorf("queue_size and max_body_size must be positive")
	}
	a.dbKey = dbc.poolKey()
	a.db, err = loadStore(a.dbKey, dbc)
	if err != nil {
		a.dbKey = ""
		return err
	}

	cfg := sessionsConfig{
		dbKey:           a.dbKey,
		routerURL:       a.secrets.routerURL.String(),
		routerUser:      a.secrets.routerUser,
		routerPassword:  a.secrets.routerPassword,
		defaultModel:    expand(a.DefaultModel),
		defaultDuration: time.Duration(a.DefaultSessionDuration),
		queueSize:       a.QueueSize,
		cleanupInterval: time.Duration(a.CleanupInterval),
		modelsURL:       expand(a.ModelsURL),
	}
	if a.Chain != nil {
		cfg.rpcURL, cfg.diamond = expand(a.Chain.RPCURL), expand(a.Chain.Diamond)
	}
	a.sessKey = cfg.poolKey()
	a.sess, err = loadSessions(a.sessKey, cfg, a.db, a.logger.Named("session"))
	if err != nil {
		a.sessKey = ""
		return err
	}
	a.router, a.sessions = a.sess.router, a.sess.Manager
	return nil
}

func (a *App) parseSecrets(expand func(string) string) (secrets, error) {
	var s secrets
	s.jwtSecret = []byte(expand(a.JWTSecret))
	if k := expand(a.EncryptionKey); k != "" {
		key, err := chain.DecodeVaultKey(k)
		if err != nil {
			return s, fmt.Errorf("encryption_key: %w", err)
		}
		if s.vault, err = chain.NewVault(key, expand(a.LegacyEncryptionSecret)); err != nil {
			return s, fmt.Errorf("encryption_key: %w", err)
		}
	}
	if k := expand(a.FallbackPrivateKey); k != "" {
		key, err := chain.ParsePrivateKey(k)
		if err != nil {
			return s, fmt.Errorf("fallback_private_key: %w", err)
		}
		s.fallbackKey = key
	}
	raw := DefaultRouterURL
	if a.Router != nil {
		if u := expand(a.Router.URL); u != "" {
			raw = u
		}
		s.routerUser = expand(a.Router.Username)
		s.routerPassword = expand(a.Router.Password)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// Not echoed: the URL may carry credentials.
		return s, fmt.Errorf("router: the URL must be http:// or https:// with a host")
	}
	s.routerURL = u
	if s.routerUser == "" || s.routerPassword == "" {
		return s, fmt.Errorf("router: username and password are required (the proxy-router's Basic auth, e.g. {env.PROXY_ROUTER_USERNAME} and {env.PROXY_ROUTER_PASSWORD})")
	}
	if s.vault == nil && expand(a.LegacyEncryptionSecret) != "" {
		return s, fmt.Errorf("legacy_encryption_secret needs encryption_key: legacy keys are read through the same vault")
	}
	if a.Delegation != nil {
		if s.delegations, err = a.Delegation.verifier(expand); err != nil {
			return s, err
		}
	}
	return s, nil
}

// verifier builds the delegation verifier from the configuration.
func (c *DelegationConfig) verifier(expand func(string) string) (*chain.DelegationVerifier, error) {
	delegate, manager := expand(c.DelegateAddress), expand(c.DelegationManager)
	if !common.IsHexAddress(delegate) {
		return nil, fmt.Errorf("delegation: delegate_address must be a 20-byte hex address (0x…)")
	}
	if !common.IsHexAddress(manager) {
		return nil, fmt.Errorf("delegation: delegation_manager must be a 20-byte hex address (0x…)")
	}
	if c.ChainID <= 0 {
		return nil, fmt.Errorf("delegation: chain_id is required")
	}
	return &chain.DelegationVerifier{
		ChainID:           big.NewInt(c.ChainID),
		VerifyingContract: common.HexToAddress(manager),
		DelegateAddress:   common.HexToAddress(delegate),
	}, nil
}

// Start applies the store's migrations (once per pooled store) and starts
// the background work.
func (a *App) Start() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := a.db.start(ctx, a.logger); err != nil {
		return err
	}
	return a.sessions.Start()
}

// Stop does nothing: the session manager and its cleanup loop are shared
// with the next config on a reload, and stop when the last config using
// them is cleaned up.
func (a *App) Stop() error { return nil }

// Cleanup releases this config's reference to the pooled store; the store is
// closed when the last config using it is cleaned up.
func (a *App) Cleanup() error {
	var errs []error
	if a.sessKey != "" {
		_, err := sessionPool.Delete(a.sessKey)
		errs = append(errs, err)
	}
	if a.dbKey != "" {
		_, err := stores.Delete(a.dbKey)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// checkDurations validates the configured durations.
func (a *App) checkDurations() error {
	if d := time.Duration(a.DefaultSessionDuration); d != 0 && (d < time.Minute || d > 24*time.Hour) {
		return fmt.Errorf("default_session_duration: %s is outside 60s to 24h", d)
	}
	for name, d := range map[string]caddy.Duration{"access_token_ttl": a.AccessTokenTTL, "refresh_token_ttl": a.RefreshTokenTTL} {
		if d < 0 {
			return fmt.Errorf("%s: must be positive", name)
		}
	}
	for name, rl := range map[string]*RateLimitConfig{"login": a.LoginRateLimit, "register": a.RegisterRateLimit} {
		if rl != nil && (rl.Events < 1 || rl.Window <= 0) {
			return fmt.Errorf("rate_limit %s: events and window must be positive", name)
		}
	}
	return nil
}

// Store returns the app's store. Valid after Provision.
func (a *App) Store() store.Store { return a.db.Store }

// apiConfig is the HTTP surface's configuration derived from the app.
func (a *App) apiConfig(prefix string, logger *zap.Logger) handlers.Config {
	cfg := handlers.Config{
		Prefix:                 prefix,
		Store:                  a.db.Store,
		Cache:                  a.db.cache,
		Logger:                 logger,
		JWTSecret:              a.secrets.jwtSecret,
		AccessTTL:              time.Duration(a.AccessTokenTTL),
		RefreshTTL:             time.Duration(a.RefreshTokenTTL),
		Vault:                  a.secrets.vault,
		Delegations:            a.secrets.delegations,
		DefaultSessionDuration: time.Duration(a.DefaultSessionDuration),
		ClientIP:               clientIP,
		OnAuthenticated:        setAuthUser,
		Sessions:               a.sessions,
		OnKeyRevoked:           a.sessions.KeyRevoked,
		MaxBodySize:            a.MaxBodySize,
		RouterUsername:         a.secrets.routerUser,
		RouterPassword:         a.secrets.routerPassword,
		Catalog:                a.router,
		Version:                moduleVersion(),
	}
	if rl := a.LoginRateLimit; rl != nil {
		cfg.LoginRate = handlers.RateLimit{Events: rl.Events, Window: time.Duration(rl.Window)}
	}
	if rl := a.RegisterRateLimit; rl != nil {
		cfg.RegisterRate = handlers.RateLimit{Events: rl.Events, Window: time.Duration(rl.Window)}
	}
	return cfg
}

// Interface guards
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)
