package morpheus

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// TestCaddyfileExampleValidates is `caddy adapt` + `caddy validate` on the
// shipped Caddyfile.example: it adapts, and every module provisions.
func TestCaddyfileExampleValidates(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	t.Setenv("PROXY_ROUTER_USERNAME", "admin")
	t.Setenv("PROXY_ROUTER_PASSWORD", "fake")
	src, err := os.ReadFile("Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	out, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(src, map[string]any{"filename": "Caddyfile.example"})
	if err != nil {
		t.Fatalf("adapt: %v", err)
	}
	if len(warnings) > 0 {
		t.Errorf("adapt warnings: %v", warnings)
	}
	var cfg caddy.Config
	if err := caddy.StrictUnmarshalJSON(out, &cfg); err != nil {
		t.Fatal(err)
	}
	var apps map[string]json.RawMessage
	if err := json.Unmarshal(cfg.AppsRaw["morpheus"], &apps); err != nil || apps["router"] == nil {
		t.Fatalf("apps.morpheus missing or without router: %s", cfg.AppsRaw["morpheus"])
	}
	if err := caddy.Validate(&cfg); err != nil {
		t.Fatalf("validate: %v", err)
	}
}
