package handlers

import (
	"errors"
	"math/big"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/morpheus-gateway/caddy-morpheus/chain"
	"github.com/morpheus-gateway/caddy-morpheus/session"
	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// The session endpoints (reference §1.13, with real statuses), behind API
// key authentication, for the authenticated key (not the user's first key):
//
//	POST   /session/modelsession?model_id=  open (or replace) the key's session for a model
//	POST   /session/initialize?model_id=    alias of modelsession (the seed's name)
//	POST   /session/bidsession?bid_id=      open (or replace) it on one bid
//	POST   /session/closesession            close it (404 when there is none)
//	DELETE /session/close                   alias of closesession (the seed's name)
//	POST   /session/pingsession             its status on chain (a read, not a paid prompt)
//	POST   /session/approve?amount=         set the router wallet's MOR allowance to the Diamond
//
// modelsession, initialize and bidsession accept an optional JSON body
// {"sessionDuration": <seconds, 60–86400>} (default: the user's
// session_duration); the reference's directPayment and failover fields are
// ignored (sessions are always opened without either). Errors are those of
// writeSessionError.

// sessionBodyLimit bounds the optional JSON body of the open endpoints.
const sessionBodyLimit int64 = 64 << 10

type sessionOpenRequest struct {
	SessionDuration *int `json:"sessionDuration"`
}

type sessionOpenReply struct {
	Success      bool    `json:"success"`
	Message      string  `json:"message"`
	SessionID    string  `json:"session_id"`
	APIKeyPrefix string  `json:"api_key_prefix"`
	Model        *string `json:"model,omitempty"`
	ModelID      *string `json:"model_id,omitempty"`
	BidID        *string `json:"bid_id,omitempty"`
	Type         string  `json:"type"`
	CreatedAt    string  `json:"created_at"`
	ExpiresAt    string  `json:"expires_at"`
}

type sessionCloseReply struct {
	Success   bool   `json:"success"`
	Message   string `json:"message"`
	SessionID string `json:"session_id"`
}

type sessionPingReply struct {
	Success   bool    `json:"success"`
	Status    string  `json:"status"` // active, expired or closed
	Message   string  `json:"message"`
	SessionID string  `json:"session_id"`
	Type      string  `json:"type"`
	Model     string  `json:"model"` // sessions.model: the model id, or the bid id
	ExpiresAt string  `json:"expires_at"`
	OpenedAt  *string `json:"opened_at"`
	EndsAt    *string `json:"ends_at"`
	ClosedAt  *string `json:"closed_at"`
}

type approveReply struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
	Tx      string `json:"tx"`
	Amount  string `json:"amount"`
}

// sessionRoutes registers the session endpoints.
func (s *Server) sessionRoutes() {
	open := s.requireSessions(s.requireAPIKey(s.modelSession))
	closeH := s.requireSessions(s.requireAPIKey(s.closeSession))
	s.mux.HandleFunc("POST /session/modelsession", open)
	s.mux.HandleFunc("POST /session/initialize", open)
	s.mux.HandleFunc("POST /session/bidsession", s.requireSessions(s.requireAPIKey(s.bidSession)))
	s.mux.HandleFunc("POST /session/closesession", closeH)
	s.mux.HandleFunc("DELETE /session/close", closeH)
	s.mux.HandleFunc("POST /session/pingsession", s.requireSessions(s.requireAPIKey(s.pingSession)))
	s.mux.HandleFunc("POST /session/approve", s.requireSessions(s.requireAPIKey(s.approve)))
}

// requireSessions answers 503 when no session manager is configured.
func (s *Server) requireSessions(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Sessions == nil {
			WriteError(w, http.StatusServiceUnavailable, TypeUnavailable, "sessions_not_configured", "",
				"sessions are not available: no proxy-router is configured")
			return
		}
		h(w, r)
	}
}

// sessionPrincipal is the session manager's view of an API key caller.
func sessionPrincipal(p Principal) session.Principal {
	return session.Principal{KeyID: p.APIKeyID, UserID: p.UserID}
}

// sessionError logs what deserves it and answers with writeSessionErrorParam.
func (s *Server) sessionError(w http.ResponseWriter, r *http.Request, err error, modelParam string) {
	var re *chain.RouterError
	switch {
	case errors.As(err, &re):
		s.cfg.Logger.Warn("session endpoint: proxy-router error", zap.String("path", r.URL.Path),
			zap.String("kind", re.Kind.String()), zap.Error(err))
	case errors.Is(err, session.ErrUnavailable), errors.Is(err, session.ErrModelsUnavailable):
		s.cfg.Logger.Error("session endpoint: unavailable", zap.String("path", r.URL.Path), zap.Error(err))
	case !isExpectedSessionError(err):
		s.cfg.Logger.Error("session endpoint: unexpected error", zap.String("path", r.URL.Path), zap.Error(err))
	}
	writeSessionErrorParam(w, err, modelParam)
}

func isExpectedSessionError(err error) bool {
	var qf *session.QueueFullError
	for _, e := range []error{session.ErrModelNotFound, session.ErrAutomationDisabled, session.ErrNoSession,
		session.ErrSessionConflict, session.ErrApproveNotConfigured} {
		if errors.Is(err, e) {
			return true
		}
	}
	return errors.As(err, &qf)
}

// sessionDuration reads the optional body; 0 means "the user's setting".
func sessionDuration(w http.ResponseWriter, r *http.Request) (time.Duration, bool) {
	var req sessionOpenRequest
	if !decodeJSON(w, r, sessionBodyLimit, true, &req) {
		return 0, false
	}
	if req.SessionDuration == nil {
		return 0, true
	}
	d := *req.SessionDuration
	if d < minSessionDurationSec || d > maxSessionDurationSec {
		badRequest(w, "sessionDuration", "sessionDuration must be between 60 and 86400 seconds")
		return 0, false
	}
	return time.Duration(d) * time.Second, true
}

// modelSession serves POST /session/modelsession and /session/initialize.
func (s *Server) modelSession(w http.ResponseWriter, r *http.Request, p Principal) {
	duration, ok := sessionDuration(w, r)
	if !ok {
		return
	}
	modelArg := strings.TrimSpace(r.URL.Query().Get("model_id"))
	if modelArg == "" {
		modelArg = strings.TrimSpace(r.URL.Query().Get("model"))
	}
	mdl, err := s.cfg.Sessions.ResolveModel(r.Context(), modelArg)
	if err != nil {
		s.sessionError(w, r, err, "model_id")
		return
	}
	row, err := s.cfg.Sessions.OpenModelSession(r.Context(), sessionPrincipal(p), mdl.ID, duration)
	if err != nil {
		s.sessionError(w, r, err, "model_id")
		return
	}
	reply := openReply(row, p)
	reply.Model, reply.ModelID = optString(mdl.Name), optString(mdl.ID)
	writeJSON(w, http.StatusOK, reply)
}

// bidSession serves POST /session/bidsession.
func (s *Server) bidSession(w http.ResponseWriter, r *http.Request, p Principal) {
	bidID, err := chain.NormalizeID(r.URL.Query().Get("bid_id"))
	if err != nil {
		badRequest(w, "bid_id", "bid_id must be 0x followed by 64 hex digits")
		return
	}
	duration, ok := sessionDuration(w, r)
	if !ok {
		return
	}
	row, err := s.cfg.Sessions.OpenBidSession(r.Context(), sessionPrincipal(p), bidID, duration)
	if err != nil {
		s.sessionError(w, r, err, "bid_id")
		return
	}
	reply := openReply(row, p)
	reply.BidID = optString(bidID)
	writeJSON(w, http.StatusOK, reply)
}

func openReply(row store.Session, p Principal) sessionOpenReply {
	return sessionOpenReply{
		Success:      true,
		Message:      "Session created and associated with API key",
		SessionID:    row.ID,
		APIKeyPrefix: p.KeyPrefix,
		Type:         row.Type,
		CreatedAt:    timestamp(row.CreatedAt),
		ExpiresAt:    timestamp(row.ExpiresAt),
	}
}

// closeSession serves POST /session/closesession and DELETE /session/close.
func (s *Server) closeSession(w http.ResponseWriter, r *http.Request, p Principal) {
	row, err := s.cfg.Sessions.CloseSession(r.Context(), sessionPrincipal(p))
	if err != nil {
		s.sessionError(w, r, err, "model")
		return
	}
	writeJSON(w, http.StatusOK, sessionCloseReply{Success: true, Message: "Session closed successfully", SessionID: row.ID})
}

// pingSession serves POST /session/pingsession: the key's session as the
// chain sees it (GET /blockchain/sessions/{id} on the router), never a
// prompt. 404 when the key has no active session.
func (s *Server) pingSession(w http.ResponseWriter, r *http.Request, p Principal) {
	row, info, err := s.cfg.Sessions.Status(r.Context(), sessionPrincipal(p))
	if err != nil {
		s.sessionError(w, r, err, "model")
		return
	}
	reply := sessionPingReply{
		SessionID: row.ID,
		Type:      row.Type,
		Model:     row.Model,
		ExpiresAt: timestamp(row.ExpiresAt),
		OpenedAt:  optTimestamp(&info.OpenedAt),
		EndsAt:    optTimestamp(&info.EndsAt),
		ClosedAt:  optTimestamp(&info.ClosedAt),
	}
	switch now := s.cfg.Now(); {
	case !info.ClosedAt.IsZero():
		reply.Status, reply.Message = "closed", "Session is closed on chain"
	case !info.Open(now):
		reply.Status, reply.Message = "expired", "Session has ended on chain"
	default:
		reply.Status, reply.Message, reply.Success = "active", "Session is active", true
	}
	writeJSON(w, http.StatusOK, reply)
}

// approve serves POST /session/approve?amount=: amount (MOR wei) must be a
// positive decimal integer.
func (s *Server) approve(w http.ResponseWriter, r *http.Request, _ Principal) {
	raw := strings.TrimSpace(r.URL.Query().Get("amount"))
	amount, ok := new(big.Int).SetString(raw, 10)
	if raw == "" || !ok || amount.Sign() <= 0 || len(raw) > 78 {
		badRequest(w, "amount", "amount must be a positive integer (MOR wei)")
		return
	}
	tx, err := s.cfg.Sessions.Approve(r.Context(), amount)
	if err != nil {
		s.sessionError(w, r, err, "amount")
		return
	}
	writeJSON(w, http.StatusOK, approveReply{Success: true, Message: "Allowance approved", Tx: tx, Amount: amount.String()})
}
