package fakerouter

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// MinSessionDuration is the contract's MIN_SESSION_DURATION (seconds).
const MinSessionDuration = 300

// Token economics used for the stake: stake = price × duration × supply / budget
// (the router's formula). 41.7M / 180k MOR makes 1e13 wei/s × 1800 s a stake
// of exactly 4170000000000000000, the spec's example.
var (
	tokenSupply, _  = new(big.Int).SetString("41700000000000000000000000", 10)
	todaysBudget, _ = new(big.Int).SetString("180000000000000000000000", 10)
)

// session is the on-chain session joined with its bid, plus fake-only state.
type session struct {
	id, user, provider, modelID, bidID string
	stake, price                       *big.Int
	openedAt, endsAt, closedAt         int64 // unix seconds
	requested                          int64 // requested duration, seconds
	directPayment, failover            bool
	omitProvider                       string
	orphaned                           bool
	closeTx, closeoutReceipt           string
	refunded, onHold                   *big.Int
	onHoldUntil                        int64
	prompts, inFlight, maxInFlight     int
	served                             []string // X-Request-Id of finished prompts, in order
	sem                                fifoSemaphore
}

// SessionState is a snapshot of a session for assertions.
type SessionState struct {
	ID, User, Provider, ModelID, BidID string // lowercase hex
	Stake, PricePerSecond              *big.Int
	OpenedAt, EndsAt                   time.Time
	ClosedAt                           time.Time // zero while open
	// RequestedDuration is the sessionDuration of the open request.
	RequestedDuration time.Duration
	// DirectPayment, Failover and OmitProvider are recorded, and ignored.
	DirectPayment, Failover bool
	OmitProvider            string
	// Orphaned: the client went away before the open replied.
	Orphaned bool
	// CloseTx is the hash returned by the close; Refunded is the MOR returned
	// at once and OnHold the MOR locked until OnHoldUntil (early close).
	CloseTx          string
	Refunded, OnHold *big.Int
	OnHoldUntil      time.Time
	// Prompts served or attempted past the session lookup; MaxConcurrent is
	// the highest number running at once past the semaphore.
	Prompts, MaxConcurrent int
	// ServedRequestIDs are the X-Request-Id values of the prompts that got
	// past the semaphore, in the order they finished.
	ServedRequestIDs []string
}

func (s *session) state() SessionState {
	st := SessionState{
		ID: s.id, User: s.user, Provider: s.provider, ModelID: s.modelID, BidID: s.bidID,
		Stake: cloneBig(s.stake), PricePerSecond: cloneBig(s.price),
		OpenedAt: time.Unix(s.openedAt, 0), EndsAt: time.Unix(s.endsAt, 0),
		RequestedDuration: time.Duration(s.requested) * time.Second,
		DirectPayment:     s.directPayment, Failover: s.failover, OmitProvider: s.omitProvider,
		Orphaned: s.orphaned, CloseTx: s.closeTx, Refunded: cloneBig(s.refunded), OnHold: cloneBig(s.onHold),
		Prompts: s.prompts, MaxConcurrent: s.maxInFlight, ServedRequestIDs: slices.Clone(s.served),
	}
	if s.closedAt != 0 {
		st.ClosedAt = time.Unix(s.closedAt, 0)
	}
	if s.onHoldUntil != 0 {
		st.OnHoldUntil = time.Unix(s.onHoldUntil, 0)
	}
	return st
}

// Session returns a snapshot of session id (0x optional, any case).
func (r *Router) Session(id string) (SessionState, bool) {
	h, err := parseHash(id)
	if err != nil {
		return SessionState{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.sessions[h]
	if !ok {
		return SessionState{}, false
	}
	return s.state(), true
}

// Sessions returns snapshots of every session, oldest first.
func (r *Router) Sessions() []SessionState {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]SessionState, 0, len(r.sessionOrder))
	for _, id := range r.sessionOrder {
		out = append(out, r.sessions[id].state())
	}
	return out
}

// ExpireSession sets the session's EndsAt to one second before now. It
// panics if the session does not exist.
func (r *Router) ExpireSession(id string) {
	h := mustHash(id)
	now := r.clock.now().Unix()
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.sessions[h]
	if !ok {
		panic("fakerouter: ExpireSession: unknown session " + id)
	}
	s.endsAt = now - 1
	if s.openedAt > s.endsAt {
		s.openedAt = s.endsAt
	}
}

// QueueDepth is the number of prompts running or queued on a session's
// semaphore (current only; v4 has none and reports 0).
func (r *Router) QueueDepth(id string) int {
	h, err := parseHash(id)
	if err != nil {
		return 0
	}
	r.mu.Lock()
	s, ok := r.sessions[h]
	r.mu.Unlock()
	if !ok {
		return 0
	}
	return s.sem.depth()
}

// openBody is structs.OpenSessionWithFailover.
type openBody struct {
	SessionDuration *jsonBigInt     `json:"sessionDuration"`
	DirectPayment   bool            `json:"directPayment"`
	Failover        bool            `json:"failover"`
	OmitProvider    json.RawMessage `json:"omitProvider"`
}

// openRequest is a validated open request.
type openRequest struct {
	modelID  string // model-based open
	bidID    string // bid-based open
	duration *big.Int
	body     openBody
}

// handleOpenByModel serves POST /blockchain/models/{id}/session.
func (r *Router) handleOpenByModel(w http.ResponseWriter, req *http.Request, p params) {
	id, err := parseHash(p["id"])
	if err != nil {
		r.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	r.open(w, req, openRequest{modelID: id})
}

// handleOpenByBid serves POST /blockchain/bids/{id}/session.
func (r *Router) handleOpenByBid(w http.ResponseWriter, req *http.Request, p params) {
	id, err := parseHash(p["id"])
	if err != nil {
		r.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	r.open(w, req, openRequest{bidID: id})
}

// failure is one entry of the v6+ "no provider accepting session: [...]" list.
type failure struct {
	Provider string `json:"provider"`
	Reason   string `json:"reason"`
}

// handshake decides whether the provider of b accepts a session; it returns
// the refusal reason, or "". Caller holds r.mu.
func (r *Router) handshake(b *Bid) string {
	switch b.Mode {
	case ModeUnreachable:
		return fmt.Sprintf(reasonUnreachable, b.Endpoint)
	case ModeNoCapacity:
		return reasonNoCapacity
	case ModeTEEFail:
		if m, ok := r.models[b.modelID]; ok && m.isTEE() && r.version == Current {
			return reasonTEE
		}
	}
	return ""
}

// open runs the open flow: body, bid selection and provider handshakes
// synchronously; then the on-chain part, which takes OpenLatency, in a
// detached goroutine that the client cannot cancel.
func (r *Router) open(w http.ResponseWriter, req *http.Request, or openRequest) {
	if err := json.NewDecoder(req.Body).Decode(&or.body); err != nil {
		r.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if or.body.SessionDuration == nil {
		// nil pointer dereference in the real handler, no recovery middleware.
		dropConnection(w)
		return
	}
	or.duration = new(big.Int).Set(&or.body.SessionDuration.Int)

	r.mu.Lock()
	r.counters.OpenInFlight++
	r.counters.OpenInFlightMax = max(r.counters.OpenInFlightMax, r.counters.OpenInFlight)
	chosen, errMsg := r.selectBid(or)
	if chosen == nil {
		r.counters.OpenInFlight--
		r.mu.Unlock()
		r.writeError(w, http.StatusInternalServerError, errMsg)
		return
	}
	r.mu.Unlock()

	type result struct {
		id  string
		err string
	}
	done := make(chan result, 1)
	go func() {
		time.Sleep(r.cfg.OpenLatency)
		r.mu.Lock()
		id, errMsg := r.openOnChain(chosen, or)
		r.counters.OpenInFlight--
		r.mu.Unlock()
		done <- result{id, errMsg}
	}()

	select {
	case res := <-done:
		if res.err != "" {
			r.writeError(w, http.StatusInternalServerError, res.err)
			return
		}
		r.writeJSON(w, http.StatusOK, map[string]string{"sessionID": res.id})
	case <-req.Context().Done():
		// The client gave up; the open goes on and may leave an orphan.
		go func() {
			if res := <-done; res.id != "" {
				r.mu.Lock()
				r.sessions[res.id].orphaned = true
				r.counters.OpenOrphans++
				r.mu.Unlock()
			}
		}()
	}
}

// selectBid walks the bids in score order and returns the first whose
// provider accepts, or the error text. Caller holds r.mu.
func (r *Router) selectBid(or openRequest) (*Bid, string) {
	if or.bidID != "" {
		b, ok := r.bids[or.bidID]
		if !ok {
			return nil, "bid not found"
		}
		if b.Provider == r.wallet {
			return nil, errOwnBid
		}
		if reason := r.handshake(b); reason != "" {
			return nil, reason
		}
		return b, ""
	}
	bids := r.ratedBids(or.modelID)
	if len(bids) == 0 {
		return nil, errNoBids
	}
	var failures []failure
	for _, b := range bids {
		if b.Provider == r.wallet {
			continue // the router skips its own bids
		}
		reason := r.handshake(b)
		if reason == "" {
			return b, ""
		}
		failures = append(failures, failure{Provider: checksum(b.Provider), Reason: reason})
	}
	if r.version == V4 || len(failures) == 0 {
		return nil, errNoProvider
	}
	list, _ := json.Marshal(failures)
	return nil, errNoProvider + ": " + string(list)
}

// onChainPrecheck applies the wallet-level failures common to every
// transaction (op is "open" or "close"). Caller holds r.mu.
func (r *Router) onChainPrecheck(op string) string {
	if r.nonceFailures > 0 {
		r.nonceFailures--
		r.counters.NonceErrors++
		return fmt.Sprintf(errNonce, op)
	}
	gasCost := bigFrom(2_100_000_000_000_000)
	if r.walletMode == WalletInsufficientETH || r.eth.Sign() == 0 {
		overshot := new(big.Int).Sub(gasCost, r.eth)
		if overshot.Sign() <= 0 {
			overshot = gasCost
		}
		balance := r.eth
		if r.walletMode == WalletInsufficientETH {
			balance = new(big.Int)
			overshot = gasCost
		}
		return fmt.Sprintf(errInsufficientFunds, op, balance, gasCost, overshot)
	}
	if r.walletMode == WalletCongestion {
		return fmt.Sprintf(errNotMined, op, randomHash())
	}
	return ""
}

// openOnChain is increaseAllowance + openSession + 1 confirmation. Caller
// holds r.mu.
func (r *Router) openOnChain(b *Bid, or openRequest) (string, string) {
	if msg := r.onChainPrecheck("open"); msg != "" {
		return "", msg
	}
	stake := new(big.Int).Mul(b.PricePerSecond, or.duration)
	stake.Mul(stake, tokenSupply).Quo(stake, todaysBudget)

	effective := new(big.Int).Set(or.duration)
	if maxD := int64(r.cfg.MaxSessionDuration / time.Second); maxD > 0 && effective.Cmp(bigFrom(maxD)) > 0 {
		effective.SetInt64(maxD)
	}
	if effective.Cmp(bigFrom(MinSessionDuration)) < 0 {
		return "", errSessionTooShort
	}
	if r.walletMode == WalletInsufficientMOR || stake.Cmp(r.mor) > 0 {
		return "", errTransferExceeds
	}

	// Allowance: v4 approves the stake every time; current increases it when
	// below 3 × stake. The transfer then consumes it.
	allowance := r.allowance[DiamondAddress]
	if allowance == nil {
		allowance = new(big.Int)
	}
	if r.version == V4 {
		allowance = new(big.Int).Set(stake)
	} else if allowance.Cmp(new(big.Int).Mul(stake, bigFrom(3))) < 0 {
		allowance = new(big.Int).Add(allowance, stake)
	}
	r.allowance[DiamondAddress] = new(big.Int).Sub(allowance, stake)
	r.mor.Sub(r.mor, stake)

	r.sessionNonce++
	id := keccakHex(common.HexToAddress(r.wallet).Bytes(), common.HexToAddress(b.Provider).Bytes(),
		common.HexToHash(b.ID).Bytes(), common.LeftPadBytes(big.NewInt(r.sessionNonce).Bytes(), 32))
	openedAt := r.clock.now().Add(r.cfg.MinedDelay).Unix()
	var requested int64
	if or.duration.IsInt64() {
		requested = or.duration.Int64()
	}
	s := &session{
		id: id, user: r.wallet, provider: b.Provider, modelID: b.modelID, bidID: b.ID,
		stake: stake, price: new(big.Int).Set(b.PricePerSecond),
		openedAt: openedAt, endsAt: openedAt + effective.Int64(), requested: requested,
		directPayment: or.body.DirectPayment, failover: or.body.Failover,
		omitProvider: strings.Trim(string(or.body.OmitProvider), `"`),
	}
	r.sessions[id] = s
	r.sessionOrder = append(r.sessionOrder, id)
	return id, ""
}

// handleClose serves POST /blockchain/sessions/{id}/close.
func (r *Router) handleClose(w http.ResponseWriter, _ *http.Request, p params) {
	id, err := parseHash(p["id"])
	if err != nil {
		r.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	r.mu.Lock()
	tx, msg := r.closeOnChain(id)
	r.mu.Unlock()
	time.Sleep(r.cfg.CloseLatency)
	if msg != "" {
		r.writeError(w, http.StatusInternalServerError, msg)
		return
	}
	r.writeJSON(w, http.StatusOK, map[string]string{"tx": tx})
}

// closeOnChain closes a session and settles the stake (§4.6). Caller holds r.mu.
func (r *Router) closeOnChain(id string) (string, string) {
	s, ok := r.sessions[id]
	if !ok {
		return "", errCloseUnknown
	}
	if s.closedAt != 0 {
		return "", errAlreadyClosed
	}
	if msg := r.onChainPrecheck("close"); msg != "" {
		return "", msg
	}
	now := r.clock.now().Unix()
	s.closedAt = now
	s.closeTx = randomHash()
	s.closeoutReceipt = common.Bytes2Hex(crypto.Keccak256([]byte(id), []byte(s.closeTx)))
	s.onHold = new(big.Int)
	if now >= s.endsAt {
		s.refunded = new(big.Int).Set(s.stake)
	} else {
		// Early close: the stake equivalent of today's elapsed time is held
		// until the next UTC midnight; the rest comes back at once.
		day := startOfDay(now)
		elapsed := min(s.endsAt, now) - max(s.openedAt, day)
		total := s.endsAt - s.openedAt
		if elapsed > 0 && total > 0 {
			s.onHold.Mul(s.stake, bigFrom(elapsed)).Quo(s.onHold, bigFrom(total))
			s.onHoldUntil = day + 86400
		}
		s.refunded = new(big.Int).Sub(s.stake, s.onHold)
	}
	r.mor.Add(r.mor, s.refunded)
	return s.closeTx, ""
}

// sessionDTO is structs.SessionRes: the session joined with its bid.
type sessionDTO struct {
	Id                      string
	User                    string
	Provider                string
	ModelAgentId            string
	BidID                   string
	Stake                   *big.Int
	PricePerSecond          *big.Int
	CloseoutReceipt         string
	CloseoutType            *big.Int
	ProviderWithdrawnAmount *big.Int
	OpenedAt                *big.Int
	EndsAt                  *big.Int
	ClosedAt                *big.Int
}

func (s *session) dto() sessionDTO {
	return sessionDTO{
		Id: s.id, User: s.user, Provider: s.provider, ModelAgentId: s.modelID, BidID: s.bidID,
		Stake: bi(s.stake), PricePerSecond: bi(s.price), CloseoutReceipt: s.closeoutReceipt,
		CloseoutType: new(big.Int), ProviderWithdrawnAmount: new(big.Int),
		OpenedAt: bigFrom(s.openedAt), EndsAt: bigFrom(s.endsAt), ClosedAt: bigFrom(s.closedAt),
	}
}

func zeroSessionDTO(id string) sessionDTO {
	z := func() *big.Int { return new(big.Int) }
	return sessionDTO{
		Id: id, User: zeroAddress, Provider: zeroAddress, ModelAgentId: zeroHash, BidID: zeroHash,
		Stake: z(), PricePerSecond: z(), CloseoutType: z(), ProviderWithdrawnAmount: z(),
		OpenedAt: z(), EndsAt: z(), ClosedAt: z(),
	}
}

// handleGetSession serves GET /blockchain/sessions/{id}: 500 "session not
// found" for an unknown ID in current, a zeroed 200 in v4.
func (r *Router) handleGetSession(w http.ResponseWriter, _ *http.Request, p params) {
	id, err := parseHash(p["id"])
	if err != nil {
		r.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	r.mu.Lock()
	s, ok := r.sessions[id]
	v := r.version
	var d sessionDTO
	if ok {
		d = s.dto()
	}
	r.mu.Unlock()
	switch {
	case ok:
		r.writeJSON(w, http.StatusOK, map[string]any{"session": d})
	case v == V4:
		r.writeJSON(w, http.StatusOK, map[string]any{"session": zeroSessionDTO(id)})
	default:
		r.writeError(w, http.StatusInternalServerError, errSessionNotFound)
	}
}

// sessionsFor returns the DTOs of the sessions of a user or provider, in
// paging order. Caller holds r.mu.
func (r *Router) sessionsFor(req *http.Request) ([]sessionDTO, error) {
	q := req.URL.Query()
	byProvider := strings.HasSuffix(req.URL.Path, "/provider")
	key := q.Get("user")
	if byProvider {
		key = q.Get("provider")
	}
	if !common.IsHexAddress(key) {
		return nil, fmt.Errorf("invalid address: %q", key)
	}
	addr := strings.ToLower(common.HexToAddress(key).Hex())
	var all []sessionDTO
	for _, id := range r.sessionOrder {
		s := r.sessions[id]
		if (!byProvider && s.user == addr) || (byProvider && s.provider == addr) {
			all = append(all, s.dto())
		}
	}
	return paginate(all, q.Get("offset"), q.Get("limit"), q.Get("order"))
}

// handleSessionList serves GET /blockchain/sessions/user and …/provider.
func (r *Router) handleSessionList(w http.ResponseWriter, req *http.Request, _ params) {
	r.mu.Lock()
	list, err := r.sessionsFor(req)
	r.mu.Unlock()
	if err != nil {
		r.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	r.writeJSON(w, http.StatusOK, map[string]any{"sessions": list})
}

// handleSessionIDs serves GET /blockchain/sessions/user/ids: a bare array.
func (r *Router) handleSessionIDs(w http.ResponseWriter, req *http.Request, _ params) {
	r.mu.Lock()
	list, err := r.sessionsFor(req)
	r.mu.Unlock()
	if err != nil {
		r.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ids := make([]string, len(list))
	for i, s := range list {
		ids[i] = s.Id
	}
	r.writeJSON(w, http.StatusOK, ids)
}
