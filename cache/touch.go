package cache

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// usedGranularity: uses closer together than this are not recorded
// separately (last_used_at is a debounced value anyway), so that a hot key
// does not make every request write the same cache line.
const usedGranularity = int64(time.Second)

// toucher is the last_used_at writer's state. The request path records a
// use in the key itself (cachedKey.lastUsed, an atomic) and takes the
// queue lock at most once per write cycle per key.
type toucher struct {
	mu    sync.Mutex
	queue []*cachedKey // used since their last write

	// Writer goroutine only (and Close, after it stopped).
	written   map[int64]int64 // key id → unix nanos of its last write, for TouchInterval
	lastPrune int64
}

// used records a use of k. It never blocks on I/O.
func (t *toucher) used(k *cachedKey, now int64) {
	if now-k.lastUsed.Load() >= usedGranularity {
		k.lastUsed.Store(now)
	}
	if k.flags.Load()&flagQueued == 0 && k.flags.Or(flagQueued)&flagQueued == 0 {
		t.mu.Lock()
		t.queue = append(t.queue, k)
		t.mu.Unlock()
	}
}

// runToucher writes last_used_at every touchTick until ctx ends.
func (c *Cache) runToucher(ctx context.Context) {
	tick := time.NewTicker(c.cfg.touchTick)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			c.flushTouches(ctx, now, false)
		}
	}
}

// flushTouches writes last_used_at for the queued keys whose last write is
// at least TouchInterval old (all of them when force). Failed writes stay
// queued for the next round.
func (c *Cache) flushTouches(ctx context.Context, at time.Time, force bool) {
	t := &c.touch
	now := at.UnixNano()
	interval := int64(c.cfg.TouchInterval)
	t.mu.Lock()
	q := t.queue
	t.queue = nil
	t.mu.Unlock()
	if t.written == nil {
		t.written = make(map[int64]int64)
	}

	var keep []*cachedKey
	failures := 0
	for i, k := range q {
		if ctx.Err() != nil {
			keep = append(keep, q[i:]...)
			break
		}
		if w, ok := t.written[k.id]; ok && !force && now-w < interval {
			keep = append(keep, k)
			continue
		}
		// Dequeue before reading lastUsed: a use after this point queues
		// the key again.
		k.flags.And(^uint32(flagQueued))
		used := k.lastUsed.Load()
		wctx, cancel := context.WithTimeout(ctx, storeTimeout)
		err := c.s.TouchAPIKey(wctx, k.id, time.Unix(0, used).UTC())
		cancel()
		switch {
		case err == nil:
			t.written[k.id] = now
		case errors.Is(err, store.ErrNotFound):
			// The key is gone.
		default:
			failures++
			if failures == 1 {
				c.log.Warn("cache: cannot write last_used_at; retrying later", zap.Int64("key_id", k.id), zap.Error(err))
			}
			if k.flags.Or(flagQueued)&flagQueued == 0 {
				keep = append(keep, k)
			}
		}
	}
	if len(keep) > 0 {
		t.mu.Lock()
		t.queue = append(t.queue, keep...)
		t.mu.Unlock()
	}
	// A write older than TouchInterval no longer holds the next one back.
	if now-t.lastPrune >= interval {
		t.lastPrune = now
		for id, w := range t.written {
			if now-w >= interval {
				delete(t.written, id)
			}
		}
	}
}
