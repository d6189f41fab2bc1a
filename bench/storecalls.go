package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/jackc/pgx/v5"

	morpheus "github.com/morpheus-gateway/caddy-morpheus"
	"github.com/morpheus-gateway/caddy-morpheus/store/postgres"
)

// storeCallsMetric is the gateway's counter of store calls, labelled by
// operation, in the app's Caddy metrics registry (when it exists).
const storeCallsMetric = "morpheus_store_calls_total"

// backgroundOps are store operations done off the request path (the
// debounced last_used_at writer, the session cleanup loop): counted, but
// not charged to the hot path.
var backgroundOps = map[string]bool{
	"TouchAPIKey": true, "touch_api_key": true, "touch": true,
	"ExpiredActiveSessions": true, "expired_active_sessions": true,
}

// storeCounter counts the gateway's store calls during the gateway phases.
// Sources, best first: the gateway's own morpheus_store_calls_total
// counter; with PostgreSQL, the pool's acquire count (every query acquires
// a connection) minus the api_keys rows whose last_used_at changed (the
// background toucher's writes, one UPDATE per key); with SQLite and no
// counter, nothing can be counted from outside.
type storeCounter struct {
	method string
	pool   interface{ AcquireCount() int64 }
	pgURL  string

	total, background float64
	byOp              map[string]float64
	requests          int
	err               error
}

type storeSnapshot struct {
	ops      map[string]float64
	acquires int64
	touched  map[int64]time.Time
}

func newStoreCounter(dbKind, dbURL string) *storeCounter {
	sc := &storeCounter{byOp: map[string]float64{}, pgURL: dbURL}
	if _, ok := gatherStoreCalls(); ok {
		sc.method = "the gateway's " + storeCallsMetric + " counter (Caddy metrics registry)"
		return sc
	}
	if dbKind == "postgres" {
		if app, err := caddy.ActiveContext().App("morpheus"); err == nil {
			if a, ok := app.(*morpheus.App); ok {
				if pg, ok := a.Store().(*postgres.Store); ok {
					p := pg.Pool()
					sc.pool = statFunc(func() int64 { return p.Stat().AcquireCount() })
					sc.method = "PostgreSQL pool acquires (every query acquires a connection) minus api_keys.last_used_at rows changed (background toucher)"
					return sc
				}
			}
		}
	}
	sc.method = ""
	return sc
}

type statFunc func() int64

func (f statFunc) AcquireCount() int64 { return f() }

// ok reports whether store calls can be counted at all.
func (sc *storeCounter) ok() bool { return sc.method != "" }

// gatherStoreCalls reads the counter by op from the active config's
// metrics registry.
func gatherStoreCalls() (map[string]float64, bool) {
	ctx := caddy.ActiveContext()
	reg := ctx.GetMetricsRegistry()
	if reg == nil {
		return nil, false
	}
	mfs, err := reg.Gather()
	if err != nil {
		return nil, false
	}
	for _, mf := range mfs {
		if mf.GetName() != storeCallsMetric {
			continue
		}
		out := map[string]float64{}
		for _, m := range mf.GetMetric() {
			var op []string
			for _, l := range m.GetLabel() {
				op = append(op, l.GetValue())
			}
			out[strings.Join(op, ",")] += m.GetCounter().GetValue()
		}
		return out, true
	}
	return nil, false
}

func (sc *storeCounter) snapshot(ctx context.Context) storeSnapshot {
	var s storeSnapshot
	if !sc.ok() {
		return s
	}
	if ops, ok := gatherStoreCalls(); ok {
		s.ops = ops
		return s
	}
	s.acquires = sc.pool.AcquireCount()
	touched, err := lastUsed(ctx, sc.pgURL)
	if err != nil && sc.err == nil {
		sc.err = err
	}
	s.touched = touched
	return s
}

// lastUsed reads api_keys.last_used_at on a connection of its own (not
// the gateway's pool, so reading it is not counted).
func lastUsed(ctx context.Context, dsn string) (map[int64]time.Time, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT id, COALESCE(last_used_at, 'epoch'::timestamptz) FROM api_keys`)
	if err != nil {
		return nil, err
	}
	out := map[int64]time.Time{}
	for rows.Next() {
		var id int64
		var t time.Time
		if err := rows.Scan(&id, &t); err != nil {
			return nil, err
		}
		out[id] = t
	}
	return out, rows.Err()
}

// add accounts the calls between two snapshots to requests gateway
// requests.
func (sc *storeCounter) add(a, b storeSnapshot, requests int) {
	if !sc.ok() {
		return
	}
	sc.requests += requests
	if b.ops != nil {
		for op, v := range b.ops {
			d := v - a.ops[op]
			if d == 0 {
				continue
			}
			sc.byOp[op] += d
			if backgroundOps[op] {
				sc.background += d
			} else {
				sc.total += d
			}
		}
		return
	}
	changed := 0
	for id, t := range b.touched {
		if !a.touched[id].Equal(t) {
			changed++
		}
	}
	acq := float64(b.acquires - a.acquires)
	sc.byOp["pool acquires"] += acq
	sc.byOp["last_used_at writes (background)"] += float64(changed)
	sc.background += float64(changed)
	sc.total += max(acq-float64(changed), 0)
}

// perRequest is the hot-path store calls per gateway request.
func (sc *storeCounter) perRequest() float64 {
	if sc.requests == 0 {
		return 0
	}
	return sc.total / float64(sc.requests)
}

func (sc *storeCounter) describe() string {
	if !sc.ok() {
		return "not measured: SQLite without the " + storeCallsMetric + " counter; set MORPHEUS_BENCH_DATABASE_URL to a PostgreSQL server"
	}
	ops := make([]string, 0, len(sc.byOp))
	for op := range sc.byOp {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var parts []string
	for _, op := range ops {
		parts = append(parts, fmt.Sprintf("%s: %.0f", op, sc.byOp[op]))
	}
	if len(parts) == 0 {
		parts = append(parts, "no store call at all")
	}
	s := fmt.Sprintf("%.0f hot-path store calls over %d gateway requests (%.4f per request); %s", sc.total, sc.requests, sc.perRequest(), strings.Join(parts, ", "))
	if sc.err != nil {
		s += fmt.Sprintf(" (reading last_used_at failed: %v)", sc.err)
	}
	return s
}
