package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"go.uber.org/zap"

	"github.com/morpheus-gateway/caddy-morpheus/cache"
	"github.com/morpheus-gateway/caddy-morpheus/chain"
	"github.com/morpheus-gateway/caddy-morpheus/chain/fakerouter"
	"github.com/morpheus-gateway/caddy-morpheus/session"
	"github.com/morpheus-gateway/caddy-morpheus/store"
	"github.com/morpheus-gateway/caddy-morpheus/store/sqlite"
)

// sessEnv is a Server with a session manager over SQLite and the fake
// router, a user, and an API key.
type sessEnv struct {
	*testEnv
	fake   *fakerouter.Router
	mgr    *session.Manager
	model  string // id of "llama-3.3-70b"
	other  string // id of "mistral-31-24b"
	bid    string // a bid of other
	key    string
	keyID  int64
	access string
}

func newSessEnv(t *testing.T, diamond common.Address) *sessEnv {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	fake := fakerouter.New(fakerouter.Config{})
	e := &sessEnv{fake: fake}
	e.model = fake.AddModel(fakerouter.Model{Name: "llama-3.3-70b", Tags: []string{"llm"}})
	e.other = fake.AddModel(fakerouter.Model{Name: "mistral-31-24b", Tags: []string{"llm"}})
	fake.AddBid(e.model, fakerouter.Bid{Score: 0.9})
	e.bid = fake.AddBid(e.other, fakerouter.Bid{Score: 0.9})
	srv := fake.Start()
	t.Cleanup(srv.Close)
	rt, err := chain.NewRouter(chain.RouterConfig{BaseURL: srv.URL, Username: fakerouter.DefaultUsername, Password: fakerouter.DefaultPassword})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.New(st, cache.Config{Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	e.mgr, err = session.New(st, c, rt, session.Config{DefaultModel: "llama-3.3-70b", Diamond: diamond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.mgr.Stop() })
	e.testEnv = newEnv(t, st, func(cfg *Config) { cfg.Cache = c; cfg.Sessions = e.mgr })
	_, e.access = e.newUser(fmt.Sprintf("s%d@example.com", time.Now().UnixNano()))
	e.keyID, e.key = e.createKey(e.access, "k")
	return e
}

func (e *sessEnv) call(method, path string, body any) resp {
	e.t.Helper()
	return e.request(method, path, body, bearer(e.key))
}

func TestSessionEndpointsLifecycle(t *testing.T) {
	e := newSessEnv(t, common.Address{})

	// No session yet.
	wantError(t, e.call("POST", "/session/pingsession", nil), http.StatusNotFound, TypeNotFound, "")
	wantError(t, e.call("POST", "/session/closesession", nil), http.StatusNotFound, TypeNotFound, "")

	// Open with an explicit duration.
	r := e.call("POST", "/session/modelsession?model_id=LLAMA-3.3-70B", map[string]any{"sessionDuration": 1800})
	wantStatus(t, r, http.StatusOK)
	var open struct {
		Success   bool   `json:"success"`
		SessionID string `json:"session_id"`
		Prefix    string `json:"api_key_prefix"`
		Model     string `json:"model"`
		ModelID   string `json:"model_id"`
		Type      string `json:"type"`
		ExpiresAt string `json:"expires_at"`
	}
	r.decode(t, &open)
	fs, ok := e.fake.Session(open.SessionID)
	if !open.Success || !ok || open.Model != "llama-3.3-70b" || open.ModelID != e.model || open.Type != store.SessionTypeManual ||
		!strings.HasPrefix(e.key, open.Prefix) || fs.RequestedDuration != 30*time.Minute {
		t.Fatalf("modelsession reply %s (fake %+v)", r, fs)
	}
	if exp, err := time.Parse(time.RFC3339Nano, open.ExpiresAt); err != nil || !exp.Equal(fs.EndsAt) {
		t.Fatalf("expires_at %s, want EndsAt %s", open.ExpiresAt, fs.EndsAt)
	}

	// Ping: a status read, not a prompt.
	r = e.call("POST", "/session/pingsession", nil)
	wantStatus(t, r, http.StatusOK)
	ping := r.object(t)
	if ping["status"] != "active" || ping["session_id"] != open.SessionID || ping["ends_at"] == nil || ping["closed_at"] != nil {
		t.Fatalf("ping %s", r)
	}
	if c := e.fake.Counters(); c.Chats != 0 || c.SessionGets == 0 {
		t.Fatalf("ping made %d chats, %d session reads", c.Chats, c.SessionGets)
	}
	e.fake.ExpireSession(open.SessionID)
	if r := e.call("POST", "/session/pingsession", nil); r.object(t)["status"] != "expired" {
		t.Fatalf("ping after expiry %s", r)
	}

	// The seed's alias replaces the session (other model, default duration).
	r = e.call("POST", "/session/initialize?model_id="+e.other, nil)
	wantStatus(t, r, http.StatusOK)
	second := r.object(t)["session_id"].(string)
	if second == open.SessionID {
		t.Fatal("initialize did not open a new session")
	}

	// Bid session.
	r = e.call("POST", "/session/bidsession?bid_id="+e.bid, map[string]any{})
	wantStatus(t, r, http.StatusOK)
	if obj := r.object(t); obj["type"] != "bid" || obj["bid_id"] != e.bid {
		t.Fatalf("bidsession %s", r)
	}
	third := r.object(t)["session_id"].(string)

	// Close, then the alias finds nothing.
	r = e.call("POST", "/session/closesession", nil)
	wantStatus(t, r, http.StatusOK)
	if obj := r.object(t); obj["session_id"] != third || obj["success"] != true {
		t.Fatalf("close %s", r)
	}
	if fs, _ := e.fake.Session(third); fs.ClosedAt.IsZero() {
		t.Fatal("not closed upstream")
	}
	wantError(t, e.call("DELETE", "/session/close", nil), http.StatusNotFound, TypeNotFound, "")
	e.call("POST", "/session/modelsession", nil)
	wantStatus(t, e.call("DELETE", "/session/close", nil), http.StatusOK)
}

func TestSessionEndpointErrors(t *testing.T) {
	e := newSessEnv(t, common.Address{})

	r := e.call("POST", "/session/modelsession?model_id=gpt-4", nil)
	wantError(t, r, http.StatusBadRequest, TypeInvalidRequest, "model_id")
	if !strings.Contains(string(r.body), `"model_not_found"`) {
		t.Fatalf("code: %s", r)
	}
	for _, d := range []any{59, 86401, -1} {
		wantError(t, e.call("POST", "/session/modelsession", map[string]any{"sessionDuration": d}),
			http.StatusBadRequest, TypeInvalidRequest, "sessionDuration")
	}
	wantStatus(t, e.call("POST", "/session/modelsession", `{"sessionDuration":"x"}`), http.StatusUnprocessableEntity)
	wantError(t, e.call("POST", "/session/bidsession?bid_id=0x12", nil), http.StatusBadRequest, TypeInvalidRequest, "bid_id")
	for _, a := range []string{"", "0", "-5", "1.5", "abc"} {
		wantError(t, e.call("POST", "/session/approve?amount="+a, nil), http.StatusBadRequest, TypeInvalidRequest, "amount")
	}
	wantError(t, e.call("POST", "/session/approve?amount=10", nil), http.StatusServiceUnavailable, TypeUnavailable, "")
	if c := e.fake.Counters(); c.Opens != 0 {
		t.Fatalf("opens = %d on invalid input", c.Opens)
	}

	// Authentication: API key only.
	wantError(t, e.request("POST", "/session/modelsession", nil, ""), http.StatusUnauthorized, TypeAuthentication, "")
	wantError(t, e.request("POST", "/session/modelsession", nil, bearer(e.access)), http.StatusUnauthorized, TypeAuthentication, "")

	// No manager configured: 503.
	bare := newEnv(t, e.st)
	wantError(t, bare.request("POST", "/session/pingsession", nil, bearer(e.key)), http.StatusServiceUnavailable, TypeUnavailable, "")

	// Automation disabled does not block an explicit open.
	wantStatus(t, e.request("PUT", "/automation/settings", map[string]any{"is_enabled": false}, bearer(e.access)), http.StatusOK)
	wantStatus(t, e.call("POST", "/session/modelsession", nil), http.StatusOK)
}

func TestSessionApprove(t *testing.T) {
	e := newSessEnv(t, common.HexToAddress(fakerouter.DiamondAddress))
	r := e.call("POST", "/session/approve?amount=1000000000000000000", nil)
	wantStatus(t, r, http.StatusOK)
	if obj := r.object(t); !strings.HasPrefix(obj["tx"].(string), "0x") || obj["amount"] != "1000000000000000000" {
		t.Fatalf("approve %s", r)
	}
}

// writeSessionError: one status per error class, Retry-After where due,
// sanitized router messages.
func TestWriteSessionError(t *testing.T) {
	leaky := chain.ClassifyResponse("open_session", 500, "application/json",
		[]byte(`{"error":"no provider accepting session: [{\"provider\":\"0xAb\",\"reason\":\"dial tcp 203.0.113.7:3333: connect: connection refused\"}]"}`))
	cases := []struct {
		err        error
		status     int
		code       string
		retryAfter string
	}{
		{fmt.Errorf("%w: %q", session.ErrModelNotFound, "gpt-4"), 400, "model_not_found", ""},
		{session.ErrAutomationDisabled, 400, "automation_disabled", ""},
		{session.ErrNoSession, 404, "no_session", ""},
		{&session.QueueFullError{RetryAfter: 1500 * time.Millisecond}, 429, "too_many_concurrent_requests", "2"},
		{fmt.Errorf("%w: boom", session.ErrUnavailable), 503, "session_store_unavailable", "1"},
		{session.ErrModelsUnavailable, 503, "models_unavailable", "1"},
		{session.ErrSessionConflict, 503, "session_conflict", "1"},
		{session.ErrApproveNotConfigured, 503, "approve_not_configured", ""},
		{&chain.RouterError{Op: "open_session", Kind: chain.KindUnreachable, Message: "proxy-router unreachable: connection refused"}, 502, "router_unreachable", ""},
		{&chain.RouterError{Op: "open_session", Kind: chain.KindTimeout, Message: "proxy-router did not answer in time"}, 504, "timeout", ""},
		{&chain.RouterError{Op: "open_session", Status: 500, Kind: chain.KindNoBids, Message: "no bids available"}, 503, "no_bids", "5"},
		{leaky, 503, "no_provider", "5"},
		{&chain.RouterError{Op: "open_session", Status: 500, Kind: chain.KindInsufficientFunds, Message: "x"}, 503, "insufficient_funds", "5"},
		{&chain.RouterError{Op: "open_session", Status: 500, Kind: chain.KindNonceRace, Message: "x"}, 503, "nonce_race", "5"},
		{&chain.RouterError{Op: "open_session", Status: 500, Kind: chain.KindSessionTooShort, Message: "x"}, 400, "session_too_short", ""},
		{&chain.RouterError{Op: "open_session", Kind: chain.KindBadRequest, Message: "invalid bid ID"}, 400, "bad_request", ""},
		{&chain.RouterError{Op: "open_session", Status: 500, Kind: chain.KindUnknown, Message: "weird"}, 502, "unknown", ""},
		{context.DeadlineExceeded, 504, "timeout", ""},
		{errors.New("secret internal detail"), 500, "internal_error", ""},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		writeSessionError(rec, c.err)
		body := rec.Body.String()
		if rec.Code != c.status || !strings.Contains(body, `"code":"`+c.code+`"`) {
			t.Errorf("%v: %d %s, want %d code %s", c.err, rec.Code, body, c.status, c.code)
		}
		if got := rec.Header().Get("Retry-After"); got != c.retryAfter {
			t.Errorf("%v: Retry-After %q, want %q", c.err, got, c.retryAfter)
		}
		if strings.Contains(body, "203.0.113.7") || strings.Contains(body, "secret internal") {
			t.Errorf("%v: leaks detail: %s", c.err, body)
		}
	}
}
