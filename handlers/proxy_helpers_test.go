package handlers

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/chain"
	"github.com/morpheus-gateway/caddy-morpheus/chain/fakerouter"
)

// fakeUpstream is the fake proxy-router on a real HTTP server, with a
// recording of the bodies it received, and a chain.Router client for it.
type fakeUpstream struct {
	t      *testing.T
	fr     *fakerouter.Router
	srv    *httptest.Server
	router *chain.Router
	model  string // blockchain ID of "llama-3.3-70b"
	embed  string // blockchain ID of "bge-m3"

	mu     sync.Mutex
	bodies map[string][]byte // path -> last body
	// before, if set, runs before the fake serves each request.
	before func(r *http.Request)
}

func newFakeUpstream(t *testing.T, cfg fakerouter.Config) *fakeUpstream {
	t.Helper()
	f := &fakeUpstream{t: t, fr: fakerouter.New(cfg), bodies: map[string][]byte{}}
	f.model = f.fr.AddModel(fakerouter.Model{Name: "llama-3.3-70b", Tags: []string{"llm"}})
	f.fr.AddBid(f.model, fakerouter.Bid{Score: 0.9})
	f.embed = f.fr.AddModel(fakerouter.Model{Name: "bge-m3", Tags: []string{"embedding"}})
	f.fr.AddBid(f.embed, fakerouter.Bid{Score: 0.8})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.bodies[r.URL.Path] = b
		before := f.before
		f.mu.Unlock()
		if before != nil {
			before(r)
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		f.fr.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	rt, err := chain.NewRouter(chain.RouterConfig{BaseURL: f.srv.URL, Username: fakerouter.DefaultUsername, Password: fakerouter.DefaultPassword})
	if err != nil {
		t.Fatal(err)
	}
	f.router = rt
	return f
}

func (f *fakeUpstream) lastBody(path string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bodies[path]
}

// open opens a session on the fake for model.
func (f *fakeUpstream) open(model string) string {
	f.t.Helper()
	id, err := f.router.OpenModelSession(context.Background(), model, time.Hour)
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// handlerError mimics caddyhttp.HandlerError (a StatusCode field, Unwrap).
type handlerError struct {
	Err        error
	StatusCode int
}

func (e handlerError) Error() string { return e.Err.Error() }
func (e handlerError) Unwrap() error { return e.Err }

var testTransport = &http.Transport{MaxIdleConnsPerHost: 16}

// proxyTo is a test Config.Upstream: httputil.ReverseProxy with
// FlushInterval -1 to base; pre-response failures come back as a
// handlerError (502, 504 on timeouts) with nothing written, like Caddy's
// reverse_proxy.
func proxyTo(base string) func(http.ResponseWriter, *http.Request) error {
	target, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		var perr error
		rp := &httputil.ReverseProxy{
			Rewrite:       func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
			FlushInterval: -1,
			Transport:     testTransport,
			ErrorHandler:  func(_ http.ResponseWriter, _ *http.Request, err error) { perr = err },
			ErrorLog:      nil,
		}
		rp.ServeHTTP(w, r)
		if perr != nil {
			status := http.StatusBadGateway
			var ne net.Error
			if errors.As(perr, &ne) && ne.Timeout() {
				status = http.StatusGatewayTimeout
			}
			return handlerError{Err: perr, StatusCode: status}
		}
		return nil
	}
}

// closedURL is a base URL on which nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "http://" + addr
}

// sseEvent is one event read from a stream, with its arrival time.
type sseEvent struct {
	data string
	at   time.Time
}

// readEvents reads SSE events incrementally ("data: …" lines up to a blank
// line) until EOF.
func readEvents(t *testing.T, body io.Reader) []sseEvent {
	t.Helper()
	var out []sseEvent
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var cur []string
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if cur != nil {
				out = append(out, sseEvent{data: strings.Join(cur, "\n"), at: time.Now()})
				cur = nil
			}
			continue
		}
		if d, ok := strings.CutPrefix(line, "data:"); ok {
			cur = append(cur, strings.TrimSpace(d))
			continue
		}
		// Anything else is not SSE: keep it visible to the assertions.
		cur = append(cur, "RAW:"+line)
	}
	if cur != nil {
		out = append(out, sseEvent{data: strings.Join(cur, "\n"), at: time.Now()})
	}
	return out
}
