// Package morpheus is a Caddy v2 plugin: an OpenAI-compatible API gateway for
// the Morpheus decentralized AI network.
//
// It registers two modules:
//
//   - the app "morpheus" (Caddyfile global option `morpheus`), which owns the
//     configuration, the store, the caches, the proxy-router client and the
//     background work;
//   - the HTTP handler "http.handlers.morpheus" (Caddyfile directive
//     `morpheus`), which serves the API under its prefix (default /api/v1)
//     and passes every other request to the next handler.
package morpheus

import (
	"github.com/caddyserver/caddy/v2"
)

func init() {
	caddy.RegisterModule(App{})
	caddy.RegisterModule(Handler{})
}
