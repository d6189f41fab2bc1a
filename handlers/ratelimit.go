package handlers

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

func (rl RateLimit) withDefaults(events int) RateLimit {
	if rl.Events == 0 {
		rl.Events = events
	}
	if rl.Window <= 0 {
		rl.Window = DefaultRateWindow
	}
	return rl
}

// rateLimiter is an in-memory token bucket per key (client IP): a bucket
// holds at most burst tokens and refills at rate tokens per second. Memory
// is bounded: buckets that have refilled completely are equivalent to no
// bucket and are swept out, and if maxKeys buckets are still in use the
// oldest-touched ones are dropped (their clients start again with a full
// bucket, which errs on the side of letting requests through).
type rateLimiter struct {
	disabled bool
	burst    float64
	rate     float64       // tokens per second
	full     time.Duration // time for an empty bucket to refill
	maxKeys  int

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(rl RateLimit, maxKeys int) *rateLimiter {
	if rl.Events < 0 {
		return &rateLimiter{disabled: true}
	}
	return &rateLimiter{
		burst:   float64(rl.Events),
		rate:    float64(rl.Events) / rl.Window.Seconds(),
		full:    rl.Window,
		maxKeys: maxKeys,
		buckets: make(map[string]*bucket),
	}
}

// allow takes a token from key's bucket. When there is none it returns
// false and how long until there is one.
func (l *rateLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	if l.disabled {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.maxKeys {
			l.sweep(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	} else if now.Sub(l.lastSweep) > l.full {
		l.sweep(now)
	}
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = math.Min(l.burst, b.tokens+elapsed.Seconds()*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

// sweep drops the buckets that have refilled completely; if that leaves
// maxKeys or more, it drops the least recently used ones down to 90%.
func (l *rateLimiter) sweep(now time.Time) {
	l.lastSweep = now
	for k, b := range l.buckets {
		if now.Sub(b.last) >= l.full {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) < l.maxKeys {
		return
	}
	// Still full: every bucket was used within one window. Drop the least
	// recently used tenth.
	target := l.maxKeys * 9 / 10
	for len(l.buckets) > target {
		var (
			oldestKey string
			oldest    time.Time
		)
		n := 0
		for k, b := range l.buckets { // sample: map order is random
			if n == 0 || b.last.Before(oldest) {
				oldestKey, oldest = k, b.last
			}
			if n++; n == 16 {
				break
			}
		}
		delete(l.buckets, oldestKey)
	}
}

// len returns the number of buckets held (for tests).
func (l *rateLimiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// rateLimited applies l to the request's client IP. When the client is over
// the limit it answers 429 with Retry-After and returns true.
func (s *Server) rateLimited(w http.ResponseWriter, r *http.Request, l *rateLimiter) bool {
	ok, wait := l.allow(s.cfg.ClientIP(r), s.cfg.Now())
	if ok {
		return false
	}
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	WriteError(w, http.StatusTooManyRequests, TypeRateLimit, "rate_limit_exceeded", "",
		"too many requests from this address; retry in "+strconv.Itoa(secs)+" s")
	return true
}
