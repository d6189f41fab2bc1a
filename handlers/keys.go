package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/morpheus-gateway/caddy-morpheus/cache"
	"github.com/morpheus-gateway/caddy-morpheus/store"
)

type createKeyRequest struct {
	Name *string `json:"name"`
}

// createdKeyReply is the reply of POST /auth/keys: the only time the full
// key is shown.
type createdKeyReply struct {
	ID        int64   `json:"id"`
	Key       string  `json:"key"`
	KeyPrefix string  `json:"key_prefix"`
	Name      *string `json:"name"`
	CreatedAt string  `json:"created_at"`
	IsActive  bool    `json:"is_active"`
}

// keyReply describes a key without its secret or hash.
type keyReply struct {
	ID         int64   `json:"id"`
	KeyPrefix  string  `json:"key_prefix"`
	Name       *string `json:"name"`
	CreatedAt  string  `json:"created_at"`
	LastUsedAt *string `json:"last_used_at"`
	IsActive   bool    `json:"is_active"`
}

func keyReplyOf(k store.APIKey) keyReply {
	return keyReply{
		ID:         k.ID,
		KeyPrefix:  k.KeyPrefix,
		Name:       optString(k.Name),
		CreatedAt:  timestamp(k.CreatedAt),
		LastUsedAt: optTimestamp(k.LastUsedAt),
		IsActive:   k.IsActive,
	}
}

// keyGenerationAttempts bounds the retries on a prefix collision (one in
// 62^6 per existing key).
const keyGenerationAttempts = 5

// createKey makes a new API key for the caller: POST /auth/keys.
func (s *Server) createKey(w http.ResponseWriter, r *http.Request, p Principal) {
	var req createKeyRequest
	if !decodeJSON(w, r, accountBodyLimit, true, &req) {
		return
	}
	var name string
	if req.Name != nil {
		name = strings.TrimSpace(*req.Name)
		if utf8.RuneCountInString(name) > maxNameLen || strings.ContainsRune(name, 0) {
			badRequest(w, "name", "name must be at most 255 characters, without NUL")
			return
		}
	}
	ctx := r.Context()
	var key, prefix, hashed string
	for attempt := 0; ; attempt++ {
		var err error
		key, prefix, hashed, err = cache.GenerateAPIKey()
		if err != nil {
			s.internalError(w, r, "generating an API key", err)
			return
		}
		// Prefixes are the lookup key of authentication: keep them unique.
		existing, err := s.cfg.Store.APIKeysByPrefix(ctx, prefix)
		if err != nil {
			s.internalError(w, r, "checking an API key prefix", err)
			return
		}
		if len(existing) == 0 {
			break
		}
		if attempt+1 == keyGenerationAttempts {
			s.internalError(w, r, "generating an API key", errors.New("prefix collisions on every attempt"))
			return
		}
	}
	k, err := s.cfg.Store.CreateAPIKey(ctx, store.NewAPIKey{UserID: p.UserID, KeyPrefix: prefix, HashedKey: hashed, Name: name})
	if err != nil {
		s.internalError(w, r, "creating an API key", err)
		return
	}
	if s.cfg.Cache != nil {
		nctx, cancel := detached(ctx)
		s.cfg.Cache.KeyCreated(nctx, prefix)
		cancel()
	}
	s.cfg.Logger.Info("API key created", zap.Int64("user_id", p.UserID), zap.Int64("key_id", k.ID), zap.String("key_prefix", k.KeyPrefix))
	writeJSON(w, http.StatusCreated, createdKeyReply{
		ID:        k.ID,
		Key:       key,
		KeyPrefix: k.KeyPrefix,
		Name:      optString(k.Name),
		CreatedAt: timestamp(k.CreatedAt),
		IsActive:  k.IsActive,
	})
}

// listKeys lists the caller's keys, active or not, by id: GET /auth/keys.
func (s *Server) listKeys(w http.ResponseWriter, r *http.Request, p Principal) {
	keys, err := s.cfg.Store.UserAPIKeys(r.Context(), p.UserID)
	if err != nil {
		s.internalError(w, r, "listing API keys", err)
		return
	}
	out := make([]keyReply, 0, len(keys))
	for _, k := range keys {
		out = append(out, keyReplyOf(k))
	}
	writeJSON(w, http.StatusOK, out)
}

// deleteKey deactivates one of the caller's keys: DELETE /auth/keys/{id}.
// The key stops authenticating at once on this instance (and on the others
// as soon as the cache's notification arrives).
func (s *Server) deleteKey(w http.ResponseWriter, r *http.Request, p Principal) {
	id, ok := pathID(w, r, "key_id")
	if !ok {
		return
	}
	k, err := s.cfg.Store.DeactivateAPIKey(r.Context(), id, p.UserID)
	if errors.Is(err, store.ErrNotFound) {
		WriteError(w, http.StatusNotFound, TypeNotFound, "api_key_not_found", "", "API key not found")
		return
	}
	if err != nil {
		s.internalError(w, r, "deactivating an API key", err)
		return
	}
	ctx, cancel := detached(r.Context())
	defer cancel()
	if s.cfg.Cache != nil {
		s.cfg.Cache.KeyRevoked(ctx, k.ID, k.KeyPrefix)
	}
	if s.cfg.OnKeyRevoked != nil {
		s.cfg.OnKeyRevoked(ctx, k.ID)
	}
	s.cfg.Logger.Info("API key revoked", zap.Int64("user_id", p.UserID), zap.Int64("key_id", k.ID), zap.String("key_prefix", k.KeyPrefix))
	writeJSON(w, http.StatusOK, keyReplyOf(k))
}

// detached returns a context that keeps ctx's values but is not cancelled
// when the client goes away, bounded to a few seconds: invalidations must
// not be lost because the client hung up.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
}
