// Command fakerouter runs the fake Morpheus proxy-router (chain/fakerouter)
// on a port, with a small demo catalogue, for the local demo and benchmarks.
//
//	go run ./cmd/fakerouter -listen 127.0.0.1:8082 -user admin -password fake \
//	    -version current -open-latency 2s
//
// It logs one line per request (method, path, status, duration); it never
// logs headers (Authorization, session_id) or bodies.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/chain/fakerouter"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8082", "address to listen on")
	user := flag.String("user", fakerouter.DefaultUsername, "Basic auth user name")
	password := flag.String("password", fakerouter.DefaultPassword, "Basic auth password")
	version := flag.String("version", string(fakerouter.Current), `emulated proxy-router version: "current" or "v4"`)
	openLatency := flag.Duration("open-latency", 2*time.Second, "time to open a session (handshake + mining)")
	closeLatency := flag.Duration("close-latency", 500*time.Millisecond, "time to close a session")
	minedDelay := flag.Duration("mined-delay", 2*time.Second, "OpenedAt = now + mined-delay")
	maxDuration := flag.Duration("max-session-duration", 24*time.Hour, "cap on EndsAt - OpenedAt (0 = none)")
	chunkDelay := flag.Duration("chunk-delay", 50*time.Millisecond, "delay between streamed chunks")
	firstByte := flag.Duration("first-byte-timeout", 5*time.Second, "wait before a slow_first_byte provider fails")
	flag.Parse()

	v := fakerouter.Version(*version)
	if v != fakerouter.Current && v != fakerouter.V4 {
		log.Fatalf("fakerouter: -version must be %q or %q", fakerouter.Current, fakerouter.V4)
	}
	r := fakerouter.New(fakerouter.Config{
		Username: *user, Password: *password, Version: v,
		OpenLatency: *openLatency, CloseLatency: *closeLatency, MinedDelay: *minedDelay,
		MaxSessionDuration: *maxDuration, StreamChunkDelay: *chunkDelay, FirstByteTimeout: *firstByte,
	})
	seed(r)

	srv := &http.Server{Addr: *listen, Handler: logRequests(r), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		log.Printf("fakerouter: shutting down")
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			log.Printf("fakerouter: shutdown: %v", err)
		}
	}()
	log.Printf("fakerouter: %s on http://%s (wallet %s, version %s)", fakerouter.FakeVersion, *listen, r.Wallet(), v)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("fakerouter: %v", err)
	}
}

// seed adds a demo catalogue shaped like the real one.
func seed(r *fakerouter.Router) {
	price := func(s string) *big.Int {
		v, _ := new(big.Int).SetString(s, 10)
		return v
	}
	llama := r.AddModel(fakerouter.Model{Name: "llama-3.3-70b", Tags: []string{"llm", "llama-3.3-70b"}})
	r.AddBid(llama, fakerouter.Bid{Score: 0.87, PricePerSecond: price("10000000000000")})
	r.AddBid(llama, fakerouter.Bid{Score: 0.61, PricePerSecond: price("12000000000000")})

	web := r.AddModel(fakerouter.Model{Name: "llama-3.3-70b-web", Tags: []string{"llama-3.3-70b", "web-search-enabled", "LLM"}})
	r.AddBid(web, fakerouter.Bid{Score: 0.8})

	qwen := r.AddModel(fakerouter.Model{Name: "qwen3-235b", Tags: []string{"llm", "tee"}})
	r.AddBid(qwen, fakerouter.Bid{Score: 0.75, PricePerSecond: price("50000000000000")})

	embed := r.AddModel(fakerouter.Model{Name: "text-embedding-bge-m3", Tags: []string{"embedding"}})
	r.AddBid(embed, fakerouter.Bid{Score: 0.9, PricePerSecond: price("1000000000000")})

	r.AddModel(fakerouter.Model{Name: "mistral-31-24b", Tags: []string{"llm"}, IsDeleted: true})
}

// statusRecorder captures the status code; Unwrap keeps Flush and Hijack
// reachable through http.ResponseController.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logRequests logs method, path, status and duration of every request. A
// dropped connection (no response) is logged as status "-".
func logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			status := "-"
			if rec.status != 0 {
				status = fmt.Sprint(rec.status)
			}
			log.Printf("%s %s %s %s", req.Method, req.URL.Path, status, time.Since(start).Round(time.Microsecond))
		}()
		next.ServeHTTP(rec, req)
	})
}
