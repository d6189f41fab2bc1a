package chain

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// This file holds the values the Router returns and their wire DTOs. The
// router's blockchain DTOs have no JSON tags, so keys are Go field names
// ("Id", "BidID", "ModelAgentId", "PricePerSecond"); encoding/json matches
// keys case-insensitively, which also absorbs "Id"/"ID" and v4's
// capitalised healthcheck keys. Numbers use BigInt (bare or quoted), IDs are
// normalised to lowercase 0x+64 hex, addresses accept lowercase and EIP-55.

// SessionInfo is GET /blockchain/sessions/{id}: the on-chain session joined
// with its bid (Provider, ModelAgentID and PricePerSecond come from the bid).
// Times are block timestamps in UTC; zero means "not set" (ClosedAt of an
// open session).
type SessionInfo struct {
	ID             string         // 0x + 64 lowercase hex
	User           common.Address // the router wallet that opened and pays
	Provider       common.Address
	ModelAgentID   string // model ID
	BidID          string
	Stake          *big.Int // MOR wei; never nil
	PricePerSecond *big.Int // MOR wei per second; never nil
	OpenedAt       time.Time
	EndsAt         time.Time // fixed at open; the expiry anchor (spec §7.1)
	ClosedAt       time.Time // zero while not closed
	// CloseoutReceipt is the receipt used at close as the router prints it:
	// hex WITHOUT "0x", empty until closed.
	CloseoutReceipt string
}

// Open reports whether the session can still serve prompts at now: not
// closed and now before EndsAt (the contract's rule, spec §0.11).
func (s SessionInfo) Open(now time.Time) bool {
	return s.ClosedAt.IsZero() && !s.EndsAt.IsZero() && now.Before(s.EndsAt)
}

// Model is one element of GET /blockchain/models. Deleted models are listed
// too (IsDeleted); callers filter.
type Model struct {
	ID        string
	Name      string
	Tags      []string
	ModelType string // "LLM", "EMBEDDING", "STT", "TTS", "UNKNOWN"; empty before v5.0
	IsDeleted bool
	CreatedAt time.Time
	Owner     common.Address
	Fee       *big.Int // never nil
	Stake     *big.Int // never nil
	IpfsCID   string   // bytes32 as 0x + 64 hex
}

// Bid is a marketplace bid (GET /blockchain/bids/{id}, and the inner "Bid"
// of rated bids). A zeroed Bid (Exists false) is what the router returns for
// an unknown ID: the contract does not revert.
type Bid struct {
	ID             string
	Provider       common.Address
	ModelAgentID   string   // model ID
	PricePerSecond *big.Int // MOR wei per second; never nil
	Nonce          *big.Int // never nil
	CreatedAt      time.Time
	DeletedAt      time.Time // non-zero means deleted
}

// Exists reports whether the bid is a real one (non-zero provider).
func (b Bid) Exists() bool { return b.Provider != (common.Address{}) }

// Deleted reports whether the bid was deleted on chain.
func (b Bid) Deleted() bool { return !b.DeletedAt.IsZero() }

// RatedBid is one element of GET /blockchain/models/{id}/bids/rated, sorted by
// Score, highest first. The router's outer "ID" is always the zero hash and is
// not kept: use Bid.ID.
type RatedBid struct {
	Bid   Bid
	Score float64
}

// Health is GET /healthcheck. Both v4's Status/Version/Uptime and the current
// status/version/uptime/components keys decode into it. Status is "healthy"
// or "degraded" (the latter with HTTP 503, which Health returns without
// error).
type Health struct {
	Status, Version, Uptime string
	// Components is per-component status text (v5.12+), e.g.
	// {"badgerdb":"healthy, size=12.3MB"}; nil on older routers.
	Components map[string]string
}

// Healthy reports Status == "healthy" (case-insensitive).
func (h Health) Healthy() bool { return strings.EqualFold(h.Status, "healthy") }

// ---- wire DTOs ----

type sessionWire struct {
	ID              string `json:"Id"`
	User            string
	Provider        string
	ModelAgentID    string `json:"ModelAgentId"`
	BidID           string
	Stake           BigInt
	PricePerSecond  BigInt
	CloseoutReceipt string
	OpenedAt        BigInt
	EndsAt          BigInt
	ClosedAt        BigInt
}

func (w sessionWire) decode() (SessionInfo, error) {
	s := SessionInfo{
		ID:              wireID(w.ID),
		ModelAgentID:    wireID(w.ModelAgentID),
		BidID:           wireID(w.BidID),
		Stake:           w.Stake.orZero(),
		PricePerSecond:  w.PricePerSecond.orZero(),
		CloseoutReceipt: w.CloseoutReceipt,
	}
	var ok bool
	if s.User, ok = parseWireAddress(w.User); !ok {
		return SessionInfo{}, fmt.Errorf("session: malformed User address")
	}
	if s.Provider, ok = parseWireAddress(w.Provider); !ok {
		return SessionInfo{}, fmt.Errorf("session: malformed Provider address")
	}
	var err error
	for _, f := range []struct {
		name string
		src  BigInt
		dst  *time.Time
	}{{"OpenedAt", w.OpenedAt, &s.OpenedAt}, {"EndsAt", w.EndsAt, &s.EndsAt}, {"ClosedAt", w.ClosedAt, &s.ClosedAt}} {
		if *f.dst, err = f.src.unixTime(); err != nil {
			return SessionInfo{}, fmt.Errorf("session: %s: %w", f.name, err)
		}
	}
	return s, nil
}

type modelWire struct {
	ID        string `json:"Id"`
	IpfsCID   string
	Fee       BigInt
	Stake     BigInt
	Owner     string
	Name      string
	Tags      []string
	CreatedAt BigInt
	IsDeleted bool
	ModelType string
}

func (w modelWire) decode() (Model, error) {
	m := Model{
		ID:        wireID(w.ID),
		Name:      w.Name,
		Tags:      w.Tags,
		ModelType: w.ModelType,
		IsDeleted: w.IsDeleted,
		Fee:       w.Fee.orZero(),
		Stake:     w.Stake.orZero(),
		IpfsCID:   w.IpfsCID,
	}
	if m.ID == "" {
		return Model{}, fmt.Errorf("model: malformed Id")
	}
	if id := wireID(w.IpfsCID); id != "" {
		m.IpfsCID = id
	}
	var ok bool
	if m.Owner, ok = parseWireAddress(w.Owner); !ok {
		return Model{}, fmt.Errorf("model: malformed Owner address")
	}
	var err error
	if m.CreatedAt, err = w.CreatedAt.unixTime(); err != nil {
		return Model{}, fmt.Errorf("model: CreatedAt: %w", err)
	}
	return m, nil
}

type bidWire struct {
	ID             string `json:"Id"`
	Provider       string
	ModelAgentID   string `json:"ModelAgentId"`
	PricePerSecond BigInt
	Nonce          BigInt
	CreatedAt      BigInt
	DeletedAt      BigInt
}

func (w bidWire) decode() (Bid, error) {
	b := Bid{
		ID:             wireID(w.ID),
		ModelAgentID:   wireID(w.ModelAgentID),
		PricePerSecond: w.PricePerSecond.orZero(),
		Nonce:          w.Nonce.orZero(),
	}
	var ok bool
	if b.Provider, ok = parseWireAddress(w.Provider); !ok {
		return Bid{}, fmt.Errorf("bid: malformed Provider address")
	}
	var err error
	if b.CreatedAt, err = w.CreatedAt.unixTime(); err != nil {
		return Bid{}, fmt.Errorf("bid: CreatedAt: %w", err)
	}
	if b.DeletedAt, err = w.DeletedAt.unixTime(); err != nil {
		return Bid{}, fmt.Errorf("bid: DeletedAt: %w", err)
	}
	return b, nil
}

type ratedBidWire struct {
	ID    string // always the zero hash; ignored
	Bid   bidWire
	Score float64
}

type healthWire struct {
	Status     string
	Version    string
	Uptime     string
	Components map[string]json.RawMessage
}

func (w healthWire) decode() Health {
	h := Health{Status: w.Status, Version: w.Version, Uptime: w.Uptime}
	if len(w.Components) > 0 {
		h.Components = make(map[string]string, len(w.Components))
		for k, v := range w.Components {
			var s string
			if json.Unmarshal(v, &s) != nil {
				s = compactJSON(v)
			}
			h.Components[k] = s
		}
	}
	return h
}
