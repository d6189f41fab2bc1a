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
	"runtime/debug"

	"github.com/caddyserver/caddy/v2"
)

func init() {
	caddy.RegisterModule(App{})
	caddy.RegisterModule(Handler{})
}

// moduleVersion is this plugin's version as the Go build recorded it (the
// module version when built with xcaddy from a tag, "(devel)" from a
// checkout).
func moduleVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if info.Main.Path == modulePath {
		return info.Main.Version
	}
	for _, d := range info.Deps {
		if d.Path == modulePath {
			return d.Version
		}
	}
	return "unknown"
}

// modulePath is this plugin's Go module.
const modulePath = "github.com/morpheus-gateway/caddy-morpheus"
