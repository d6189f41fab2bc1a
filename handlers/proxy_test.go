package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/chain"
	"github.com/morpheus-gateway/caddy-morpheus/chain/fakerouter"
)

// These tests drive the forward loop (renewal retry, attempt writer, SSE
// relay, error mapping) against the fake router without the session
// manager: the "session" is opened on the fake directly.

type testSession struct {
	mu       sync.Mutex
	id       string
	renewals int
	open     func() (string, error)
}

func (ts *testSession) us() upstreamSession {
	return upstreamSession{
		id: func() string { ts.mu.Lock(); defer ts.mu.Unlock(); return ts.id },
		renew: func(context.Context) error {
			id, err := ts.open()
			ts.mu.Lock()
			defer ts.mu.Unlock()
			ts.renewals++
			if err != nil {
				return err
			}
			ts.id = id
			return nil
		},
	}
}

type forwardEnv struct {
	f    *fakeUpstream
	srv  *httptest.Server
	sess *testSession
}

func newForwardEnv(t *testing.T, fcfg fakerouter.Config, op proxyOp, model func(f *fakeUpstream) string, mods ...func(*Config)) *forwardEnv {
	t.Helper()
	f := newFakeUpstream(t, fcfg)
	m := f.model
	if model != nil {
		m = model(f)
	}
	cfg := Config{Prefix: testPrefix, Upstream: proxyTo(f.srv.URL),
		RouterUsername: fakerouter.DefaultUsername, RouterPassword: fakerouter.DefaultPassword}
	for _, mod := range mods {
		mod(&cfg)
	}
	s := New(cfg)
	ts := &testSession{}
	ts.open = func() (string, error) { return f.router.OpenModelSession(context.Background(), m, time.Hour) }
	ts.id = f.open(m)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rid := requestID(w, r)
		body, _ := io.ReadAll(r.Body)
		s.forward(w, r, Principal{UserID: 1, APIKeyID: 1, Method: AuthAPIKey}, op, body, rid, ts.us())
	}))
	t.Cleanup(srv.Close)
	return &forwardEnv{f: f, srv: srv, sess: ts}
}

var chatOp = proxyOp{name: "chat", path: upstreamChatPath}

func (e *forwardEnv) post(t *testing.T, body string, hdr ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/x", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
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

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantProxyError checks an OpenAI error reply and returns its code.
func wantProxyError(t *testing.T, res *http.Response, status int) (code, message string) {
	t.Helper()
	body := readAll(t, res)
	if res.StatusCode != status {
		t.Fatalf("status = %d, want %d; body %s", res.StatusCode, status, body)
	}
	var e struct {
		Error struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Code    *string `json:"code"`
		} `json:"error"`
		Detail string `json:"detail"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Message == "" || e.Detail != e.Error.Message {
		t.Fatalf("not an OpenAI error body: %s", body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	for _, leak := range []string{"10.0.0.9", "3333", "admin", "127.0.0.1"} {
		if strings.Contains(body, leak) {
			t.Errorf("error body leaks %q: %s", leak, body)
		}
	}
	if e.Error.Code != nil {
		code = *e.Error.Code
	}
	return code, e.Error.Message
}

const helloBody = `{"messages":[{"role":"user","content":"hello there"}]}`

func TestForwardNonStream(t *testing.T) {
	e := newForwardEnv(t, fakerouter.Config{}, chatOp, nil)
	res := e.post(t, helloBody, "X-Request-Id", "req-123", "Authorization", "Bearer sk-secret", "Cookie", "a=b", "X-Api-Key", "sk-x")
	body := readAll(t, res)
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	if !strings.Contains(body, `"echo: hello there"`) {
		t.Errorf("body %s", body)
	}
	if got := res.Header.Values("X-Request-Id"); len(got) != 1 || got[0] != "req-123" {
		t.Errorf("X-Request-Id = %q", got)
	}
	h := e.f.fr.LastHeaders(fakerouter.EndpointChat)
	if u, p, ok := (&http.Request{Header: h}).BasicAuth(); !ok || u != "admin" || p != "fake" {
		t.Errorf("upstream Authorization = %q", h.Get("Authorization"))
	}
	if h.Get("Session_id") != e.sess.id || h.Get("X-Request-Id") != "req-123" {
		t.Errorf("upstream session_id %q x-request-id %q", h.Get("Session_id"), h.Get("X-Request-Id"))
	}
	if h.Get("Cookie") != "" || h.Get("X-Api-Key") != "" || strings.Contains(h.Get("Authorization"), "sk-") {
		t.Errorf("client credentials reached the router: %v", h)
	}
	if h.Get("Accept-Encoding") != "identity" {
		t.Errorf("Accept-Encoding = %q", h.Get("Accept-Encoding"))
	}
}

func TestForwardRequestIDGenerated(t *testing.T) {
	e := newForwardEnv(t, fakerouter.Config{}, chatOp, nil)
	res := e.post(t, helloBody, "X-Request-Id", "bad id with spaces")
	_ = readAll(t, res)
	rid := res.Header.Get("X-Request-Id")
	if rid == "" || strings.Contains(rid, " ") {
		t.Fatalf("X-Request-Id = %q", rid)
	}
	if got := e.f.fr.LastHeaders(fakerouter.EndpointChat).Get("X-Request-Id"); got != rid {
		t.Errorf("upstream x-request-id %q, client saw %q", got, rid)
	}
}

// streamEvents posts a streaming chat and reads its events incrementally.
func (e *forwardEnv) streamEvents(t *testing.T) (*http.Response, []sseEvent) {
	t.Helper()
	res := e.post(t, `{"stream":true,"messages":[{"role":"user","content":"one two three four five"}]}`)
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %s", res.StatusCode, readAll(t, res))
	}
	return res, readEvents(t, res.Body)
}

func TestForwardStreamCurrent(t *testing.T) {
	const delay = 50 * time.Millisecond
	e := newForwardEnv(t, fakerouter.Config{StreamChunkDelay: delay}, chatOp, nil)
	res, ev := e.streamEvents(t)
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("Content-Type %q", ct)
	}
	if res.Header.Get("X-Accel-Buffering") != "no" || res.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("headers %v", res.Header)
	}
	if res.Header.Get("Content-Encoding") != "" {
		t.Errorf("compressed stream")
	}
	// role chunk, "echo:", 5 words, finish, [DONE]
	if len(ev) != 9 || ev[len(ev)-1].data != "[DONE]" {
		t.Fatalf("events: %+v", ev)
	}
	var text strings.Builder
	for i, x := range ev[:len(ev)-1] {
		var c struct {
			Choices []struct {
				Delta        struct{ Content string } `json:"delta"`
				FinishReason *string                  `json:"finish_reason"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(x.data), &c); err != nil {
			t.Fatalf("event %d not JSON: %q", i, x.data)
		}
		text.WriteString(c.Choices[0].Delta.Content)
	}
	if text.String() != "echo: one two three four five" {
		t.Errorf("text %q", text.String())
	}
	// Each event reached the client before the fake wrote the next one:
	// arrivals are spaced by the fake's per-chunk delay (coalescing or
	// buffering would bunch them up).
	for i := 1; i < len(ev)-1; i++ {
		if gap := ev[i].at.Sub(ev[i-1].at); gap < delay*6/10 {
			t.Errorf("event %d arrived %v after event %d (want ≈%v): not flushed per event", i, gap, i-1, delay)
		}
	}
}

func TestForwardStreamV4EndsWithDone(t *testing.T) {
	e := newForwardEnv(t, fakerouter.Config{Version: fakerouter.V4}, chatOp, nil)
	_, ev := e.streamEvents(t)
	if len(ev) != 9 {
		t.Fatalf("events: %+v", ev)
	}
	if !strings.Contains(ev[7].data, `"finish_reason":"stop"`) || ev[8].data != "[DONE]" {
		t.Errorf("v4 ending: %q, %q", ev[7].data, ev[8].data)
	}
}

func TestForwardRenewal(t *testing.T) {
	for _, v := range []fakerouter.Version{fakerouter.Current, fakerouter.V4} {
		for _, stream := range []bool{false, true} {
			t.Run(string(v)+map[bool]string{false: "/json", true: "/stream"}[stream], func(t *testing.T) {
				e := newForwardEnv(t, fakerouter.Config{Version: v}, chatOp, nil)
				old := e.sess.id
				e.f.fr.ExpireSession(old)
				body := helloBody
				if stream {
					body = `{"stream":true,"messages":[{"role":"user","content":"hello there"}]}`
				}
				res := e.post(t, body)
				got := readAll(t, res)
				if res.StatusCode != 200 || !strings.Contains(got, "hello") {
					t.Fatalf("status %d: %s", res.StatusCode, got)
				}
				if stream && (!strings.HasSuffix(got, "data: [DONE]\n\n") || strings.Contains(got, "session expired")) {
					t.Errorf("stream: %q", got)
				}
				if c := e.f.fr.Counters().Chats; c != 2 {
					t.Errorf("upstream chats = %d, want 2", c)
				}
				if e.sess.renewals != 1 || e.sess.id == old {
					t.Errorf("renewals %d, id %s (old %s)", e.sess.renewals, e.sess.id, old)
				}
				if got := e.f.fr.LastHeaders(fakerouter.EndpointChat).Get("Session_id"); got != e.sess.id {
					t.Errorf("retry used session %s, want %s", got, e.sess.id)
				}
			})
		}
	}
}

func TestForwardDoubleExpiry(t *testing.T) {
	e := newForwardEnv(t, fakerouter.Config{}, chatOp, nil)
	e.f.fr.ExpireSession(e.sess.id)
	e.sess.open = func() (string, error) {
		id, err := e.f.router.OpenModelSession(context.Background(), e.f.model, time.Hour)
		if err == nil {
			e.f.fr.ExpireSession(id)
		}
		return id, err
	}
	res := e.post(t, `{"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if code, _ := wantProxyError(t, res, 503); code != "session_expired" {
		t.Errorf("code %q", code)
	}
	if c := e.f.fr.Counters().Chats; c != 2 {
		t.Errorf("chats = %d, want 2 (one retry only)", c)
	}
}

func TestForwardRenewFails(t *testing.T) {
	e := newForwardEnv(t, fakerouter.Config{}, chatOp, nil)
	e.f.fr.ExpireSession(e.sess.id)
	e.sess.open = func() (string, error) { return "", errors.New("no bids") }
	res := e.post(t, helloBody)
	if code, _ := wantProxyError(t, res, 503); code != "session_renewal_failed" {
		t.Errorf("code %q", code)
	}
}

func TestForwardMidstreamError(t *testing.T) {
	e := newForwardEnv(t, fakerouter.Config{}, chatOp, nil)
	e.f.fr.SetMode(e.f.fr.Sessions()[0].BidID, fakerouter.ModeDieMidstreamErr)
	res := e.post(t, `{"stream":true,"messages":[{"role":"user","content":"one two three"}]}`)
	raw := readAll(t, res)
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if strings.Contains(raw, `{"error":"`) || strings.Contains(raw, "\n{") || strings.HasPrefix(raw, "{") {
		t.Errorf("raw error tail reached the client: %q", raw)
	}
	ev := readEvents(t, strings.NewReader(raw))
	if len(ev) != 3 {
		t.Fatalf("events %+v", ev)
	}
	var last struct {
		Error struct{ Message, Type, Code string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(ev[2].data), &last); err != nil || last.Error.Code != "upstream_error" ||
		last.Error.Type != "server_error" || !strings.Contains(last.Error.Message, "unexpected EOF") {
		t.Errorf("last event %q", ev[2].data)
	}
	if strings.Contains(raw, "[DONE]") {
		t.Errorf("[DONE] after an error")
	}
}

func TestForwardMidstreamEOF(t *testing.T) {
	e := newForwardEnv(t, fakerouter.Config{}, chatOp, nil)
	e.f.fr.SetMode(e.f.fr.Sessions()[0].BidID, fakerouter.ModeDieMidstreamEOF)
	res := e.post(t, `{"stream":true,"messages":[{"role":"user","content":"one two three"}]}`)
	ev := readEvents(t, res.Body)
	if len(ev) != 3 || !strings.Contains(ev[2].data, `"code":"upstream_error"`) {
		t.Errorf("events %+v", ev)
	}
}

func TestForwardErrorMapping(t *testing.T) {
	cases := []struct {
		mode   fakerouter.Mode
		status int
		code   string
	}{
		{fakerouter.ModeRateLimited, 429, "rate_limit_exceeded"},
		{fakerouter.ModeRateLimitedStatus, 429, "rate_limit_exceeded"},
		{fakerouter.ModeBackendAuth, 502, "upstream_backend_error"},
		{fakerouter.ModeUnreachable, 503, "provider_unavailable"},
		{fakerouter.ModeSilentClose, 503, "provider_unavailable"},
		{fakerouter.ModeForeignInstance, 503, "provider_unavailable"},
	}
	for _, c := range cases {
		for _, stream := range []bool{false, true} {
			t.Run(string(c.mode)+map[bool]string{false: "/json", true: "/stream"}[stream], func(t *testing.T) {
				e := newForwardEnv(t, fakerouter.Config{}, chatOp, nil)
				e.f.fr.SetMode(e.f.fr.Sessions()[0].BidID, c.mode)
				body := helloBody
				if stream {
					body = `{"stream":true,"messages":[{"role":"user","content":"x"}]}`
				}
				res := e.post(t, body, "X-Request-Id", "rid-1")
				if code, _ := wantProxyError(t, res, c.status); code != c.code {
					t.Errorf("code %q, want %q", code, c.code)
				}
				if res.Header.Get("X-Request-Id") != "rid-1" {
					t.Errorf("X-Request-Id lost on errors")
				}
				want := 1
				if c.mode == fakerouter.ModeForeignInstance {
					want = 2 // "provider not found": renewed and retried once (still failing here)
				}
				if got := e.f.fr.Counters().Chats; got != want {
					t.Errorf("chats %d, want %d", got, want)
				}
			})
		}
	}
}

func TestForwardSlowFirstByte(t *testing.T) {
	e := newForwardEnv(t, fakerouter.Config{FirstByteTimeout: 10 * time.Millisecond}, chatOp, nil)
	e.f.fr.SetMode(e.f.fr.Sessions()[0].BidID, fakerouter.ModeSlowFirstByte)
	if code, _ := wantProxyError(t, e.post(t, helloBody), 504); code != "upstream_timeout" {
		t.Errorf("code %q", code)
	}
}

func TestForwardRouterDown(t *testing.T) {
	e := newForwardEnv(t, fakerouter.Config{}, chatOp, nil)
	srv := e.srv
	// Rebuild the forwarding server with an Upstream that points nowhere.
	s := New(Config{Prefix: testPrefix, Upstream: proxyTo(closedURL(t)), RouterUsername: "admin", RouterPassword: "fake"})
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rid := requestID(w, r)
		body, _ := io.ReadAll(r.Body)
		s.forward(w, r, Principal{APIKeyID: 1}, chatOp, body, rid, e.sess.us())
	})
	if code, _ := wantProxyError(t, e.post(t, helloBody), 502); code != "router_unreachable" {
		t.Errorf("code %q", code)
	}
}

func TestForwardBadRouterCredentials(t *testing.T) {
	e := newForwardEnv(t, fakerouter.Config{}, chatOp, nil, func(c *Config) { c.RouterPassword = "wrong" })
	if code, _ := wantProxyError(t, e.post(t, helloBody), 502); code != "upstream_auth_failed" {
		t.Errorf("code %q", code)
	}
}

var embeddingsOp = proxyOp{name: "embeddings", path: upstreamEmbeddingsPath}

func TestForwardEmbeddings(t *testing.T) {
	e := newForwardEnv(t, fakerouter.Config{}, embeddingsOp, func(f *fakeUpstream) string { return f.embed })
	res := e.post(t, `{"input":["a b","c"],"dimensions":4}`)
	body := readAll(t, res)
	var out struct {
		Object string
		Data   []struct{ Embedding []float64 }
	}
	if res.StatusCode != 200 || json.Unmarshal([]byte(body), &out) != nil || len(out.Data) != 2 || len(out.Data[0].Embedding) != 4 {
		t.Fatalf("%d %s", res.StatusCode, body)
	}
}

func TestForwardEmbeddingsV4(t *testing.T) {
	e := newForwardEnv(t, fakerouter.Config{Version: fakerouter.V4}, embeddingsOp, func(f *fakeUpstream) string { return f.embed })
	if code, _ := wantProxyError(t, e.post(t, `{"input":"a"}`), 501); code != "not_supported" {
		t.Errorf("code %q", code)
	}
}

// ---- scripted upstreams ----

// scriptedServer forwards through s.forward to a scripted Upstream.
func scriptedServer(t *testing.T, up func(http.ResponseWriter, *http.Request) error, ts *testSession) *httptest.Server {
	t.Helper()
	s := New(Config{Prefix: testPrefix, Upstream: up})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rid := requestID(w, r)
		body, _ := io.ReadAll(r.Body)
		s.forward(w, r, Principal{APIKeyID: 1}, chatOp, body, rid, ts.us())
	}))
	t.Cleanup(srv.Close)
	return srv
}

func postTo(t *testing.T, url, body string) *http.Response {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = res.Body.Close() })
	return res
}

func TestScriptedSplitEventsAndTail(t *testing.T) {
	up := func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		rc := http.NewResponseController(w)
		for _, part := range []string{
			"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n",
			"data: {\"choices\":[{\"del", "ta\":{\"content\":\"b\"}}]}\n", "\n",
			"{\"error\":\"provider request failed: dial tcp 203.0.113.7:3333: connection ", "reset\"}",
		} {
			_, _ = io.WriteString(w, part)
			_ = rc.Flush()
		}
		return nil
	}
	srv := scriptedServer(t, up, &testSession{id: "s"})
	raw := readAll(t, postTo(t, srv.URL, helloBody))
	ev := readEvents(t, strings.NewReader(raw))
	if len(ev) != 3 || !strings.Contains(ev[1].data, `"content":"b"`) || !strings.Contains(ev[2].data, `"upstream_error"`) {
		t.Fatalf("events %+v", ev)
	}
	if strings.Contains(raw, "203.0.113.7") || strings.Contains(raw, `{"error":"`) {
		t.Errorf("leak: %q", raw)
	}
}

func TestScriptedAbortAfterFirstByte(t *testing.T) {
	up := func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n")
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // what reverse proxies do when the copy fails
	}
	srv := scriptedServer(t, up, &testSession{id: "s"})
	ev := readEvents(t, postTo(t, srv.URL, helloBody).Body)
	if len(ev) != 2 || !strings.Contains(ev[1].data, `"code":"upstream_error"`) {
		t.Fatalf("events %+v", ev)
	}
}

func TestScriptedNoRetryAfterFirstByte(t *testing.T) {
	calls := 0
	up := func(w http.ResponseWriter, r *http.Request) error {
		calls++
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n{\"error\":\"session expired\"}")
		return nil
	}
	ts := &testSession{id: "s", open: func() (string, error) { return "s2", nil }}
	srv := scriptedServer(t, up, ts)
	ev := readEvents(t, postTo(t, srv.URL, helloBody).Body)
	if calls != 1 || ts.renewals != 0 {
		t.Errorf("calls %d renewals %d: retried after the first byte", calls, ts.renewals)
	}
	if len(ev) != 2 || !strings.Contains(ev[1].data, "session expired") {
		t.Errorf("events %+v", ev)
	}
}

func TestScriptedHeadersRestoredBetweenAttempts(t *testing.T) {
	calls := 0
	up := func(w http.ResponseWriter, r *http.Request) error {
		calls++
		if calls == 1 {
			w.Header().Set("X-First-Attempt", "leak")
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Content-Length", "40")
			w.WriteHeader(500)
			_, _ = io.WriteString(w, `{"error":"session expired"}`)
			return nil
		}
		if r.Header.Get("Session_id") != "s2" {
			t.Errorf("retry session %q", r.Header.Get("Session_id"))
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, `{"ok":true}`)
		return nil
	}
	ts := &testSession{id: "s1", open: func() (string, error) { return "s2", nil }}
	res := postTo(t, scriptedServer(t, up, ts).URL, helloBody)
	if body := readAll(t, res); res.StatusCode != 200 || body != `{"ok":true}` {
		t.Fatalf("%d %q", res.StatusCode, body)
	}
	if res.Header.Get("X-First-Attempt") != "" {
		t.Errorf("headers of the failed attempt leaked")
	}
}

func TestScriptedProviderRetryAfter(t *testing.T) {
	up := func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(429)
		_, _ = io.WriteString(w, `{"providerModelError":{"error":{"message":"Rate limit exceeded"}},"statusCode":429}`)
		return nil
	}
	res := postTo(t, scriptedServer(t, up, &testSession{id: "s"}).URL, helloBody)
	wantProxyError(t, res, 429)
	if res.Header.Get("Retry-After") != "7" {
		t.Errorf("Retry-After %q", res.Header.Get("Retry-After"))
	}
}

func TestScriptedPreStream500SSE(t *testing.T) {
	up := func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(500)
		_, _ = io.WriteString(w, `{"error":"p-node tee attestation failed: quote invalid at 10.1.2.3:4444"}`)
		return nil
	}
	res := postTo(t, scriptedServer(t, up, &testSession{id: "s"}).URL, helloBody)
	code, msg := wantProxyError(t, res, 502)
	if code != "tee_attestation_failed" || strings.Contains(msg, "10.1.2.3") {
		t.Errorf("code %q msg %q", code, msg)
	}
}

func TestUpstreamErrStatus(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{handlerError{Err: errors.New("dial"), StatusCode: 502}, 502},
		{&handlerError{Err: errors.New("t"), StatusCode: 504}, 504},
		{handlerError{Err: errors.New("none"), StatusCode: 503}, 503},
		{context.DeadlineExceeded, 504},
		{context.Canceled, 499},
		{errors.New("x"), 502},
		{&chain.RouterError{Kind: chain.KindUnknown}, 502},
	} {
		if got := upstreamErrStatus(c.err); got != c.want {
			t.Errorf("%v: %d, want %d", c.err, got, c.want)
		}
	}
}

func TestHasFinishReason(t *testing.T) {
	for s, want := range map[string]bool{
		`{"finish_reason":"stop"}`:           true,
		`{"finish_reason" : "tool_calls"}`:   true,
		`{"finish_reason":null}`:             false,
		`{"a":"finish_reason","b":1}`:        false,
		`{"x":{"finish_reason":null},"y":2}`: false,
	} {
		if got := hasFinishReason([]byte(s)); got != want {
			t.Errorf("%s: %v", s, got)
		}
	}
}

// A session the router cannot use any more ("provider not found" after a
// router restart, "session not found") is replaced and the request retried
// once, like an expired one.
func TestForwardRenewsUnusableSessions(t *testing.T) {
	t.Run("provider not found", func(t *testing.T) {
		e := newForwardEnv(t, fakerouter.Config{}, chatOp, nil)
		bid := e.f.fr.Sessions()[0].BidID
		e.f.fr.SetMode(bid, fakerouter.ModeForeignInstance)
		reopen := e.sess.open
		e.sess.open = func() (string, error) {
			e.f.fr.SetMode(bid, fakerouter.ModeOK) // this router handshakes with the provider again
			return reopen()
		}
		res := e.post(t, helloBody)
		if got := readAll(t, res); res.StatusCode != 200 || e.sess.renewals != 1 {
			t.Fatalf("status %d, renewals %d: %s", res.StatusCode, e.sess.renewals, got)
		}
	})
	t.Run("session not found", func(t *testing.T) {
		e := newForwardEnv(t, fakerouter.Config{}, chatOp, nil)
		e.sess.id = "0x" + strings.Repeat("ab", 32) // unknown to the router
		res := e.post(t, helloBody)
		if got := readAll(t, res); res.StatusCode != 200 || e.sess.renewals != 1 {
			t.Fatalf("status %d, renewals %d: %s", res.StatusCode, e.sess.renewals, got)
		}
	})
}
