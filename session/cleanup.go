package session

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/morpheus-gateway/caddy-morpheus/chain"
	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// CleanupResult is what one cleanup pass did.
type CleanupResult struct {
	// Locked is false when another instance holds the cleanup lock (the
	// pass did nothing).
	Locked bool
	// Closed sessions were closed upstream (or found already closed) and
	// marked inactive.
	Closed int
	// Busy sessions were skipped because a local request holds their key.
	Busy int
	// Failed sessions stay active for the next pass (router failure).
	Failed int
}

// Start starts the cleanup loop; Stop stops it and waits.
//
// The loop runs a pass at once and then every CleanupInterval. A pass that
// panics is logged and the loop goes on. Start after Stop is an error.
func (m *Manager) Start() error {
	m.loopMu.Lock()
	defer m.loopMu.Unlock()
	switch m.loopState {
	case 1:
		return nil
	case 2:
		return errors.New("session: Start after Stop")
	}
	m.loopState = 1
	ctx, cancel := context.WithCancel(m.bgCtx)
	m.loopCancel = cancel
	m.loopDone = make(chan struct{})
	go func() {
		defer close(m.loopDone)
		t := time.NewTicker(m.cfg.CleanupInterval)
		defer t.Stop()
		for {
			m.cleanupSafely(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return nil
}

func (m *Manager) cleanupSafely(ctx context.Context) {
	defer func() {
		if v := recover(); v != nil {
			m.log.Error("session: cleanup pass panicked", zap.Any("panic", v))
		}
	}()
	res, err := m.Cleanup(ctx)
	if err != nil && ctx.Err() == nil {
		m.log.Warn("session: cleanup pass failed", zap.Error(err))
		return
	}
	if res.Closed+res.Failed+res.Busy > 0 {
		m.log.Info("session: cleanup pass", zap.Int("closed", res.Closed), zap.Int("failed", res.Failed), zap.Int("busy", res.Busy))
	}
}

// Stop stops the cleanup loop and waits for it.
//
// It also ends background work: closes waiting for their time and
// reconciliations are dropped (logged), closes in progress are waited for
// up to 10 s and then cancelled. The manager still serves requests after
// Stop (a Caddy reload stops the old app while its requests finish);
// background work they start then runs untracked.
func (m *Manager) Stop() error {
	m.loopMu.Lock()
	if m.loopState == 1 {
		m.loopCancel()
		<-m.loopDone
	}
	m.loopState = 2
	m.loopMu.Unlock()

	m.stopOnce.Do(func() {
		close(m.stopping)
		m.bgMu.Lock()
		m.bgClosed = true
		m.bgMu.Unlock()
		done := make(chan struct{})
		go func() {
			m.bg.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(stopWait):
			m.log.Warn("session: background closes still running at Stop; cancelling them")
			m.bgCancel()
			<-done
		}
		m.bgCancel()
	})
	return nil
}

// Cleanup runs one cleanup pass now (the loop's body; see the package
// documentation). Under a store.Locker it only runs if it gets the lock;
// Locked reports whether it did.
func (m *Manager) Cleanup(ctx context.Context) (CleanupResult, error) {
	var res CleanupResult
	if l, ok := m.store.(store.Locker); ok {
		unlock, got, err := l.TryLock(ctx, cleanupLockName)
		if err != nil {
			return res, unavailable(err)
		}
		if !got {
			return res, nil
		}
		defer unlock()
	}
	res.Locked = true
	seen := make(map[string]bool)
	for range cleanupMaxBatches {
		// Ask for the rows already seen (closed ones are gone; busy or
		// failed ones remain, oldest first) plus a fresh batch, so that
		// rows that keep failing cannot hide the newer ones.
		want := len(seen) + cleanupBatch
		rows, err := m.store.ExpiredActiveSessions(ctx, m.now().Add(-cleanupGrace), want)
		if err != nil {
			return res, unavailable(err)
		}
		fresh := 0
		for _, row := range rows {
			if seen[row.ID] {
				continue
			}
			seen[row.ID] = true
			fresh++
			switch err := m.cleanupOne(ctx, row); {
			case err == nil:
				res.Closed++
			case errors.Is(err, errBusy):
				res.Busy++
			default:
				res.Failed++
				if ctx.Err() != nil {
					return res, ctx.Err()
				}
				if chain.IsUnreachable(err) || chain.IsTimeout(err) {
					// The router is down or hanging: the other closes
					// would fail too (slowly). Nothing is deactivated;
					// the next pass retries.
					return res, nil
				}
			}
		}
		if fresh == 0 || len(rows) < want {
			break
		}
	}
	return res, nil
}

var errBusy = errors.New("key busy")

// cleanupOne closes one expired session, holding its key's turn (skipped
// when a local request holds or awaits it).
func (m *Manager) cleanupOne(ctx context.Context, row store.Session) error {
	var ks *keyState
	if row.APIKeyID != 0 {
		ks = m.getKey(row.APIKeyID)
		defer m.putKey(ks)
		if !ks.tryAcquire() {
			return errBusy
		}
		defer ks.release()
	}
	if err := m.closeUpstream(ctx, row.ID); err != nil {
		m.log.Warn("session: cleanup: close failed; the session stays active for the next pass",
			zap.String("session_id", row.ID), zap.Error(err))
		return err
	}
	if ks != nil {
		ks.forget(row.ID)
	}
	if err := m.store.MarkSessionInactive(ctx, row.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return unavailable(err)
	}
	return nil
}
