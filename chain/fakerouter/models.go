package fakerouter

import (
	"fmt"
	"math"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// Model is a registered model (IModelStorage.Model plus its ID).
type Model struct {
	// ID is the model ID (hex32); default keccak256(Name).
	ID   string
	Name string
	// Tags; a "tee" tag (any case) marks a TEE model.
	Tags []string
	// ModelType (LLM, EMBEDDING, STT, TTS, UNKNOWN); default derived from Tags
	// like the real router. Not sent in v4.
	ModelType string
	IsDeleted bool
	// CreatedAt defaults to the fake clock at AddModel.
	CreatedAt time.Time
	// Owner address; default 0x23d25ead101cb9bfdd7970176597e72da344557e.
	Owner string
	// Fee and Stake default to 1 and 0.1 MOR.
	Fee, Stake *big.Int
	// IpfsCID (hex32); default keccak256("ipfs:" + Name).
	IpfsCID string
}

// Bid is an active bid of a provider on a model.
type Bid struct {
	// ID (hex32); default keccak256(provider ‖ modelID ‖ nonce) as on chain.
	ID string
	// Provider address; default derived from the bid's position.
	Provider string
	// PricePerSecond in MOR wei; default 10000000000000 (1e13).
	PricePerSecond *big.Int
	// Score is the router's rating; bids are tried and listed highest first.
	// NaN and ±Inf bids are dropped, as the real rater does.
	Score float64
	// Mode is the provider failure mode; default ModeOK.
	Mode Mode
	// Endpoint is the provider's host:port shown in connect errors; default
	// 10.0.0.9:3333.
	Endpoint string
	// CreatedAt defaults to the fake clock at AddBid.
	CreatedAt time.Time

	modelID string
	nonce   int64
}

// modelType derives ModelType from tags like the v5+ router.
func modelType(tags []string) string {
	for _, t := range tags {
		switch strings.ToLower(t) {
		case "llm", "textgeneration", "text2text", "text-to-text", "t2t":
			return "LLM"
		case "embedding", "embeddings":
			return "EMBEDDING"
		case "stt", "transcribe", "s2t", "speech", "speech-to-text", "speech2text":
			return "STT"
		case "tts", "text-to-speech", "text2speech", "t2s":
			return "TTS"
		}
	}
	return "UNKNOWN"
}

func (m *Model) isTEE() bool {
	return slices.ContainsFunc(m.Tags, func(t string) bool { return strings.EqualFold(t, "tee") })
}

func keccakHex(parts ...[]byte) string { return "0x" + common.Bytes2Hex(crypto.Keccak256(parts...)) }

// AddModel registers m and returns its normalised ID (lowercase 0x hex32).
// Adding an existing ID replaces the model. It panics on a malformed ID or
// address.
func (r *Router) AddModel(m Model) string {
	if m.ID == "" {
		m.ID = keccakHex([]byte(m.Name))
	}
	m.ID = mustHash(m.ID)
	if m.Tags == nil {
		m.Tags = []string{}
	}
	m.Tags = slices.Clone(m.Tags)
	if m.ModelType == "" {
		m.ModelType = modelType(m.Tags)
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = r.clock.now()
	}
	if m.Owner == "" {
		m.Owner = "0x23d25ead101cb9bfdd7970176597e72da344557e"
	}
	m.Owner = mustAddress(m.Owner)
	if m.Fee == nil {
		m.Fee = bigFrom(1)
	}
	if m.Stake == nil {
		m.Stake = bigFrom(100_000_000_000_000_000)
	}
	m.Fee, m.Stake = cloneBig(m.Fee), cloneBig(m.Stake)
	if m.IpfsCID == "" {
		m.IpfsCID = keccakHex([]byte("ipfs:" + m.Name))
	}
	m.IpfsCID = mustHash(m.IpfsCID)
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.models[m.ID]; !ok {
		r.modelOrder = append(r.modelOrder, m.ID)
	}
	r.models[m.ID] = &m
	return m.ID
}

// AddBid adds a bid on modelID (which need not be registered: the real
// marketplace does not care) and returns its normalised ID. It panics on a
// malformed ID or address or an unknown mode.
func (r *Router) AddBid(modelID string, b Bid) string {
	b.modelID = mustHash(modelID)
	b.Mode = checkMode(b.Mode)
	if b.PricePerSecond == nil {
		b.PricePerSecond = bigFrom(10_000_000_000_000)
	}
	b.PricePerSecond = cloneBig(b.PricePerSecond)
	if b.Endpoint == "" {
		b.Endpoint = defaultProviderSocket
	}
	if b.CreatedAt.IsZero() {
		b.CreatedAt = r.clock.now()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if b.Provider == "" {
		b.Provider = "0x" + common.Bytes2Hex(crypto.Keccak256([]byte(fmt.Sprintf("fake-provider-%d", len(r.bidOrder))))[12:])
	}
	b.Provider = mustAddress(b.Provider)
	key := b.Provider + "|" + b.modelID
	b.nonce = r.bidNonces[key]
	r.bidNonces[key]++
	if b.ID == "" {
		b.ID = keccakHex(common.HexToAddress(b.Provider).Bytes(), common.HexToHash(b.modelID).Bytes(),
			common.LeftPadBytes(big.NewInt(b.nonce).Bytes(), 32))
	}
	b.ID = mustHash(b.ID)
	if _, ok := r.bids[b.ID]; !ok {
		r.bidOrder = append(r.bidOrder, b.ID)
	}
	r.bids[b.ID] = &b
	return b.ID
}

// ratedBids returns the bids of a model sorted by score (highest first,
// stable), NaN/Inf dropped. Caller holds r.mu.
func (r *Router) ratedBids(modelID string) []*Bid {
	var out []*Bid
	for _, id := range r.bidOrder {
		b := r.bids[id]
		if b.modelID == modelID && !math.IsNaN(b.Score) && !math.IsInf(b.Score, 0) {
			out = append(out, b)
		}
	}
	slices.SortStableFunc(out, func(a, b *Bid) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	return out
}

// modelDTO is structs.Model (no JSON tags: Go field names, *big.Int bare).
type modelDTO struct {
	Id        string
	IpfsCID   string
	Fee       *big.Int
	Stake     *big.Int
	Owner     string
	Name      string
	Tags      []string
	CreatedAt *big.Int
	IsDeleted bool
	ModelType string `json:",omitempty"`
}

// bidDTO is structs.Bid: lib.BigInt fields are quoted strings.
type bidDTO struct {
	Id             string
	Provider       string
	ModelAgentId   string
	PricePerSecond bigString
	Nonce          bigString
	CreatedAt      bigString
	DeletedAt      bigString
}

type ratedBidDTO struct {
	ID    string
	Bid   bidDTO
	Score float64
}

func (m *Model) dto(v Version) modelDTO {
	d := modelDTO{
		Id: m.ID, IpfsCID: m.IpfsCID, Fee: bi(m.Fee), Stake: bi(m.Stake), Owner: m.Owner,
		Name: m.Name, Tags: m.Tags, CreatedAt: bigFrom(m.CreatedAt.Unix()), IsDeleted: m.IsDeleted,
	}
	if v != V4 {
		d.ModelType = m.ModelType
	}
	return d
}

func (b *Bid) dto() bidDTO {
	return bidDTO{
		Id: b.ID, Provider: b.Provider, ModelAgentId: b.modelID, PricePerSecond: bs(b.PricePerSecond),
		Nonce: bs(bigFrom(b.nonce)), CreatedAt: bs(bigFrom(b.CreatedAt.Unix())), DeletedAt: bs(nil),
	}
}

// handleModels serves GET /blockchain/models: every model, deleted ones
// included, in registration order; ?offset=&limit=&order= pages (any order
// other than "ASC" is newest first).
func (r *Router) handleModels(w http.ResponseWriter, req *http.Request, _ params) {
	q := req.URL.Query()
	r.mu.Lock()
	v := r.version
	list := make([]modelDTO, 0, len(r.modelOrder))
	for _, id := range r.modelOrder {
		list = append(list, r.models[id].dto(v))
	}
	r.mu.Unlock()
	if q.Has("offset") || q.Has("limit") {
		page, err := paginate(list, q.Get("offset"), q.Get("limit"), q.Get("order"))
		if err != nil {
			r.writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		list = page
	}
	r.writeJSON(w, http.StatusOK, map[string]any{"models": list})
}

// paginate applies the real router's paging: offset (uint), limit (uint8,
// default 10), order ("ASC" or anything else = DESC).
func paginate[T any](all []T, offsetS, limitS, order string) ([]T, error) {
	offset, limit := uint64(0), uint64(10)
	var err error
	if offsetS != "" {
		if offset, err = strconv.ParseUint(offsetS, 10, 64); err != nil {
			return nil, err
		}
	}
	if limitS != "" {
		if limit, err = strconv.ParseUint(limitS, 10, 8); err != nil {
			return nil, err
		}
	}
	items := slices.Clone(all)
	if order != "ASC" {
		slices.Reverse(items)
	}
	if offset >= uint64(len(items)) {
		return []T{}, nil
	}
	end := min(offset+limit, uint64(len(items)))
	return items[offset:end], nil
}

// handleRatedBids serves GET /blockchain/models/{id}/bids/rated. The outer ID
// is always the zero hash (the real rater never fills it).
func (r *Router) handleRatedBids(w http.ResponseWriter, _ *http.Request, p params) {
	modelID, err := parseHash(p["id"])
	if err != nil {
		r.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	r.mu.Lock()
	list := []ratedBidDTO{}
	for _, b := range r.ratedBids(modelID) {
		list = append(list, ratedBidDTO{ID: zeroHash, Bid: b.dto(), Score: b.Score})
	}
	r.mu.Unlock()
	r.writeJSON(w, http.StatusOK, map[string]any{"bids": list})
}

// handleModelBids serves GET /blockchain/models/{id}/bids and …/bids/active.
func (r *Router) handleModelBids(w http.ResponseWriter, _ *http.Request, p params) {
	modelID, err := parseHash(p["id"])
	if err != nil {
		r.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	r.mu.Lock()
	list := []bidDTO{}
	for _, id := range r.bidOrder {
		if b := r.bids[id]; b.modelID == modelID {
			list = append(list, b.dto())
		}
	}
	r.mu.Unlock()
	r.writeJSON(w, http.StatusOK, map[string]any{"bids": list})
}

// handleBid serves GET /blockchain/bids/{id}; an unknown bid is zeroed (the
// contract does not revert).
func (r *Router) handleBid(w http.ResponseWriter, _ *http.Request, p params) {
	id, err := parseHash(p["id"])
	if err != nil {
		r.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	r.mu.Lock()
	b, ok := r.bids[id]
	var d bidDTO
	if ok {
		d = b.dto()
	} else {
		d = bidDTO{Id: id, Provider: zeroAddress, ModelAgentId: zeroHash}
	}
	r.mu.Unlock()
	r.writeJSON(w, http.StatusOK, map[string]any{"bid": d})
}
