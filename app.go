package morpheus

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/morpheus-gateway/caddy-morpheus/chain"
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

	db      *pooledStore
	dbKey   string
	secrets secrets
	ctx     caddy.Context
	logger  *zap.Logger
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

// secrets holds the expanded, parsed secret values; never logged.
type secrets struct {
	jwtSecret      []byte
	vault          *chain.Vault      // nil when encryption_key is not configured
	fallbackKey    *ecdsa.PrivateKey // nil when fallback_private_key is not configured
	routerURL      *url.URL
	routerUser     string
	routerPassword string
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
	a.dbKey = dbc.poolKey()
	a.db, err = loadStore(a.dbKey, dbc)
	if err != nil {
		a.dbKey = ""
		return err
	}
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
		if s.vault, err = chain.NewVault(key, ""); err != nil {
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
	return s, nil
}

// Start applies the store's migrations (once per pooled store) and starts
// the background work.
func (a *App) Start() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := a.db.migrate(ctx, a.logger); err != nil {
		return err
	}
	return nil
}

// Stop stops the background work.
func (a *App) Stop() error { return nil }

// Cleanup releases this config's reference to the pooled store; the store is
// closed when the last config using it is cleaned up.
func (a *App) Cleanup() error {
	if a.dbKey == "" {
		return nil
	}
	_, err := stores.Delete(a.dbKey)
	return err
}

// Store returns the app's store. Valid after Provision.
func (a *App) Store() store.Store { return a.db.Store }

// Interface guards
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)
