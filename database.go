package morpheus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/morpheus-gateway/caddy-morpheus/cache"
	"github.com/morpheus-gateway/caddy-morpheus/store"
	"github.com/morpheus-gateway/caddy-morpheus/store/postgres"
	"github.com/morpheus-gateway/caddy-morpheus/store/sqlite"
)

// stores holds the open stores, shared by every config that names the same
// database, so that `caddy reload` keeps connections (and, later, warm
// caches) instead of reopening them.
var stores = caddy.NewUsagePool()

// databaseConfig is the expanded, validated database configuration.
type databaseConfig struct {
	kind          string // "postgres" or "sqlite"
	dsn           string // postgres DSN, or the sqlite file path
	maxConns      int32
	minConns      int32
	statementMode string
	embedded      bool // no database_url was given
	cache         cache.Config
}

// parseDatabaseConfig interprets database_url (already expanded).
func parseDatabaseConfig(rawURL string, maxConns, minConns int32, mode string) (databaseConfig, error) {
	c := databaseConfig{maxConns: maxConns, minConns: minConns, statementMode: mode}
	switch {
	case rawURL == "":
		c.kind, c.embedded = "sqlite", true
		c.dsn = filepath.Join(caddy.AppDataDir(), "morpheus", "morpheus.db")
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		c.kind, c.dsn = "postgres", rawURL
	case strings.HasPrefix(rawURL, "sqlite:"):
		p := strings.TrimPrefix(rawURL, "sqlite:")
		p = strings.TrimPrefix(p, "//") // sqlite:///abs/path or sqlite://rel
		if p == "" {
			return c, errors.New("database_url: sqlite: needs a file path, for example sqlite:/var/lib/caddy/morpheus.db")
		}
		c.kind, c.dsn = "sqlite", p
	default:
		// Never echo the value: it may hold a password.
		return c, errors.New("database_url: the scheme must be postgres://, postgresql:// or sqlite:<path>")
	}
	if c.kind == "sqlite" && (maxConns != 0 || minConns != 0 || mode != "") {
		return c, fmt.Errorf("database_max_conns, database_min_conns and database_statement_mode apply to PostgreSQL only")
	}
	if maxConns < 0 || minConns < 0 || (maxConns > 0 && minConns > maxConns) {
		return c, fmt.Errorf("database_min_conns (%d) and database_max_conns (%d) must be positive, min <= max", minConns, maxConns)
	}
	switch mode {
	case "", "cache_statement", "cache_describe", "describe_exec", "exec", "simple_protocol":
	default:
		return c, fmt.Errorf("database_statement_mode: unknown mode %q", mode)
	}
	return c, nil
}

// poolKey identifies the store in the UsagePool: a hash, so the DSN (which
// may hold a password) is never used as a key that could be logged.
func (c databaseConfig) poolKey() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%d\x00%s\x00%d\x00%d\x00%d", c.kind, c.dsn, c.maxConns, c.minConns, c.statementMode,
		c.cache.MaxKeys, c.cache.KeyTTL, c.cache.NegativeTTL)
	return "morpheus.store." + hex.EncodeToString(h.Sum(nil)[:16])
}

// pooledStore is a store and its caches, shared across config reloads so
// that a reload keeps connections and warm caches.
type pooledStore struct {
	store.Store // instrumented: calls are counted
	raw         store.Store
	cache       *cache.Cache
	cfg         databaseConfig

	mu      sync.Mutex
	started bool
}

// Destruct stops the caches and closes the store when the last config using
// them is gone. Closing waits for connections in use, which streams of the
// old config may still hold, so it happens in the background rather than
// blocking the reload.
func (p *pooledStore) Destruct() error {
	go func() {
		_ = p.cache.Close()
		_ = p.Close()
	}()
	return nil
}

// start applies the schema migrations and starts the caches' background
// work, the first time a config using this store starts; later reloads
// skip it.
func (p *pooledStore) start(ctx context.Context, logger *zap.Logger) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return nil
	}
	if p.cfg.embedded {
		logger.Info("using the embedded SQLite store; set database_url to use PostgreSQL",
			zap.String("path", p.cfg.dsn))
	}
	if m, ok := p.raw.(store.Migrator); ok {
		if err := m.Migrate(ctx); err != nil {
			return fmt.Errorf("migrating the %s database: %w", p.cfg.kind, err)
		}
	}
	if err := p.cache.Start(); err != nil {
		return fmt.Errorf("starting the key cache: %w", err)
	}
	p.started = true
	return nil
}

// loadStore returns the pooled store for cfg, opening it (lazily: no I/O)
// if no other config has it open.
func loadStore(key string, cfg databaseConfig) (*pooledStore, error) {
	v, _, err := stores.LoadOrNew(key, func() (caddy.Destructor, error) {
		var (
			s   store.Store
			err error
		)
		switch cfg.kind {
		case "postgres":
			s, err = postgres.Open(context.Background(), postgres.Config{
				DSN:           cfg.dsn,
				MaxConns:      cfg.maxConns,
				MinConns:      cfg.minConns,
				StatementMode: cfg.statementMode,
			})
		default:
			s, err = sqlite.Open(cfg.dsn)
		}
		if err != nil {
			return nil, fmt.Errorf("opening the %s store: %w", cfg.kind, err)
		}
		counted := instrumentStore(s)
		c, err := cache.New(counted, cfg.cache)
		if err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("building the key cache: %w", err)
		}
		return &pooledStore{Store: counted, raw: s, cache: c, cfg: cfg}, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*pooledStore), nil
}
