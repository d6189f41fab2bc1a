package morpheus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/ethereum/go-ethereum/common"
	"go.uber.org/zap"

	"github.com/morpheus-gateway/caddy-morpheus/chain"
	"github.com/morpheus-gateway/caddy-morpheus/session"
)

// sessionPool holds the session managers (with their proxy-router client
// and on-chain reader), shared by every config with the same settings, so
// that a `caddy reload` keeps one manager per key space: requests on a key
// stay serialised across the reload, a model switch on the new config waits
// for a stream still running on the old one, and reconciliations of
// timed-out opens carry on.
var sessionPool = caddy.NewUsagePool()

// sessionsConfig is everything a session manager is built from (expanded).
type sessionsConfig struct {
	dbKey                                 string
	routerURL, routerUser, routerPassword string
	defaultModel, modelsURL               string
	defaultDuration, cleanupInterval      time.Duration
	queueSize                             int
	rpcURL, diamond                       string
}

// poolKey identifies the manager; a hash, since it covers credentials.
func (c sessionsConfig) poolKey() string {
	h := sha256.New()
	fmt.Fprintf(h, "%q", []any{c.dbKey, c.routerURL, c.routerUser, c.routerPassword, c.defaultModel, c.modelsURL,
		c.defaultDuration, c.cleanupInterval, c.queueSize, c.rpcURL, c.diamond})
	return "morpheus.sessions." + hex.EncodeToString(h.Sum(nil)[:16])
}

// pooledSessions is a session manager shared across reloads.
type pooledSessions struct {
	*session.Manager
	router  *chain.Router
	onChain *chain.SessionReader // nil without chain { rpc_url }
}

// Destruct stops the manager (its cleanup loop and background closes) when
// the last config using it is gone.
func (p *pooledSessions) Destruct() error {
	err := p.Stop()
	p.onChain.Close()
	return err
}

// loadSessions returns the pooled manager for cfg, building it (no I/O) if
// no other config has it.
func loadSessions(key string, cfg sessionsConfig, db *pooledStore, logger *zap.Logger) (*pooledSessions, error) {
	v, _, err := sessionPool.LoadOrNew(key, func() (caddy.Destructor, error) {
		router, err := chain.NewRouter(chain.RouterConfig{
			BaseURL:  cfg.routerURL,
			Username: cfg.routerUser,
			Password: cfg.routerPassword,
		})
		if err != nil {
			return nil, fmt.Errorf("router: %w", err)
		}
		var diamond common.Address
		if cfg.diamond != "" {
			if !common.IsHexAddress(cfg.diamond) {
				return nil, fmt.Errorf("chain: diamond must be a 20-byte hex address (0x…)")
			}
			diamond = common.HexToAddress(cfg.diamond)
		}
		p := &pooledSessions{router: router}
		var reader session.ChainReader
		if cfg.rpcURL != "" {
			if diamond == (common.Address{}) {
				return nil, fmt.Errorf("chain: rpc_url needs diamond, the Morpheus Diamond contract address")
			}
			// Dialling an http(s) endpoint makes no connection yet.
			p.onChain, err = chain.DialSessionReader(context.Background(), chain.ChainConfig{RPCURL: cfg.rpcURL, Diamond: diamond})
			if err != nil {
				return nil, err
			}
			reader = p.onChain
		}
		p.Manager, err = session.New(db.Store, db.cache, router, session.Config{
			Chain:           reader,
			Diamond:         diamond,
			DefaultModel:    cfg.defaultModel,
			DefaultDuration: cfg.defaultDuration,
			QueueSize:       cfg.queueSize,
			CleanupInterval: cfg.cleanupInterval,
			ModelsURL:       cfg.modelsURL,
			Logger:          logger,
		})
		if err != nil {
			p.onChain.Close()
			return nil, fmt.Errorf("session manager: %w", err)
		}
		return p, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*pooledSessions), nil
}
