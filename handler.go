package morpheus

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/morpheus-gateway/caddy-morpheus/handlers"
)

// Handler is the `morpheus` HTTP handler: it serves the gateway's API under
// its prefix and passes every other request to the next handler, so it can
// be added to an existing site.
//
// It uses the `morpheus` app; when the app is not configured with the
// global option, it is started with its defaults (embedded SQLite store,
// proxy-router at http://127.0.0.1:8082).
type Handler struct {
	// The path under which the API is served. Default: `/api/v1`; `/`
	// serves the API at the root of the site.
	Prefix string `json:"prefix,omitempty"`

	api      *handlers.Server
	upstream *upstream
}

// DefaultPrefix is the path under which the API is served by default.
const DefaultPrefix = "/api/v1"

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.morpheus",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision finds the morpheus app and builds the API's router.
func (h *Handler) Provision(ctx caddy.Context) error {
	if h.Prefix == "" {
		h.Prefix = DefaultPrefix
	}
	h.Prefix = strings.TrimSuffix(h.Prefix, "/")
	appIface, err := ctx.App("morpheus")
	if err != nil {
		return fmt.Errorf("loading the morpheus app: %w", err)
	}
	app := appIface.(*App)
	h.upstream, err = newUpstream(ctx, app.secrets.routerURL)
	if err != nil {
		return err
	}
	cfg := app.apiConfig(h.Prefix, ctx.Logger())
	cfg.Upstream = h.upstream.serve
	h.api = handlers.New(cfg)
	return nil
}

// Cleanup releases the embedded proxy to the router.
func (h *Handler) Cleanup() error { return h.upstream.cleanup() }

// Validate checks the handler's configuration.
func (h *Handler) Validate() error {
	if h.Prefix != "" && !strings.HasPrefix(h.Prefix, "/") {
		return fmt.Errorf("prefix: %q must start with /", h.Prefix)
	}
	return nil
}

// ServeHTTP serves requests under the prefix and passes the rest on.
func (h Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if !h.api.Owns(r.URL.Path) {
		return next.ServeHTTP(w, r)
	}
	h.api.ServeHTTP(w, r)
	return nil
}

// clientIP is the client's address as Caddy determined it, honouring the
// server's trusted_proxies.
func clientIP(r *http.Request) string {
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok && ip != "" {
		return ip
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// setAuthUser fills the http.auth.user.id placeholder, which Caddy's access
// log records as user_id.
func setAuthUser(r *http.Request, p handlers.Principal) {
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Set("http.auth.user.id", strconv.FormatInt(p.UserID, 10))
	}
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
