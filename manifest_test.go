package morpheus

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
)

// manifest is xcaddy.json, the plugin manifest.
type manifest struct {
	Name          string                            `json:"name"`
	Description   string                            `json:"description"`
	Version       string                            `json:"version"`
	Module        string                            `json:"module"`
	CaddyModules  []string                          `json:"caddy_modules"`
	Directives    map[string]struct{ Order string } `json:"directives"`
	GlobalOptions []string                          `json:"global_options"`
	MinCaddy      string                            `json:"min_caddy_version"`
	MinGo         string                            `json:"min_go_version"`
	CaddyVersion  string                            `json:"caddy_version"`
}

func readManifest(t *testing.T) manifest {
	t.Helper()
	b, err := os.ReadFile("xcaddy.json")
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("xcaddy.json: %v", err)
	}
	return m
}

// TestManifestMatchesRegistration fails when xcaddy.json and what init()
// registers (modules, directive, global option, order) or go.mod disagree.
func TestManifestMatchesRegistration(t *testing.T) {
	m := readManifest(t)

	gomod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if got := regexp.MustCompile(`(?m)^module (\S+)`).FindSubmatch(gomod); got == nil || string(got[1]) != m.Module {
		t.Errorf("xcaddy.json module %q != go.mod module %q", m.Module, got)
	}
	if got := regexp.MustCompile(`(?m)^go (\S+)`).FindSubmatch(gomod); got == nil || !strings.HasPrefix(string(got[1]), m.MinGo) {
		t.Errorf("xcaddy.json min_go_version %q does not match go.mod's go %q", m.MinGo, got)
	}
	if got := regexp.MustCompile(`github.com/caddyserver/caddy/v2 (v\S+)`).FindSubmatch(gomod); got == nil || string(got[1]) != m.CaddyVersion {
		t.Errorf("xcaddy.json caddy_version %q != go.mod's caddy %q", m.CaddyVersion, got)
	}
	if m.MinCaddy != m.CaddyVersion {
		t.Errorf("min_caddy_version %q: the plugin is built and tested against %q only", m.MinCaddy, m.CaddyVersion)
	}
	if m.Name == "" || m.Description == "" || !regexp.MustCompile(`^\d+\.\d+\.\d+`).MatchString(m.Version) {
		t.Errorf("name, description and a semver version are required: %+v", m)
	}

	// Every module registered from this Go module, and nothing else.
	var ours []string
	for _, id := range caddy.Modules() {
		info, err := caddy.GetModule(id)
		if err != nil {
			t.Fatal(err)
		}
		typ := reflect.TypeOf(info.New())
		if typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		if strings.HasPrefix(typ.PkgPath(), m.Module) {
			ours = append(ours, id)
		}
	}
	want := slices.Clone(m.CaddyModules)
	sort.Strings(ours)
	sort.Strings(want)
	if !slices.Equal(ours, want) {
		t.Errorf("registered modules %v, xcaddy.json lists %v", ours, want)
	}

	// The global options and directives listed are registered: a Caddyfile
	// using them adapts (an unknown one is an adapt error).
	for _, opt := range m.GlobalOptions {
		if _, err := adapt(t, "{\n\t"+opt+"\n}"); err != nil {
			t.Errorf("global option %q: %v", opt, err)
		}
	}
	for dir, d := range m.Directives {
		pos, anchor, ok := strings.Cut(d.Order, " ")
		if !ok || pos != "before" && pos != "after" {
			t.Errorf("directive %q: order %q must be before|after <directive>", dir, d.Order)
			continue
		}
		cfg, err := adapt(t, ":80 {\n\t"+anchor+" 127.0.0.1:9\n\t"+dir+"\n}")
		if err != nil {
			t.Errorf("directive %q: %v", dir, err)
			continue
		}
		s := mustJSON(t, cfg)
		i, j := strings.Index(s, `"handler":"`+dir+`"`), strings.Index(s, `"handler":"`+anchor+`"`)
		if i < 0 || j < 0 || (pos == "before") != (i < j) {
			t.Errorf("directive %q is not ordered %s: %s", dir, d.Order, s)
		}
	}
}
