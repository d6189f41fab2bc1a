// Command bench measures the gateway against a bare Caddy reverse_proxy and
// the fake proxy-router itself, in one process and one run:
//
//	go run ./bench -out BENCHMARKS.md        (make bench)
//
// It starts the zero-latency fake router, then Caddy in-process with two
// servers on loopback ports: a bare reverse_proxy to the fake, and the
// morpheus handler (SQLite in a temporary directory, or a fresh database
// on the PostgreSQL server in MORPHEUS_BENCH_DATABASE_URL) in front of the
// same fake. Users, API keys and sessions are set up through the gateway's
// own API and every key is warmed with one chat, so keys and sessions are
// cached. The measured phases then drive the three targets in rotating
// rounds with the same small chat completion: a saturating closed loop
// (-c workers, each on its own keys) and an unloaded one (one worker).
// Around them it measures the hot path's store calls, the heap of 100k
// cached keys, and the delay of every SSE event from the upstream's write
// to its arrival at the client; a CPU profile of the gateway under load is
// written for go tool pprof.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/morpheus-gateway/caddy-morpheus"
)

type options struct {
	out         string
	conc        int
	keys        int
	users       int
	duration    time.Duration
	warmup      time.Duration
	latDuration time.Duration
	rounds      int
	streams     int
	events      int
	gap         time.Duration
	heapKeys    int
	profileDur  time.Duration
	profileDir  string
	dbURL       string
	findings    string
	targets     []string
	wrk         bool
	wrkDuration time.Duration
	wrkThreads  int
	wrkRounds   int
}

// logger writes progress to stderr (Caddy takes over the standard logger).
var logger = log.New(os.Stderr, "bench ", log.Ltime)

func parseFlags() options {
	var o options
	flag.StringVar(&o.out, "out", "", "write the Markdown report to this file (default: stdout only)")
	flag.IntVar(&o.conc, "c", 64, "concurrent workers of the saturating phase")
	flag.IntVar(&o.keys, "keys", 200, "API keys (and upstream sessions) to spread the load over")
	flag.IntVar(&o.users, "users", 10, "users owning the keys (registration and login cost a bcrypt each)")
	flag.DurationVar(&o.duration, "duration", 2*time.Second, "measured time per target and round, saturating phase")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up per target, before the rounds")
	flag.DurationVar(&o.latDuration, "latency-duration", 700*time.Millisecond, "measured time per target and round, unloaded phase (one worker)")
	flag.IntVar(&o.rounds, "rounds", 10, "rounds; each drives every target once, in rotating order; medians are reported")
	flag.IntVar(&o.streams, "streams", 4, "concurrent SSE streams per target in the streaming phase")
	flag.IntVar(&o.events, "events", 200, "SSE events per stream")
	flag.DurationVar(&o.gap, "gap", 20*time.Millisecond, "delay between the upstream's SSE events")
	flag.IntVar(&o.heapKeys, "heap-keys", 100_000, "cached keys for the heap measurement")
	flag.DurationVar(&o.profileDur, "profile", 5*time.Second, "CPU-profile the gateway (and bare reverse_proxy) under saturating load for this long; 0 = off")
	flag.StringVar(&o.profileDir, "profile-dir", filepath.Join(os.TempDir(), "morpheus-bench"), "where the CPU profiles are written")
	flag.StringVar(&o.dbURL, "db", os.Getenv("MORPHEUS_BENCH_DATABASE_URL"), "PostgreSQL server for the gateway's store (a fresh database is created and dropped); empty = SQLite in a temporary directory")
	flag.StringVar(&o.findings, "findings", "bench/FINDINGS.md", "hand-written profile findings included in the report (skipped if missing)")
	_, wrkErr := exec.LookPath("wrk")
	flag.BoolVar(&o.wrk, "wrk", wrkErr == nil, "also drive the targets with wrk (default: when wrk is installed)")
	flag.DurationVar(&o.wrkDuration, "wrk-duration", 3*time.Second, "wrk run per target and round")
	flag.IntVar(&o.wrkThreads, "wrk-threads", 2, "wrk threads")
	flag.IntVar(&o.wrkRounds, "wrk-rounds", 3, "wrk rounds (rotating order, like -rounds)")
	only := flag.String("targets", "direct,bare,bare-flush,gateway", "targets to drive (comma-separated subset of direct,bare,bare-flush,gateway)")
	flag.Parse()
	o.targets = strings.Split(*only, ",")
	return o
}

func main() {
	o := parseFlags()
	if o.conc < 1 || o.keys < 1 || o.rounds < 1 || o.streams < 1 || o.streams > o.keys {
		logger.Fatal("bench: -c, -keys, -rounds and -streams must be positive, -streams at most -keys")
	}
	if o.conc > o.keys {
		logger.Printf("bench: -c %d > -keys %d: workers share keys and queue on them", o.conc, o.keys)
	}
	rep := &report{opts: o, started: time.Now(), machine: machineInfo()}
	if err := run(o, rep); err != nil {
		logger.Fatalf("bench: %v", err)
	}
	md := rep.markdown()
	fmt.Print(md)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(md), 0o644); err != nil {
			logger.Fatalf("bench: %v", err)
		}
		logger.Printf("bench: wrote %s", o.out)
	}
}

func run(o options, rep *report) error {
	ctx := context.Background()

	// The heap first, while nothing else runs in the process.
	logger.Printf("heap: %d cached keys", o.heapKeys)
	heap, err := cachedKeysHeap(o.heapKeys)
	if err != nil {
		return fmt.Errorf("heap: %w", err)
	}
	rep.heapMiB = heap

	dir, err := os.MkdirTemp("", "morpheus-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	isolate(dir)

	e := &env{}
	defer e.close()
	if err := e.prepareDatabase(ctx, o.dbURL, dir); err != nil {
		return err
	}
	rep.dbKind = e.dbKind
	if err := e.startFake(o.gap); err != nil {
		return err
	}
	if err := e.startCaddy(); err != nil {
		return err
	}
	setupClient := newClient(16)
	if err := waitHealthy(ctx, setupClient, e.gatewayURL+"/health"); err != nil {
		return err
	}

	logger.Printf("setup: %d users, %d keys through the gateway's API", o.users, o.keys)
	t0 := time.Now()
	keys, err := e.createKeys(ctx, setupClient, min(o.users, o.keys), o.keys)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	sessions, err := e.openFakeSessions(ctx, setupClient, o.keys)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	direct, bare, bareFlush, gateway := targets(e, keys, sessions)
	if slices.Contains(o.targets, "gateway") {
		if err := warmKeys(ctx, setupClient, gateway); err != nil {
			return fmt.Errorf("warming the keys: %w", err)
		}
	}
	rep.upstreamSessions = len(e.fake.Sessions()) - len(sessions)
	logger.Printf("setup: done in %s (%d upstream sessions)", time.Since(t0).Round(time.Millisecond), rep.upstreamSessions)

	sc := newStoreCounter(e.dbKind, e.dbURL)
	rep.store = sc
	var all []*target
	for _, tg := range []*target{direct, bare, bareFlush, gateway} {
		if slices.Contains(o.targets, tg.name) {
			all = append(all, tg)
		}
	}
	rep.targets = all
	rep.sat = map[string][]loadResult{}
	rep.lat = map[string][]loadResult{}
	rep.loadBefore = loadAvg()
	cpuA := readMachineCPU()
	// One keep-alive client per target for the whole run, so that no round
	// pays for connection setup; a warm-up per target first.
	clients := map[*target]*http.Client{}
	for _, tg := range all {
		clients[tg] = newClient(o.conc)
		defer clients[tg].CloseIdleConnections()
		a := sc.snapshot(ctx)
		warm := drive(ctx, clients[tg], tg, o.conc, o.warmup)
		if tg == gateway {
			sc.add(a, sc.snapshot(ctx), warm.Requests)
		}
		if warm.Errors > 0 {
			return fmt.Errorf("warm-up of %s: %d errors, first: %s", tg.name, warm.Errors, warm.FirstError)
		}
	}
	// Many short rounds in rotating order: the other tenants of the
	// machine come and go, and pairing the targets within a round cancels
	// most of that drift.
	for r := range o.rounds {
		for i := range all {
			tg := all[(i+r)%len(all)]
			var a storeSnapshot
			if tg == gateway {
				a = sc.snapshot(ctx)
			}
			client := clients[tg]
			conns := e.fakeConns.Load()
			sat := drive(ctx, client, tg, o.conc, o.duration)
			sat.UpstreamConns = int(e.fakeConns.Load() - conns)
			lat := drive(ctx, client, tg, 1, o.latDuration)
			if tg == gateway {
				sc.add(a, sc.snapshot(ctx), sat.Requests+lat.Requests)
			}
			rep.sat[tg.name] = append(rep.sat[tg.name], sat)
			rep.lat[tg.name] = append(rep.lat[tg.name], lat)
			logger.Printf("round %2d %-10s c=%d %5.0f req/s p50 %-8s cpu/req %-6s syscalls r/w %.1f/%.1f allocs %.0f | c=1 p50 %-7s p99 %-8s | errors %d",
				r+1, tg.name, o.conc, sat.RPS, us(sat.P50), us(sat.CPUPerReq), sat.Per.Reads, sat.Per.Writes, sat.Per.Allocs, us(lat.P50), us(lat.P99), sat.Errors+lat.Errors)
			if sat.FirstError != "" || lat.FirstError != "" {
				logger.Printf("  first error: %s%s", sat.FirstError, lat.FirstError)
			}
		}
	}

	if o.wrk {
		rep.wrk = map[string][]wrkResult{}
		for r := range o.wrkRounds {
			for i := range all {
				tg := all[(i+r)%len(all)]
				var a storeSnapshot
				if tg == gateway {
					a = sc.snapshot(ctx)
				}
				res, err := runWrk(ctx, dir, tg, o.wrkThreads, o.conc, o.wrkDuration)
				if err != nil {
					return err
				}
				if tg == gateway {
					sc.add(a, sc.snapshot(ctx), res.Requests)
				}
				rep.wrk[tg.name] = append(rep.wrk[tg.name], res)
				logger.Printf("wrk round %d %-8s c=%d %6.0f req/s p50 %-9s p99 %-9s cpu/req %-7s errors %d",
					r+1, tg.name, o.conc, res.RPS, us(res.P50), us(res.P99), us(res.CPUPerReq), res.Errors)
			}
		}
	}

	rep.cpuLoad = interference(cpuA, readMachineCPU())
	cpuS := readMachineCPU()
	logger.Printf("streaming: %d streams × %d events, %s apart, per target", o.streams, o.events, o.gap)
	rep.streams = map[string]streamResult{}
	for _, tg := range all {
		s, err := runStreams(ctx, e.tap, tg, o.streams, o.events, 0)
		if err != nil {
			return fmt.Errorf("streaming: %w", err)
		}
		rep.streams[tg.name] = s
		logger.Printf("streaming %-8s events %d p50 %s p99 %s max %s mismatched streams %d",
			tg.name, s.Events, us(s.P50), us(s.P99), us(s.Max), s.Mismatched)
	}
	rep.cpuStream = interference(cpuS, readMachineCPU())
	rep.loadAfter = loadAvg()

	if o.profileDur > 0 {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return err
		}
		for _, tg := range []*target{gateway, bare} {
			if !slices.Contains(all, tg) {
				continue
			}
			path := filepath.Join(o.profileDir, tg.name+".cpu.pprof")
			logger.Printf("profiling %s for %s → %s", tg.name, o.profileDur, path)
			if err := profileRun(ctx, tg, o.conc, o.profileDur, path); err != nil {
				return fmt.Errorf("profiling: %w", err)
			}
			rep.profiles = append(rep.profiles, profileFile{target: tg.name, path: path})
		}
	}
	rep.finished = time.Now()
	return nil
}

// targets builds the three targets: the fake itself (the floor), bare
// reverse_proxy (given the session_id and Basic auth a gateway would set),
// and the gateway (an API key per worker slot).
func targets(e *env, keys, sessions []string) (direct, bare, bareFlush, gateway *target) {
	direct = &target{name: "direct", label: "fake router, direct (floor)", url: e.fakeURL + "/v1/chat/completions"}
	bare = &target{name: "bare", label: "Caddy bare `reverse_proxy`", url: e.bareURL + "/v1/chat/completions"}
	bareFlush = &target{name: "bare-flush", label: "Caddy bare `reverse_proxy`, `flush_interval -1`", url: e.bareFlushURL + "/v1/chat/completions"}
	gateway = &target{name: "gateway", label: "Caddy + morpheus gateway", url: e.gatewayURL + "/chat/completions"}
	for _, sid := range sessions {
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set("session_id", sid)
		r, _ := http.NewRequest("GET", "/", nil)
		r.SetBasicAuth(routerUser, routerPassword)
		h.Set("Authorization", r.Header.Get("Authorization"))
		direct.headers = append(direct.headers, h)
		bare.headers = append(bare.headers, h.Clone())
		bareFlush.headers = append(bareFlush.headers, h.Clone())
	}
	for _, k := range keys {
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set("Authorization", "Bearer "+k)
		gateway.headers = append(gateway.headers, h)
	}
	return direct, bare, bareFlush, gateway
}

// warmKeys sends one chat per key through the gateway: the key is verified
// and cached, and its session opened and cached.
func warmKeys(ctx context.Context, c *http.Client, gw *target) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(gw.headers))
	sem := make(chan struct{}, 16)
	for _, h := range gw.headers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := once(ctx, c, gw, h.Clone()); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func waitHealthy(ctx context.Context, c *http.Client, url string) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the gateway did not become healthy at %s (last: %v)", url, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
