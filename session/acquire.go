package session

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/morpheus-gateway/caddy-morpheus/chain"
	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// Lease is a request's hold on its key's session: requests on one key are
// served one at a time. Release it when the request is done.
type Lease struct {
	SessionID string
	Model     Model

	m    *Manager
	ks   *keyState
	p    Principal
	cur  *current
	once sync.Once
	// mu guards SessionID/cur against a Renew racing a Release (misuse,
	// but it must not corrupt the key's state).
	mu       sync.Mutex
	released bool
}

// ExpiresAt is the on-chain end of the lease's session (its expires_at).
func (l *Lease) ExpiresAt() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur == nil {
		return time.Time{}
	}
	return l.cur.row.ExpiresAt
}

// Acquire waits for the key's turn (bounded queue: *QueueFullError), then
// resolves or creates the key's session for model ("" = default model).
//
// The model is resolved first (ErrModelNotFound costs no place in the
// queue). With the key's session cached and usable for that model, Acquire
// makes no store call. Errors: ErrModelNotFound, ErrAutomationDisabled,
// *QueueFullError, ErrUnavailable, ErrModelsUnavailable,
// ErrSessionConflict, the context's error while waiting, and
// *chain.RouterError from the router.
func (m *Manager) Acquire(ctx context.Context, p Principal, model string) (*Lease, error) {
	mdl, err := m.ResolveModel(ctx, model)
	if err != nil {
		return nil, err
	}
	ks := m.getKey(p.KeyID)
	if err := ks.acquire(ctx, m.cfg.QueueSize); err != nil {
		m.putKey(ks)
		return nil, err
	}
	l := &Lease{Model: mdl, m: m, ks: ks, p: p}
	c, err := m.resolve(ctx, ks, p, mdl.ID)
	if err != nil {
		l.Release()
		return nil, err
	}
	l.cur, l.SessionID = c, c.row.ID
	return l, nil
}

// Renew replaces the lease's session after the router answered "session
// expired": marks it inactive, opens a new one for the same model and
// updates SessionID. Call it only before anything reached the client.
//
// The expired session is closed upstream in the background. The new one
// follows the user's automation settings (ErrAutomationDisabled when they
// are off: a renewal is an automatic open); a bid session is renewed on
// the same bid.
func (l *Lease) Renew(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return errors.New("session: Renew after Release")
	}
	m := l.m
	old := l.cur
	renewals.Inc()
	if err := m.store.MarkSessionInactive(ctx, old.row.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return unavailable(err)
	}
	l.ks.forget(old.row.ID)
	// The provider's clock decided "expired"; the chain's EndsAt is the
	// earliest close that locks no stake.
	m.closeAtEnd(old.row.ID, old.row.ExpiresAt, "renewed after session expired")

	enabled, duration, err := m.settings(ctx, l.p.UserID)
	if err != nil {
		return err
	}
	if !enabled {
		return ErrAutomationDisabled
	}
	t := target{model: old.model}
	typ := store.SessionTypeAutomated
	if old.row.Type == store.SessionTypeBid {
		t = target{bid: old.row.Model, model: old.model}
		typ = store.SessionTypeBid
	}
	c, err := m.openAndRecord(ctx, l.ks, l.p, t, duration, typ)
	if err != nil {
		return err
	}
	l.cur, l.SessionID = c, c.row.ID
	return nil
}

// Release ends the lease; the next waiting request on the key proceeds.
// Calling it more than once is harmless.
func (l *Lease) Release() {
	l.once.Do(func() {
		l.mu.Lock()
		l.released = true
		l.mu.Unlock()
		l.ks.release()
		l.m.putKey(l.ks)
	})
}

// resolve returns the key's session for model, holding the key's turn:
// cached → store → open (see the package documentation).
func (m *Manager) resolve(ctx context.Context, ks *keyState, p Principal, model string) (*current, error) {
	if c := ks.current(); m.usable(c, model, m.now()) {
		return c, nil
	}
	ks.forget("")
	c, found, err := m.activeSession(ctx, p.KeyID)
	if err != nil {
		return nil, err
	}
	if found && m.usable(c, model, m.now()) {
		ks.set(c)
		return c, nil
	}
	enabled, duration, err := m.settings(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	if !enabled {
		return nil, ErrAutomationDisabled
	}
	var old *current
	if found {
		old = c
	}
	return m.replace(ctx, ks, p, old, target{model: model}, duration, store.SessionTypeAutomated)
}

// activeSession reads the key's active row from the store and describes
// it. found is false when there is none.
func (m *Manager) activeSession(ctx context.Context, keyID int64) (*current, bool, error) {
	row, err := m.store.ActiveSessionByAPIKey(ctx, keyID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, unavailable(err)
	}
	c, err := m.describe(ctx, row)
	if err != nil {
		return nil, false, err
	}
	return c, true, nil
}

// describe builds the in-memory view of a row. A bid session's model is
// read from the router (the row stores the bid id).
func (m *Manager) describe(ctx context.Context, row store.Session) (*current, error) {
	c := &current{row: row, model: normID(row.Model)}
	if row.Type == store.SessionTypeBid {
		info, err := m.lookup(ctx, row.ID)
		if err != nil {
			return nil, err
		}
		c.model = info.ModelAgentID
	}
	return c, nil
}

// replace retires old (if any) and opens a new session for t. The old row
// is marked inactive first (the unique index allows one active row) and
// closed upstream in the background: at once for a model switch or an
// explicit open, at its expires_at for the renewal of a session of the
// same model that ends within 2 × RenewBefore (closing before EndsAt locks
// stake). The caller holds the key's turn, so no request of this instance
// is in flight on old.
func (m *Manager) replace(ctx context.Context, ks *keyState, p Principal, old *current, t target, duration time.Duration, typ string) (*current, error) {
	if old != nil {
		if err := m.store.MarkSessionInactive(ctx, old.row.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, unavailable(err)
		}
		ks.forget(old.row.ID)
		var notBefore time.Time
		why := "replaced by another model"
		if t.bid == "" && old.model == t.model && old.row.Type != store.SessionTypeBid &&
			old.row.ExpiresAt.Sub(m.now()) <= 2*m.cfg.RenewBefore {
			notBefore, why = old.row.ExpiresAt, "renewed before expiry"
		} else if old.model == t.model {
			why = "replaced by an explicit open"
		}
		m.closeLater(old.row.ID, notBefore, why)
		m.log.Info("session: replacing the key's session", zap.Int64("api_key_id", p.KeyID),
			zap.String("old_session", old.row.ID), zap.String("reason", why))
	}
	return m.openAndRecord(ctx, ks, p, t, duration, typ)
}

// normID canonicalises a model/bid id for comparison; other values are
// kept as they are.
func normID(s string) string {
	if id, err := chain.NormalizeID(s); err == nil {
		return id
	}
	return s
}
