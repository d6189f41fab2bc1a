package chain

import (
	"context"
	"math/big"
	"net/http"
	"net/url"

	"github.com/ethereum/go-ethereum/common"
)

// Health, the router wallet, balances and allowance (spec §2.10).

// Health reads GET /healthcheck, the only call sent without Basic auth.
// Current routers answer {"status","version","uptime","components"} and
// 503 with "status":"degraded"; v4 answers {"Status","Version","Uptime"}.
// A 503 that carries a health body is returned as a Health (Healthy()
// false) without error; any other non-2xx is a *RouterError.
func (r *Router) Health(ctx context.Context) (Health, error) {
	c := call{op: opHealthcheck, method: http.MethodGet, path: "/healthcheck", noAuth: true,
		timeout: r.readTimeout, retry: true}
	resp, e := r.do(ctx, c)
	if e != nil {
		return Health{}, e
	}
	var w healthWire
	if resp.status == http.StatusOK || resp.status == http.StatusServiceUnavailable {
		if decodeJSON(resp.body, &w) == nil && w.Status != "" {
			return w.decode(), nil
		}
	}
	if ce := ClassifyResponse(c.op, resp.status, resp.contentType, resp.body); ce != nil {
		return Health{}, ce
	}
	return Health{}, malformed(c.op, resp, nil)
}

// Wallet reads GET /wallet: the router wallet that signs and pays for every
// session (the "user" of every session it opens).
func (r *Router) Wallet(ctx context.Context) (common.Address, error) {
	var out struct {
		Address string `json:"address"`
	}
	c := call{op: opGetWallet, method: http.MethodGet, path: "/wallet", timeout: r.readTimeout, retry: true}
	resp, e := r.callJSON(ctx, c, &out)
	if e != nil {
		return common.Address{}, e
	}
	addr, ok := parseWireAddress(out.Address)
	if !ok || addr == (common.Address{}) {
		return common.Address{}, malformed(c.op, resp, nil)
	}
	return addr, nil
}

// Balance reads GET /blockchain/balance: the router wallet's ETH and MOR
// balances in wei (never nil on success).
func (r *Router) Balance(ctx context.Context) (eth, mor *big.Int, err error) {
	var out struct {
		ETH BigInt `json:"eth"`
		MOR BigInt `json:"mor"`
	}
	c := call{op: "get_balance", method: http.MethodGet, path: "/blockchain/balance", timeout: r.readTimeout, retry: true}
	if _, e := r.callJSON(ctx, c, &out); e != nil {
		return nil, nil, e
	}
	return out.ETH.orZero(), out.MOR.orZero(), nil
}

// Allowance reads GET /blockchain/allowance?spender=: the MOR allowance from
// the router wallet to spender, in wei.
func (r *Router) Allowance(ctx context.Context, spender common.Address) (*big.Int, error) {
	if spender == (common.Address{}) {
		return nil, newLocalError("get_allowance", KindBadRequest, "spender must not be the zero address")
	}
	var out struct {
		Allowance BigInt `json:"allowance"`
	}
	c := call{op: "get_allowance", method: http.MethodGet, path: "/blockchain/allowance",
		query: url.Values{"spender": {spender.Hex()}}, timeout: r.readTimeout, retry: true}
	if _, e := r.callJSON(ctx, c, &out); e != nil {
		return nil, e
	}
	return out.Allowance.orZero(), nil
}

// Approve sends POST /blockchain/approve?spender=&amount=: an ERC-20
// approve(spender, amount) from the router wallet, returning the tx hash.
// It SETS the allowance (it does not add to it), so calling it while opens
// are in flight can lower the allowance under them; current routers manage
// the allowance themselves during opens and this is rarely needed. Not
// retried automatically (an on-chain write).
func (r *Router) Approve(ctx context.Context, spender common.Address, amount *big.Int) (string, error) {
	if spender == (common.Address{}) {
		return "", newLocalError(opApprove, KindBadRequest, "spender must not be the zero address")
	}
	if amount == nil || amount.Sign() < 0 {
		return "", newLocalError(opApprove, KindBadRequest, "amount must be a non-negative integer")
	}
	var out txResponse
	c := call{op: opApprove, method: http.MethodPost, path: "/blockchain/approve",
		query:   url.Values{"spender": {spender.Hex()}, "amount": {amount.String()}},
		timeout: r.approveTimeout}
	if _, e := r.callJSON(ctx, c, &out); e != nil {
		return "", e
	}
	return out.Tx, nil
}
