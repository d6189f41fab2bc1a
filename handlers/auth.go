package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/morpheus-gateway/caddy-morpheus/cache"
	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// Authentication methods, in Principal.Method.
const (
	AuthJWT    = "jwt"
	AuthAPIKey = "api_key"
)

// Principal is the authenticated caller of a request.
type Principal struct {
	UserID int64
	// Method is AuthJWT or AuthAPIKey.
	Method string
	// APIKeyID and KeyPrefix are set when Method is AuthAPIKey.
	APIKeyID  int64
	KeyPrefix string
}

type principalKey struct{}

// PrincipalFromContext returns the caller authenticated by the handlers'
// middleware, if any.
func PrincipalFromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// authedHandler is an endpoint behind authentication.
type authedHandler func(w http.ResponseWriter, r *http.Request, p Principal)

const (
	msgBadCredentials = "Could not validate credentials"
	msgNotAuth        = "Not authenticated: send Authorization: Bearer <token>"
	msgInvalidAPIKey  = "Invalid API key"
)

// unauthorized answers 401 with WWW-Authenticate: Bearer.
func unauthorized(w http.ResponseWriter, code, message string) {
	w.Header().Set("WWW-Authenticate", "Bearer")
	WriteError(w, http.StatusUnauthorized, TypeAuthentication, code, "", message)
}

// bearerToken returns the credentials of an "Authorization: Bearer <x>"
// header (scheme case-insensitive), or "" if there are none.
func bearerToken(header string) string {
	scheme, rest, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return ""
	}
	return strings.TrimSpace(rest)
}

// requireJWT authenticates the request with an access token. The user is
// loaded on every request: a deactivated or deleted user is refused at
// once.
func (s *Server) requireJWT(h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := bearerToken(r.Header.Get("Authorization"))
		if tok == "" {
			unauthorized(w, "missing_credentials", msgNotAuth)
			return
		}
		s.serveJWT(w, r, tok, h)
	}
}

func (s *Server) serveJWT(w http.ResponseWriter, r *http.Request, tok string, h authedHandler) {
	u, ok := s.tokenUser(w, r, tok, tokenAccess)
	if !ok {
		return
	}
	s.serveAuthed(w, r, Principal{UserID: u.ID, Method: AuthJWT}, h)
}

// requireJWTOrKey authenticates the request with an API key ("Bearer
// sk-…" or a bare "sk-…") or, for any other bearer value, an access token.
func (s *Server) requireJWTOrKey(h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		header := r.Header.Get("Authorization")
		tok := bearerToken(header)
		if strings.HasPrefix(tok, "sk-") || strings.HasPrefix(strings.TrimSpace(header), "sk-") {
			s.serveAPIKey(w, r, header, h)
			return
		}
		if tok == "" {
			unauthorized(w, "missing_credentials", msgNotAuth)
			return
		}
		s.serveJWT(w, r, tok, h)
	}
}

// requireAPIKey authenticates the request with an API key only (the chat
// and session endpoints).
func (s *Server) requireAPIKey(h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.serveAPIKey(w, r, r.Header.Get("Authorization"), h)
	}
}

var _ = (*Server).requireAPIKey // used by the chat endpoints

func (s *Server) serveAPIKey(w http.ResponseWriter, r *http.Request, header string, h authedHandler) {
	if strings.TrimSpace(header) == "" {
		unauthorized(w, "missing_api_key", "API key missing: send Authorization: Bearer sk-…")
		return
	}
	key, ok := cache.ParseAuthorization(header)
	if !ok {
		unauthorized(w, "invalid_api_key", msgInvalidAPIKey)
		return
	}
	if s.cfg.Cache == nil {
		WriteError(w, http.StatusServiceUnavailable, TypeUnavailable, "auth_unavailable", "",
			"API key authentication is not available")
		return
	}
	p, err := s.cfg.Cache.Authenticate(r.Context(), key)
	switch {
	case err == nil:
	case errors.Is(err, cache.ErrInvalidKey):
		unauthorized(w, "invalid_api_key", msgInvalidAPIKey)
		return
	default:
		if !errors.Is(err, cache.ErrUnavailable) {
			s.cfg.Logger.Error("authenticating an API key", zap.Error(err))
		}
		WriteError(w, http.StatusServiceUnavailable, TypeUnavailable, "auth_unavailable", "",
			"API key authentication is temporarily unavailable; retry later")
		return
	}
	s.serveAuthed(w, r, Principal{UserID: p.UserID, Method: AuthAPIKey, APIKeyID: p.KeyID, KeyPrefix: p.KeyPrefix}, h)
}

func (s *Server) serveAuthed(w http.ResponseWriter, r *http.Request, p Principal, h authedHandler) {
	r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
	if s.cfg.OnAuthenticated != nil {
		s.cfg.OnAuthenticated(r, p)
	}
	h(w, r, p)
}

// tokenUser verifies a JWT of the given type and loads its user, who must
// exist and be active. On failure it has answered (503 without a secret,
// 401 for a bad token or user, 500 for a store error).
func (s *Server) tokenUser(w http.ResponseWriter, r *http.Request, tok string, typ string) (store.User, bool) {
	if !s.jwtConfigured() {
		WriteError(w, http.StatusServiceUnavailable, TypeUnavailable, "jwt_not_configured", "", errJWTNotConfigured)
		return store.User{}, false
	}
	userID, err := s.parseToken(tok, typ)
	if err != nil {
		unauthorized(w, "invalid_token", msgBadCredentials)
		return store.User{}, false
	}
	u, err := s.cfg.Store.UserByID(r.Context(), userID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !u.IsActive) {
		unauthorized(w, "invalid_token", msgBadCredentials)
		return store.User{}, false
	}
	if err != nil {
		s.internalError(w, r, "loading the user of a token", err)
		return store.User{}, false
	}
	return u, true
}
