package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/morpheus-gateway/caddy-morpheus/cache"
	"github.com/morpheus-gateway/caddy-morpheus/chain/fakerouter"
	"github.com/morpheus-gateway/caddy-morpheus/session"
	"github.com/morpheus-gateway/caddy-morpheus/store"
	"github.com/morpheus-gateway/caddy-morpheus/store/sqlite"
)

// End-to-end tests of the proxy endpoints through the real stack: API key
// authentication with the cache, the real session manager on the SQLite
// store, the fake proxy-router over HTTP, and an httputil.ReverseProxy as
// Config.Upstream (Caddy's reverse_proxy is exercised by the root
// package's tests).

type chatEnv struct {
	*testEnv
	f     *fakeUpstream
	mgr   *session.Manager
	gw    *httptest.Server
	key   string
	keyID int64
}

const testMaxBody = 64 << 10

func newChatEnv(t *testing.T, fcfg fakerouter.Config, mods ...func(*Config)) *chatEnv {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, err := cache.New(st, cache.Config{Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	f := newFakeUpstream(t, fcfg)
	mgr, err := session.New(st, c, f.router, session.Config{DefaultModel: "llama-3.3-70b"})
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mgr.Stop() })
	e := newEnv(t, st, func(cfg *Config) {
		cfg.Cache = c
		cfg.Sessions = mgr
		cfg.Upstream = proxyTo(f.srv.URL)
		cfg.RouterUsername, cfg.RouterPassword = fakerouter.DefaultUsername, fakerouter.DefaultPassword
		cfg.Catalog = f.router
		cfg.MaxBodySize = testMaxBody
		for _, m := range mods {
			m(cfg)
		}
	})
	_, access := e.newUser("chat@example.com")
	keyID, key := e.createKey(access, "chat")
	gw := httptest.NewServer(e.srv)
	t.Cleanup(gw.Close)
	return &chatEnv{testEnv: e, f: f, mgr: mgr, gw: gw, key: key, keyID: keyID}
}

// do sends a request to the gateway over HTTP.
func (e *chatEnv) do(t *testing.T, method, path, body string, hdr ...string) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, e.gw.URL+testPrefix+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+e.key)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = res.Body.Close() })
	return res
}

func (e *chatEnv) activeSession(t *testing.T) store.Session {
	t.Helper()
	s, err := e.st.ActiveSessionByAPIKey(context.Background(), e.keyID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestChatNonStream(t *testing.T) {
	e := newChatEnv(t, fakerouter.Config{})
	body := `{"model":"llama-3.3-70b","session_id":"0xdeadbeef","temperature":0.2,"seed":7,
	  "response_format":{"type":"text"},"x_unknown":{"a":[1,2]},"note":"<b>&</b>",
	  "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],
	  "messages":[{"role":"user","content":[{"type":"text","text":"hello"},{"type":"text","text":" world"}]}]}`
	res := e.do(t, "POST", "/chat/completions", body, "X-Request-Id", "abc-1")
	got := readAll(t, res)
	if res.StatusCode != 200 || !strings.Contains(got, `"echo: hello world"`) {
		t.Fatalf("%d %s", res.StatusCode, got)
	}
	if res.Header.Get("X-Request-Id") != "abc-1" {
		t.Errorf("X-Request-Id %q", res.Header.Get("X-Request-Id"))
	}
	var sent map[string]json.RawMessage
	if err := json.Unmarshal(e.f.lastBody("/v1/chat/completions"), &sent); err != nil {
		t.Fatal(err)
	}
	if _, ok := sent["session_id"]; ok {
		t.Errorf("session_id forwarded")
	}
	if _, ok := sent["model"]; ok {
		t.Errorf("model forwarded")
	}
	for k, want := range map[string]string{
		"temperature": `0.2`, "seed": `7`, "response_format": `{"type":"text"}`, "x_unknown": `{"a":[1,2]}`,
		"note":     `"<b>&</b>"`,
		"tools":    `[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]`,
		"messages": `[{"role":"user","content":[{"type":"text","text":"hello"},{"type":"text","text":" world"}]}]`,
	} {
		if string(sent[k]) != want {
			t.Errorf("%s forwarded as %s, want %s", k, sent[k], want)
		}
	}
	if _, ok := sent["stream"]; ok {
		t.Errorf("a default was injected: %s", e.f.lastBody("/v1/chat/completions"))
	}
	h := e.f.fr.LastHeaders(fakerouter.EndpointChat)
	if u, p, ok := (&http.Request{Header: h}).BasicAuth(); !ok || u != "admin" || p != "fake" {
		t.Errorf("Authorization %q", h.Get("Authorization"))
	}
	if sid := e.activeSession(t).ID; h.Get("Session_id") != sid {
		t.Errorf("session_id %q, store %q", h.Get("Session_id"), sid)
	}
	if h.Get("X-Request-Id") != "abc-1" {
		t.Errorf("x-request-id %q", h.Get("X-Request-Id"))
	}
}

func TestChatStream(t *testing.T) {
	const delay = 50 * time.Millisecond
	for _, v := range []fakerouter.Version{fakerouter.Current, fakerouter.V4} {
		t.Run(string(v), func(t *testing.T) {
			e := newChatEnv(t, fakerouter.Config{Version: v, StreamChunkDelay: delay})
			res := e.do(t, "POST", "/chat/completions", `{"stream":true,"messages":[{"role":"user","content":"a b c"}]}`)
			if res.StatusCode != 200 || res.Header.Get("X-Accel-Buffering") != "no" {
				t.Fatalf("%d %v", res.StatusCode, res.Header)
			}
			ev := readEvents(t, res.Body)
			if len(ev) != 7 || ev[6].data != "[DONE]" { // role, "echo:", a, b, c, finish, [DONE]
				t.Fatalf("events %+v", ev)
			}
			for i := 1; i < 6; i++ {
				if gap := ev[i].at.Sub(ev[i-1].at); gap < delay*6/10 {
					t.Errorf("event %d arrived %v after the previous one: coalesced", i, gap)
				}
			}
		})
	}
}

func TestChatRenewal(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprint("stream=", stream), func(t *testing.T) {
			e := newChatEnv(t, fakerouter.Config{})
			res := e.do(t, "POST", "/chat/completions", helloBody)
			_ = readAll(t, res)
			first := e.activeSession(t).ID
			e.f.fr.ExpireSession(first)
			chats := e.f.fr.Counters().Chats
			res = e.do(t, "POST", "/chat/completions", fmt.Sprintf(`{"stream":%v,"messages":[{"role":"user","content":"again"}]}`, stream))
			got := readAll(t, res)
			if res.StatusCode != 200 || !strings.Contains(got, "again") || strings.Contains(got, "error") {
				t.Fatalf("%d %s", res.StatusCode, got)
			}
			if n := e.f.fr.Counters().Chats - chats; n != 2 {
				t.Errorf("upstream chats = %d, want 2", n)
			}
			second := e.activeSession(t).ID
			if second == first {
				t.Errorf("no new session in the store")
			}
			if old, err := e.st.SessionByID(context.Background(), first); err != nil || old.IsActive {
				t.Errorf("old session %+v %v", old, err)
			}
		})
	}
}

func TestChatDoubleExpiry(t *testing.T) {
	e := newChatEnv(t, fakerouter.Config{})
	_ = readAll(t, e.do(t, "POST", "/chat/completions", helloBody))
	// Every prompt now finds its session expired, the renewed one too.
	e.f.mu.Lock()
	e.f.before = func(r *http.Request) {
		if sid := r.Header.Get("Session_id"); sid != "" && r.URL.Path == "/v1/chat/completions" {
			e.f.fr.ExpireSession(sid)
		}
	}
	e.f.mu.Unlock()
	chats := e.f.fr.Counters().Chats
	res := e.do(t, "POST", "/chat/completions", helloBody)
	code, _ := wantProxyError(t, res, 503)
	if code != "session_expired" {
		t.Errorf("code %q", code)
	}
	if n := e.f.fr.Counters().Chats - chats; n != 2 {
		t.Errorf("upstream chats = %d, want 2", n)
	}
}

func TestChatMidstreamError(t *testing.T) {
	e := newChatEnv(t, fakerouter.Config{})
	_ = readAll(t, e.do(t, "POST", "/chat/completions", helloBody))
	e.f.fr.SetMode(e.f.fr.Sessions()[0].BidID, fakerouter.ModeDieMidstreamErr)
	raw := readAll(t, e.do(t, "POST", "/chat/completions", `{"stream":true,"messages":[{"role":"user","content":"one two"}]}`))
	ev := readEvents(t, strings.NewReader(raw))
	if len(ev) != 3 || !strings.Contains(ev[2].data, `"type":"server_error"`) || !strings.Contains(ev[2].data, `"code":"upstream_error"`) {
		t.Fatalf("events %+v", ev)
	}
	if strings.Contains(raw, `{"error":"`) {
		t.Errorf("raw tail reached the client: %q", raw)
	}
}

func TestChatUpstreamErrors(t *testing.T) {
	for _, c := range []struct {
		mode   fakerouter.Mode
		status int
	}{
		{fakerouter.ModeRateLimited, 429},
		{fakerouter.ModeBackendAuth, 502},
		{fakerouter.ModeUnreachable, 503},
	} {
		t.Run(string(c.mode), func(t *testing.T) {
			e := newChatEnv(t, fakerouter.Config{})
			_ = readAll(t, e.do(t, "POST", "/chat/completions", helloBody))
			e.f.fr.SetMode(e.f.fr.Sessions()[0].BidID, c.mode)
			wantProxyError(t, e.do(t, "POST", "/chat/completions", helloBody), c.status)
		})
	}
}

func TestChatRouterDown(t *testing.T) {
	e := newChatEnv(t, fakerouter.Config{})
	_ = readAll(t, e.do(t, "POST", "/chat/completions", helloBody)) // session open
	down := closedURL(t)
	e.srv.cfg.Upstream = proxyTo(down)
	if code, _ := wantProxyError(t, e.do(t, "POST", "/chat/completions", helloBody), 502); code != "router_unreachable" {
		t.Errorf("code %q", code)
	}
}

func TestChatRequestErrors(t *testing.T) {
	e := newChatEnv(t, fakerouter.Config{})
	big := `{"messages":[{"role":"user","content":"` + strings.Repeat("x", testMaxBody) + `"}]}`
	t.Run("content-length", func(t *testing.T) {
		wantProxyError(t, e.do(t, "POST", "/chat/completions", big), 413)
	})
	t.Run("chunked", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() {
			for i := 0; i < 4*testMaxBody/1024; i++ {
				if _, err := pw.Write([]byte(strings.Repeat("y", 1024))); err != nil {
					return
				}
			}
			_ = pw.Close()
		}()
		req, _ := http.NewRequest("POST", e.gw.URL+testPrefix+"/chat/completions", pr)
		req.Header.Set("Authorization", "Bearer "+e.key)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if req.ContentLength != 0 && req.ContentLength != -1 {
			t.Fatalf("not chunked")
		}
		wantProxyError(t, res, 413)
		_ = pr.CloseWithError(io.ErrClosedPipe)
	})
	for name, c := range map[string]struct {
		body   string
		status int
		param  string
	}{
		"no messages":    {`{"model":"llama-3.3-70b"}`, 400, "messages"},
		"empty messages": {`{"messages":[]}`, 400, "messages"},
		"messages type":  {`{"messages":"hi"}`, 400, "messages"},
		"stream type":    {`{"stream":"yes","messages":[{"role":"user","content":"x"}]}`, 400, "stream"},
		"model type":     {`{"model":5,"messages":[{"role":"user","content":"x"}]}`, 400, "model"},
		"not json":       {`{"messages":`, 400, ""},
		"unknown model":  {`{"model":"gpt-4","messages":[{"role":"user","content":"x"}]}`, 400, "model"},
	} {
		t.Run(name, func(t *testing.T) {
			chats := e.f.fr.Counters().Chats
			r := e.request("POST", "/chat/completions", c.body, bearer(e.key))
			wantError(t, r, c.status, TypeInvalidRequest, c.param)
			if e.f.fr.Counters().Chats != chats {
				t.Errorf("an invalid request reached the router")
			}
		})
	}
	t.Run("bad key", func(t *testing.T) {
		r := e.request("POST", "/chat/completions", helloBody, bearer("sk-notakey0000000000000000000000"))
		wantError(t, r, 401, TypeAuthentication, "")
	})
}

func TestEmbeddingsEndToEnd(t *testing.T) {
	e := newChatEnv(t, fakerouter.Config{})
	res := e.do(t, "POST", "/embeddings", `{"model":"bge-m3","input":"hello world","dimensions":3}`)
	got := readAll(t, res)
	if res.StatusCode != 200 || !strings.Contains(got, `"embedding":[`) {
		t.Fatalf("%d %s", res.StatusCode, got)
	}
	if sent := string(e.f.lastBody("/v1/embeddings")); strings.Contains(sent, "model") || !strings.Contains(sent, `"dimensions":3`) {
		t.Errorf("forwarded %s", sent)
	}
	r := e.request("POST", "/embeddings", `{"model":"bge-m3","input":"x","encoding_format":"base64"}`, bearer(e.key))
	wantError(t, r, 400, TypeInvalidRequest, "encoding_format")
	r = e.request("POST", "/embeddings", `{"model":"bge-m3"}`, bearer(e.key))
	wantError(t, r, 400, TypeInvalidRequest, "input")
}

func TestEmbeddingsV4(t *testing.T) {
	e := newChatEnv(t, fakerouter.Config{Version: fakerouter.V4})
	wantProxyError(t, e.do(t, "POST", "/embeddings", `{"model":"bge-m3","input":"x"}`), 501)
}

func TestModelsEndpoints(t *testing.T) {
	e := newChatEnv(t, fakerouter.Config{})
	for _, path := range []string{"/models", "/models/", "/models/allmodels"} {
		r := e.request("GET", path, nil, "")
		wantStatus(t, r, 200)
		var list struct {
			Object string `json:"object"`
			Data   []struct {
				ID           string   `json:"id"`
				Object       string   `json:"object"`
				Created      *int64   `json:"created"`
				OwnedBy      string   `json:"owned_by"`
				BlockchainID string   `json:"blockchainID"`
				Tags         []string `json:"tags"`
			} `json:"data"`
		}
		r.decode(t, &list)
		if list.Object != "list" || len(list.Data) != 2 {
			t.Fatalf("%s: %s", path, r.body)
		}
		for _, m := range list.Data {
			if m.Object != "model" || m.Created == nil || m.OwnedBy == "" || !strings.HasPrefix(m.BlockchainID, "0x") || m.Tags == nil || m.ID == "" {
				t.Errorf("%s: item %+v", path, m)
			}
		}
	}
	r := e.request("GET", "/models/ratedbids?model_id="+e.f.model, nil, "")
	wantStatus(t, r, 200)
	var bids struct {
		Bids []struct {
			ID  string
			Bid struct {
				Id, Provider, ModelAgentId, PricePerSecond string //nolint:revive // router's keys
			}
			Score float64
		}
	}
	r.decode(t, &bids)
	if len(bids.Bids) != 1 || bids.Bids[0].Bid.ModelAgentId != e.f.model || bids.Bids[0].Score != 0.9 || bids.Bids[0].ID != zeroHash {
		t.Errorf("rated bids %s", r.body)
	}
	wantError(t, e.request("GET", "/models/ratedbids", nil, ""), 400, TypeInvalidRequest, "model_id")
	wantError(t, e.request("GET", "/models/ratedbids?model_id=xyz", nil, ""), 400, TypeInvalidRequest, "model_id")

	r = e.request("GET", "/", nil, "")
	wantStatus(t, r, 200)
	if m := r.object(t); m["name"] == nil || m["version"] == nil {
		t.Errorf("banner %s", r.body)
	}
}
