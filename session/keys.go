package session

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// current is a key's active session as this instance knows it.
type current struct {
	row store.Session
	// model is the model the session serves: row.Model for model
	// sessions, the bid's model for bid sessions.
	model string
}

// renewAt is when the session stops being handed to new requests:
// expires_at - RenewBefore, where RenewBefore is capped at a quarter of
// the session's lifetime so that short sessions are not renewed on every
// request.
func (c *current) renewAt(renewBefore time.Duration) time.Time {
	if life := c.row.ExpiresAt.Sub(c.row.CreatedAt); life > 0 {
		renewBefore = min(renewBefore, life/4)
	}
	return c.row.ExpiresAt.Add(-renewBefore)
}

// usable reports whether the session may serve model at now.
func (m *Manager) usable(c *current, model string, now time.Time) bool {
	return c != nil && c.row.IsActive && c.model == model && now.Before(c.renewAt(m.cfg.RenewBefore))
}

// keyState is the per-key state: a FIFO turn of one with a bounded wait
// queue, and the cached active session.
//
// refs (guarded by Manager.mu) counts the holders of a pointer obtained
// with getKey; a state with refs == 0 is neither held nor waited on and
// may be dropped from the map. Everything else is guarded by mu.
type keyState struct {
	id   int64
	refs int

	mu      sync.Mutex
	held    bool
	waiters []chan struct{} // FIFO; the turn is handed to waiters[0]
	cur     *current
}

// acquire takes the key's turn, waiting in FIFO order. limit bounds the
// number of waiters (< 0: unbounded); past it, *QueueFullError. A ctx that
// ends while waiting returns its error and gives up the place in line.
func (ks *keyState) acquire(ctx context.Context, limit int) error {
	ks.mu.Lock()
	if !ks.held && len(ks.waiters) == 0 {
		ks.held = true
		ks.mu.Unlock()
		return nil
	}
	if limit >= 0 && len(ks.waiters) >= limit {
		ks.mu.Unlock()
		queueRejections.Inc()
		return &QueueFullError{RetryAfter: QueueRetryAfter}
	}
	if err := ctx.Err(); err != nil {
		ks.mu.Unlock()
		return err
	}
	ch := make(chan struct{})
	ks.waiters = append(ks.waiters, ch)
	ks.mu.Unlock()

	select {
	case <-ch:
		return nil
	case <-ctx.Done():
	}
	ks.mu.Lock()
	select {
	case <-ch:
		// The turn was handed over while ctx ended: pass it on.
		ks.mu.Unlock()
		ks.release()
		return ctx.Err()
	default:
	}
	if i := slices.Index(ks.waiters, ch); i >= 0 {
		ks.waiters = slices.Delete(ks.waiters, i, i+1)
	}
	ks.mu.Unlock()
	return ctx.Err()
}

// tryAcquire takes the turn only if nobody holds it or waits for it.
func (ks *keyState) tryAcquire() bool {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if ks.held || len(ks.waiters) > 0 {
		return false
	}
	ks.held = true
	return true
}

// release hands the turn to the first waiter, or frees it.
func (ks *keyState) release() {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if len(ks.waiters) > 0 {
		ch := ks.waiters[0]
		ks.waiters = slices.Delete(ks.waiters, 0, 1)
		close(ch) // held stays true: ownership moves to the waiter
		return
	}
	ks.held = false
}

func (ks *keyState) current() *current {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	return ks.cur
}

func (ks *keyState) set(c *current) {
	ks.mu.Lock()
	ks.cur = c
	ks.mu.Unlock()
}

// forget drops the cached session if it is id ("" drops any).
func (ks *keyState) forget(id string) {
	ks.mu.Lock()
	if ks.cur != nil && (id == "" || ks.cur.row.ID == id) {
		ks.cur = nil
	}
	ks.mu.Unlock()
}

// getKey returns the key's state, creating it, with a reference the
// caller must give back with putKey.
func (m *Manager) getKey(keyID int64) *keyState {
	m.mu.Lock()
	defer m.mu.Unlock()
	ks := m.keys[keyID]
	if ks == nil {
		ks = &keyState{id: keyID}
		m.keys[keyID] = ks
	}
	ks.refs++
	return ks
}

// peekKey returns the key's state if there is one, with a reference, or nil.
func (m *Manager) peekKey(keyID int64) *keyState {
	m.mu.Lock()
	defer m.mu.Unlock()
	ks := m.keys[keyID]
	if ks != nil {
		ks.refs++
	}
	return ks
}

// putKey gives back a reference. When the map holds more than MaxKeys
// states, idle ones are dropped (down to 90 % of MaxKeys): a dropped key
// only costs its next request a store read.
func (m *Manager) putKey(ks *keyState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ks.refs--
	if len(m.keys) <= m.cfg.MaxKeys {
		return
	}
	target := m.cfg.MaxKeys * 9 / 10
	for id, s := range m.keys {
		if len(m.keys) <= target {
			break
		}
		if s.refs == 0 {
			delete(m.keys, id)
		}
	}
}

// dropKey removes the key's state if it is idle (a revoked key).
func (m *Manager) dropKey(keyID int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ks := m.keys[keyID]; ks != nil && ks.refs == 0 {
		delete(m.keys, keyID)
	}
}

// keyCount is the number of per-key states held (tests).
func (m *Manager) keyCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.keys)
}
