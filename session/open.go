package session

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"go.uber.org/zap"

	"github.com/morpheus-gateway/caddy-morpheus/chain"
	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// target is what an open asks for: a model (the best-rated bid), or one bid.
type target struct {
	model string // model id; for a bid open, the bid's model when known
	bid   string // bid id for a bid open, else ""
}

// id is what sessions.model records: the model id, or the bid id.
func (t target) id() string {
	if t.bid != "" {
		return t.bid
	}
	return t.model
}

// matches reports whether an on-chain session is one that an open of t
// could have produced.
func (t target) matches(s chain.SessionInfo) bool {
	if t.bid != "" {
		return s.BidID == t.bid
	}
	return s.ModelAgentID == t.model
}

// nonceJitter is the pause before the one retry after a nonce race.
var nonceJitter = func() time.Duration {
	return 200*time.Millisecond + rand.N(300*time.Millisecond)
}

// background close retries (a close that fails is otherwise left to the
// router's own expiry handler: the row is already inactive).
var closeRetryDelays = []time.Duration{2 * time.Second, 10 * time.Second}

// closeLimit bounds a background close that runs after Stop.
const closeLimit = 5 * time.Minute

// openAndRecord opens a session for t upstream and records it for the key,
// holding the key's turn; see the package documentation for the fault
// handling. The open and everything after it run on a context detached
// from the client's.
func (m *Manager) openAndRecord(ctx context.Context, ks *keyState, p Principal, t target, duration time.Duration, typ string) (*current, error) {
	octx := context.WithoutCancel(ctx)
	started := m.now()
	var sid string
	err := m.onChain(octx, "open", func(ctx context.Context) error {
		var err error
		if t.bid != "" {
			sid, err = m.router.OpenBidSession(ctx, t.bid, duration)
		} else {
			sid, err = m.router.OpenModelSession(ctx, t.model, duration)
		}
		return err
	})
	if err != nil {
		opensError.Inc()
		if chain.IsOutcomeUnknown(err) {
			m.log.Warn("session: open outcome unknown; reconciling, not retrying",
				zap.Int64("api_key_id", p.KeyID), zap.String("target", t.id()), zap.Error(err))
			m.reconcileLater(p, t, typ, started)
		}
		return nil, err
	}
	opensOK.Inc()
	m.setPending(sid, true)
	defer m.setPending(sid, false)

	// The expiry anchor is the on-chain EndsAt (mined later than now, or
	// capped by the contract), not now + duration.
	model := t.model
	expires := m.now().Add(duration)
	if info, err := m.lookup(octx, sid); err != nil {
		m.log.Warn("session: cannot read back the opened session; expires_at estimated as now + duration",
			zap.String("session_id", sid), zap.Error(err))
	} else {
		if !info.EndsAt.IsZero() {
			expires = info.EndsAt
		}
		if info.ModelAgentID != "" {
			model = info.ModelAgentID
		}
	}

	rctx, cancel := context.WithTimeout(octx, recordTimeout)
	defer cancel()
	row := store.Session{ID: sid, UserID: p.UserID, APIKeyID: p.KeyID, Model: t.id(), Type: typ,
		CreatedAt: m.now(), ExpiresAt: expires, IsActive: true}
	saved, err := m.store.CreateSession(rctx, row)
	if err == nil {
		c := &current{row: saved, model: model}
		ks.set(c)
		m.log.Info("session: opened", zap.Int64("api_key_id", p.KeyID), zap.String("session_id", sid),
			zap.String("target", t.id()), zap.String("type", typ), zap.Time("expires_at", saved.ExpiresAt))
		return c, nil
	}
	if errors.Is(err, store.ErrConflict) {
		// The id is recorded already (a reconciler of another instance
		// adopted it): it does not leak, and closing it would close a
		// session someone uses.
		m.log.Warn("session: opened session already recorded elsewhere", zap.String("session_id", sid))
		return nil, unavailable(err)
	}
	// Not recorded: it must not leak (invariant 7).
	m.closeLater(sid, time.Time{}, "could not be recorded")
	if !errors.Is(err, store.ErrActiveSessionExists) {
		m.log.Error("session: cannot record an opened session; closing it", zap.String("session_id", sid), zap.Error(err))
		return nil, unavailable(err)
	}
	// Another instance recorded a session for the key first: use it if it
	// serves the same model.
	m.log.Info("session: another instance opened the key's session first; closing ours",
		zap.Int64("api_key_id", p.KeyID), zap.String("session_id", sid))
	c, found, werr := m.activeSession(rctx, p.KeyID)
	if werr != nil {
		return nil, werr
	}
	if found && c.model == model && m.now().Before(c.row.ExpiresAt) {
		ks.set(c)
		return c, nil
	}
	return nil, ErrSessionConflict
}

// onChain runs an on-chain operation (open, close, approve). After a nonce
// race it retries once under the process-wide lock after 200–500 ms of
// jitter, and keeps every on-chain operation under that lock for
// nonceCooldown. A second nonce race is returned.
func (m *Manager) onChain(ctx context.Context, what string, op func(context.Context) error) error {
	locked := false
	if time.Now().UnixNano() < m.throttleUntil.Load() {
		if err := m.lockChain(ctx); err != nil {
			return err
		}
		locked = true
	}
	err := op(ctx)
	if chain.IsNonceRace(err) {
		m.throttleUntil.Store(time.Now().Add(nonceCooldown).UnixNano())
		m.log.Warn("session: nonce race on the router wallet; serialising on-chain operations and retrying once",
			zap.String("op", what), zap.Error(err))
		if !locked {
			if lerr := m.lockChain(ctx); lerr != nil {
				return err
			}
			locked = true
		}
		if sleepCtx(ctx, nonceJitter()) {
			err = op(ctx)
		}
	}
	if locked {
		m.unlockChain()
	}
	return err
}

func (m *Manager) lockChain(ctx context.Context) error {
	select {
	case m.chainSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *Manager) unlockChain() { <-m.chainSem }

// closeUpstream closes a session on chain; already closed or unknown
// sessions are success (chain.Router.CloseSession).
func (m *Manager) closeUpstream(ctx context.Context, id string) error {
	return m.onChain(ctx, "close", func(ctx context.Context) error { return m.router.CloseSession(ctx, id) })
}

// closeLater closes a session upstream in the background, not before
// notBefore (zero: at once), retrying transient failures twice. Stop drops
// closes that are still waiting for their time (the router's own expiry
// handler closes sessions after their EndsAt).
func (m *Manager) closeLater(id string, notBefore time.Time, why string) {
	m.goBackground("close", closeLimit, func(ctx context.Context) {
		if d := notBefore.Sub(m.now()); d > 0 {
			if !m.waitBackground(ctx, d) {
				m.log.Info("session: stopping; a deferred close is left to the router's expiry handler",
					zap.String("session_id", id), zap.String("reason", why))
				return
			}
		}
		for attempt := 0; ; attempt++ {
			err := m.closeUpstream(ctx, id)
			if err == nil {
				m.log.Debug("session: closed upstream", zap.String("session_id", id), zap.String("reason", why))
				return
			}
			if attempt >= len(closeRetryDelays) || ctx.Err() != nil || !transient(err) {
				m.log.Warn("session: background close failed; the router closes it after its EndsAt",
					zap.String("session_id", id), zap.String("reason", why), zap.Error(err))
				return
			}
			if !sleepCtx(ctx, closeRetryDelays[attempt]) {
				return
			}
		}
	})
}

// closeAtEnd closes a session the provider called expired: at its on-chain
// EndsAt (read now; fallback when it cannot be read), because a close
// before EndsAt locks stake and the provider's clock may run ahead of the
// chain's.
func (m *Manager) closeAtEnd(id string, fallback time.Time, why string) {
	m.goBackground("close", closeLimit, func(ctx context.Context) {
		notBefore := fallback
		if info, err := m.lookup(ctx, id); err == nil && !info.EndsAt.IsZero() {
			notBefore = info.EndsAt
		}
		m.closeLater(id, notBefore, why)
	})
}

// transient reports router failures worth another try.
func transient(err error) bool {
	switch chain.KindOf(err) {
	case chain.KindUnreachable, chain.KindTimeout, chain.KindUnknown, chain.KindNonceRace, chain.KindNotMined:
		return true
	}
	return false
}

// waitBackground waits d, unless ctx ends or Stop begins.
func (m *Manager) waitBackground(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-m.stopping:
		return false
	}
}

func (m *Manager) setPending(id string, on bool) {
	m.pendingMu.Lock()
	defer m.pendingMu.Unlock()
	if on {
		m.pending[id] = struct{}{}
	} else {
		delete(m.pending, id)
	}
}

func (m *Manager) isPending(id string) bool {
	m.pendingMu.Lock()
	defer m.pendingMu.Unlock()
	_, ok := m.pending[id]
	return ok
}

// reconcileLater starts the reconciliation of an open whose outcome is
// unknown (see the package documentation).
func (m *Manager) reconcileLater(p Principal, t target, typ string, started time.Time) {
	rec, ok := m.router.(Reconciler)
	if !ok {
		m.log.Warn("session: the router cannot list sessions; an orphaned open is left to its expiry handler",
			zap.Int64("api_key_id", p.KeyID), zap.String("target", t.id()))
		return
	}
	m.goBackground("reconcile", m.cfg.ReconcileWindow+time.Minute, func(ctx context.Context) {
		deadline := time.Now().Add(m.cfg.ReconcileWindow)
		r := &reconciler{m: m, rec: rec, p: p, t: t, typ: typ, started: started, seen: map[string]time.Time{}}
		for {
			if r.pass(ctx) {
				return
			}
			if time.Now().After(deadline) {
				m.log.Info("session: reconciliation found no session for the timed-out open",
					zap.Int64("api_key_id", p.KeyID), zap.String("target", t.id()))
				return
			}
			if !m.waitBackground(ctx, m.cfg.ReconcilePoll) {
				m.log.Warn("session: stopping; reconciliation of a timed-out open abandoned",
					zap.Int64("api_key_id", p.KeyID), zap.String("target", t.id()))
				return
			}
		}
	})
}

// reconciler looks for the session a timed-out open may have created.
type reconciler struct {
	m       *Manager
	rec     Reconciler
	p       Principal
	t       target
	typ     string
	started time.Time
	wallet  common.Address
	seen    map[string]time.Time // candidate → when first seen unrecorded
}

// pass lists the wallet's sessions once; it reports true when it dealt
// with an orphan (adopted or closed it). A pass that only finds orphans
// that another reconciler handled meanwhile goes on polling: its own open
// may still be mining.
func (r *reconciler) pass(ctx context.Context) bool {
	m := r.m
	if r.wallet == (common.Address{}) {
		w, err := r.rec.Wallet(ctx)
		if err != nil {
			m.log.Debug("session: reconcile: cannot read the router wallet", zap.Error(err))
			return false
		}
		r.wallet = w
	}
	list, err := r.rec.UserSessions(ctx, r.wallet, 0, chain.MaxUserSessionsPage)
	if err != nil {
		m.log.Debug("session: reconcile: cannot list the wallet's sessions", zap.Error(err))
		return false
	}
	var ready []chain.SessionInfo
	for _, s := range list {
		if !r.t.matches(s) || !s.ClosedAt.IsZero() || s.OpenedAt.Before(r.started.Add(-reconcileSkew)) || m.isPending(s.ID) {
			continue
		}
		if _, err := m.store.SessionByID(ctx, s.ID); err == nil {
			continue // recorded: not an orphan
		} else if !errors.Is(err, store.ErrNotFound) {
			return false // store down: look again later
		}
		first, ok := r.seen[s.ID]
		if !ok {
			r.seen[s.ID] = time.Now()
			continue
		}
		if time.Since(first) >= m.cfg.ReconcileGrace {
			ready = append(ready, s)
		}
	}
	if len(ready) == 0 {
		return false
	}
	slices.SortStableFunc(ready, func(a, b chain.SessionInfo) int { return b.OpenedAt.Compare(a.OpenedAt) })
	// One reconciler decides at a time, re-checking each candidate: another
	// reconciler may have adopted it since the listing.
	m.reconcileMu.Lock()
	defer m.reconcileMu.Unlock()
	handled, adopted := false, false
	for _, s := range ready {
		if m.isPending(s.ID) {
			continue // an open of this process is recording it right now
		}
		if _, err := m.store.SessionByID(ctx, s.ID); err == nil {
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return handled
		}
		if !adopted {
			switch r.adopt(ctx, s) {
			case adoptedByUs:
				adopted, handled = true, true
				continue
			case recordedElsewhere:
				continue
			}
		}
		r.close(ctx, s.ID, "orphan of a timed-out open")
		handled = true
	}
	return handled
}

type adoptResult int

const (
	notAdoptable adoptResult = iota
	adoptedByUs
	recordedElsewhere
)

// adopt records s as the key's session if the key has none and no local
// request holds it (a request in flight gets or has a session of its own).
func (r *reconciler) adopt(ctx context.Context, s chain.SessionInfo) adoptResult {
	m := r.m
	if !m.now().Before(s.EndsAt) {
		return notAdoptable
	}
	ks := m.getKey(r.p.KeyID)
	defer m.putKey(ks)
	if !ks.tryAcquire() {
		return notAdoptable
	}
	defer ks.release()
	if _, err := m.store.ActiveSessionByAPIKey(ctx, r.p.KeyID); err == nil || !errors.Is(err, store.ErrNotFound) {
		return notAdoptable // the key has a session already (or the store is down)
	}
	if k, err := m.store.APIKeyByID(ctx, r.p.KeyID); err != nil || !k.IsActive || !k.User.IsActive {
		return notAdoptable // revoked meanwhile (or the store is down): the orphan is closed
	}
	row := store.Session{ID: s.ID, UserID: r.p.UserID, APIKeyID: r.p.KeyID, Model: r.t.id(), Type: r.typ,
		CreatedAt: m.now(), ExpiresAt: s.EndsAt, IsActive: true}
	saved, err := m.store.CreateSession(ctx, row)
	switch {
	case errors.Is(err, store.ErrConflict):
		return recordedElsewhere
	case err != nil:
		return notAdoptable
	}
	ks.set(&current{row: saved, model: s.ModelAgentID})
	m.log.Info("session: adopted the session of a timed-out open", zap.Int64("api_key_id", r.p.KeyID),
		zap.String("session_id", s.ID), zap.Time("expires_at", saved.ExpiresAt))
	return adoptedByUs
}

func (r *reconciler) close(ctx context.Context, id, why string) {
	if err := r.m.closeUpstream(ctx, id); err != nil {
		r.m.log.Warn("session: reconcile: cannot close an orphaned session", zap.String("session_id", id), zap.Error(err))
		return
	}
	r.m.log.Info("session: reconcile: closed an orphaned session", zap.String("session_id", id), zap.String("reason", why))
}
