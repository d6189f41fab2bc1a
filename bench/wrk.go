package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkResult is one wrk run.
type wrkResult struct {
	RPS           float64
	P50, P90, P99 time.Duration
	Requests      int
	Errors        int           // non-2xx answers and socket errors
	CPUPerReq     time.Duration // this process (Caddy + fake), wrk excluded
}

// wrkScript is a Lua script that sends the chat body with the target's
// header sets; thread t of n uses the sets t, t+n, t+2n, … in turn, so a
// key is reused only after all of the thread's other keys (more keys than
// connections per thread: requests on one key rarely overlap).
func wrkScript(tg *target, path string, threads int) string {
	var b strings.Builder
	b.WriteString("local sets = {\n")
	for _, h := range tg.headers {
		b.WriteString("  {")
		for k, v := range h {
			fmt.Fprintf(&b, "[%q]=%q, ", k, v[0])
		}
		b.WriteString("},\n")
	}
	b.WriteString("}\n")
	fmt.Fprintf(&b, "local body = %q\nlocal path = %q\nlocal nthreads = %d\n", string(chatBody), path, threads)
	b.WriteString(`local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
local mine = {}
local i = 0
function init(args)
  for k = tid + 1, #sets, nthreads do
    mine[#mine + 1] = sets[k]
  end
end
function request()
  i = i % #mine + 1
  return wrk.format("POST", path, mine[i], body)
end
`)
	return b.String()
}

var (
	wrkRPS    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkTotal  = regexp.MustCompile(`(\d+) requests in`)
	wrkNon2xx = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	wrkSock   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkPct    = regexp.MustCompile(`(?m)^\s+(50|90|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
)

// runWrk drives tg with wrk (threads, conns, d) and parses its report.
func runWrk(ctx context.Context, dir string, tg *target, threads, conns int, d time.Duration) (wrkResult, error) {
	u, err := url.Parse(tg.url)
	if err != nil {
		return wrkResult{}, err
	}
	script := filepath.Join(dir, "wrk-"+tg.name+".lua")
	if err := os.WriteFile(script, []byte(wrkScript(tg, u.Path, threads)), 0o600); err != nil {
		return wrkResult{}, err
	}
	cmd := exec.CommandContext(ctx, "wrk", "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
		"-d", fmt.Sprintf("%ds", max(1, int(d.Seconds()))), "--latency", "-s", script, tg.url)
	cpu0 := cpuTime()
	out, err := cmd.CombinedOutput()
	cpu := cpuTime() - cpu0
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %v: %s", err, out)
	}
	s := string(out)
	var r wrkResult
	if m := wrkRPS.FindStringSubmatch(s); m != nil {
		r.RPS, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := wrkTotal.FindStringSubmatch(s); m != nil {
		r.Requests, _ = strconv.Atoi(m[1])
	}
	if m := wrkNon2xx.FindStringSubmatch(s); m != nil {
		r.Errors, _ = strconv.Atoi(m[1])
	}
	if m := wrkSock.FindStringSubmatch(s); m != nil {
		for _, x := range m[1:] {
			n, _ := strconv.Atoi(x)
			r.Errors += n
		}
	}
	for _, m := range wrkPct.FindAllStringSubmatch(s, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		unit := map[string]float64{"us": 1e3, "ms": 1e6, "s": 1e9}[m[3]]
		d := time.Duration(v * unit)
		switch m[1] {
		case "50":
			r.P50 = d
		case "90":
			r.P90 = d
		case "99":
			r.P99 = d
		}
	}
	if r.Requests > 0 {
		r.CPUPerReq = cpu / time.Duration(r.Requests)
	}
	if r.RPS == 0 {
		return r, fmt.Errorf("wrk: no result in %q", s)
	}
	return r, nil
}

func summarizeWrk(rs []wrkResult) summary {
	lr := make([]loadResult, len(rs))
	for i, r := range rs {
		lr[i] = loadResult{RPS: r.RPS, P50: r.P50, P90: r.P90, P99: r.P99, Requests: r.Requests, Errors: r.Errors, CPUPerReq: r.CPUPerReq}
	}
	return summarize(lr)
}
