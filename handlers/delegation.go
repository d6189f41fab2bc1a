package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"go.uber.org/zap"

	"github.com/morpheus-gateway/caddy-morpheus/chain"
	"github.com/morpheus-gateway/caddy-morpheus/store"
)

const errDelegationsNotConfigured = "delegation verification is not configured (delegate_address, chain_id, delegation_manager)"

const (
	defaultDelegationLimit = 10
	maxDelegationLimit     = 100
)

// delegationRequest is the body of POST /auth/delegation.
type delegationRequest struct {
	// SignedDelegationData is the delegation in the Delegation Toolkit's
	// JSON form, either as a JSON string or as the object itself.
	SignedDelegationData json.RawMessage `json:"signed_delegation_data"`
	DelegateAddress      *string         `json:"delegate_address"`
	Expiry               *flexTime       `json:"expiry"`
}

// flexTime is an optional timestamp: RFC 3339 (with an offset), or an ISO
// 8601 date-time without offset, taken as UTC (what the reference wrote).
type flexTime struct{ time.Time }

var flexTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02",
}

func (t *flexTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &fieldError{field: "expiry", msg: "must be a date-time string (RFC 3339) or null"}
	}
	for _, l := range flexTimeLayouts {
		if v, err := time.Parse(l, strings.TrimSpace(s)); err == nil {
			t.Time = v.UTC()
			return nil
		}
	}
	return &fieldError{field: "expiry", msg: "must be a date-time such as 2026-01-31T12:00:00Z"}
}

// delegationReply is DelegationRead of the reference.
type delegationReply struct {
	ID                   int64   `json:"id"`
	UserID               int64   `json:"user_id"`
	DelegateAddress      string  `json:"delegate_address"`
	SignedDelegationData string  `json:"signed_delegation_data"`
	Expiry               *string `json:"expiry"`
	IsActive             bool    `json:"is_active"`
	CreatedAt            string  `json:"created_at"`
}

func delegationReplyOf(d store.Delegation) delegationReply {
	return delegationReply{
		ID:                   d.ID,
		UserID:               d.UserID,
		DelegateAddress:      d.DelegateAddress,
		SignedDelegationData: d.SignedDelegationData,
		Expiry:               optTimestamp(d.Expiry),
		IsActive:             d.IsActive,
		CreatedAt:            timestamp(d.CreatedAt),
	}
}

// requireDelegations answers 503 when no verifier is configured.
func (s *Server) requireDelegations(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Delegations == nil {
			WriteError(w, http.StatusServiceUnavailable, TypeUnavailable, "delegations_not_configured", "", errDelegationsNotConfigured)
			return
		}
		h(w, r)
	}
}

// createDelegation verifies and stores a delegation to the gateway,
// deactivating the caller's previous one: POST /auth/delegation.
func (s *Server) createDelegation(w http.ResponseWriter, r *http.Request, p Principal) {
	var req delegationRequest
	if !decodeJSON(w, r, accountBodyLimit, false, &req) {
		return
	}
	v := s.cfg.Delegations
	configured := v.DelegateAddress.Hex()

	if req.DelegateAddress == nil || strings.TrimSpace(*req.DelegateAddress) == "" {
		badRequest(w, "delegate_address", "delegate_address is required (the gateway's address "+configured+")")
		return
	}
	da := strings.TrimSpace(*req.DelegateAddress)
	if !common.IsHexAddress(da) || common.HexToAddress(da) != v.DelegateAddress {
		badRequest(w, "delegate_address", "delegate_address: Delegation must be granted to the configured gateway address: "+configured)
		return
	}

	data, ok := delegationText(w, req.SignedDelegationData)
	if !ok {
		return
	}
	d, err := chain.ParseDelegation([]byte(data))
	if err != nil {
		writeDelegationError(w, err)
		return
	}
	var expiry *time.Time
	if req.Expiry != nil {
		e := req.Expiry.Time
		expiry = &e
	}
	if err := v.Verify(d, s.cfg.Now(), expiry); err != nil {
		var de *chain.DelegationError
		if !errors.As(err, &de) {
			s.cfg.Logger.Error("delegation verifier misconfigured", zap.Error(err))
			WriteError(w, http.StatusServiceUnavailable, TypeUnavailable, "delegations_not_configured", "", errDelegationsNotConfigured)
			return
		}
		writeDelegationError(w, err)
		return
	}
	row, err := s.cfg.Store.CreateDelegation(r.Context(), store.NewDelegation{
		UserID:               p.UserID,
		DelegateAddress:      configured,
		SignedDelegationData: data,
		Expiry:               expiry,
	})
	if err != nil {
		s.internalError(w, r, "storing a delegation", err)
		return
	}
	s.cfg.Logger.Info("delegation stored", zap.Int64("user_id", p.UserID), zap.Int64("delegation_id", row.ID),
		zap.String("delegator", d.Delegator.Hex()))
	writeJSON(w, http.StatusOK, delegationReplyOf(row))
}

// delegationText returns signed_delegation_data as the text to parse and
// store: a JSON string's content, or an object compacted.
func delegationText(w http.ResponseWriter, raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		badRequest(w, "signed_delegation_data", "signed_delegation_data is required: the signed delegation as a JSON object or a string holding one")
		return "", false
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			WriteError(w, http.StatusUnprocessableEntity, TypeInvalidRequest, "invalid_type", "signed_delegation_data", "signed_delegation_data is not a valid JSON string")
			return "", false
		}
		s = strings.TrimSpace(s)
		if s == "" {
			badRequest(w, "signed_delegation_data", "signed_delegation_data is required")
			return "", false
		}
		return s, true
	case '{':
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			WriteError(w, http.StatusUnprocessableEntity, TypeInvalidRequest, "invalid_json", "signed_delegation_data", "signed_delegation_data is not valid JSON")
			return "", false
		}
		return buf.String(), true
	default:
		WriteError(w, http.StatusUnprocessableEntity, TypeInvalidRequest, "invalid_type", "signed_delegation_data",
			"signed_delegation_data must be an object or a string")
		return "", false
	}
}

// writeDelegationError answers 400 for a *chain.DelegationError, naming the
// field at fault: "expiry" for the body's expiry, otherwise
// "signed_delegation_data[.<field>]".
func writeDelegationError(w http.ResponseWriter, err error) {
	param := "signed_delegation_data"
	var de *chain.DelegationError
	if errors.As(err, &de) {
		switch de.Field {
		case "":
		case "expiry":
			param = "expiry"
		default:
			param += "." + de.Field
		}
	}
	msg := err.Error()
	if param != "expiry" {
		msg = "signed_delegation_data: " + msg
	}
	badRequest(w, param, msg)
}

// listDelegations lists the caller's delegations, newest first:
// GET /auth/delegation?skip=0&limit=10.
func (s *Server) listDelegations(w http.ResponseWriter, r *http.Request, p Principal) {
	skip, ok := queryInt(w, r, "skip", 0, 0, 1<<31-1)
	if !ok {
		return
	}
	limit, ok := queryInt(w, r, "limit", defaultDelegationLimit, 1, maxDelegationLimit)
	if !ok {
		return
	}
	rows, err := s.cfg.Store.UserDelegations(r.Context(), p.UserID, skip, limit)
	if err != nil {
		s.internalError(w, r, "listing delegations", err)
		return
	}
	out := make([]delegationReply, 0, len(rows))
	for _, d := range rows {
		out = append(out, delegationReplyOf(d))
	}
	writeJSON(w, http.StatusOK, out)
}

// queryInt reads an integer query parameter in [lo, hi].
func queryInt(w http.ResponseWriter, r *http.Request, name string, def, lo, hi int) (int, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		badRequest(w, name, name+" must be an integer from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi))
		return 0, false
	}
	return n, true
}

// activeDelegation returns the caller's active delegation, or null:
// GET /auth/delegation/active.
func (s *Server) activeDelegation(w http.ResponseWriter, r *http.Request, p Principal) {
	d, err := s.cfg.Store.ActiveDelegation(r.Context(), p.UserID)
	if errors.Is(err, store.ErrNotFound) {
		writeJSON(w, http.StatusOK, nil)
		return
	}
	if err != nil {
		s.internalError(w, r, "loading the active delegation", err)
		return
	}
	writeJSON(w, http.StatusOK, delegationReplyOf(d))
}

// deleteDelegation deactivates one of the caller's delegations (the row is
// kept): DELETE /auth/delegation/{id}; 204.
func (s *Server) deleteDelegation(w http.ResponseWriter, r *http.Request, p Principal) {
	id, ok := pathID(w, r, "delegation_id")
	if !ok {
		return
	}
	err := s.cfg.Store.DeactivateDelegation(r.Context(), id, p.UserID)
	if errors.Is(err, store.ErrNotFound) {
		WriteError(w, http.StatusNotFound, TypeNotFound, "delegation_not_found", "", "Delegation not found")
		return
	}
	if err != nil {
		s.internalError(w, r, "deactivating a delegation", err)
		return
	}
	s.cfg.Logger.Info("delegation deactivated", zap.Int64("user_id", p.UserID), zap.Int64("delegation_id", id))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
