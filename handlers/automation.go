package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// defaultAutomationEnabled is the effective is_enabled of a user without
// settings: automation is on unless the user turned it off (the reference,
// and the table's column default, say off).
const defaultAutomationEnabled = true

type automationRequest struct {
	IsEnabled       *bool `json:"is_enabled"`
	SessionDuration *int  `json:"session_duration"`
}

type automationReply struct {
	IsEnabled       bool    `json:"is_enabled"`
	SessionDuration int     `json:"session_duration"`
	UserID          int64   `json:"user_id"`
	CreatedAt       *string `json:"created_at"`
	UpdatedAt       *string `json:"updated_at"`
}

func automationReplyOf(a store.AutomationSettings) automationReply {
	return automationReply{
		IsEnabled:       a.IsEnabled,
		SessionDuration: a.SessionDuration,
		UserID:          a.UserID,
		CreatedAt:       optTimestamp(&a.CreatedAt),
		UpdatedAt:       optTimestamp(&a.UpdatedAt),
	}
}

// defaultSessionSeconds is the configured default session duration in
// seconds.
func (s *Server) defaultSessionSeconds() int {
	return int(s.cfg.DefaultSessionDuration / time.Second)
}

// effectiveDefaults are the settings of a user who has no row.
func (s *Server) effectiveDefaults(userID int64) automationReply {
	return automationReply{IsEnabled: defaultAutomationEnabled, SessionDuration: s.defaultSessionSeconds(), UserID: userID}
}

// getAutomation returns the caller's settings, or the effective defaults
// (without creating a row): GET /automation/settings.
func (s *Server) getAutomation(w http.ResponseWriter, r *http.Request, p Principal) {
	var (
		a     store.AutomationSettings
		found bool
		err   error
	)
	if s.cfg.Cache != nil {
		a, found, err = s.cfg.Cache.AutomationSettings(r.Context(), p.UserID)
	} else {
		a, err = s.cfg.Store.AutomationSettings(r.Context(), p.UserID)
		found = err == nil
		if errors.Is(err, store.ErrNotFound) {
			err = nil
		}
	}
	if err != nil {
		s.cfg.Logger.Error("loading automation settings", zap.Int64("user_id", p.UserID), zap.Error(err))
		WriteError(w, http.StatusServiceUnavailable, TypeUnavailable, "settings_unavailable", "",
			"automation settings are temporarily unavailable; retry later")
		return
	}
	if !found {
		writeJSON(w, http.StatusOK, s.effectiveDefaults(p.UserID))
		return
	}
	writeJSON(w, http.StatusOK, automationReplyOf(a))
}

// putAutomation changes the fields present in the body and leaves the
// others as they are (on a user without a row: the effective defaults):
// PUT /automation/settings.
func (s *Server) putAutomation(w http.ResponseWriter, r *http.Request, p Principal) {
	var req automationRequest
	if !decodeJSON(w, r, accountBodyLimit, false, &req) {
		return
	}
	if d := req.SessionDuration; d != nil {
		if *d < minSessionDurationSec {
			badRequest(w, "session_duration", "session_duration must be at least "+strconv.Itoa(minSessionDurationSec)+" seconds")
			return
		}
		if *d > maxSessionDurationSec {
			badRequest(w, "session_duration", "session_duration cannot exceed "+strconv.Itoa(maxSessionDurationSec)+" seconds (24 hours)")
			return
		}
	}
	ctx := r.Context()
	upd := store.AutomationUpdate{IsEnabled: req.IsEnabled, SessionDuration: req.SessionDuration}
	if upd.IsEnabled == nil || upd.SessionDuration == nil {
		// The store fills nil fields of a new row with the table's
		// defaults, which are not the gateway's: spell them out when the
		// row does not exist yet.
		_, err := s.cfg.Store.AutomationSettings(ctx, p.UserID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			def := s.effectiveDefaults(p.UserID)
			if upd.IsEnabled == nil {
				upd.IsEnabled = &def.IsEnabled
			}
			if upd.SessionDuration == nil {
				upd.SessionDuration = &def.SessionDuration
			}
		case err != nil:
			s.internalError(w, r, "loading automation settings", err)
			return
		}
	}
	a, err := s.cfg.Store.UpdateAutomationSettings(ctx, p.UserID, upd)
	if err != nil {
		s.internalError(w, r, "updating automation settings", err)
		return
	}
	if s.cfg.Cache != nil {
		nctx, cancel := detached(ctx)
		s.cfg.Cache.SettingsChanged(nctx, p.UserID)
		cancel()
	}
	s.cfg.Logger.Info("automation settings changed", zap.Int64("user_id", p.UserID),
		zap.Bool("is_enabled", a.IsEnabled), zap.Int("session_duration", a.SessionDuration))
	writeJSON(w, http.StatusOK, automationReplyOf(a))
}
