package morpheus

import (
	"encoding/json"
	"strings"
	"testing"

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
