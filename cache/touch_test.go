package cache

import (
	"context"
	"sync"
	"testing"
	"time"
)

// touchCounter records the TouchAPIKey calls per key.
type touchCounter struct {
	*countingStore
	mu sync.Mutex
	at map[int64][]time.Time
}

func (w *touchCounter) TouchAPIKey(ctx context.Context, id int64, at time.Time) error {
	w.mu.Lock()
	w.at[id] = append(w.at[id], time.Now())
	w.mu.Unlock()
	return w.countingStore.TouchAPIKey(ctx, id, at)
}

func (w *touchCounter) writes(id int64) []time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Time(nil), w.at[id]...)
}

// TestTouchDebounced: last_used_at is written off the request path, at
// most once per TouchInterval per key, and never inside Authenticate.
func TestTouchDebounced(t *testing.T) {
	ctx := context.Background()
	const interval = 300 * time.Millisecond
	db := newSQLite(t)
	w := &touchCounter{countingStore: newCounting(db), at: map[int64][]time.Time{}}
	cfg := Config{TouchInterval: interval}
	cfg.touchTick = 20 * time.Millisecond
	c := newCache(t, w, cfg)
	u := newUser(t, db)
	raw, k := newKey(t, db, u.ID)
	raw2, k2 := newKey(t, db, u.ID)

	// Not started: no writer, so whatever Authenticate does, it writes nothing.
	for range 200 {
		mustAuth(t, c, raw, k)
	}
	mustAuth(t, c, raw2, k2)
	if n := w.count("TouchAPIKey"); n != 0 {
		t.Fatalf("Authenticate wrote last_used_at %d times itself", n)
	}

	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "first last_used_at write", func() bool { return len(w.writes(k.ID)) == 1 && len(w.writes(k2.ID)) == 1 })
	got, err := db.APIKeyByID(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.LastUsedAt == nil || time.Since(*got.LastUsedAt) > 5*time.Second {
		t.Fatalf("last_used_at = %v, want about now", got.LastUsedAt)
	}

	// Use raw continuously for ~4 intervals: about one write per interval.
	start := time.Now()
	for time.Since(start) < 4*interval {
		mustAuth(t, c, raw, k)
		time.Sleep(time.Millisecond)
	}
	time.Sleep(interval + 50*time.Millisecond)
	ws := w.writes(k.ID)
	if len(ws) < 3 || len(ws) > 6 {
		t.Fatalf("%d writes over ~5 intervals of use, want about one per interval", len(ws))
	}
	for i := 1; i < len(ws); i++ {
		if d := ws[i].Sub(ws[i-1]); d < interval-5*time.Millisecond {
			t.Fatalf("writes %d and %d only %v apart (TouchInterval %v)", i-1, i, d, interval)
		}
	}
	// raw2 was not used again: no more writes.
	if n := len(w.writes(k2.ID)); n != 1 {
		t.Fatalf("unused key written %d times, want 1", n)
	}
}

// TestTouchRetriesAndFlushes: a failed write is retried on the next tick,
// and Close flushes pending uses.
func TestTouchRetriesAndFlushes(t *testing.T) {
	ctx := context.Background()
	db := newSQLite(t)
	w := &touchCounter{countingStore: newCounting(db), at: map[int64][]time.Time{}}
	cfg := Config{TouchInterval: time.Hour}
	cfg.touchTick = 20 * time.Millisecond
	c, err := New(w, cfg)
	if err != nil {
		t.Fatal(err)
	}
	u := newUser(t, db)
	raw, k := newKey(t, db, u.ID)
	raw2, k2 := newKey(t, db, u.ID)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	mustAuth(t, c, raw, k)
	w.down.Store(true)
	eventually(t, 2*time.Second, "failing writes", func() bool { return len(w.writes(k.ID)) >= 2 })
	w.down.Store(false)
	eventually(t, 2*time.Second, "write after the store came back", func() bool {
		got, err := db.APIKeyByID(ctx, k.ID)
		return err == nil && got.LastUsedAt != nil
	})

	// raw2's first write happens at the next tick; raw's second use waits
	// for TouchInterval (an hour), so only Close writes it.
	mustAuth(t, c, raw2, k2)
	eventually(t, 2*time.Second, "first write of raw2", func() bool { return len(w.writes(k2.ID)) == 1 })
	time.Sleep(1100 * time.Millisecond) // past usedGranularity
	mustAuth(t, c, raw2, k2)
	before := len(w.writes(k2.ID))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(w.writes(k2.ID)); n != before+1 {
		t.Fatalf("Close wrote last_used_at %d times, want 1", n-before)
	}
}
