package morpheus

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func adapt(t *testing.T, src string) (map[string]any, error) {
	t.Helper()
	adapter := caddyconfig.GetAdapter("caddyfile")
	out, _, err := adapter.Adapt([]byte(src), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		return nil, err
	}
	var cfg map[string]any
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatalf("adapted JSON does not parse: %v", err)
	}
	return cfg, nil
}

func TestGlobalOptionAdaptsToApp(t *testing.T) {
	cfg, err := adapt(t, `{
	morpheus {
		database_url {env.MORPHEUS_DATABASE_URL} {
			max_conns 20
			min_conns 2
			statement_mode simple_protocol
		}
		jwt_secret {env.MORPHEUS_JWT_SECRET}
		encryption_key {env.MORPHEUS_ENCRYPTION_KEY}
		fallback_private_key {env.FALLBACK_PRIVATE_KEY}
		router http://127.0.0.1:8082 {
			username {env.PROXY_ROUTER_USERNAME}
			password {env.PROXY_ROUTER_PASSWORD}
		}
	}
}
example.com {
	morpheus {
		prefix /v1
	}
}`)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(cfg["apps"].(map[string]any)["morpheus"])
	var app App
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&app); err != nil {
		t.Fatalf("apps.morpheus does not decode strictly into App: %v\n%s", err, raw)
	}
	want := App{
		DatabaseURL:           "{env.MORPHEUS_DATABASE_URL}",
		DatabaseMaxConns:      20,
		DatabaseMinConns:      2,
		DatabaseStatementMode: "simple_protocol",
		JWTSecret:             "{env.MORPHEUS_JWT_SECRET}",
		EncryptionKey:         "{env.MORPHEUS_ENCRYPTION_KEY}",
		FallbackPrivateKey:    "{env.FALLBACK_PRIVATE_KEY}",
		Router: &RouterConfig{
			URL:      "http://127.0.0.1:8082",
			Username: "{env.PROXY_ROUTER_USERNAME}",
			Password: "{env.PROXY_ROUTER_PASSWORD}",
		},
	}
	if app.DatabaseURL != want.DatabaseURL || app.DatabaseMaxConns != want.DatabaseMaxConns ||
		app.DatabaseMinConns != want.DatabaseMinConns || app.DatabaseStatementMode != want.DatabaseStatementMode ||
		app.JWTSecret != want.JWTSecret || app.EncryptionKey != want.EncryptionKey ||
		app.FallbackPrivateKey != want.FallbackPrivateKey || app.Router == nil || *app.Router != *want.Router {
		t.Errorf("apps.morpheus = %s", raw)
	}
	// Placeholders stay placeholders: secrets never land in the JSON.
	if !strings.Contains(string(raw), "{env.MORPHEUS_JWT_SECRET}") {
		t.Errorf("jwt_secret placeholder was expanded at adapt time: %s", raw)
	}
	if !strings.Contains(mustJSON(t, cfg), `"handler":"morpheus","prefix":"/v1"`) {
		t.Errorf("handler JSON missing prefix: %s", mustJSON(t, cfg))
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCaddyfileErrorsNameFileAndLine(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"unknown app option", "{\n\tmorpheus {\n\t\tdatabse_url x\n\t}\n}\n:80 {\n\tmorpheus\n}", `unrecognized morpheus option "databse_url", at Caddyfile:3`},
		{"unknown router option", "{\n\tmorpheus {\n\t\trouter http://x {\n\t\t\tuser u\n\t\t}\n\t}\n}", `unrecognized router subdirective "user", at Caddyfile:4`},
		{"unknown database option", "{\n\tmorpheus {\n\t\tdatabase_url postgres://x {\n\t\t\tpool 3\n\t\t}\n\t}\n}", `unrecognized database_url subdirective "pool", at Caddyfile:4`},
		{"bad max_conns", "{\n\tmorpheus {\n\t\tdatabase_url postgres://x {\n\t\t\tmax_conns 0\n\t\t}\n\t}\n}", `max_conns: "0" is not a valid connection count, at Caddyfile:4`},
		{"missing argument", "{\n\tmorpheus {\n\t\tjwt_secret\n\t}\n}", `Caddyfile:3`},
		{"extra argument", "{\n\tmorpheus {\n\t\tjwt_secret a b\n\t}\n}", `Caddyfile:3`},
		{"twice", "{\n\tmorpheus\n\tmorpheus\n}", `only once`},
		{"unknown handler option", ":80 {\n\tmorpheus {\n\t\tprefx /v1\n\t}\n}", `unrecognized morpheus subdirective "prefx", at Caddyfile:3`},
		{"handler argument", ":80 {\n\tmorpheus /v1 extra\n}", `Caddyfile:2`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := adapt(t, tc.src)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestHandlerUnmarshal(t *testing.T) {
	var h Handler
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("morpheus")); err != nil {
		t.Fatal(err)
	}
	if h.Prefix != "" {
		t.Errorf("prefix = %q, want empty (default applied in Provision)", h.Prefix)
	}
	h = Handler{}
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("morpheus {\n prefix /gw\n}")); err != nil {
		t.Fatal(err)
	}
	if h.Prefix != "/gw" {
		t.Errorf("prefix = %q", h.Prefix)
	}
}

func TestDirectiveOrderedBeforeReverseProxy(t *testing.T) {
	cfg, err := adapt(t, ":80 {\n\treverse_proxy 127.0.0.1:9\n\tmorpheus\n}")
	if err != nil {
		t.Fatal(err)
	}
	s := mustJSON(t, cfg)
	m, rp := strings.Index(s, `"handler":"morpheus"`), strings.Index(s, `"handler":"reverse_proxy"`)
	if m < 0 || rp < 0 || m > rp {
		t.Fatalf("morpheus (at %d) must come before reverse_proxy (at %d): %s", m, rp, s)
	}
}

func TestAccountOptionsAdapt(t *testing.T) {
	cfg, err := adapt(t, `{
	morpheus {
		access_token_ttl 15m
		refresh_token_ttl 2d
		legacy_encryption_secret {env.MASTER_ENCRYPTION_KEY}
		default_session_duration 30m
		delegation {
			delegate_address 0x1111111111111111111111111111111111111111
			chain_id 42161
			delegation_manager 0x2222222222222222222222222222222222222222
		}
		key_cache {
			max_keys 5000
			ttl 1m
			negative_ttl 5s
		}
		rate_limit login 3 10s
		rate_limit register 1 1h
		default_model llama-3.3-70b
		models_url https://active.mor.org/active_models.json
		cleanup_interval 5m
		queue_size 4
		max_body_size 2MB
		chain {
			rpc_url {env.MORPHEUS_RPC_URL}
			diamond 0xb8C55cD613af947E73E262F0d3C54b7211Af16CF
		}
	}
}`)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(cfg["apps"].(map[string]any)["morpheus"])
	var app App
	if err := caddy.StrictUnmarshalJSON(raw, &app); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	if app.AccessTokenTTL != caddy.Duration(15*time.Minute) || app.RefreshTokenTTL != caddy.Duration(48*time.Hour) ||
		app.DefaultSessionDuration != caddy.Duration(30*time.Minute) || app.LegacyEncryptionSecret != "{env.MASTER_ENCRYPTION_KEY}" {
		t.Errorf("durations/secrets: %s", raw)
	}
	if d := app.Delegation; d == nil || d.ChainID != 42161 || d.DelegateAddress != "0x1111111111111111111111111111111111111111" ||
		d.DelegationManager != "0x2222222222222222222222222222222222222222" {
		t.Errorf("delegation: %s", raw)
	}
	if k := app.KeyCache; k == nil || k.MaxKeys != 5000 || k.TTL != caddy.Duration(time.Minute) || k.NegativeTTL != caddy.Duration(5*time.Second) {
		t.Errorf("key_cache: %s", raw)
	}
	if app.DefaultModel != "llama-3.3-70b" || app.ModelsURL != "https://active.mor.org/active_models.json" ||
		app.CleanupInterval != caddy.Duration(5*time.Minute) || app.QueueSize != 4 || app.MaxBodySize != 2_000_000 ||
		app.Chain == nil || app.Chain.RPCURL != "{env.MORPHEUS_RPC_URL}" || app.Chain.Diamond != "0xb8C55cD613af947E73E262F0d3C54b7211Af16CF" {
		t.Errorf("session options: %s", raw)
	}
	if l := app.LoginRateLimit; l == nil || l.Events != 3 || l.Window != caddy.Duration(10*time.Second) {
		t.Errorf("login rate limit: %s", raw)
	}
	if r := app.RegisterRateLimit; r == nil || r.Events != 1 || r.Window != caddy.Duration(time.Hour) {
		t.Errorf("register rate limit: %s", raw)
	}

	for src, want := range map[string]string{
		"{\n\tmorpheus {\n\t\trate_limit chat 1 1m\n\t}\n}":                    `"chat" is not login or register, at Caddyfile:3`,
		"{\n\tmorpheus {\n\t\trate_limit login 0 1m\n\t}\n}":                   `Caddyfile:3`,
		"{\n\tmorpheus {\n\t\taccess_token_ttl soon\n\t}\n}":                   `access_token_ttl: "soon" is not a positive duration, at Caddyfile:3`,
		"{\n\tmorpheus {\n\t\tdelegation {\n\t\t\tchain_id -1\n\t\t}\n\t}\n}":  `chain_id: "-1" is not a positive integer, at Caddyfile:4`,
		"{\n\tmorpheus {\n\t\tkey_cache {\n\t\t\tsize 1\n\t\t}\n\t}\n}":        `unrecognized key_cache subdirective "size", at Caddyfile:4`,
		"{\n\tmorpheus {\n\t\tdelegation {\n\t\t\tdelegate 0x1\n\t\t}\n\t}\n}": `unrecognized delegation subdirective "delegate", at Caddyfile:4`,
	} {
		if _, err := adapt(t, src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error = %v, want %q", src, err, want)
		}
	}
}

func TestAppRejectsBadDelegationAndDurations(t *testing.T) {
	for name, a := range map[string]App{
		"delegate not an address": {Delegation: &DelegationConfig{DelegateAddress: "0x12", ChainID: 1, DelegationManager: "0x2222222222222222222222222222222222222222"}},
		"no chain id":             {Delegation: &DelegationConfig{DelegateAddress: "0x1111111111111111111111111111111111111111", DelegationManager: "0x2222222222222222222222222222222222222222"}},
		"session too short":       {DefaultSessionDuration: caddy.Duration(30 * time.Second)},
		"legacy without key":      {LegacyEncryptionSecret: "old"},
	} {
		t.Run(name, func(t *testing.T) {
			if err := provisionApp(t, &a); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
