package handlers

import (
	"context"
	"errors"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/morpheus-gateway/caddy-morpheus/chain"
	"github.com/morpheus-gateway/caddy-morpheus/session"
)

// ModelCatalog is what GET /models/allmodels and /models/ratedbids read from
// the proxy-router. *chain.Router implements it.
type ModelCatalog interface {
	Models(ctx context.Context) ([]chain.Model, error)
	RatedBids(ctx context.Context, modelID string) ([]chain.RatedBid, error)
}

// catalogTimeout bounds the router reads of the model endpoints.
const catalogTimeout = 30 * time.Second

// modelItem is an OpenAI model object plus the reference gateway's
// blockchainID and tags.
type modelItem struct {
	ID           string   `json:"id"`
	Object       string   `json:"object"`
	Created      int64    `json:"created"`
	OwnedBy      string   `json:"owned_by"`
	BlockchainID string   `json:"blockchainID"`
	Tags         []string `json:"tags"`
	ModelType    string   `json:"modelType,omitempty"`
}

type modelList struct {
	Object string      `json:"object"`
	Data   []modelItem `json:"data"`
}

func newModelItem(name, id string, tags []string, modelType string, created time.Time, owner string, now time.Time) modelItem {
	if tags == nil {
		tags = []string{}
	}
	if created.IsZero() {
		created = now
	}
	if owner == "" {
		owner = "morpheus"
	}
	return modelItem{ID: name, Object: "model", Created: created.Unix(), OwnedBy: owner,
		BlockchainID: id, Tags: tags, ModelType: modelType}
}

// listModels serves GET /models and /models/ (no auth, as the reference):
// the session manager's catalogue (active models, deleted ones filtered).
func (s *Server) listModels(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Sessions == nil {
		WriteError(w, http.StatusServiceUnavailable, TypeUnavailable, "models_unavailable", "",
			"the model catalogue is not available: no proxy-router configured")
		return
	}
	models, err := s.cfg.Sessions.Models(r.Context())
	if err != nil {
		s.writeCatalogError(w, r, "Error fetching active models", err)
		return
	}
	now := s.cfg.Now()
	out := modelList{Object: "list", Data: make([]modelItem, 0, len(models))}
	for _, m := range models {
		out.Data = append(out.Data, newModelItem(m.Name, m.ID, m.Tags, m.ModelType, m.CreatedAt, m.OwnedBy, now))
	}
	writeJSON(w, http.StatusOK, out)
}

// allModels serves GET /models/allmodels (no auth): every model the router
// lists, deleted ones filtered out (reference §5.2), in the /models shape.
func (s *Server) allModels(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Catalog == nil {
		WriteError(w, http.StatusServiceUnavailable, TypeUnavailable, "models_unavailable", "",
			"the model catalogue is not available: no proxy-router configured")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), catalogTimeout)
	defer cancel()
	models, err := s.cfg.Catalog.Models(ctx)
	if err != nil {
		s.writeCatalogError(w, r, "Error fetching all models from blockchain", err)
		return
	}
	now := s.cfg.Now()
	out := modelList{Object: "list", Data: make([]modelItem, 0, len(models))}
	for _, m := range models {
		if m.IsDeleted {
			continue
		}
		out.Data = append(out.Data, newModelItem(m.Name, m.ID, m.Tags, m.ModelType, m.CreatedAt, "", now))
	}
	writeJSON(w, http.StatusOK, out)
}

// ratedBidWire is the router's rated-bid element, which the reference
// returns verbatim: the outer ID is always the zero hash (the router never
// fills it), numbers are decimal strings.
type ratedBidWire struct {
	ID    string  `json:"ID"`
	Bid   bidWire `json:"Bid"`
	Score float64 `json:"Score"`
}

type bidWire struct {
	ID             string `json:"Id"`
	Provider       string `json:"Provider"`
	ModelAgentID   string `json:"ModelAgentId"`
	PricePerSecond string `json:"PricePerSecond"`
	Nonce          string `json:"Nonce"`
	CreatedAt      string `json:"CreatedAt"`
	DeletedAt      string `json:"DeletedAt"`
}

const zeroHash = "0x0000000000000000000000000000000000000000000000000000000000000000"

// ratedBids serves GET /models/ratedbids?model_id=0x… (no auth): the
// router's rated bids for the model, best first, in the router's shape.
func (s *Server) ratedBids(w http.ResponseWriter, r *http.Request) {
	modelID := strings.TrimSpace(r.URL.Query().Get("model_id"))
	if modelID == "" {
		badRequest(w, "model_id", "model_id is required: the model's blockchain ID (0x followed by 64 hex digits)")
		return
	}
	if s.cfg.Catalog == nil {
		WriteError(w, http.StatusServiceUnavailable, TypeUnavailable, "models_unavailable", "",
			"rated bids are not available: no proxy-router configured")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), catalogTimeout)
	defer cancel()
	bids, err := s.cfg.Catalog.RatedBids(ctx, modelID)
	if err != nil {
		if chain.KindOf(err) == chain.KindBadRequest {
			badRequest(w, "model_id", "model_id must be 0x followed by 64 hex digits")
			return
		}
		s.writeCatalogError(w, r, "Error fetching rated bids", err)
		return
	}
	out := struct {
		Bids []ratedBidWire `json:"bids"`
	}{Bids: make([]ratedBidWire, 0, len(bids))}
	for _, b := range bids {
		out.Bids = append(out.Bids, ratedBidWire{ID: zeroHash, Score: b.Score, Bid: bidWire{
			ID:             b.Bid.ID,
			Provider:       strings.ToLower(b.Bid.Provider.Hex()),
			ModelAgentID:   b.Bid.ModelAgentID,
			PricePerSecond: bigString(b.Bid.PricePerSecond),
			Nonce:          bigString(b.Bid.Nonce),
			CreatedAt:      unixString(b.Bid.CreatedAt),
			DeletedAt:      unixString(b.Bid.DeletedAt),
		}})
	}
	writeJSON(w, http.StatusOK, out)
}

func bigString(v *big.Int) string {
	if v == nil {
		return "0"
	}
	return v.String()
}

func unixString(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(t.Unix(), 10)
}

// writeCatalogError answers a failed catalogue read with a sanitized
// message under the reference's prefix.
func (s *Server) writeCatalogError(w http.ResponseWriter, r *http.Request, prefix string, err error) {
	var re *chain.RouterError
	switch {
	case errors.Is(err, session.ErrUnavailable), errors.Is(err, session.ErrModelsUnavailable):
		WriteError(w, http.StatusServiceUnavailable, TypeUnavailable, "models_unavailable", "",
			prefix+": the model catalogue is temporarily unavailable")
	case errors.As(err, &re):
		status, code := http.StatusBadGateway, "upstream_error"
		switch re.Kind {
		case chain.KindTimeout:
			status, code = http.StatusGatewayTimeout, "upstream_timeout"
		case chain.KindUnreachable:
			code = "router_unreachable"
		case chain.KindCanceled:
			w.WriteHeader(statusClientClosed)
			return
		}
		s.cfg.Logger.Warn("reading the model catalogue", zap.String("path", r.URL.Path), zap.Error(re))
		WriteError(w, status, TypeServer, code, "", prefix+": "+re.Message)
	default:
		s.cfg.Logger.Error("reading the model catalogue", zap.String("path", r.URL.Path), zap.Error(err))
		WriteError(w, http.StatusBadGateway, TypeServer, "upstream_error", "", prefix+": the catalogue could not be read")
	}
}

// banner serves GET / under the prefix: who we are and where to start.
func (s *Server) banner(w http.ResponseWriter, _ *http.Request) {
	version := s.cfg.Version
	if version == "" {
		version = "dev"
	}
	p := s.cfg.Prefix
	writeJSON(w, http.StatusOK, map[string]any{
		"name":        "Morpheus API Gateway",
		"version":     version,
		"description": "OpenAI-compatible API gateway for Morpheus blockchain models",
		"documentation": map[string]string{
			"chat_completions": p + "/chat/completions",
			"embeddings":       p + "/embeddings",
			"models":           p + "/models",
			"health":           p + "/health",
		},
	})
}
