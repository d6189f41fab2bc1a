package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/jackc/pgx/v5"

	"github.com/morpheus-gateway/caddy-morpheus/chain/fakerouter"
)

// Credentials and names shared by the fake router and the gateway.
const (
	routerUser     = "admin"
	routerPassword = "fake"
	modelName      = "llama-3.3-70b"
	jwtSecret      = "bench-jwt-secret-0123456789abcdef0123456789abcdef"
	userPassword   = "correct horse battery"
)

// env is everything the benchmark runs against: the fake router behind a
// tap, and one Caddy process-in-process with two servers.
type env struct {
	fake    *fakerouter.Router
	modelID string
	tap     *tap
	fakeSrv *http.Server
	fakeURL string // the fake router (through the tap): the floor
	// fakeConns counts connections accepted by the fake: a proxy that
	// keeps its upstream connections alive opens few.
	fakeConns atomic.Int64

	bareURL      string // Caddy: bare reverse_proxy to the fake
	bareFlushURL string // the same with flush_interval -1
	gatewayURL   string // Caddy: the morpheus handler in front of the fake
	adminAddr    string

	dbURL   string // the gateway's database_url
	dbKind  string // "sqlite" or "postgres"
	cleanup []func()
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startFake starts the zero-latency fake router behind the tap on a
// loopback port.
func (e *env) startFake(gap time.Duration) error {
	e.fake = fakerouter.New(fakerouter.Config{Username: routerUser, Password: routerPassword})
	e.modelID = e.fake.AddModel(fakerouter.Model{Name: modelName, Tags: []string{"llm", modelName}})
	e.fake.AddBid(e.modelID, fakerouter.Bid{Score: 0.9})
	e.tap = newTap(e.fake, gap)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	e.fakeSrv = &http.Server{Handler: e.tap, ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				e.fakeConns.Add(1)
			}
		}}
	go func() { _ = e.fakeSrv.Serve(l) }()
	e.fakeURL = "http://" + l.Addr().String()
	e.cleanup = append(e.cleanup, func() { _ = e.fakeSrv.Close() })
	return nil
}

// prepareDatabase picks the gateway's store: a fresh database on the
// PostgreSQL server at pgURL (dropped at the end), or SQLite in dir.
func (e *env) prepareDatabase(ctx context.Context, pgURL, dir string) error {
	if pgURL == "" {
		e.dbKind = "sqlite"
		e.dbURL = "sqlite:" + filepath.Join(dir, "bench.db")
		return nil
	}
	e.dbKind = "postgres"
	u, err := url.Parse(pgURL)
	if err != nil {
		return errors.New("MORPHEUS_BENCH_DATABASE_URL is not a URL")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "morpheus_bench_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return fmt.Errorf("creating the bench database: %w", err)
	}
	u.Path = "/" + name
	e.dbURL = u.String()
	e.cleanup = append(e.cleanup, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, pgURL)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return nil
}

// caddyConfig is the JSON config: the morpheus app, a bare reverse_proxy
// server, the same with flush_interval -1 (as the gateway's embedded
// proxy), and a gateway server, all in front of the fake.
func (e *env) caddyConfig(barePort, bareFlushPort, gatewayPort, adminPort int) ([]byte, error) {
	fake, err := url.Parse(e.fakeURL)
	if err != nil {
		return nil, err
	}
	unlimited := map[string]any{"events": 1_000_000, "window": "1m"}
	cfg := map[string]any{
		"admin": map[string]any{
			"listen": fmt.Sprintf("127.0.0.1:%d", adminPort),
			"config": map[string]any{"persist": false},
		},
		"logging": map[string]any{"logs": map[string]any{"default": map[string]any{"level": "WARN"}}},
		"apps": map[string]any{
			"morpheus": map[string]any{
				"database_url":        e.dbURL,
				"jwt_secret":          jwtSecret,
				"default_model":       modelName,
				"router":              map[string]any{"url": e.fakeURL, "username": routerUser, "password": routerPassword},
				"login_rate_limit":    unlimited,
				"register_rate_limit": unlimited,
			},
			"http": map[string]any{
				"servers": map[string]any{
					"bare":       bareServer(barePort, fake.Host, 0),
					"bare_flush": bareServer(bareFlushPort, fake.Host, -1),
					"gateway": map[string]any{
						"listen":          []string{fmt.Sprintf("127.0.0.1:%d", gatewayPort)},
						"automatic_https": map[string]any{"disable": true},
						"routes": []any{map[string]any{"handle": []any{map[string]any{
							"handler": "morpheus",
						}}}},
					},
				},
			},
		},
	}
	return json.Marshal(cfg)
}

// bareServer is a server with a plain reverse_proxy to upstream. Its
// transport has the timeouts and idle pool of the gateway's embedded proxy
// (upstream.go); flushInterval 0 is Caddy's default (which still flushes
// SSE and unknown-length bodies immediately).
func bareServer(port int, upstream string, flushInterval int) map[string]any {
	rp := map[string]any{
		"handler":   "reverse_proxy",
		"upstreams": []any{map[string]any{"dial": upstream}},
		"transport": map[string]any{
			"protocol":                "http",
			"dial_timeout":            "10s",
			"response_header_timeout": "300s",
			"keep_alive":              map[string]any{"max_idle_conns_per_host": 256},
		},
	}
	if flushInterval != 0 {
		rp["flush_interval"] = flushInterval
	}
	return map[string]any{
		"listen":          []string{fmt.Sprintf("127.0.0.1:%d", port)},
		"automatic_https": map[string]any{"disable": true},
		// Caddy drops request headers with underscores unless allowlisted
		// (GHSA-f59h-q822-g45g); the router's session header has one.
		"expected_underscore_headers": []string{"session_id"},
		"routes":                      []any{map[string]any{"handle": []any{rp}}},
	}
}

// startCaddy loads the config in this process.
func (e *env) startCaddy() error {
	var ports [4]int
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return err
		}
		ports[i] = p
	}
	cfg, err := e.caddyConfig(ports[0], ports[1], ports[2], ports[3])
	if err != nil {
		return err
	}
	if err := caddy.Load(cfg, true); err != nil {
		return fmt.Errorf("loading the Caddy config: %w", err)
	}
	e.cleanup = append(e.cleanup, func() { _ = caddy.Stop() })
	e.bareURL = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	e.bareFlushURL = fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	e.gatewayURL = fmt.Sprintf("http://127.0.0.1:%d/api/v1", ports[2])
	e.adminAddr = fmt.Sprintf("127.0.0.1:%d", ports[3])
	return nil
}

// close undoes everything, last started first.
func (e *env) close() {
	for i := len(e.cleanup) - 1; i >= 0; i-- {
		e.cleanup[i]()
	}
}

// isolate points Caddy's data and config directories at dir.
func isolate(dir string) {
	_ = os.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	_ = os.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
}

// ---- setup through the gateway's API ----

// apiCall sends a JSON request and decodes a JSON answer, checking the
// status.
func apiCall(ctx context.Context, c *http.Client, method, url, bearer string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, url, resp.StatusCode, want, strings.TrimSpace(string(b)))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// createKeys registers users, logs them in and creates keysTotal API keys
// spread over them, through the gateway's API.
func (e *env) createKeys(ctx context.Context, c *http.Client, users, keysTotal int) ([]string, error) {
	keys := make([]string, keysTotal)
	var wg sync.WaitGroup
	errs := make(chan error, users)
	sem := make(chan struct{}, 4)
	for u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			email := fmt.Sprintf("bench-%d@example.com", u)
			cred := map[string]string{"email": email, "password": userPassword}
			if err := apiCall(ctx, c, "POST", e.gatewayURL+"/auth/register", "", cred, http.StatusCreated, nil); err != nil {
				errs <- err
				return
			}
			var tok struct {
				Access string `json:"access_token"`
			}
			if err := apiCall(ctx, c, "POST", e.gatewayURL+"/auth/login", "", cred, http.StatusOK, &tok); err != nil {
				errs <- err
				return
			}
			for k := u; k < keysTotal; k += users {
				var key struct {
					Key string `json:"key"`
				}
				if err := apiCall(ctx, c, "POST", e.gatewayURL+"/auth/keys", tok.Access,
					map[string]string{"name": fmt.Sprintf("bench-%d", k)}, http.StatusCreated, &key); err != nil {
					errs <- err
					return
				}
				keys[k] = key.Key
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return keys, nil
}

// openFakeSessions opens n sessions on the fake directly, for the direct
// and bare reverse_proxy targets (the gateway opens its own).
func (e *env) openFakeSessions(ctx context.Context, c *http.Client, n int) ([]string, error) {
	ids := make([]string, n)
	for i := range ids {
		req, err := http.NewRequestWithContext(ctx, "POST", e.fakeURL+"/blockchain/models/"+e.modelID+"/session",
			strings.NewReader(`{"sessionDuration":3600}`))
		if err != nil {
			return nil, err
		}
		req.SetBasicAuth(routerUser, routerPassword)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		var out struct {
			SessionID string `json:"sessionID"`
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || out.SessionID == "" {
			return nil, fmt.Errorf("opening a session on the fake: status %d: %v", resp.StatusCode, err)
		}
		ids[i] = out.SessionID
	}
	return ids, nil
}
