// Package handlers is the gateway's HTTP surface: routing under the
// handler's prefix, JSON in and out, authentication and the OpenAI-shaped
// errors.
package handlers

import (
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/morpheus-gateway/caddy-morpheus/cache"
	"github.com/morpheus-gateway/caddy-morpheus/chain"
	"github.com/morpheus-gateway/caddy-morpheus/session"
	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultAccessTTL                   = 30 * time.Minute
	DefaultRefreshTTL                  = 7 * 24 * time.Hour
	DefaultBcryptCost                  = 12
	DefaultSessionDuration             = time.Hour
	DefaultLoginEvents                 = 10
	DefaultRegisterEvents              = 5
	DefaultRateWindow                  = time.Minute
	defaultRateLimiterMaxClients       = 100_000
	jwtLeeway                          = 30 * time.Second
	minSessionDurationSec              = 60
	maxSessionDurationSec              = 86400
	accountBodyLimit             int64 = 1 << 20
)

// RateLimit is a token bucket per client IP: Events requests per Window,
// with a burst of Events. Zero fields take the defaults; Events < 0 turns
// the limit off.
type RateLimit struct {
	Events int
	Window time.Duration
}

// Config is what the HTTP surface needs from the app. Zero values take the
// defaults documented on each field.
type Config struct {
	// Prefix is the path under which the API is served, without a trailing
	// slash (for example "/api/v1").
	Prefix string
	Store  store.Store
	Logger *zap.Logger

	// JWTSecret signs and verifies the HS256 access and refresh tokens.
	// Empty: the JWT endpoints (login, refresh, everything behind JWT)
	// answer 503; registration still works.
	JWTSecret []byte
	// AccessTTL is the lifetime of access tokens (default 30m).
	AccessTTL time.Duration
	// RefreshTTL is the lifetime of refresh tokens (default 7 days).
	RefreshTTL time.Duration
	// BcryptCost is the cost of new password hashes (default 12, as the
	// reference's $2b$12$ hashes).
	BcryptCost int

	// Cache authenticates API keys and serves automation settings. Nil:
	// API-key authentication answers 503, settings are read from Store.
	Cache *cache.Cache
	// Vault encrypts stored wallet private keys. Nil (no encryption_key):
	// storing a key answers 503; status and delete still work.
	Vault *chain.Vault
	// Delegations verifies submitted delegations. Nil: the delegation
	// endpoints answer 503.
	Delegations *chain.DelegationVerifier

	// DefaultSessionDuration is the effective session_duration of a user
	// without automation settings (default 1h).
	DefaultSessionDuration time.Duration

	// LoginRate limits POST /auth/login per client IP (default 10/min,
	// burst 10); RegisterRate limits POST /auth/register (default 5/min,
	// burst 5).
	LoginRate, RegisterRate RateLimit

	// ClientIP returns the client's IP for rate limiting. Default: the host
	// of r.RemoteAddr. The Caddy module sets it to Caddy's trusted-proxy-aware
	// client IP.
	ClientIP func(*http.Request) string

	// Now is the clock (default time.Now); tests replace it.
	Now func() time.Time

	// OnAuthenticated, if set, is called after a request is authenticated
	// (JWT or API key), before the endpoint runs; the Caddy module uses it
	// to set the http.auth.user.id placeholder.
	OnAuthenticated func(r *http.Request, p Principal)

	// Sessions resolves, opens and closes the keys' sessions on the Morpheus
	// network. Nil: the session and chat endpoints answer 503.
	Sessions *session.Manager

	// Upstream sends a prepared request to the proxy-router and streams the
	// answer to w: the embedded Caddy reverse_proxy (keep-alive pool,
	// flush_interval -1). The request's URL path, headers (Basic auth,
	// session_id, x-request-id) and body are set by the caller. Nil: the
	// chat, embeddings endpoints answer 503.
	Upstream func(w http.ResponseWriter, r *http.Request) error

	// OnKeyRevoked, if set, is called after an API key is deactivated
	// (after the cache was told), so that the session manager can close the
	// key's session. It runs on the request's goroutine with a context that
	// is not cancelled when the client goes away.
	OnKeyRevoked func(ctx context.Context, keyID int64)

	// MaxBodySize limits the body of the proxied endpoints (chat,
	// embeddings); default 10 MiB. Larger bodies answer 413.
	MaxBodySize int64
	// RouterUsername and RouterPassword are the proxy-router's Basic auth
	// credential, set on every proxied request (the client's Authorization
	// is removed). Empty username: no Authorization is set.
	RouterUsername, RouterPassword string
	// Catalog serves GET /models/allmodels and /models/ratedbids (a
	// *chain.Router). Nil: those endpoints answer 503.
	Catalog ModelCatalog
	// Version is reported by GET / under the prefix (default "dev").
	Version string
}

// Server routes the API's requests. It is safe for concurrent use.
type Server struct {
	cfg         Config
	mux         *http.ServeMux
	loginLimit  *rateLimiter
	registerLim *rateLimiter
	dummyHash   dummyHash
	routerAuth  string // the router's Basic Authorization value, computed once
}

// New builds the API's router, applying the defaults to cfg's zero fields.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = DefaultAccessTTL
	}
	if cfg.RefreshTTL <= 0 {
		cfg.RefreshTTL = DefaultRefreshTTL
	}
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = DefaultBcryptCost
	}
	if cfg.DefaultSessionDuration <= 0 {
		cfg.DefaultSessionDuration = DefaultSessionDuration
	}
	cfg.LoginRate = cfg.LoginRate.withDefaults(DefaultLoginEvents)
	cfg.RegisterRate = cfg.RegisterRate.withDefaults(DefaultRegisterEvents)
	if cfg.ClientIP == nil {
		cfg.ClientIP = remoteHost
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{
		cfg:         cfg,
		mux:         http.NewServeMux(),
		loginLimit:  newRateLimiter(cfg.LoginRate, defaultRateLimiterMaxClients),
		registerLim: newRateLimiter(cfg.RegisterRate, defaultRateLimiterMaxClients),
	}
	s.dummyHash.cost = cfg.BcryptCost
	if cfg.RouterUsername != "" {
		s.routerAuth = "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.RouterUsername+":"+cfg.RouterPassword))
	}
	s.routes()
	return s
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /health", s.health)

	s.mux.HandleFunc("POST /auth/register", s.register)
	s.mux.HandleFunc("POST /auth/login", s.login)
	s.mux.HandleFunc("POST /auth/refresh", s.refresh)

	s.mux.HandleFunc("POST /auth/keys", s.requireJWT(s.createKey))
	s.mux.HandleFunc("GET /auth/keys", s.requireJWT(s.listKeys))
	s.mux.HandleFunc("DELETE /auth/keys/{id}", s.requireJWT(s.deleteKey))

	s.mux.HandleFunc("POST /auth/private-key", s.requireJWT(s.storePrivateKey))
	s.mux.HandleFunc("GET /auth/private-key", s.requireJWT(s.privateKeyStatus))
	s.mux.HandleFunc("DELETE /auth/private-key", s.requireJWT(s.deletePrivateKey))

	s.mux.HandleFunc("POST /auth/delegation", s.requireDelegations(s.requireJWT(s.createDelegation)))
	s.mux.HandleFunc("GET /auth/delegation", s.requireDelegations(s.requireJWT(s.listDelegations)))
	s.mux.HandleFunc("GET /auth/delegation/active", s.requireDelegations(s.requireJWT(s.activeDelegation)))
	s.mux.HandleFunc("DELETE /auth/delegation/{id}", s.requireDelegations(s.requireJWT(s.deleteDelegation)))

	s.mux.HandleFunc("GET /automation/settings", s.requireJWTOrKey(s.getAutomation))
	s.mux.HandleFunc("PUT /automation/settings", s.requireJWTOrKey(s.putAutomation))

	// Session endpoints (session.go).
	s.sessionRoutes()

	// Inference proxy and models (chat.go, embeddings.go, models.go).
	s.mux.HandleFunc("GET /{$}", s.banner)
	s.mux.HandleFunc("POST /chat/completions", s.requireAPIKey(s.chatCompletions))
	s.mux.HandleFunc("POST /embeddings", s.requireAPIKey(s.embeddings))
	s.mux.HandleFunc("GET /models", s.listModels)
	s.mux.HandleFunc("GET /models/{$}", s.listModels)
	s.mux.HandleFunc("GET /models/allmodels", s.allModels)
	s.mux.HandleFunc("GET /models/ratedbids", s.ratedBids)
}

// Owns reports whether the request's path is under the API prefix.
func (s *Server) Owns(path string) bool {
	p := s.cfg.Prefix
	return path == p || strings.HasPrefix(path, p+"/")
}

// ServeHTTP serves a request whose path is under the prefix.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, s.cfg.Prefix)
	if rest == "" {
		rest = "/"
	}
	r2 := withPath(r, rest)
	_, pattern := s.mux.Handler(r2)
	if pattern == "" {
		if allowed := s.allowedMethods(r, rest); allowed != "" {
			w.Header().Set("Allow", allowed)
			WriteError(w, http.StatusMethodNotAllowed, TypeInvalidRequest, "method_not_allowed", "",
				"method "+r.Method+" is not allowed on "+r.URL.Path)
			return
		}
		WriteError(w, http.StatusNotFound, TypeNotFound, "not_found", "", "no such endpoint: "+r.Method+" "+r.URL.Path)
		return
	}
	// Through the mux (not the handler it returned) so that path values
	// ({id}) are set.
	s.mux.ServeHTTP(w, r2)
}

// allowedMethods lists the methods the mux would accept for the path, or ""
// if the path is unknown.
func (s *Server) allowedMethods(r *http.Request, rest string) string {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := withPath(r, rest)
		probe.Method = m
		if _, p := s.mux.Handler(probe); p != "" {
			allowed = append(allowed, m)
		}
	}
	return strings.Join(allowed, ", ")
}

// withPath returns a shallow copy of r whose URL path is p.
func withPath(r *http.Request, p string) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path = p
	u.RawPath = ""
	r2.URL = &u
	return r2
}

// remoteHost is the default Config.ClientIP: the host part of RemoteAddr.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// internalError logs err (never request data) and answers 500.
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.cfg.Logger.Error(what, zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Error(err))
	WriteError(w, http.StatusInternalServerError, TypeServer, "internal_error", "", "internal error")
}
