package handlers

import (
	"strconv"
	"testing"
	"time"
)

func TestRateLimiterRefill(t *testing.T) {
	l := newRateLimiter(RateLimit{Events: 2, Window: time.Minute}, 100)
	now := time.Unix(1_000_000, 0)
	for i := 0; i < 2; i++ {
		if ok, _ := l.allow("a", now); !ok {
			t.Fatalf("request %d refused", i)
		}
	}
	ok, wait := l.allow("a", now)
	if ok || wait <= 0 || wait > 30*time.Second {
		t.Fatalf("third request: ok=%v wait=%v", ok, wait)
	}
	if ok, _ := l.allow("b", now); !ok {
		t.Fatal("other key limited")
	}
	if ok, _ := l.allow("a", now.Add(wait)); !ok {
		t.Fatal("no token after the announced wait")
	}
	if ok, _ := l.allow("a", now.Add(wait)); ok {
		t.Fatal("burst exceeded")
	}
}

func TestRateLimiterDisabled(t *testing.T) {
	l := newRateLimiter(RateLimit{Events: -1}, 100)
	for i := 0; i < 1000; i++ {
		if ok, _ := l.allow("a", time.Now()); !ok {
			t.Fatal("disabled limiter refused")
		}
	}
}

func TestRateLimiterBoundedMemory(t *testing.T) {
	const max = 1000
	l := newRateLimiter(RateLimit{Events: 5, Window: time.Minute}, max)
	now := time.Unix(1_000_000, 0)
	// Many clients within one window: never more than max buckets.
	for i := 0; i < 10*max; i++ {
		l.allow("10.0."+strconv.Itoa(i), now.Add(time.Duration(i)*time.Millisecond))
		if n := l.len(); n > max {
			t.Fatalf("%d buckets after %d clients", n, i+1)
		}
	}
	// Idle buckets are swept once they have refilled.
	later := now.Add(time.Hour)
	l.allow("late", later)
	l.allow("late", later.Add(2*time.Minute))
	if n := l.len(); n > 2 {
		t.Fatalf("%d buckets after everything went idle", n)
	}
}
