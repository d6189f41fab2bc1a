// Command caddy is Caddy with its standard modules and the morpheus plugin,
// so that `go run ./cmd/caddy run --config Caddyfile.example` works without
// xcaddy. Versions are exactly those pinned in go.mod.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/morpheus-gateway/caddy-morpheus"
)

func main() {
	caddycmd.Main()
}
