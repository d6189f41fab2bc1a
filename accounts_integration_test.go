package morpheus

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/morpheus-gateway/caddy-morpheus/store/postgres/pgtest"
)

// call makes a JSON request to the test server and decodes the answer.
func call(t *testing.T, tester *caddytest.Tester, method, path, auth string, body any, wantStatus int) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://localhost:9080/api/v1"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp := tester.AssertResponseCode(req, wantStatus)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: bad JSON %q", method, path, raw)
		}
	}
	return out
}

// accountFlow is the user's path to a working API key, through Caddy:
// register, log in, create a key, use it, revoke it.
func accountFlow(t *testing.T, tester *caddytest.Tester) {
	email := "Ada@Example.com"
	reg := call(t, tester, "POST", "/auth/register", "", map[string]string{"email": email, "password": "correct horse battery", "name": "Ada"}, http.StatusCreated)
	if reg["email"] != "ada@example.com" || reg["is_active"] != true {
		t.Fatalf("register: %v", reg)
	}
	call(t, tester, "POST", "/auth/register", "", map[string]string{"email": "ada@example.com", "password": "correct horse battery"}, http.StatusConflict)
	call(t, tester, "POST", "/auth/login", "", map[string]string{"email": email, "password": "wrong password!"}, http.StatusUnauthorized)

	tokens := call(t, tester, "POST", "/auth/login", "", map[string]string{"email": email, "password": "correct horse battery"}, http.StatusOK)
	access, _ := tokens["access_token"].(string)
	if access == "" || tokens["token_type"] != "bearer" {
		t.Fatalf("login: %v", tokens)
	}
	key := call(t, tester, "POST", "/auth/keys", access, map[string]string{"name": "laptop"}, http.StatusCreated)
	sk, _ := key["key"].(string)
	if !strings.HasPrefix(sk, "sk-") || len(sk) != 74 {
		t.Fatalf("key: %v", key)
	}

	settings := call(t, tester, "GET", "/automation/settings", sk, nil, http.StatusOK)
	if settings["is_enabled"] != true || settings["session_duration"] != float64(3600) {
		t.Fatalf("settings: %v", settings)
	}
	call(t, tester, "PUT", "/automation/settings", sk, map[string]any{"session_duration": 600}, http.StatusOK)
	settings = call(t, tester, "GET", "/automation/settings", access, nil, http.StatusOK)
	if settings["session_duration"] != float64(600) || settings["is_enabled"] != true {
		t.Fatalf("settings after PUT: %v", settings)
	}

	// A wrong secret with the right prefix never authenticates.
	call(t, tester, "GET", "/automation/settings", sk[:10]+strings.Repeat("0", 64), nil, http.StatusUnauthorized)

	id := int64(key["id"].(float64))
	call(t, tester, "DELETE", "/auth/keys/"+strconv.FormatInt(id, 10), access, nil, http.StatusOK)
	errBody := call(t, tester, "GET", "/automation/settings", sk, nil, http.StatusUnauthorized)
	if e, _ := errBody["error"].(map[string]any); e == nil || e["type"] != "authentication_error" || errBody["detail"] == "" {
		t.Fatalf("revoked key answer: %v", errBody)
	}
}

func TestCaddyAccountsSQLite(t *testing.T) {
	t.Setenv("MORPHEUS_TEST_JWT", "test-jwt-secret-of-reasonable-length")
	tester := newTester(t)
	tester.InitServer(siteConfig("database_url sqlite:"+filepath.Join(t.TempDir(), "gw.db")+
		"\n\t\tjwt_secret {env.MORPHEUS_TEST_JWT}"), "caddyfile")
	accountFlow(t, tester)
}

func TestCaddyAccountsPostgres(t *testing.T) {
	t.Setenv("MORPHEUS_TEST_DSN", pgtest.NewDatabase(t))
	t.Setenv("MORPHEUS_TEST_JWT", "test-jwt-secret-of-reasonable-length")
	tester := newTester(t)
	tester.InitServer(siteConfig("database_url {env.MORPHEUS_TEST_DSN}\n\t\tjwt_secret {env.MORPHEUS_TEST_JWT}"), "caddyfile")
	accountFlow(t, tester)
}
