package chain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// This file is the proxy-router HTTP client core: configuration, the pooled
// transport, request construction (Basic auth, x-request-id), per-call
// timeouts, the single GET retry, bounded body reads and the mapping of
// transport failures to RouterError. The endpoint methods live in
// router_sessions.go, router_catalog.go and router_wallet.go.

// Default timeouts (spec Appendix A).
const (
	DefaultOpenTimeout    = 300 * time.Second // opens: handshake + up to two txs + a confirmation
	DefaultCloseTimeout   = 240 * time.Second
	DefaultApproveTimeout = 120 * time.Second // the router waits up to 1 min for mining
	DefaultReadTimeout    = 30 * time.Second
	DefaultUserAgent      = "caddy-morpheus"

	// MaxResponseBody bounds every response body read by the Router.
	MaxResponseBody = 4 << 20

	getRetryDelay = 200 * time.Millisecond
)

// RouterConfig configures a Router. Zero durations take the defaults above.
type RouterConfig struct {
	// BaseURL of the proxy-router's HTTP API (WEB_ADDRESS), e.g.
	// http://127.0.0.1:8082. A trailing slash is ignored; a path prefix is
	// kept (for a router behind a path-routing proxy). It must not contain
	// credentials, a query or a fragment.
	BaseURL string
	// Username and Password are the router's Basic auth credential
	// (COOKIE_CONTENT=admin:<pw>). Never logged, never in errors. Both are
	// required: the router rejects empty ones.
	Username, Password string
	// Transport is optional; by default one pooled *http.Transport is built
	// (keep-alive, MaxIdleConnsPerHost 64, dial timeout 10 s, no proxy from
	// the environment: the router is an internal service).
	Transport http.RoundTripper
	// OpenTimeout bounds session opens (default 300 s). A timed-out open
	// returns KindTimeout and its outcome is unknown.
	OpenTimeout time.Duration
	// CloseTimeout bounds session closes (default 240 s).
	CloseTimeout time.Duration
	// ApproveTimeout bounds POST /blockchain/approve (default 120 s).
	ApproveTimeout time.Duration
	// ReadTimeout bounds GETs: status, models, bids, wallet, health (default
	// 30 s), including the one retry.
	ReadTimeout time.Duration
	// UserAgent defaults to "caddy-morpheus".
	UserAgent string
}

// String redacts the password, so that %v of a config is safe to log.
func (c RouterConfig) String() string {
	return fmt.Sprintf("RouterConfig{BaseURL:%s Username:%q Password:[redacted] OpenTimeout:%s CloseTimeout:%s ApproveTimeout:%s ReadTimeout:%s}",
		redactURL(c.BaseURL), c.Username, c.OpenTimeout, c.CloseTimeout, c.ApproveTimeout, c.ReadTimeout)
}

// GoString redacts the password for %#v.
func (c RouterConfig) GoString() string { return "chain." + c.String() }

// Router is the proxy-router HTTP client: the gateway's control plane for
// sessions, models, bids and the router wallet. It is safe for concurrent
// use and holds no mutable state after NewRouter.
//
// Every method returns a *RouterError on failure (see ErrorKind). Opens,
// closes and approvals are never retried automatically (they are not
// idempotent; a nonce race is for the caller to serialise, spec §7.2). GETs
// are retried once after a transport error. No request carries a session_id
// header or a private key.
type Router struct {
	base     *url.URL
	prefix   string // base URL without trailing slash; paths are appended
	username string
	password string
	client   *http.Client
	ua       string

	openTimeout, closeTimeout, approveTimeout, readTimeout time.Duration
}

// NewRouter validates cfg and builds a Router. Errors describe the problem
// without echoing credentials.
func NewRouter(cfg RouterConfig) (*Router, error) {
	u, err := url.Parse(strings.TrimSpace(cfg.BaseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("chain: router BaseURL must be an absolute http(s) URL")
	}
	if u.User != nil {
		return nil, errors.New("chain: router BaseURL must not contain credentials; use Username and Password")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("chain: router BaseURL must not contain a query or fragment")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	if cfg.Username == "" || cfg.Password == "" {
		return nil, errors.New("chain: router Username and Password are required (Basic auth)")
	}
	if strings.Contains(cfg.Username, ":") {
		return nil, errors.New("chain: router Username must not contain ':'")
	}
	r := &Router{
		base:           u,
		prefix:         u.String(),
		username:       cfg.Username,
		password:       cfg.Password,
		ua:             cfg.UserAgent,
		openTimeout:    cfg.OpenTimeout,
		closeTimeout:   cfg.CloseTimeout,
		approveTimeout: cfg.ApproveTimeout,
		readTimeout:    cfg.ReadTimeout,
	}
	for _, d := range []*struct {
		v   *time.Duration
		def time.Duration
	}{{&r.openTimeout, DefaultOpenTimeout}, {&r.closeTimeout, DefaultCloseTimeout},
		{&r.approveTimeout, DefaultApproveTimeout}, {&r.readTimeout, DefaultReadTimeout}} {
		if *d.v < 0 {
			return nil, errors.New("chain: router timeouts must not be negative")
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if r.ua == "" {
		r.ua = DefaultUserAgent
	}
	t := cfg.Transport
	if t == nil {
		t = NewRouterTransport()
	}
	r.client = &http.Client{
		Transport: t,
		// The router never redirects; following one would be a surprise
		// (and could carry the Basic credential elsewhere).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return r, nil
}

// NewRouterTransport returns the default pooled transport: HTTP/1.1
// keep-alive, MaxIdleConnsPerHost 64, 10 s dial timeout, no environment
// proxy. No response-header or idle-read timeouts: opens legitimately take
// minutes, and per-call contexts bound every request.
func NewRouterTransport() *http.Transport {
	return &http.Transport{
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          128,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// BaseURL returns a copy of the router's base URL (no trailing slash).
func (r *Router) BaseURL() *url.URL {
	u := *r.base
	return &u
}

// String identifies the router without credentials.
func (r *Router) String() string { return "chain.Router{" + r.prefix + "}" }

// ---- request IDs ----

type requestIDKey struct{}

// WithRequestID returns a context whose Router calls send id as the
// x-request-id header (honoured by routers since v5.13 and echoed in their
// logs). IDs with control characters or longer than 128 bytes are not sent.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom returns the ID stored by WithRequestID, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// ---- calls ----

// call describes one HTTP exchange with the router.
type call struct {
	op      string
	method  string
	path    string     // escaped, starting with "/"
	query   url.Values // optional
	body    any        // JSON-encoded when non-nil
	noAuth  bool       // only GET /healthcheck
	timeout time.Duration
	retry   bool // idempotent: retry once after a transport error
}

// response is a fully read router response.
type response struct {
	status      int
	contentType string
	body        []byte
}

// do performs c and returns the response whatever its status. Transport
// failures, timeouts and oversize bodies come back as *RouterError.
func (r *Router) do(ctx context.Context, c call) (response, *RouterError) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	var payload []byte
	if c.body != nil {
		var err error
		if payload, err = json.Marshal(c.body); err != nil {
			return response{}, newLocalError(c.op, KindBadRequest, "cannot encode request body")
		}
	}
	target := r.prefix + c.path
	if len(c.query) > 0 {
		target += "?" + c.query.Encode()
	}
	for attempt := 0; ; attempt++ {
		resp, rerr := r.once(ctx, c, target, payload)
		if rerr == nil {
			return resp, nil
		}
		if !c.retry || attempt > 0 || rerr.Kind != KindUnreachable || ctx.Err() != nil {
			return response{}, rerr
		}
		t := time.NewTimer(getRetryDelay)
		select {
		case <-ctx.Done():
			t.Stop()
			return response{}, r.transportError(ctx, c.op, ctx.Err())
		case <-t.C:
		}
	}
}

func (r *Router) once(ctx context.Context, c call, target string, payload []byte) (response, *RouterError) {
	var body io.Reader = http.NoBody
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, target, body)
	if err != nil {
		return response{}, newLocalError(c.op, KindBadRequest, "cannot build request")
	}
	if !c.noAuth {
		req.SetBasicAuth(r.username, r.password)
	}
	req.Header.Set("User-Agent", r.ua)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if id := RequestIDFrom(ctx); validRequestID(id) {
		req.Header.Set("X-Request-Id", id)
	}
	res, err := r.client.Do(req)
	if err != nil {
		return response{}, r.transportError(ctx, c.op, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, MaxResponseBody+1))
	if err != nil {
		rerr := r.transportError(ctx, c.op, err)
		rerr.Status = 0
		return response{}, rerr
	}
	if len(data) > MaxResponseBody {
		return response{}, &RouterError{Op: c.op, Status: res.StatusCode, Kind: KindUnknown,
			Message: fmt.Sprintf("proxy-router response exceeds %d bytes", MaxResponseBody)}
	}
	return response{status: res.StatusCode, contentType: res.Header.Get("Content-Type"), body: data}, nil
}

// transportError maps a client.Do or body-read error to a RouterError whose
// message names the failure class only: the underlying error text contains
// the router's URL and address and is not kept.
func (r *Router) transportError(ctx context.Context, op string, err error) *RouterError {
	e := &RouterError{Op: op, sent: !isDialError(err)}
	if kind, cause, ok := contextKind(ctx.Err()); ok {
		e.Kind, e.cause = kind, cause
	} else if kind, cause, ok := contextKind(err); ok {
		e.Kind, e.cause = kind, cause
	}
	switch e.Kind {
	case KindTimeout:
		e.Message = "proxy-router did not answer in time"
		if op == opOpenSession {
			e.Message += "; the session may still be opened (outcome unknown)"
		}
		return e
	case KindCanceled:
		e.Message = "request to proxy-router canceled"
		return e
	}
	e.Kind = KindUnreachable
	var nerr net.Error
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		e.Message = "proxy-router unreachable: host lookup failed"
	case errors.Is(err, syscall.ECONNREFUSED):
		e.Message = "proxy-router unreachable: connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		e.Message = "proxy-router connection reset"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		e.Message = "proxy-router closed the connection without a complete response"
	case errors.As(err, &nerr) && nerr.Timeout():
		if e.sent {
			e.Kind = KindTimeout
			e.Message = "proxy-router did not answer in time"
		} else {
			e.Message = "proxy-router unreachable: connect timed out"
		}
	default:
		e.Message = "proxy-router unreachable: connection failed"
	}
	return e
}

// isDialError reports failures that happened before a connection existed,
// so the request certainly did not reach the router. Anything else
// (reset, EOF, timeouts after connecting) may have been acted on.
func isDialError(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// callJSON performs c, classifies a non-2xx response, and decodes a 2xx
// body into out (when out is non-nil). The response is returned for error
// context.
func (r *Router) callJSON(ctx context.Context, c call, out any) (response, *RouterError) {
	resp, rerr := r.do(ctx, c)
	if rerr != nil {
		return resp, rerr
	}
	if e := ClassifyResponse(c.op, resp.status, resp.contentType, resp.body); e != nil {
		return resp, e
	}
	if out != nil {
		if err := decodeJSON(resp.body, out); err != nil {
			return resp, malformed(c.op, resp, err)
		}
	}
	return resp, nil
}

// decodeJSON unmarshals a router response body.
func decodeJSON(body []byte, out any) error {
	return json.Unmarshal(body, out)
}

// malformed reports a 2xx body that did not decode. For opens this means
// the session probably exists but its ID is unknown (OutcomeUnknown).
func malformed(op string, resp response, err error) *RouterError {
	msg := "malformed response from proxy-router"
	var jerr *json.UnmarshalTypeError
	if errors.As(err, &jerr) && jerr.Field != "" {
		msg += " (field " + jerr.Field + ")"
	} else if err != nil && !strings.Contains(err.Error(), "://") {
		msg += ": " + Sanitize(err.Error())
	}
	return &RouterError{Op: op, Status: resp.status, Kind: KindUnknown, Message: msg,
		raw: truncateBytes(resp.body, maxDebugBody)}
}

// redactURL strips userinfo, query and fragment from a configured URL for
// display.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "[invalid URL]"
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}
