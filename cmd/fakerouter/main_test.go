package main

import (
	"bytes"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/chain/fakerouter"
)

func TestLogRequestsAndDemoCatalogue(t *testing.T) {
	buf := &syncBuffer{}
	log.SetOutput(buf)
	t.Cleanup(func() { log.SetOutput(os.Stderr) })

	r := fakerouter.New(fakerouter.Config{})
	seed(r)
	srv := httptest.NewServer(logRequests(r))
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/blockchain/models", nil)
	req.SetBasicAuth("admin", "fake")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	// A missing sessionDuration still drops the connection through the wrapper.
	req, _ = http.NewRequest("POST", srv.URL+"/blockchain/models/0x"+strings.Repeat("00", 32)+"/session", strings.NewReader(`{}`))
	req.SetBasicAuth("admin", "fake")
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("got %d, want a dropped connection", res.StatusCode)
	}
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(buf.String(), "/session - ") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	out := buf.String()
	if !strings.Contains(out, "GET /blockchain/models 200 ") || !strings.Contains(out, "/session - ") {
		t.Fatalf("log: %s", out)
	}
	if strings.Contains(out, "Basic") || strings.Contains(out, "YWRtaW46ZmFrZQ") || strings.Contains(out, "{}") {
		t.Fatalf("log leaks headers or bodies: %s", out)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's and the test's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
