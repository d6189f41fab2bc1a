package fakerouter

import (
	"sync"
	"time"
)

// clock is the fake's notion of "now": a base clock (Config.Now, or the wall
// clock) plus an offset moved forward by Router.Advance. Block timestamps,
// expiry checks, the healthcheck uptime and stake locks all read it.
type clock struct {
	mu     sync.Mutex
	base   func() time.Time
	offset time.Duration
}

func newClock(base func() time.Time) *clock {
	if base == nil {
		base = time.Now
	}
	return &clock{base: base}
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	off := c.offset
	c.mu.Unlock()
	return c.base().Add(off)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// Now returns the fake's current time (Config.Now plus every Advance).
func (r *Router) Now() time.Time { return r.clock.now() }

// Advance moves the fake clock forward by d. It works whether or not
// Config.Now was supplied (the offset is added on top of it).
func (r *Router) Advance(d time.Duration) { r.clock.advance(d) }

// startOfDay returns midnight UTC of the day containing unix second t.
func startOfDay(t int64) int64 { return t - t%86400 }
