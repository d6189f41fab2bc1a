// Package handlers is the gateway's HTTP surface: routing under the
// handler's prefix, JSON in and out, authentication and the OpenAI-shaped
// errors.
package handlers

import (
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// Config is what the HTTP surface needs from the app.
type Config struct {
	// Prefix is the path under which the API is served, without a trailing
	// slash (for example "/api/v1").
	Prefix string
	Store  store.Store
	Logger *zap.Logger
}

// Server routes the API's requests. It is safe for concurrent use.
type Server struct {
	cfg Config
	mux *http.ServeMux
}

// New builds the API's router.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux()}
	s.routes()
	return s
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /health", s.health)
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
	h, pattern := s.mux.Handler(withPath(r, rest))
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
	h.ServeHTTP(w, withPath(r, rest))
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
