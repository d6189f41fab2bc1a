package postgres

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestNotifyListen checks that Listen delivers notifications sent on its
// channel (and only those), quotes odd channel names, reconnects after its
// connection is killed (calling onReconnect before delivering again), and
// returns ctx's error when ctx ends.
func TestNotifyListen(t *testing.T) {
	s, _ := newMigratedStore(t)
	ctx := testCtx(t)
	const channel = "morpheus-test Chan" // needs quoting

	got := make(chan string, 16)
	var reconnects atomic.Int32
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- s.Listen(lctx, channel, func(p string) { got <- p }, func() { reconnects.Add(1) })
	}()

	// Notify until the listener hears one (it may not be listening yet).
	waitFor := func(payload string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			if err := s.Notify(ctx, channel, payload); err != nil {
				t.Fatalf("Notify: %v", err)
			}
			select {
			case p := <-got:
				if p == payload {
					return
				}
			case <-time.After(100 * time.Millisecond):
			case <-deadline:
				t.Fatalf("no notification %q within 10s", payload)
			}
		}
	}
	waitFor("hello")
	if err := s.Notify(ctx, "other channel", "nope"); err != nil {
		t.Fatal(err)
	}
	if err := s.Notify(ctx, channel, "second"); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if p != "second" {
			t.Fatalf("got %q, want %q (a notification of another channel leaked?)", p, "second")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("second notification not received")
	}
	if n := reconnects.Load(); n != 0 {
		t.Fatalf("onReconnect called %d times before any failure", n)
	}

	// Kill the listening backend: Listen must reconnect and call onReconnect.
	var killed int
	if err := s.pool.QueryRow(ctx, `
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
 WHERE datname = current_database() AND query LIKE 'LISTEN %' AND pid <> pg_backend_pid()`).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("terminated %d listening backends, want 1", killed)
	}
	deadline := time.Now().Add(10 * time.Second)
	for reconnects.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("onReconnect not called within 10s of the connection being killed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitFor("after reconnect")

	cancel()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Fatalf("Listen returned %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Listen did not return after ctx was cancelled")
	}
}
