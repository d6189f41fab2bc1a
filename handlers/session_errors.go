package handlers

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/chain"
	"github.com/morpheus-gateway/caddy-morpheus/session"
)

// msgAutomationDisabled is the 400 of a request that would need an
// automatic session for a user who turned automation off.
const msgAutomationDisabled = "automatic sessions are disabled for this user and the API key has no active session: " +
	"open one with POST /session/modelsession (or enable automation with PUT /automation/settings)"

// writeSessionError answers an error of the session manager (session.*
// errors, *session.QueueFullError, *chain.RouterError, context errors)
// with its HTTP status and an OpenAI-shaped body. The chat proxy uses it
// too, for errors before the first byte. The model parameter is named
// "model"; see writeSessionErrorParam.
//
//	session.ErrModelNotFound         400 invalid_request_error model_not_found
//	session.ErrAutomationDisabled    400 invalid_request_error automation_disabled
//	session.ErrNoSession             404 not_found_error no_session
//	*session.QueueFullError          429 rate_limit_error (Retry-After)
//	session.ErrUnavailable,
//	ErrModelsUnavailable,
//	ErrSessionConflict,
//	ErrApproveNotConfigured          503 service_unavailable (Retry-After 1 except the last)
//	*chain.RouterError               KindUnreachable 502; KindTimeout 504;
//	                                 KindNoBids, KindNoProvider, KindInsufficientFunds,
//	                                 KindNonceRace 503; KindBadRequest of local
//	                                 validation and KindSessionTooShort 400; others 502. The message is the
//	                                 router error's sanitized Message; the code its kind.
//	context.DeadlineExceeded         504;  context.Canceled 503 (the client is gone)
//	anything else                    500 internal_error (no detail)
func writeSessionError(w http.ResponseWriter, err error) {
	writeSessionErrorParam(w, err, "model")
}

// writeSessionErrorParam is writeSessionError with the name of the request
// parameter that carried the model (e.g. "model_id").
func writeSessionErrorParam(w http.ResponseWriter, err error, modelParam string) {
	var (
		qf *session.QueueFullError
		re *chain.RouterError
	)
	switch {
	case errors.Is(err, session.ErrModelNotFound):
		WriteError(w, http.StatusBadRequest, TypeInvalidRequest, "model_not_found", modelParam,
			"The model does not exist or is not available ("+modelParam+"): "+modelDetail(err))
	case errors.Is(err, session.ErrAutomationDisabled):
		WriteError(w, http.StatusBadRequest, TypeInvalidRequest, "automation_disabled", "", msgAutomationDisabled)
	case errors.Is(err, session.ErrNoSession):
		WriteError(w, http.StatusNotFound, TypeNotFound, "no_session", "", "no active session for this API key")
	case errors.As(err, &qf):
		w.Header().Set("Retry-After", retryAfterSeconds(qf.RetryAfter))
		WriteError(w, http.StatusTooManyRequests, TypeRateLimit, "too_many_concurrent_requests", "",
			"too many concurrent requests on this API key; retry later")
	case errors.Is(err, session.ErrUnavailable):
		w.Header().Set("Retry-After", "1")
		WriteError(w, http.StatusServiceUnavailable, TypeUnavailable, "session_store_unavailable", "",
			"sessions are temporarily unavailable; retry later")
	case errors.Is(err, session.ErrModelsUnavailable):
		w.Header().Set("Retry-After", "1")
		WriteError(w, http.StatusServiceUnavailable, TypeUnavailable, "models_unavailable", "",
			"the model catalogue is temporarily unavailable; retry later")
	case errors.Is(err, session.ErrSessionConflict):
		w.Header().Set("Retry-After", "1")
		WriteError(w, http.StatusServiceUnavailable, TypeUnavailable, "session_conflict", "", session.ErrSessionConflict.Error())
	case errors.Is(err, session.ErrApproveNotConfigured):
		WriteError(w, http.StatusServiceUnavailable, TypeUnavailable, "approve_not_configured", "",
			"approvals are not configured on this gateway")
	case errors.As(err, &re):
		writeRouterError(w, re)
	case errors.Is(err, context.DeadlineExceeded):
		WriteError(w, http.StatusGatewayTimeout, TypeServer, "timeout", "", "the request timed out")
	case errors.Is(err, context.Canceled):
		WriteError(w, http.StatusServiceUnavailable, TypeUnavailable, "canceled", "", "the request was canceled")
	default:
		WriteError(w, http.StatusInternalServerError, TypeServer, "internal_error", "", "internal error")
	}
}

// writeRouterError maps a proxy-router failure to a status.
func writeRouterError(w http.ResponseWriter, re *chain.RouterError) {
	status, typ := http.StatusBadGateway, TypeServer
	switch re.Kind {
	case chain.KindTimeout:
		status = http.StatusGatewayTimeout
	case chain.KindNoBids, chain.KindNoProvider, chain.KindInsufficientFunds, chain.KindNonceRace:
		status, typ = http.StatusServiceUnavailable, TypeUnavailable
		w.Header().Set("Retry-After", "5")
	case chain.KindBadRequest:
		if re.Status == 0 { // rejected before any network call: the caller's input
			status, typ = http.StatusBadRequest, TypeInvalidRequest
		}
	case chain.KindSessionTooShort:
		WriteError(w, http.StatusBadRequest, TypeInvalidRequest, re.Kind.String(), "sessionDuration",
			"the sessionDuration is too short for the chain (the contract's minimum is 300 seconds)")
		return
	}
	msg := re.Message
	if msg == "" {
		msg = "proxy-router error"
	}
	if status != http.StatusBadRequest {
		msg = "proxy-router: " + msg
	}
	WriteError(w, status, typ, re.Kind.String(), "", msg)
}

// modelDetail is the part of an ErrModelNotFound error after the sentinel
// ("\"gpt-4\"" or "no model given and no default model configured").
func modelDetail(err error) string {
	s := err.Error()
	prefix := session.ErrModelNotFound.Error() + ": "
	if len(s) > len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):]
	}
	return s
}

// retryAfterSeconds formats a Retry-After of at least one second.
func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}
