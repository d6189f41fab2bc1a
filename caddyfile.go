package morpheus

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("morpheus", parseGlobalOption)
	httpcaddyfile.RegisterHandlerDirective("morpheus", parseHandlerDirective)
	httpcaddyfile.RegisterDirectiveOrder("morpheus", httpcaddyfile.Before, "reverse_proxy")
}

// parseGlobalOption sets up the morpheus app from the global option block.
func parseGlobalOption(d *caddyfile.Dispenser, existing any) (any, error) {
	if existing != nil {
		return nil, d.Err("the morpheus global option may appear only once")
	}
	app := new(App)
	if err := app.UnmarshalCaddyfile(d); err != nil {
		return nil, err
	}
	return httpcaddyfile.App{Name: "morpheus", Value: caddyconfig.JSON(app, nil)}, nil
}

// UnmarshalCaddyfile sets up the app from Caddyfile tokens. Syntax:
//
//	morpheus {
//		database_url <postgres://…|sqlite:<path>> {
//			max_conns      <n>
//			min_conns      <n>
//			statement_mode <cache_statement|cache_describe|describe_exec|exec|simple_protocol>
//		}
//		jwt_secret           <secret>
//		encryption_key       <32 bytes as hex or base64>
//		fallback_private_key <hex>
//		router <url> {
//			username <user>
//			password <password>
//		}
//		access_token_ttl         <duration>
//		refresh_token_ttl        <duration>
//		legacy_encryption_secret <secret>
//		default_session_duration <duration>
//		delegation {
//			delegate_address   <0x address>
//			chain_id           <id>
//			delegation_manager <0x address>
//		}
//		key_cache {
//			max_keys     <n>
//			ttl          <duration>
//			negative_ttl <duration>
//		}
//		rate_limit <login|register> <events> <window>
//		default_model    <name|0x id>
//		models_url       <url>
//		cleanup_interval <duration>
//		queue_size       <n>
//		max_body_size    <size>
//		chain {
//			rpc_url <url>
//			diamond <0x address>
//		}
//	}
//
// Write secrets as {env.NAME} placeholders: they are expanded when the
// config is loaded, never stored in the adapted JSON.
func (a *App) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume option name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "database_url":
			if !d.NextArg() {
				return d.ArgErr()
			}
			a.DatabaseURL = d.Val()
			if d.NextArg() {
				return d.ArgErr()
			}
			if err := a.unmarshalDatabaseBlock(d); err != nil {
				return err
			}
		case "jwt_secret":
			if err := singleArg(d, &a.JWTSecret); err != nil {
				return err
			}
		case "encryption_key":
			if err := singleArg(d, &a.EncryptionKey); err != nil {
				return err
			}
		case "fallback_private_key":
			if err := singleArg(d, &a.FallbackPrivateKey); err != nil {
				return err
			}
		case "router":
			if a.Router != nil {
				return d.Err("router may be given only once")
			}
			a.Router = new(RouterConfig)
			if d.NextArg() {
				a.Router.URL = d.Val()
			}
			if d.NextArg() {
				return d.ArgErr()
			}
			for nesting := d.Nesting(); d.NextBlock(nesting); {
				switch d.Val() {
				case "username":
					if err := singleArg(d, &a.Router.Username); err != nil {
						return err
					}
				case "password":
					if err := singleArg(d, &a.Router.Password); err != nil {
						return err
					}
				default:
					return d.Errf("unrecognized router subdirective %q", d.Val())
				}
			}
		case "access_token_ttl":
			if err := durationArg(d, &a.AccessTokenTTL); err != nil {
				return err
			}
		case "refresh_token_ttl":
			if err := durationArg(d, &a.RefreshTokenTTL); err != nil {
				return err
			}
		case "default_session_duration":
			if err := durationArg(d, &a.DefaultSessionDuration); err != nil {
				return err
			}
		case "legacy_encryption_secret":
			if err := singleArg(d, &a.LegacyEncryptionSecret); err != nil {
				return err
			}
		case "delegation":
			if err := a.unmarshalDelegation(d); err != nil {
				return err
			}
		case "key_cache":
			if err := a.unmarshalKeyCache(d); err != nil {
				return err
			}
		case "rate_limit":
			if err := a.unmarshalRateLimit(d); err != nil {
				return err
			}
		case "default_model":
			if err := singleArg(d, &a.DefaultModel); err != nil {
				return err
			}
		case "models_url":
			if err := singleArg(d, &a.ModelsURL); err != nil {
				return err
			}
		case "cleanup_interval":
			if err := durationArg(d, &a.CleanupInterval); err != nil {
				return err
			}
		case "queue_size":
			var s string
			if err := singleArg(d, &s); err != nil {
				return err
			}
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				return d.Errf("queue_size: %q is not a positive integer", s)
			}
			a.QueueSize = n
		case "max_body_size":
			var s string
			if err := singleArg(d, &s); err != nil {
				return err
			}
			n, err := humanize.ParseBytes(s)
			if err != nil || n == 0 || n > 1<<40 {
				return d.Errf("max_body_size: %q is not a size such as 10MB", s)
			}
			a.MaxBodySize = int64(n)
		case "chain":
			if d.NextArg() {
				return d.ArgErr()
			}
			a.Chain = new(ChainConfig)
			for nesting := d.Nesting(); d.NextBlock(nesting); {
				switch d.Val() {
				case "rpc_url":
					if err := singleArg(d, &a.Chain.RPCURL); err != nil {
						return err
					}
				case "diamond":
					if err := singleArg(d, &a.Chain.Diamond); err != nil {
						return err
					}
				default:
					return d.Errf("unrecognized chain subdirective %q", d.Val())
				}
			}
		default:
			return d.Errf("unrecognized morpheus option %q", d.Val())
		}
	}
	return nil
}

// unmarshalDelegation reads the delegation block.
func (a *App) unmarshalDelegation(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	a.Delegation = new(DelegationConfig)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch d.Val() {
		case "delegate_address":
			if err := singleArg(d, &a.Delegation.DelegateAddress); err != nil {
				return err
			}
		case "delegation_manager":
			if err := singleArg(d, &a.Delegation.DelegationManager); err != nil {
				return err
			}
		case "chain_id":
			var s string
			if err := singleArg(d, &s); err != nil {
				return err
			}
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil || id <= 0 {
				return d.Errf("chain_id: %q is not a positive integer", s)
			}
			a.Delegation.ChainID = id
		default:
			return d.Errf("unrecognized delegation subdirective %q", d.Val())
		}
	}
	return nil
}

// unmarshalKeyCache reads the key_cache block.
func (a *App) unmarshalKeyCache(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	a.KeyCache = new(KeyCacheConfig)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch d.Val() {
		case "max_keys":
			var s string
			if err := singleArg(d, &s); err != nil {
				return err
			}
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 1 {
				return d.Errf("max_keys: %q is not a positive integer", s)
			}
			a.KeyCache.MaxKeys = n
		case "ttl":
			if err := durationArg(d, &a.KeyCache.TTL); err != nil {
				return err
			}
		case "negative_ttl":
			if err := durationArg(d, &a.KeyCache.NegativeTTL); err != nil {
				return err
			}
		default:
			return d.Errf("unrecognized key_cache subdirective %q", d.Val())
		}
	}
	return nil
}

// unmarshalRateLimit reads `rate_limit <login|register> <events> <window>`.
func (a *App) unmarshalRateLimit(d *caddyfile.Dispenser) error {
	var which, events, window string
	if !d.Args(&which, &events, &window) || d.NextArg() {
		return d.ArgErr()
	}
	n, err := strconv.Atoi(events)
	if err != nil || n < 1 {
		return d.Errf("rate_limit: events %q is not a positive integer", events)
	}
	w, err := caddy.ParseDuration(window)
	if err != nil || w <= 0 {
		return d.Errf("rate_limit: window %q is not a positive duration", window)
	}
	rl := &RateLimitConfig{Events: n, Window: caddy.Duration(w)}
	switch which {
	case "login":
		a.LoginRateLimit = rl
	case "register":
		a.RegisterRateLimit = rl
	default:
		return d.Errf("rate_limit: %q is not login or register", which)
	}
	return nil
}

// durationArg reads exactly one positive duration (Caddy syntax, so `7d`
// works) into dst.
func durationArg(d *caddyfile.Dispenser, dst *caddy.Duration) error {
	name := d.Val()
	var s string
	if err := singleArg(d, &s); err != nil {
		return err
	}
	v, err := caddy.ParseDuration(s)
	if err != nil || v <= 0 {
		return d.Errf("%s: %q is not a positive duration", name, s)
	}
	*dst = caddy.Duration(v)
	return nil
}

// unmarshalDatabaseBlock reads the optional block after database_url.
func (a *App) unmarshalDatabaseBlock(d *caddyfile.Dispenser) error {
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch d.Val() {
		case "max_conns", "min_conns":
			name := d.Val()
			var s string
			if err := singleArg(d, &s); err != nil {
				return err
			}
			least := int64(0)
			if name == "max_conns" {
				least = 1
			}
			n, err := strconv.ParseInt(s, 10, 32)
			if err != nil || n < least {
				return d.Errf("%s: %q is not a valid connection count", name, s)
			}
			if name == "max_conns" {
				a.DatabaseMaxConns = int32(n)
			} else {
				a.DatabaseMinConns = int32(n)
			}
		case "statement_mode":
			if err := singleArg(d, &a.DatabaseStatementMode); err != nil {
				return err
			}
		default:
			return d.Errf("unrecognized database_url subdirective %q", d.Val())
		}
	}
	return nil
}

// singleArg reads exactly one argument into dst.
func singleArg(d *caddyfile.Dispenser, dst *string) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	*dst = d.Val()
	if d.NextArg() {
		return d.ArgErr()
	}
	return nil
}

// parseHandlerDirective sets up the handler from the `morpheus` directive.
func parseHandlerDirective(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	morpheus [<matcher>] {
//		prefix <path>
//	}
//
// The API is served under prefix (default /api/v1); every other request is
// passed to the next handler.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "prefix":
			if err := singleArg(d, &h.Prefix); err != nil {
				return err
			}
		default:
			return d.Errf("unrecognized morpheus subdirective %q", d.Val())
		}
	}
	return nil
}

// Interface guards
var (
	_ caddyfile.Unmarshaler = (*App)(nil)
	_ caddyfile.Unmarshaler = (*Handler)(nil)
)
