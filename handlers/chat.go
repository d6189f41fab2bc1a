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
	req, ok := s.readProxyRequest(w, r)
	if !ok {
		return
	}
	fields := req.fields
	if _, ok := optBoolField(w, fields, "stream"); !ok {
		return
	}
	msgs := bytes.TrimSpace(fields["messages"])
	if len(msgs) == 0 || msgs[0] != '[' {
		badRequest(w, "messages", "messages is required: a non-empty array of chat messages")
		return
	}
	// msgs is valid JSON (the body decoded): an array, so only "[]" (with
	// any white space) is empty; no need to decode the messages.
	if rest := bytes.TrimSpace(msgs[1:]); len(rest) == 0 || rest[0] == ']' {
		badRequest(w, "messages", "messages must be a non-empty array of chat messages")
		return
	}
	s.proxyWithSession(w, r, p, req, proxyOp{name: "chat", path: upstreamChatPath})
}

// proxyRequest is a parsed chat or embeddings request.
type proxyRequest struct {
	rid    string                     // the request id sent upstream and echoed
	fields map[string]json.RawMessage // the client's JSON object
	model  string                     // the requested model ("" = default)
}

// readProxyRequest does what chat and embeddings share before their own
// checks: the request id, the 503 when inference is not wired, the body
// (size-limited), and the gateway's fields "model" and "session_id".
func (s *Server) readProxyRequest(w http.ResponseWriter, r *http.Request) (proxyRequest, bool) {
	req := proxyRequest{rid: requestID(w, r)}
	if !s.proxyConfigured(w) {
		return req, false
	}
	var ok bool
	if req.fields, ok = s.readProxyBody(w, r); !ok {
		return req, false
	}
	if req.model, ok = optStringField(w, req.fields, "model"); !ok {
		return req, false
	}
	if _, ok = optStringField(w, req.fields, "session_id"); !ok {
		return req, false
	}
	return req, true
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

// proxyWithSession forwards the request's JSON minus the gateway's own
// fields ("session_id", and "model", which only selects the session),
// holding the key's session for the model until the response is complete.
func (s *Server) proxyWithSession(w http.ResponseWriter, r *http.Request, p Principal, req proxyRequest, op proxyOp) {
	delete(req.fields, "session_id")
	delete(req.fields, "model")
	body, err := encodeFields(req.fields)
	if err != nil {
		s.internalError(w, r, "re-encoding a "+op.name+" request", err)
		return
	}
	rid := req.rid
	ctx := chain.WithRequestID(r.Context(), rid)
	lease, err := s.cfg.Sessions.Acquire(ctx, session.Principal{KeyID: p.APIKeyID, UserID: p.UserID}, req.model)
	if err != nil {
		s.writeAcquireError(w, r, err)
		return
	}
	defer lease.Release()
	s.forward(w, r, p, op, body, rid, leaseSession(lease))
}
