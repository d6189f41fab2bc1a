package morpheus

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

// upstream is the embedded Caddy reverse_proxy that carries chat
// completions and embeddings to the proxy-router: a keep-alive connection
// pool and the router's generous time to first byte.
//
// Flushing: reverse_proxy already flushes every write of a text/event-stream
// or unknown-length response at once, and the SSE relay in handlers flushes
// each event, so each SSE event reaches the client as the router sends it.
// The flush interval is left at its default on purpose: `flush_interval -1`
// only adds a separate header write (a syscall) to every non-streaming
// answer, which cost 12 % of throughput in BENCHMARKS.md and bought nothing.
type upstream struct {
	rp       *reverseproxy.Handler
	basePath string
}

// Timeouts of the data plane (spec proxy-router.md Appendix A): a slow but
// alive provider may take minutes before the first token.
const (
	upstreamDialTimeout           = 10 * time.Second
	upstreamResponseHeaderTimeout = 300 * time.Second
	upstreamMaxIdleConnsPerHost   = 256
)

// newUpstream provisions the reverse proxy for the router at base.
func newUpstream(ctx caddy.Context, base *url.URL) (*upstream, error) {
	transport := reverseproxy.HTTPTransport{
		DialTimeout:           caddy.Duration(upstreamDialTimeout),
		ResponseHeaderTimeout: caddy.Duration(upstreamResponseHeaderTimeout),
		KeepAlive: &reverseproxy.KeepAlive{
			MaxIdleConnsPerHost: upstreamMaxIdleConnsPerHost,
		},
	}
	if base.Scheme == "https" {
		transport.TLS = &reverseproxy.TLSConfig{}
	}
	rp := &reverseproxy.Handler{
		TransportRaw: caddyconfig.JSONModuleObject(transport, "protocol", "http", nil),
		Upstreams:    reverseproxy.UpstreamPool{{Dial: dialAddress(base)}},
	}
	if err := rp.Provision(ctx); err != nil {
		return nil, fmt.Errorf("provisioning the proxy to the router: %w", err)
	}
	return &upstream{rp: rp, basePath: strings.TrimSuffix(base.Path, "/")}, nil
}

// dialAddress is host:port of the router's base URL.
func dialAddress(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	if u.Scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// serve sends the prepared request (path relative to the router's base
// URL) to the router and streams the answer to w.
func (u *upstream) serve(w http.ResponseWriter, r *http.Request) error {
	if u.basePath != "" {
		// A copy: the caller sends the same request again after a renewal.
		r2 := new(http.Request)
		*r2 = *r
		u2 := *r.URL
		u2.Path = u.basePath + r.URL.Path
		u2.RawPath = ""
		r2.URL = &u2
		r = r2
	}
	return u.rp.ServeHTTP(w, r, caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil }))
}

// cleanup releases the proxy's resources.
func (u *upstream) cleanup() error {
	if u == nil {
		return nil
	}
	return u.rp.Cleanup()
}
