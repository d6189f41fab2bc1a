package handlers

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/morpheus-gateway/caddy-morpheus/chain"
	"github.com/morpheus-gateway/caddy-morpheus/session"
)

// This file is the proxy step shared by /chat/completions and /embeddings:
// reading and re-serialising the client's body, preparing the upstream
// request, and forwarding it through Config.Upstream with the one
// session-renewal retry (DESIGN.md invariant 6, caddy-conventions §4.3).
//
// How an attempt is observed: Upstream writes into an attemptWriter. A
// non-2xx answer is buffered (bounded) and never reaches the client, so it
// can be classified and, for "session expired", retried on a renewed
// session. A 2xx answer commits: headers go to the client and the body
// streams straight through (SSE through sseRelay, one flush per event).
// Headers written by Upstream land in a per-attempt map and are copied to
// the real response only on commit, so nothing of a failed attempt leaks.

// DefaultMaxBodySize is the default limit of a proxied request body.
const DefaultMaxBodySize int64 = 10 << 20

// errBufferLimit bounds what is kept of a non-2xx upstream body for
// classification.
const errBufferLimit = 64 << 10

// Upstream paths on the proxy-router.
const (
	upstreamChatPath       = "/v1/chat/completions"
	upstreamEmbeddingsPath = "/v1/embeddings"
)

// proxyOp describes one proxied endpoint.
type proxyOp struct {
	name string // "chat", "embeddings": RouterError.Op and logs
	path string // upstream path
}

// upstreamSession is what the forward loop needs of the key's session: its
// current ID and a way to renew it after "session expired". The chat
// handler builds it from a *session.Lease.
type upstreamSession struct {
	id    func() string
	renew func(ctx context.Context) error
}

func leaseSession(l *session.Lease) upstreamSession {
	return upstreamSession{
		id:    func() string { return l.SessionID },
		renew: l.Renew,
	}
}

// ---- request body ----

// readProxyBody reads the request body (at most s.maxBodySize()) and decodes
// it as a JSON object. A declared Content-Length over the limit is refused
// before anything is read. On failure it writes the error and returns false.
func (s *Server) readProxyBody(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, bool) {
	limit := s.maxBodySize()
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !(mt == "application/json" || strings.HasSuffix(mt, "+json")) {
			WriteError(w, http.StatusUnsupportedMediaType, TypeInvalidRequest, "unsupported_media_type", "",
				"request body must be JSON (Content-Type: application/json)")
			return nil, false
		}
	}
	if r.ContentLength > limit {
		writeTooLarge(w, limit)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeTooLarge(w, limit)
			return nil, false
		}
		WriteError(w, http.StatusBadRequest, TypeInvalidRequest, "invalid_body", "", "could not read the request body")
		return nil, false
	}
	b := bytes.TrimSpace(body)
	if len(b) == 0 {
		WriteError(w, http.StatusBadRequest, TypeInvalidRequest, "invalid_json", "", "request body is required: a JSON object")
		return nil, false
	}
	if b[0] != '{' {
		WriteError(w, http.StatusBadRequest, TypeInvalidRequest, "invalid_json", "", "request body must be a JSON object")
		return nil, false
	}
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&fields); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			WriteError(w, http.StatusBadRequest, TypeInvalidRequest, "invalid_json", "",
				fmt.Sprintf("invalid JSON at byte %d", syntax.Offset))
			return nil, false
		}
		WriteError(w, http.StatusBadRequest, TypeInvalidRequest, "invalid_json", "", "invalid JSON")
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		WriteError(w, http.StatusBadRequest, TypeInvalidRequest, "invalid_json", "",
			"invalid JSON: unexpected data after the JSON object")
		return nil, false
	}
	if fields == nil { // the literal null is rejected above; keep the invariant
		fields = map[string]json.RawMessage{}
	}
	return fields, true
}

func writeTooLarge(w http.ResponseWriter, limit int64) {
	WriteError(w, http.StatusRequestEntityTooLarge, TypeInvalidRequest, "request_too_large", "",
		fmt.Sprintf("request body is larger than %d bytes", limit))
}

func (s *Server) maxBodySize() int64 {
	if s.cfg.MaxBodySize > 0 {
		return s.cfg.MaxBodySize
	}
	return DefaultMaxBodySize
}

// isNull reports an absent or JSON-null field.
func isNull(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) == 0 || bytes.Equal(v, []byte("null"))
}

// optStringField reads an optional string field (absent or null: "").
func optStringField(w http.ResponseWriter, fields map[string]json.RawMessage, name string) (string, bool) {
	v, ok := fields[name]
	if !ok || isNull(v) {
		return "", true
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		badRequest(w, name, name+" must be a string")
		return "", false
	}
	return s, true
}

// optBoolField reads an optional boolean field (absent or null: false).
func optBoolField(w http.ResponseWriter, fields map[string]json.RawMessage, name string) (bool, bool) {
	v, ok := fields[name]
	if !ok || isNull(v) {
		return false, true
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		badRequest(w, name, name+" must be a boolean")
		return false, false
	}
	return b, true
}

// encodeFields re-serialises the body. Values are the client's bytes
// (compacted, no HTML escaping); keys come out sorted.
func encodeFields(fields map[string]json.RawMessage) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(fields); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// ---- request IDs ----

// requestID returns the client's X-Request-Id if it is sane (1–128 bytes of
// [A-Za-z0-9._:-]), else a fresh random one, and echoes it on the response.
func requestID(w http.ResponseWriter, r *http.Request) string {
	id := strings.TrimSpace(r.Header.Get("X-Request-Id"))
	if !saneRequestID(id) {
		var b [16]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	w.Header().Set("X-Request-Id", id)
	return id
}

func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// ---- the upstream request ----

// clientOnlyHeaders are request headers that must not reach the router:
// the client's credentials, and anything naming a session that is not the
// one the gateway chose.
var clientOnlyHeaders = []string{
	"Authorization", "Proxy-Authorization", "Cookie", "X-Api-Key", "Api-Key",
	"Session_id", "Session-Id", "X-Session-Id", "Expect", "Content-Length",
}

// prepareUpstream builds the upstream request from the client's: POST to
// op.path, JSON body (re-creatable per attempt), Basic auth, x-request-id,
// Accept-Encoding identity (bodies must be classifiable), and the client's
// credentials removed. The session_id header is set per attempt.
func (s *Server) prepareUpstream(r *http.Request, op proxyOp, body []byte, rid string) *http.Request {
	up := r.Clone(r.Context())
	up.Method = http.MethodPost
	u := *r.URL
	u.Path, u.RawPath, u.RawQuery, u.Fragment = op.path, "", "", ""
	up.URL = &u
	up.RequestURI = op.path
	for _, h := range clientOnlyHeaders {
		up.Header.Del(h)
	}
	up.Header.Set("Content-Type", "application/json")
	up.Header.Set("Accept-Encoding", "identity")
	up.Header.Set("X-Request-Id", rid)
	if s.routerAuth != "" {
		up.Header.Set("Authorization", s.routerAuth)
	}
	up.Body = io.NopCloser(bytes.NewReader(body))
	up.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	up.ContentLength = int64(len(body))
	up.TransferEncoding = nil
	up.Close = false
	return up
}

// ---- the forward loop ----

// errUpstreamAborted stands for a panic(http.ErrAbortHandler) of Upstream:
// both Caddy's reverse_proxy and httputil.ReverseProxy abort that way when
// the body copy fails after the headers were written.
var errUpstreamAborted = errors.New("upstream response aborted")

// callUpstream runs Upstream, turning its abort panic into an error.
func (s *Server) callUpstream(w http.ResponseWriter, r *http.Request) (err error) {
	defer func() {
		if rec := recover(); rec != nil {
			if rec == http.ErrAbortHandler { //nolint:errorlint // sentinel panic value
				err = errUpstreamAborted
				return
			}
			panic(rec)
		}
	}()
	return s.cfg.Upstream(w, r)
}

// forward sends body to the router's op.path on sess and relays the answer,
// renewing the session and retrying once on "session expired" as long as
// nothing reached the client.
func (s *Server) forward(w http.ResponseWriter, r *http.Request, p Principal, op proxyOp, body []byte, rid string, sess upstreamSession) {
	ctx := r.Context()
	up := s.prepareUpstream(r, op, body, rid)
	orig := w.Header().Clone()
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			up.Body, _ = up.GetBody()
		}
		up.Header.Set("session_id", sess.id())
		aw := newAttemptWriter(w, orig, rid)
		err := s.callUpstream(aw, up)

		if aw.committed {
			s.finishCommitted(w, r, op, aw, err)
			return
		}
		if !aw.buffered {
			// Nothing was written: a transport failure (dial, timeout) or
			// a client that went away.
			if err == nil {
				err = errors.New("upstream wrote no response")
			}
			s.writeTransportError(w, r, op, err)
			return
		}
		re := chain.ClassifyResponse(op.name, aw.status, aw.hdr.Get("Content-Type"), aw.buf.Bytes())
		if re == nil { // cannot happen: only non-2xx is buffered
			re = &chain.RouterError{Op: op.name, Status: aw.status, Kind: chain.KindUnknown, Message: "unexpected upstream answer"}
		}
		if renewable(re.Kind) && attempt == 0 && ctx.Err() == nil && sess.renew != nil {
			old := sess.id()
			if rerr := sess.renew(chain.WithRequestID(ctx, rid)); rerr != nil {
				s.cfg.Logger.Warn("session renewal failed",
					zap.String("op", op.name), zap.Int64("api_key_id", p.APIKeyID), zap.String("request_id", rid), zap.Error(rerr))
				s.writeRenewError(w, r, rerr)
				return
			}
			s.cfg.Logger.Info("session expired upstream; renewed and retrying",
				zap.String("op", op.name), zap.Int64("api_key_id", p.APIKeyID), zap.String("request_id", rid),
				zap.String("old_session_id", old), zap.String("session_id", sess.id()))
			continue
		}
		s.cfg.Logger.Warn("upstream error",
			zap.String("op", op.name), zap.Int64("api_key_id", p.APIKeyID), zap.String("request_id", rid),
			zap.Int("status", re.Status), zap.Stringer("kind", re.Kind), zap.Int("attempt", attempt+1))
		writeUpstreamError(w, op, re, aw.hdr.Get("Retry-After"))
		return
	}
}

// finishCommitted completes a response whose headers reached the client.
func (s *Server) finishCommitted(w http.ResponseWriter, r *http.Request, op proxyOp, aw *attemptWriter, err error) {
	if aw.sse != nil {
		aw.sse.finish(r.Context(), err)
		if aw.sse.failure != "" {
			s.cfg.Logger.Warn("upstream stream failed after the first byte",
				zap.String("op", op.name), zap.String("request_id", aw.rid), zap.String("reason", aw.sse.failure))
		}
		return
	}
	if err != nil {
		// A JSON answer broke off: abort the connection so the client sees
		// a failed response, not a truncated one that looks complete.
		s.cfg.Logger.Warn("upstream response broke off", zap.String("op", op.name), zap.String("request_id", aw.rid), zap.Error(err))
		panic(http.ErrAbortHandler)
	}
}

// ---- the attempt writer ----

// attemptWriter is the ResponseWriter one Upstream attempt writes into.
// Before WriteHeader, Header() is a private copy of the response headers.
// WriteHeader with a non-2xx status buffers the attempt (bounded; nothing
// reaches the client); with a 2xx status it commits: the private headers
// replace the real ones and the body streams through — through an sseRelay
// for text/event-stream — with Flush passed on (http.Flusher, FlushError
// and Unwrap, so http.NewResponseController flushes reach the client).
type attemptWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	hdr http.Header
	rid string

	status    int
	buffered  bool
	committed bool
	buf       bytes.Buffer
	sse       *sseRelay
}

func newAttemptWriter(w http.ResponseWriter, orig http.Header, rid string) *attemptWriter {
	return &attemptWriter{w: w, rc: http.NewResponseController(w), hdr: orig.Clone(), rid: rid}
}

// Header returns the attempt's private headers until the response commits,
// the real ones after (so that trailers still work).
func (a *attemptWriter) Header() http.Header {
	if a.committed {
		return a.w.Header()
	}
	return a.hdr
}

func (a *attemptWriter) WriteHeader(code int) {
	if a.status != 0 || code < 200 {
		return // informational answers are not relayed; duplicates ignored
	}
	a.status = code
	if code >= 300 {
		a.buffered = true
		return
	}
	a.committed = true
	dst := a.w.Header()
	clear(dst)
	maps.Copy(dst, a.hdr)
	dst.Set("X-Request-Id", a.rid) // the router echoes it: one copy only
	if isEventStream(dst.Get("Content-Type")) {
		dst.Del("Content-Length")
		dst.Set("Cache-Control", "no-cache")
		dst.Set("X-Accel-Buffering", "no")
		a.sse = newSSERelay(a.w)
	}
	a.w.WriteHeader(code)
}

func (a *attemptWriter) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.WriteHeader(http.StatusOK)
	}
	switch {
	case a.buffered:
		if room := errBufferLimit - a.buf.Len(); room > 0 {
			a.buf.Write(b[:min(len(b), room)])
		}
		return len(b), nil
	case a.sse != nil:
		return a.sse.Write(b)
	}
	return a.w.Write(b)
}

// FlushError flushes committed, non-SSE bytes (the SSE relay flushes each
// event itself); it is a no-op while buffering.
func (a *attemptWriter) FlushError() error {
	if !a.committed || a.sse != nil {
		return nil
	}
	return a.rc.Flush()
}

// Flush implements http.Flusher.
func (a *attemptWriter) Flush() { _ = a.FlushError() }

// Unwrap gives http.NewResponseController access to the real writer for
// deadlines and the like.
func (a *attemptWriter) Unwrap() http.ResponseWriter { return a.w }

func isEventStream(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "text/event-stream"
}

// writeRenewError answers a failed renewal: the session manager's own errors
// keep their meaning (automation disabled is 400, an open of unknown outcome
// 504, a client gone 499 …); anything else is 503 session_renewal_failed.
func (s *Server) writeRenewError(w http.ResponseWriter, r *http.Request, err error) {
	var re *chain.RouterError
	var qf *session.QueueFullError
	if errors.As(err, &re) || errors.As(err, &qf) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, session.ErrAutomationDisabled) || errors.Is(err, session.ErrModelNotFound) ||
		errors.Is(err, session.ErrUnavailable) || errors.Is(err, session.ErrModelsUnavailable) || errors.Is(err, session.ErrSessionConflict) {
		s.writeAcquireError(w, r, err)
		return
	}
	WriteError(w, http.StatusServiceUnavailable, TypeUnavailable, "session_renewal_failed", "",
		"the session expired and a new one could not be opened; retry later")
}

// renewable reports the router answers after which the key's session is
// replaced and the request retried once (before anything reached the
// client): the session expired; the router does not know it (after an RPC
// failure, or it was never mined); or the router no longer knows its
// provider (it was restarted without persistent storage, spec
// proxy-router.md §7.13) — in the last two cases the session can never
// serve again through this router, and waiting for its expiry would fail
// every request until then.
func renewable(k chain.ErrorKind) bool {
	switch k {
	case chain.KindSessionExpired, chain.KindSessionNotFound, chain.KindProviderNotFound:
		return true
	}
	return false
}
