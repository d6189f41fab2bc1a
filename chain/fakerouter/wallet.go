package fakerouter

import (
	"math/big"
	"net/http"
	"strings"

	"github.com/ethereum/go-ethereum/common"
)

// Balances returns copies of the wallet's MOR and ETH balances (wei). Opens
// debit the stake; closes credit the refund.
func (r *Router) Balances() (mor, eth *big.Int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return cloneBig(r.mor), cloneBig(r.eth)
}

// SetBalances replaces the wallet balances (nil leaves one unchanged).
func (r *Router) SetBalances(mor, eth *big.Int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if mor != nil {
		r.mor = cloneBig(mor)
	}
	if eth != nil {
		r.eth = cloneBig(eth)
	}
}

// handleWallet serves GET /wallet.
func (r *Router) handleWallet(w http.ResponseWriter, _ *http.Request, _ params) {
	r.writeJSON(w, http.StatusOK, map[string]string{"address": r.wallet})
}

// handleBalance serves GET /blockchain/balance: quoted decimal strings.
func (r *Router) handleBalance(w http.ResponseWriter, _ *http.Request, _ params) {
	mor, eth := r.Balances()
	r.writeJSON(w, http.StatusOK, map[string]bigString{"eth": bs(eth), "mor": bs(mor)})
}

func spenderParam(req *http.Request) (string, bool) {
	s := req.URL.Query().Get("spender")
	if !common.IsHexAddress(s) {
		return "", false
	}
	return strings.ToLower(common.HexToAddress(s).Hex()), true
}

// handleAllowance serves GET /blockchain/allowance?spender=.
func (r *Router) handleAllowance(w http.ResponseWriter, req *http.Request, _ params) {
	spender, ok := spenderParam(req)
	if !ok {
		r.writeError(w, http.StatusBadRequest, "invalid spender address")
		return
	}
	r.mu.Lock()
	a := cloneBig(r.allowance[spender])
	r.mu.Unlock()
	r.writeJSON(w, http.StatusOK, map[string]bigString{"allowance": bs(a)})
}

// handleApprove serves POST /blockchain/approve?spender=&amount=: it sets
// (does not add to) the allowance.
func (r *Router) handleApprove(w http.ResponseWriter, req *http.Request, _ params) {
	spender, ok := spenderParam(req)
	if !ok {
		r.writeError(w, http.StatusBadRequest, "invalid spender address")
		return
	}
	amount, ok := new(big.Int).SetString(req.URL.Query().Get("amount"), 10)
	if !ok {
		r.writeError(w, http.StatusBadRequest, "invalid amount")
		return
	}
	r.mu.Lock()
	msg := r.onChainPrecheck("approve")
	if msg == "" {
		r.allowance[spender] = amount
	}
	r.mu.Unlock()
	if msg != "" {
		r.writeError(w, http.StatusInternalServerError, strings.Replace(msg, "approve session failed", "approve failed", 1))
		return
	}
	r.writeJSON(w, http.StatusOK, map[string]string{"tx": randomHash()})
}

// handleSupply serves GET /blockchain/token/supply.
func (r *Router) handleSupply(w http.ResponseWriter, _ *http.Request, _ params) {
	r.writeJSON(w, http.StatusOK, map[string]bigString{"supply": bs(tokenSupply)})
}

// handleBudget serves GET /blockchain/sessions/budget.
func (r *Router) handleBudget(w http.ResponseWriter, _ *http.Request, _ params) {
	r.writeJSON(w, http.StatusOK, map[string]bigString{"budget": bs(todaysBudget)})
}
