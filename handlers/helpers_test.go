package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"

	"github.com/morpheus-gateway/caddy-morpheus/cache"
	"github.com/morpheus-gateway/caddy-morpheus/store"
	"github.com/morpheus-gateway/caddy-morpheus/store/postgres"
	"github.com/morpheus-gateway/caddy-morpheus/store/postgres/pgtest"
	"github.com/morpheus-gateway/caddy-morpheus/store/sqlite"
)

const testPrefix = "/api/v1"

var testSecret = []byte("test-jwt-secret-0123456789abcdef0123456789")

// forEachStore runs fn once per backend (SQLite, PostgreSQL), each with a
// fresh, migrated database.
func forEachStore(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(filepath.Join(t.TempDir(), "m.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		if err := st.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		fn(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.NewDatabase(t)
		ctx := context.Background()
		st, err := postgres.Open(ctx, postgres.Config{DSN: dsn})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		fn(t, st)
	})
}

// clock is a settable clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type testEnv struct {
	t     *testing.T
	srv   *Server
	st    store.Store
	cache *cache.Cache
	clock *clock
	cfg   Config
}

// newEnv builds a Server over st with a real cache, test-friendly defaults
// (bcrypt.MinCost, generous rate limits) and the changes of opts.
func newEnv(t *testing.T, st store.Store, opts ...func(*Config)) *testEnv {
	t.Helper()
	clk := &clock{t: time.Now()}
	cfg := Config{
		Prefix:       testPrefix,
		Store:        st,
		JWTSecret:    testSecret,
		BcryptCost:   bcrypt.MinCost,
		LoginRate:    RateLimit{Events: 10000},
		RegisterRate: RateLimit{Events: 10000},
		Now:          clk.Now,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.Cache == nil {
		logger := cfg.Logger
		if logger == nil {
			logger = zap.NewNop()
		}
		c, err := cache.New(st, cache.Config{Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		cfg.Cache = c
	}
	return &testEnv{t: t, srv: New(cfg), st: st, cache: cfg.Cache, clock: clk, cfg: cfg}
}

type resp struct {
	code int
	hdr  http.Header
	body []byte
}

func (r resp) String() string { return fmt.Sprintf("%d %s", r.code, r.body) }

// decode unmarshals the body into v, failing the test on error.
func (r resp) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r, err)
	}
}

func (r resp) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	r.decode(t, &m)
	return m
}

// bearer returns an Authorization header value.
func bearer(tok string) string { return "Bearer " + tok }

// request sends a request under the prefix. body: nil (none), string or
// []byte (raw), or anything else (JSON-encoded). auth is the Authorization
// header value ("" for none).
func (e *testEnv) request(method, path string, body any, auth string, mods ...func(*http.Request)) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, testPrefix+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for _, m := range mods {
		m(req)
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return resp{code: rec.Code, hdr: rec.Header(), body: rec.Body.Bytes()}
}

// wantStatus fails the test unless r has the status.
func wantStatus(t *testing.T, r resp, status int) {
	t.Helper()
	if r.code != status {
		t.Fatalf("status = %d, want %d; body %s", r.code, status, r.body)
	}
}

// wantError checks an error reply: status, the OpenAI shape with "detail"
// equal to the message, the type, and param (""= null). It returns the
// message.
func wantError(t *testing.T, r resp, status int, typ, param string) string {
	t.Helper()
	wantStatus(t, r, status)
	var body struct {
		Error struct {
			Message *string `json:"message"`
			Type    *string `json:"type"`
			Code    *string `json:"code"`
			Param   *string `json:"param"`
		} `json:"error"`
		Detail *string `json:"detail"`
	}
	r.decode(t, &body)
	if body.Error.Message == nil || *body.Error.Message == "" || body.Detail == nil || *body.Detail != *body.Error.Message {
		t.Fatalf("error body lacks message/detail: %s", r.body)
	}
	if body.Error.Type == nil || *body.Error.Type != typ {
		t.Errorf("error type in %s, want %q", r.body, typ)
	}
	gotParam := ""
	if body.Error.Param != nil {
		gotParam = *body.Error.Param
	}
	if gotParam != param {
		t.Errorf("param = %q, want %q; body %s", gotParam, param, r.body)
	}
	if param != "" && !strings.Contains(*body.Error.Message, strings.Split(param, ".")[0]) {
		t.Errorf("message %q does not name the field %q", *body.Error.Message, param)
	}
	if status == http.StatusUnauthorized && r.hdr.Get("WWW-Authenticate") != "Bearer" {
		t.Errorf("401 without WWW-Authenticate: Bearer")
	}
	return *body.Error.Message
}

// register creates a user and returns its id.
func (e *testEnv) register(email, password string) int64 {
	e.t.Helper()
	r := e.request("POST", "/auth/register", map[string]any{"email": email, "password": password}, "")
	wantStatus(e.t, r, http.StatusCreated)
	var u struct {
		ID int64 `json:"id"`
	}
	r.decode(e.t, &u)
	return u.ID
}

// login returns a token pair.
func (e *testEnv) login(email, password string) tokenPair {
	e.t.Helper()
	r := e.request("POST", "/auth/login", map[string]any{"email": email, "password": password}, "")
	wantStatus(e.t, r, http.StatusOK)
	var p tokenPair
	r.decode(e.t, &p)
	return p
}

// newUser registers and logs in a user; it returns the id and an access
// token.
func (e *testEnv) newUser(email string) (int64, string) {
	e.t.Helper()
	id := e.register(email, "password-123")
	return id, e.login(email, "password-123").AccessToken
}

// createKey makes an API key and returns its id and the full key.
func (e *testEnv) createKey(access, name string) (int64, string) {
	e.t.Helper()
	r := e.request("POST", "/auth/keys", map[string]any{"name": name}, bearer(access))
	wantStatus(e.t, r, http.StatusCreated)
	var k struct {
		ID  int64  `json:"id"`
		Key string `json:"key"`
	}
	r.decode(e.t, &k)
	return k.ID, k.Key
}
