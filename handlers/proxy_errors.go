package handlers

import (
	"context"
	"errors"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/morpheus-gateway/caddy-morpheus/chain"
)

// Error mapping of the proxy step. Every message shown to the client is
// RouterError.Message (sanitized by chain) or one of ours — never the
// router's raw text.

// statusClientClosed is what the access log records for a client that went
// away (nginx's and Caddy's 499); the client never sees it.
const statusClientClosed = 499

// upstreamErrorReply maps a classified router answer to the client's
// status, error type and code.
func upstreamErrorReply(op proxyOp, re *chain.RouterError) (status int, typ, code string) {
	switch re.Kind {
	case chain.KindSessionExpired:
		// Only reached when the retry also expired (or no renewal was
		// possible).
		return http.StatusServiceUnavailable, TypeUnavailable, "session_expired"
	case chain.KindProviderModelError:
		ps := re.ProviderStatus
		switch {
		case ps == http.StatusUnauthorized || ps == http.StatusForbidden || ps == http.StatusNotFound,
			ps == 0 && looksLikeBackendAuth(re.Message):
			// The provider's backend rejected *its* credentials or model:
			// not the client's key (spec §2.7.4).
			return http.StatusBadGateway, TypeServer, "upstream_backend_error"
		case ps == 0 || (ps >= 400 && ps < 500 && ps != http.StatusTooManyRequests):
			if ps == 0 {
				ps = http.StatusBadRequest
			}
			return ps, TypeInvalidRequest, "provider_model_error"
		}
		return http.StatusBadGateway, TypeServer, "upstream_backend_error"
	case chain.KindProviderImpaired:
		if re.ProviderStatus == http.StatusTooManyRequests || re.Status == http.StatusTooManyRequests ||
			looksLikeRateLimit(re.Message) {
			return http.StatusTooManyRequests, TypeRateLimit, "rate_limit_exceeded"
		}
		return http.StatusServiceUnavailable, TypeUnavailable, "provider_overloaded"
	case chain.KindProviderUnavailable:
		if strings.Contains(strings.ToLower(re.Message), "timed out") {
			return http.StatusGatewayTimeout, TypeServer, "upstream_timeout"
		}
		return http.StatusServiceUnavailable, TypeUnavailable, "provider_unavailable"
	case chain.KindProviderNotFound, chain.KindNoProvider, chain.KindNoBids:
		return http.StatusServiceUnavailable, TypeUnavailable, "provider_unavailable"
	case chain.KindSessionNotFound:
		return http.StatusServiceUnavailable, TypeUnavailable, "session_unavailable"
	case chain.KindQueueCancelled:
		return statusClientClosed, TypeServer, "client_closed_request"
	case chain.KindBadRequest:
		return http.StatusBadRequest, TypeInvalidRequest, "invalid_request"
	case chain.KindUnauthorized:
		// The router rejected the gateway's Basic credentials: an operator
		// problem, never a 401 that would blame the client's key.
		return http.StatusBadGateway, TypeServer, "upstream_auth_failed"
	case chain.KindRouteNotFound:
		if op.path == upstreamEmbeddingsPath {
			return http.StatusNotImplemented, TypeServer, "not_supported"
		}
		return http.StatusBadGateway, TypeServer, "upstream_route_not_found"
	case chain.KindUnreachable:
		if re.Status == http.StatusGatewayTimeout {
			return http.StatusGatewayTimeout, TypeServer, "upstream_timeout"
		}
		return http.StatusBadGateway, TypeServer, "router_unreachable"
	case chain.KindTimeout:
		return http.StatusGatewayTimeout, TypeServer, "upstream_timeout"
	case chain.KindTEE:
		return http.StatusBadGateway, TypeServer, "tee_attestation_failed"
	case chain.KindMissingSessionHeader:
		return http.StatusBadGateway, TypeServer, "session_header_lost"
	}
	return http.StatusBadGateway, TypeServer, "upstream_error"
}

func looksLikeBackendAuth(msg string) bool {
	m := strings.ToLower(msg)
	for _, p := range []string{"authenticat", "unauthori", "forbidden", "api key", "api_key", "apikey", "permission denied", "invalid key"} {
		if strings.Contains(m, p) {
			return true
		}
	}
	return false
}

func looksLikeRateLimit(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "rate limit") || strings.Contains(m, "rate_limit") || strings.Contains(m, "too many requests")
}

// writeUpstreamError answers a classified router error.
func writeUpstreamError(w http.ResponseWriter, op proxyOp, re *chain.RouterError, retryAfter string) {
	status, typ, code := upstreamErrorReply(op, re)
	msg := re.Message
	switch code {
	case "session_expired":
		msg = "the session expired upstream and renewing it did not help; retry later"
	case "upstream_auth_failed":
		msg = "the gateway is misconfigured: the proxy-router rejected its credentials"
	case "not_supported":
		msg = "the proxy-router does not support this endpoint (embeddings need proxy-router v5.0 or later)"
	case "upstream_route_not_found":
		msg = "the proxy-router has no such route (check the gateway's router base URL)"
	case "session_header_lost":
		msg = "the session_id header did not reach the proxy-router (a proxy in between may drop underscore headers)"
	}
	if msg == "" {
		msg = "upstream error"
	}
	if status == http.StatusTooManyRequests && saneRetryAfter(retryAfter) {
		w.Header().Set("Retry-After", retryAfter)
	}
	WriteError(w, status, typ, code, "", msg)
}

func saneRetryAfter(v string) bool {
	if v == "" || len(v) > 64 {
		return false
	}
	if _, err := strconv.Atoi(v); err == nil {
		return true
	}
	_, err := http.ParseTime(v)
	return err == nil
}

// writeTransportError answers an Upstream failure that wrote nothing: the
// status carried by the error (Caddy's reverse_proxy returns a
// caddyhttp.HandlerError: 502 for dial errors, 504 for timeouts, 503 when
// no upstream is available), else one derived from the cause.
func (s *Server) writeTransportError(w http.ResponseWriter, r *http.Request, op proxyOp, err error) {
	status := upstreamErrStatus(err)
	if r.Context().Err() != nil || status == statusClientClosed {
		// The client is gone; the status only matters for the access log.
		w.WriteHeader(statusClientClosed)
		return
	}
	s.cfg.Logger.Warn("proxy-router request failed", zap.String("op", op.name), zap.Int("status", status), zap.Error(err))
	switch status {
	case http.StatusGatewayTimeout:
		WriteError(w, status, TypeServer, "upstream_timeout", "", "the proxy-router did not answer in time")
	case http.StatusServiceUnavailable:
		WriteError(w, status, TypeUnavailable, "router_unavailable", "", "the proxy-router is unavailable; retry later")
	default:
		WriteError(w, http.StatusBadGateway, TypeServer, "router_unreachable", "", "the proxy-router could not be reached")
	}
}

// upstreamErrStatus finds the HTTP status of an Upstream error: an int
// field StatusCode on any error of the chain (caddyhttp.HandlerError, read
// without importing Caddy into this package), else timeouts → 504,
// cancellation → 499, anything else → 502.
func upstreamErrStatus(err error) int {
	for e := err; e != nil; e = errors.Unwrap(e) {
		v := reflect.ValueOf(e)
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				break
			}
			v = v.Elem()
		}
		if v.Kind() == reflect.Struct {
			if f := v.FieldByName("StatusCode"); f.IsValid() && f.CanInt() {
				if c := f.Int(); c >= 400 && c <= 599 {
					return int(c)
				}
			}
		}
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return statusClientClosed
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// writeAcquireError answers a failure to get the key's session from the
// session manager (Acquire) with the shared session error mapping
// (writeSessionError); a client that went away only gets 499 in the log.
func (s *Server) writeAcquireError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		w.WriteHeader(statusClientClosed)
		return
	}
	var re *chain.RouterError
	if errors.As(err, &re) {
		s.cfg.Logger.Warn("opening a session failed", zap.Stringer("kind", re.Kind), zap.Error(re))
	}
	writeSessionError(w, err)
}
