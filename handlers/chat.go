package handlers

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/morpheus-gateway/caddy-morpheus/chain"
	"github.com/morpheus-gateway/caddy-morpheus/session"
)

// chatCompletions serves POST /chat/completions (API key): resolve the key's
// session, then proxy to the router's /v1/chat/completions.
//
// The body is forwarded as the client sent it (content-part arrays, tools,
// unknown OpenAI fields included) minus the gateway-only "session_id" and
// minus "model": the provider overwrites "model" with its own backend model
// anyway, and the reference gateway drops it too; the requested model only
// selects the session. No defaults are injected.
func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request, p Principal) {
	rid := requestID(w, r)
	if !s.proxyConfigured(w) {
		return
	}
	fields, ok := s.readProxyBody(w, r)
	if !ok {
		return
	}
	model, ok := optStringField(w, fields, "model")
	if !ok {
		return
	}
	if _, ok := optBoolField(w, fields, "stream"); !ok {
		return
	}
	if _, ok := optStringField(w, fields, "session_id"); !ok {
		return
	}
	msgs := bytes.TrimSpace(fields["messages"])
	if len(msgs) == 0 || msgs[0] != '[' {
		badRequest(w, "messages", "messages is required: a non-empty array of chat messages")
		return
	}
	var list []json.RawMessage
	if err := json.Unmarshal(msgs, &list); err != nil || len(list) == 0 {
		badRequest(w, "messages", "messages must be a non-empty array of chat messages")
		return
	}
	delete(fields, "session_id")
	delete(fields, "model")
	body, err := encodeFields(fields)
	if err != nil {
		s.internalError(w, r, "re-encoding a chat request", err)
		return
	}
	s.proxyWithSession(w, r, p, model, body, rid, proxyOp{name: "chat", path: upstreamChatPath})
}

// proxyConfigured answers 503 when the proxy step is not wired.
func (s *Server) proxyConfigured(w http.ResponseWriter) bool {
	if s.cfg.Sessions == nil || s.cfg.Upstream == nil {
		WriteError(w, http.StatusServiceUnavailable, TypeUnavailable, "proxy_not_configured", "",
			"inference is not available: the gateway has no proxy-router configured")
		return false
	}
	return true
}

// proxyWithSession acquires the key's session for model, forwards body and
// releases the session when the response is complete.
func (s *Server) proxyWithSession(w http.ResponseWriter, r *http.Request, p Principal, model string, body []byte, rid string, op proxyOp) {
	ctx := chain.WithRequestID(r.Context(), rid)
	lease, err := s.cfg.Sessions.Acquire(ctx, session.Principal{KeyID: p.APIKeyID, UserID: p.UserID}, model)
	if err != nil {
		s.writeAcquireError(w, r, err)
		return
	}
	defer lease.Release()
	s.forward(w, r, p, op, body, rid, leaseSession(lease))
}
