package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// counters are process-wide counts that, unlike time, do not depend on
// how busy the machine is: read/write-family syscalls (/proc/self/io) and
// heap allocations.
type counters struct {
	syscr, syscw   int64
	mallocs, bytes uint64
}

func readCounters() counters {
	var c counters
	if b, err := os.ReadFile("/proc/self/io"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			switch k {
			case "syscr":
				c.syscr = n
			case "syscw":
				c.syscw = n
			}
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	c.mallocs, c.bytes = ms.Mallocs, ms.TotalAlloc
	return c
}

// perRequest are counters per request over a run.
type perRequest struct {
	Reads, Writes, Allocs, AllocBytes float64
}

func (c counters) per(before counters, n int) perRequest {
	if n == 0 {
		return perRequest{}
	}
	f := float64(n)
	return perRequest{
		Reads:      float64(c.syscr-before.syscr) / f,
		Writes:     float64(c.syscw-before.syscw) / f,
		Allocs:     float64(c.mallocs-before.mallocs) / f,
		AllocBytes: float64(c.bytes-before.bytes) / f,
	}
}

// cpuTime is the CPU time (user + system) this process has used so far;
// child processes (wrk) are not included.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// target is one thing to drive: a URL and, per API key or session, the
// headers of a request on it. Worker w of C uses the header sets w, w+C,
// w+2C, … in turn, so no two workers share a key (the gateway, like the
// router, serves the requests of one key/session one at a time).
type target struct {
	name    string
	label   string
	url     string
	headers []http.Header
}

// chatBody is the small non-streaming chat completion every target gets.
var chatBody = []byte(`{"model":"` + modelName + `","messages":[{"role":"user","content":"hello there gateway"}]}`)

// loadResult is one closed-loop run.
type loadResult struct {
	Requests, Errors int
	Elapsed          time.Duration
	RPS              float64
	P50, P90, P99    time.Duration
	Mean             time.Duration
	FirstError       string
	// CPUPerReq is the process's CPU time per request during the run:
	// load generator, Caddy and the fake together (wrk runs: without
	// the load generator, which is another process).
	CPUPerReq time.Duration
	// UpstreamConns is the connections the fake accepted during the run.
	UpstreamConns int
	// Per is syscalls and allocations per request (whole process).
	Per perRequest
}

// newClient returns a keep-alive client for conc workers.
func newClient(conc int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns:        conc * 2,
		MaxIdleConnsPerHost: conc * 2,
		DisableCompression:  true,
		IdleConnTimeout:     time.Minute,
	}}
}

// drive runs a closed loop of conc workers against tg for d and reports
// throughput and latency (every request is timed; nothing is sampled).
// Requests in flight at the deadline are completed, not cut, so no
// connection is torn down between phases.
func drive(ctx context.Context, client *http.Client, tg *target, conc int, d time.Duration) loadResult {
	cnt0 := readCounters()
	cpu0 := cpuTime()
	deadline := time.Now().Add(d)
	lat := make([][]time.Duration, conc)
	var errs atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []int
			for k := w; k < len(tg.headers); k += conc {
				mine = append(mine, k)
			}
			if len(mine) == 0 {
				mine = []int{w % len(tg.headers)}
			}
			samples := make([]time.Duration, 0, 4096)
			for i := 0; time.Now().Before(deadline) && ctx.Err() == nil; i++ {
				t0 := time.Now()
				err := once(ctx, client, tg, tg.headers[mine[i%len(mine)]])
				el := time.Since(t0)
				if err != nil {
					if errs.Add(1) == 1 {
						firstErr.Store(err.Error())
					}
					continue
				}
				samples = append(samples, el)
			}
			lat[w] = samples
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	cnt := readCounters()
	var all []time.Duration
	for _, s := range lat {
		all = append(all, s...)
	}
	r := loadResult{Requests: len(all), Errors: int(errs.Load()), Elapsed: elapsed}
	if s, ok := firstErr.Load().(string); ok {
		r.FirstError = s
	}
	if len(all) == 0 {
		return r
	}
	slices.Sort(all)
	var sum time.Duration
	for _, x := range all {
		sum += x
	}
	r.RPS = float64(len(all)) / elapsed.Seconds()
	r.P50, r.P90, r.P99 = pct(all, 0.50), pct(all, 0.90), pct(all, 0.99)
	r.Mean = sum / time.Duration(len(all))
	r.CPUPerReq = cpu / time.Duration(len(all))
	r.Per = cnt.per(cnt0, len(all)+r.Errors)
	return r
}

// once sends one chat completion and reads the whole answer.
func once(ctx context.Context, client *http.Client, tg *target, h http.Header) error {
	req, err := http.NewRequestWithContext(ctx, "POST", tg.url, bytes.NewReader(chatBody))
	if err != nil {
		return err
	}
	req.Header = h
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: status %d: %s", tg.name, resp.StatusCode, bytes.TrimSpace(b))
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// pct is the q-quantile of sorted samples (nearest rank).
func pct(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// median of the rounds' values of one metric.
func median[T int | float64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		var z T
		return z
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// summary is the median over rounds of one target at one concurrency.
type summary struct {
	RPS           float64
	P50, P90, P99 time.Duration
	Requests      int
	Errors        int
	FirstError    string
	CPUPerReq     time.Duration
	Per           perRequest
}

func summarize(rs []loadResult) summary {
	var s summary
	var rps []float64
	var p50, p90, p99, cpu []time.Duration
	var rd, wr, al, ab []float64
	for _, r := range rs {
		rd, wr = append(rd, r.Per.Reads), append(wr, r.Per.Writes)
		al, ab = append(al, r.Per.Allocs), append(ab, r.Per.AllocBytes)
		cpu = append(cpu, r.CPUPerReq)
		rps = append(rps, r.RPS)
		p50, p90, p99 = append(p50, r.P50), append(p90, r.P90), append(p99, r.P99)
		s.Requests += r.Requests
		s.Errors += r.Errors
		if s.FirstError == "" {
			s.FirstError = r.FirstError
		}
	}
	s.RPS, s.P50, s.P90, s.P99 = median(rps), median(p50), median(p90), median(p99)
	s.CPUPerReq = median(cpu)
	s.Per = perRequest{Reads: median(rd), Writes: median(wr), Allocs: median(al), AllocBytes: median(ab)}
	return s
}
