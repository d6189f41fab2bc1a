package session

import (
	"context"
	"errors"
	"math/big"
	"time"

	"go.uber.org/zap"

	"github.com/morpheus-gateway/caddy-morpheus/chain"
	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// OpenModelSession opens (or replaces) the key's session for model with the
// given duration (0 = the user's setting), for POST /session/modelsession.
//
// An explicit open is allowed whatever the user's automation settings say
// (it is not automatic) and always replaces the key's current session,
// which is marked inactive and closed upstream in the background. The new
// row has type "manual". It takes the key's turn like a request, so it
// waits for a request in flight on the key.
func (m *Manager) OpenModelSession(ctx context.Context, p Principal, model string, duration time.Duration) (store.Session, error) {
	mdl, err := m.ResolveModel(ctx, model)
	if err != nil {
		return store.Session{}, err
	}
	return m.openExplicit(ctx, p, target{model: mdl.ID}, duration, store.SessionTypeManual)
}

// OpenBidSession opens (or replaces) the key's session on one bid.
//
// Like OpenModelSession; the row has type "bid" and records the bid id as
// its model. bidID must be a 0x + 64 hex id (else a KindBadRequest
// *chain.RouterError).
func (m *Manager) OpenBidSession(ctx context.Context, p Principal, bidID string, duration time.Duration) (store.Session, error) {
	id, err := chain.NormalizeID(bidID)
	if err != nil {
		return store.Session{}, &chain.RouterError{Op: "open_session", Kind: chain.KindBadRequest,
			Message: "invalid bid ID: want 0x followed by 64 hex digits"}
	}
	return m.openExplicit(ctx, p, target{bid: id}, duration, store.SessionTypeBid)
}

func (m *Manager) openExplicit(ctx context.Context, p Principal, t target, duration time.Duration, typ string) (store.Session, error) {
	ks := m.getKey(p.KeyID)
	defer m.putKey(ks)
	if err := ks.acquire(ctx, m.cfg.QueueSize); err != nil {
		return store.Session{}, err
	}
	defer ks.release()
	if duration <= 0 {
		var err error
		if _, duration, err = m.settings(ctx, p.UserID); err != nil {
			return store.Session{}, err
		}
	}
	ks.forget("")
	old, found, err := m.activeRowOnly(ctx, p.KeyID)
	if err != nil {
		return store.Session{}, err
	}
	if !found {
		old = nil
	}
	c, err := m.replace(ctx, ks, p, old, t, duration, typ)
	if err != nil {
		return store.Session{}, err
	}
	return c.row, nil
}

// activeRowOnly is activeSession without the router lookup of a bid
// session's model (model is then the bid id): for callers that only need
// the row.
func (m *Manager) activeRowOnly(ctx context.Context, keyID int64) (*current, bool, error) {
	row, err := m.store.ActiveSessionByAPIKey(ctx, keyID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, unavailable(err)
	}
	return &current{row: row, model: normID(row.Model)}, true, nil
}

// CloseSession closes the key's active session upstream and marks it
// inactive; ErrNoSession if there is none.
//
// It takes the key's turn (a request in flight finishes first). The close
// runs on a context detached from the client's; if the router fails, the
// session stays active and the error is returned. The returned row has
// IsActive false.
func (m *Manager) CloseSession(ctx context.Context, p Principal) (store.Session, error) {
	ks := m.getKey(p.KeyID)
	defer m.putKey(ks)
	if err := ks.acquire(ctx, m.cfg.QueueSize); err != nil {
		return store.Session{}, err
	}
	defer ks.release()
	c, found, err := m.activeRowOnly(ctx, p.KeyID)
	if err != nil {
		return store.Session{}, err
	}
	if !found {
		ks.forget("")
		return store.Session{}, ErrNoSession
	}
	octx := context.WithoutCancel(ctx)
	if err := m.closeUpstream(octx, c.row.ID); err != nil {
		return store.Session{}, err
	}
	ks.forget(c.row.ID)
	if err := m.store.MarkSessionInactive(octx, c.row.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		// Closed upstream but still active here: the cleanup pass marks it
		// once it is past expires_at (the close then reports it gone).
		return store.Session{}, unavailable(err)
	}
	m.log.Info("session: closed on request", zap.Int64("api_key_id", p.KeyID), zap.String("session_id", c.row.ID))
	row := c.row
	row.IsActive = false
	return row, nil
}

// Status reports the key's active session as the router/chain sees it
// (not a paid prompt); ErrNoSession if there is none.
//
// It reads the store (not the cache: it is not the hot path) and the
// router, does not take the key's turn (a status check does not queue
// behind a long prompt) and changes nothing.
func (m *Manager) Status(ctx context.Context, p Principal) (store.Session, chain.SessionInfo, error) {
	c, found, err := m.activeRowOnly(ctx, p.KeyID)
	if err != nil {
		return store.Session{}, chain.SessionInfo{}, err
	}
	if !found {
		return store.Session{}, chain.SessionInfo{}, ErrNoSession
	}
	info, err := m.lookup(ctx, c.row.ID)
	if err != nil {
		return c.row, chain.SessionInfo{}, err
	}
	return c.row, info, nil
}

// Approve sets the router wallet's MOR allowance to the Diamond contract
// (Config.Diamond) to amount wei, returning the transaction hash. It is an
// on-chain operation (nonce-race handling applies).
// ErrApproveNotConfigured without a Diamond address.
func (m *Manager) Approve(ctx context.Context, amount *big.Int) (string, error) {
	if m.cfg.Diamond == ([20]byte{}) {
		return "", ErrApproveNotConfigured
	}
	var tx string
	err := m.onChain(ctx, "approve", func(ctx context.Context) error {
		var err error
		tx, err = m.router.Approve(ctx, m.cfg.Diamond, amount)
		return err
	})
	return tx, err
}

// KeyRevoked closes the key's session in the background (when no request
// holds it).
//
// The background task takes the key's turn (waiting for requests in
// flight), closes the session upstream, marks it inactive and drops the
// key's state. If the router fails, the row stays active for the cleanup
// pass.
func (m *Manager) KeyRevoked(ctx context.Context, keyID int64) {
	m.goBackground("key revoked", closeLimit, func(bctx context.Context) {
		ks := m.getKey(keyID)
		defer func() {
			m.putKey(ks)
			m.dropKey(keyID)
		}()
		if err := ks.acquire(bctx, -1); err != nil {
			return
		}
		defer ks.release()
		ks.forget("")
		c, found, err := m.activeRowOnly(bctx, keyID)
		if err != nil || !found {
			if err != nil {
				m.log.Warn("session: revoked key: cannot read its session", zap.Int64("api_key_id", keyID), zap.Error(err))
			}
			return
		}
		if err := m.closeUpstream(bctx, c.row.ID); err != nil {
			m.log.Warn("session: revoked key: close failed; left to the cleanup pass",
				zap.Int64("api_key_id", keyID), zap.String("session_id", c.row.ID), zap.Error(err))
			return
		}
		if err := m.store.MarkSessionInactive(bctx, c.row.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			m.log.Warn("session: revoked key: cannot mark its session inactive", zap.Error(err))
			return
		}
		m.log.Info("session: closed the session of a revoked key", zap.Int64("api_key_id", keyID), zap.String("session_id", c.row.ID))
	})
}
