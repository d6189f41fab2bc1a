package chain

import (
	"context"
	"net/http"
	"time"
)

// Session endpoints: open by model (§2.1), open by bid (§2.2), close (§2.3)
// and the on-chain session view (§2.4).

// Operation names used in RouterError.Op. They are the router's own auth
// method names (spec §1.2), so a 403 "method not allowed" names the right
// rpcwhitelist entry.
const (
	opOpenSession  = "open_session"
	opCloseSession = "close_session"
	opGetSessions  = "get_sessions"
	opGetModels    = "get_models"
	opGetBids      = "get_bids"
	opApprove      = "approve"
	opGetWallet    = "get_wallet"
	opHealthcheck  = "healthcheck"
)

// openModelBody is the exact body of POST /blockchain/models/{id}/session:
// {"sessionDuration":<s>,"directPayment":false,"failover":false}. Field order
// is the wire order. sessionDuration is always sent: without it the router
// dereferences a nil pointer and drops the connection. failover must stay
// false (the router would swap session IDs underneath us, §2.7.5);
// omitProvider is not sent because no router build honours it.
type openModelBody struct {
	SessionDuration int64 `json:"sessionDuration"`
	DirectPayment   bool  `json:"directPayment"`
	Failover        bool  `json:"failover"`
}

// openBidBody is the body of POST /blockchain/bids/{id}/session; the router
// reads only sessionDuration there.
type openBidBody struct {
	SessionDuration int64 `json:"sessionDuration"`
}

type sessionIDResponse struct {
	SessionID string `json:"sessionID"`
}

type txResponse struct {
	Tx string `json:"tx"`
}

// OpenModelSession opens a session on the best-rated bid of modelID for
// duration (rounded up to whole seconds) and returns the on-chain session ID
// (0x + 64 lowercase hex).
//
// The call is slow (seconds to minutes) and not idempotent: it is never
// retried here. On KindTimeout or KindCanceled (and other errors with
// RouterError.OutcomeUnknown) a session may exist on chain anyway; the caller
// must reconcile, not retry blindly. KindNonceRace is for the caller to
// serialise (spec §7.2). The actual EndsAt may differ from now+duration
// (mined later, or capped by the contract): read it back with Session.
func (r *Router) OpenModelSession(ctx context.Context, modelID string, duration time.Duration) (string, error) {
	id, err := NormalizeID(modelID)
	if err != nil {
		return "", newLocalError(opOpenSession, KindBadRequest, "invalid model ID: want 0x followed by 64 hex digits")
	}
	secs, rerr := sessionSeconds(duration)
	if rerr != nil {
		return "", rerr
	}
	body := openModelBody{SessionDuration: secs, DirectPayment: false, Failover: false}
	return r.open(ctx, "/blockchain/models/"+id+"/session", body)
}

// OpenBidSession opens a session on one specific bid (always without direct
// payment). Same semantics as OpenModelSession; the extra error
// "cannot open session with own bid" is KindBadRequest.
func (r *Router) OpenBidSession(ctx context.Context, bidID string, duration time.Duration) (string, error) {
	id, err := NormalizeID(bidID)
	if err != nil {
		return "", newLocalError(opOpenSession, KindBadRequest, "invalid bid ID: want 0x followed by 64 hex digits")
	}
	secs, rerr := sessionSeconds(duration)
	if rerr != nil {
		return "", rerr
	}
	return r.open(ctx, "/blockchain/bids/"+id+"/session", openBidBody{SessionDuration: secs})
}

func (r *Router) open(ctx context.Context, path string, body any) (string, error) {
	var out sessionIDResponse
	c := call{op: opOpenSession, method: http.MethodPost, path: path, body: body, timeout: r.openTimeout}
	if _, e := r.callJSON(ctx, c, &out); e != nil {
		return "", e
	}
	sid := wireID(out.SessionID)
	if isZeroID(sid) {
		// 2xx without a usable ID: the session was probably opened.
		return "", &RouterError{Op: opOpenSession, Status: http.StatusOK, Kind: KindUnknown,
			Message: "proxy-router reported success without a valid session ID"}
	}
	return sid, nil
}

// sessionSeconds converts a duration to whole seconds, rounding up so the
// session is never shorter than asked. The contract rejects sessions under
// 300 s with SessionTooShort; that check is left to the router.
func sessionSeconds(d time.Duration) (int64, *RouterError) {
	if d <= 0 {
		return 0, newLocalError(opOpenSession, KindBadRequest, "session duration must be positive")
	}
	return int64((d + time.Second - 1) / time.Second), nil
}

// CloseSession closes sessionID on chain. A session that is already closed
// (SessionAlreadyClosed) or unknown to the router ("session not found") is
// already gone and returns nil. Not retried automatically; a KindNonceRace
// is for the caller to serialise and retry once.
//
// Closing before EndsAt locks part of the stake until the next UTC day
// (spec §2.3): prefer letting sessions ride to expiry.
func (r *Router) CloseSession(ctx context.Context, sessionID string) error {
	_, _, err := r.CloseSessionTx(ctx, sessionID)
	return err
}

// CloseSessionTx is CloseSession that also returns the close transaction
// hash, or alreadyGone = true (and no tx) when the router reported the
// session already closed or not found.
func (r *Router) CloseSessionTx(ctx context.Context, sessionID string) (tx string, alreadyGone bool, err error) {
	id, nerr := NormalizeID(sessionID)
	if nerr != nil {
		return "", false, newLocalError(opCloseSession, KindBadRequest, "invalid session ID: want 0x followed by 64 hex digits")
	}
	var out txResponse
	c := call{op: opCloseSession, method: http.MethodPost, path: "/blockchain/sessions/" + id + "/close", timeout: r.closeTimeout}
	if _, e := r.callJSON(ctx, c, &out); e != nil {
		if e.Kind == KindAlreadyClosed || e.Kind == KindSessionNotFound {
			return "", true, nil
		}
		return "", false, e
	}
	return out.Tx, false, nil
}

// Session reads GET /blockchain/sessions/{id}: the on-chain session joined
// with its bid. An unknown session is a *RouterError with
// KindSessionNotFound on every version: current routers answer 500
// "session not found", v4 a 200 with a zeroed session (detected by its zero
// BidID). Note that the router also reports RPC failures as "session not
// found"; re-check before dropping a session you recorded.
func (r *Router) Session(ctx context.Context, sessionID string) (SessionInfo, error) {
	id, err := NormalizeID(sessionID)
	if err != nil {
		return SessionInfo{}, newLocalError(opGetSessions, KindBadRequest, "invalid session ID: want 0x followed by 64 hex digits")
	}
	c := call{op: opGetSessions, method: http.MethodGet, path: "/blockchain/sessions/" + id,
		timeout: r.readTimeout, retry: true}
	var out struct {
		Session *sessionWire `json:"session"`
	}
	resp, e := r.callJSON(ctx, c, &out)
	if e != nil {
		return SessionInfo{}, e
	}
	if out.Session == nil {
		return SessionInfo{}, malformed(c.op, resp, nil)
	}
	s, err := out.Session.decode()
	if err != nil {
		return SessionInfo{}, malformed(c.op, resp, err)
	}
	if isZeroID(s.BidID) {
		return SessionInfo{}, &RouterError{Op: c.op, Status: resp.status, Kind: KindSessionNotFound,
			Message: "session not found", raw: truncateBytes(resp.body, maxDebugBody)}
	}
	s.ID = id
	return s, nil
}
