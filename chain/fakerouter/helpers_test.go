package fakerouter

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fixture is a fake router on an httptest server with one LLM model and one
// ok bid, talked to with a plain net/http client.
type fixture struct {
	t       *testing.T
	r       *Router
	srv     *httptest.Server
	modelID string
	bidID   string
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	r := New(cfg)
	model := r.AddModel(Model{Name: "llama-3.3-70b", Tags: []string{"llm"}})
	bid := r.AddBid(model, Bid{Score: 0.9})
	srv := r.Start()
	t.Cleanup(srv.Close)
	return &fixture{t: t, r: r, srv: srv, modelID: model, bidID: bid}
}

type resp struct {
	status int
	header http.Header
	body   string
}

func (r resp) contentType() string { return r.header.Get("Content-Type") }

// json decodes the body into a generic map.
func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// errorText returns the "error" string of a JSON error body.
func (r resp) errorText(t *testing.T) string {
	t.Helper()
	s, _ := r.json(t)["error"].(string)
	return s
}

// opt modifies a request.
type opt func(*http.Request)

func header(k, v string) opt   { return func(r *http.Request) { r.Header.Set(k, v) } }
func sessionHdr(id string) opt { return header("session_id", id) }
func noAuth() opt              { return func(r *http.Request) { r.Header.Del("Authorization") } }
func basic(u, p string) opt    { return func(r *http.Request) { r.SetBasicAuth(u, p) } }

func (f *fixture) do(method, path, body string, opts ...opt) resp {
	f.t.Helper()
	return f.doCtx(context.Background(), method, path, body, opts...)
}

func (f *fixture) doCtx(ctx context.Context, method, path, body string, opts ...opt) resp {
	f.t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.SetBasicAuth(DefaultUsername, DefaultPassword)
	req.Header.Set("Content-Type", "application/json")
	for _, o := range opts {
		o(req)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: string(b)}
}

// open opens a session on the fixture's model and returns its ID.
func (f *fixture) open(duration string) string {
	f.t.Helper()
	res := f.do("POST", "/blockchain/models/"+f.modelID+"/session", `{"sessionDuration":`+duration+`,"directPayment":false,"failover":false}`)
	if res.status != 200 {
		f.t.Fatalf("open: %d %s", res.status, res.body)
	}
	id, _ := res.json(f.t)["sessionID"].(string)
	return id
}

func (f *fixture) chat(sid string, stream bool, content string, opts ...opt) resp {
	f.t.Helper()
	body := `{"model":"x","stream":` + map[bool]string{true: "true", false: "false"}[stream] +
		`,"messages":[{"role":"user","content":` + quote(content) + `}]}`
	return f.do("POST", "/v1/chat/completions", body, append([]opt{sessionHdr(sid)}, opts...)...)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// sseEvents splits an SSE body into its "data: " payloads; anything after
// the last "\n\n" that is not an event is returned as tail.
func sseEvents(body string) (events []string, tail string) {
	parts := strings.Split(body, "\n\n")
	for i, p := range parts {
		if i == len(parts)-1 {
			return events, p
		}
		events = append(events, strings.TrimPrefix(p, "data: "))
	}
	return events, ""
}

// eventually polls cond for up to 2 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func expect(t *testing.T, res resp, status int, contentType, errSubstr string) {
	t.Helper()
	if res.status != status {
		t.Fatalf("status %d, want %d (body %q)", res.status, status, res.body)
	}
	if contentType != "" && !strings.HasPrefix(res.contentType(), contentType) {
		t.Fatalf("Content-Type %q, want %q", res.contentType(), contentType)
	}
	if errSubstr != "" && !strings.Contains(res.body, errSubstr) {
		t.Fatalf("body %q does not contain %q", res.body, errSubstr)
	}
}
