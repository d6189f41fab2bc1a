package morpheus

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/morpheus-gateway/caddy-morpheus/store/postgres/pgtest"
)

// siteConfig is a test Caddyfile: the morpheus app with the given options,
// and a site whose API is under /api/v1 with a next handler behind it.
func siteConfig(appOptions string) string {
	return fmt.Sprintf(`{
	skip_install_trust
	admin localhost:2999
	http_port 9080
	https_port 9443
	grace_period 1ns
	morpheus {
		router http://127.0.0.1:9 {
			username admin
			password fake
		}
		%s
	}
}
http://localhost:9080 {
	route {
		morpheus
		respond "next handler" 200
	}
}`, appOptions)
}

func newTester(t *testing.T) *caddytest.Tester {
	t.Helper()
	return caddytest.NewTester(t).WithDefaultOverrides(caddytest.Config{Certificates: []string{}})
}

// assertServing checks the API, the pass-through and the JSON 404 of a
// running gateway.
func assertServing(t *testing.T, tester *caddytest.Tester) {
	t.Helper()
	resp, _ := tester.AssertGetResponse("http://localhost:9080/api/v1/health", http.StatusOK,
		`{"database":"connected","status":"healthy"}`+"\n")
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("health Content-Type = %q", ct)
	}
	tester.AssertGetResponse("http://localhost:9080/elsewhere", http.StatusOK, "next handler")
	tester.AssertGetResponse("http://localhost:9080/api/v1/nope", http.StatusNotFound,
		`{"error":{"message":"no such endpoint: GET /api/v1/nope","type":"not_found_error","code":"not_found","param":null},"detail":"no such endpoint: GET /api/v1/nope"}`+"\n")
	req, _ := http.NewRequest(http.MethodPost, "http://localhost:9080/api/v1/health", nil)
	resp = tester.AssertResponseCode(req, http.StatusMethodNotAllowed)
	if allow := resp.Header.Get("Allow"); allow != "GET" {
		t.Errorf("Allow = %q, want GET", allow)
	}
}

func TestCaddySQLiteStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gw.db")
	tester := newTester(t)
	tester.InitServer(siteConfig("database_url sqlite:"+path), "caddyfile")
	assertServing(t, tester)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("sqlite database not created at database_url: %v", err)
	}
	// A reload with the same config keeps serving from the same store.
	tester.InitServer(siteConfig("database_url sqlite:"+path), "caddyfile")
	assertServing(t, tester)
}

func TestCaddyEmbeddedDefaultStore(t *testing.T) {
	data := t.TempDir()
	t.Setenv("XDG_DATA_HOME", data)
	tester := newTester(t)
	tester.InitServer(siteConfig("jwt_secret {env.MORPHEUS_TEST_UNSET}"), "caddyfile")
	assertServing(t, tester)
	want := filepath.Join(data, "caddy", "morpheus", "morpheus.db")
	if _, err := os.Stat(want); err != nil {
		t.Fatalf("embedded database not at %s: %v", want, err)
	}
}

func TestCaddyPostgresStore(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	t.Setenv("MORPHEUS_TEST_DSN", dsn)
	tester := newTester(t)
	tester.InitServer(siteConfig("database_url {env.MORPHEUS_TEST_DSN} {\n\t\t\tmax_conns 4\n\t\t}"), "caddyfile")
	assertServing(t, tester)

	// The DSN came from the environment and is not in the running config.
	resp, err := http.Get("http://localhost:2999/config/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), "{env.MORPHEUS_TEST_DSN}") || strings.Contains(string(body), dsn) {
		t.Fatal("the DSN is visible in the admin API's config")
	}
}
