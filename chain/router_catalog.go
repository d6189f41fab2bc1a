package chain

import (
	"context"
	"fmt"
	"net/http"
)

// Marketplace reads (spec §2.6): models, rated bids, one bid. All are GETs
// with the read timeout and one retry after a transport error.

// Models lists GET /blockchain/models: every model ever registered,
// deleted ones included (IsDeleted; the caller filters). The router reports
// its RPC failures on this route as 400 (sic); since Models sends no input,
// such a 400 is returned as KindUnknown, not KindBadRequest.
func (r *Router) Models(ctx context.Context) ([]Model, error) {
	var out struct {
		Models []modelWire `json:"models"`
	}
	c := call{op: opGetModels, method: http.MethodGet, path: "/blockchain/models", timeout: r.readTimeout, retry: true}
	resp, e := r.callJSON(ctx, c, &out)
	if e != nil {
		if e.Kind == KindBadRequest {
			e.Kind = KindUnknown
		}
		return nil, e
	}
	models := make([]Model, 0, len(out.Models))
	for i, w := range out.Models {
		m, err := w.decode()
		if err != nil {
			return nil, malformed(c.op, resp, fmt.Errorf("models[%d]: %w", i, err))
		}
		models = append(models, m)
	}
	return models, nil
}

// RatedBids lists GET /blockchain/models/{id}/bids/rated: the model's active
// bids scored by the router, highest Score first. An unknown model gives an
// empty list. The call is expensive on the router (O(bids) RPC reads): cache
// the result. len > 1 is the precondition for failover (spec §7.3).
func (r *Router) RatedBids(ctx context.Context, modelID string) ([]RatedBid, error) {
	id, err := NormalizeID(modelID)
	if err != nil {
		return nil, newLocalError(opGetBids, KindBadRequest, "invalid model ID: want 0x followed by 64 hex digits")
	}
	var out struct {
		Bids []ratedBidWire `json:"bids"`
	}
	c := call{op: opGetBids, method: http.MethodGet, path: "/blockchain/models/" + id + "/bids/rated",
		timeout: r.readTimeout, retry: true}
	resp, e := r.callJSON(ctx, c, &out)
	if e != nil {
		return nil, e
	}
	bids := make([]RatedBid, 0, len(out.Bids))
	for i, w := range out.Bids {
		b, err := w.Bid.decode()
		if err != nil {
			return nil, malformed(c.op, resp, fmt.Errorf("bids[%d]: %w", i, err))
		}
		bids = append(bids, RatedBid{Bid: b, Score: w.Score})
	}
	return bids, nil
}

// Bid reads GET /blockchain/bids/{id}. An unknown ID is not an error on the
// router (the contract returns zeros): the zeroed Bid is returned and
// Bid.Exists reports false.
func (r *Router) Bid(ctx context.Context, bidID string) (Bid, error) {
	id, err := NormalizeID(bidID)
	if err != nil {
		return Bid{}, newLocalError(opGetBids, KindBadRequest, "invalid bid ID: want 0x followed by 64 hex digits")
	}
	var out struct {
		Bid *bidWire `json:"bid"`
	}
	c := call{op: opGetBids, method: http.MethodGet, path: "/blockchain/bids/" + id, timeout: r.readTimeout, retry: true}
	resp, e := r.callJSON(ctx, c, &out)
	if e != nil {
		return Bid{}, e
	}
	if out.Bid == nil {
		return Bid{}, malformed(c.op, resp, nil)
	}
	b, err := out.Bid.decode()
	if err != nil {
		return Bid{}, malformed(c.op, resp, err)
	}
	return b, nil
}
