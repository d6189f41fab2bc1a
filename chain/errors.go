package chain

import (
	"context"
	"errors"
	"fmt"
)

// ErrorKind is what a proxy-router failure means for the gateway. The router's
// status codes are coarse (nearly everything is 500 {"error":"<go error>"}),
// so kinds come from ClassifyResponse's substring catalogue (spec §3) plus the
// client-side transport failures (KindTimeout, KindCanceled, KindUnreachable).
type ErrorKind int

// Error kinds. The comment after each says what the caller should do
// (spec §3 and §7); KindOf and the Is* helpers read them from any error.
const (
	// KindUnknown: an error that matched nothing (a 5xx with an unrecognised
	// message, a malformed 2xx body, a 3xx). Treat as a router failure.
	KindUnknown ErrorKind = iota
	// KindBadRequest: our input was rejected (400 "invalid hash length",
	// "json: …", "invalid big.Int string"), or an ID failed local validation
	// before any network call. A bug on our side; do not retry.
	KindBadRequest
	// KindUnauthorized: 401 (missing/invalid Basic auth) or 403 "method not
	// allowed" (the router user's rpcwhitelist lacks the method). Operator
	// configuration error; never show the router's credentials.
	KindUnauthorized
	// KindSessionExpired: "session expired" (v4) or "provider request failed:
	// provider error: session expired" (v5.2+). Renew, not fail over.
	KindSessionExpired
	// KindSessionNotFound: "session not found" / "session cannot be loaded",
	// or v4's zeroed 200 from GET /blockchain/sessions/{id}. May be a
	// transient RPC error on the router: re-check on chain before dropping.
	KindSessionNotFound
	// KindAlreadyClosed: SessionAlreadyClosed on close. CloseSession maps it
	// to success.
	KindAlreadyClosed
	// KindProviderNotFound: "provider not found": the session was opened by
	// another router instance (or the router lost its store). Failover
	// candidate; fix the deployment.
	KindProviderNotFound
	// KindProviderUnavailable: transport to the provider failed (connect,
	// write, read timeout, closed without data) or the provider reported an
	// infrastructure error ("provider request failed: …"). Failover candidate.
	KindProviderUnavailable
	// KindProviderModelError: 400 {"providerModelError":…} that is not an
	// impaired-backend pattern: bad parameters, upstream auth (401/403/404 →
	// remap to 502). Return to the client; not a failover reason.
	KindProviderModelError
	// KindProviderImpaired: providerModelError with a rate-limit/capacity/
	// overload/unavailable pattern, an inner 429 or 5xx, or a bare 429.
	// Failover excluding that provider.
	KindProviderImpaired
	// KindTEE: "p-node tee attestation failed" / "LLM TEE verification
	// failed". Permanent: no retry, no failover.
	KindTEE
	// KindQueueCancelled: "request cancelled while waiting in queue": the
	// client went away while another prompt held the session. Nothing to do.
	KindQueueCancelled
	// KindNonceRace: nonce too low/high, (replacement) transaction
	// underpriced, already known … The wallet raced itself. Never resend
	// immediately: serialise on-chain operations and retry once under a lock.
	KindNonceRace
	// KindNoBids: "no bids available": unknown model or no active bids.
	KindNoBids
	// KindNoProvider: "no provider accepting session": every bid's handshake
	// failed. 503 to the client; retry later.
	KindNoProvider
	// KindInsufficientFunds: the router wallet lacks MOR or ETH. Alert the
	// operator; stop opening sessions.
	KindInsufficientFunds
	// KindNotMined: the transaction was not mined after all escalation
	// attempts. Outcome unknown: reconcile on chain before retrying.
	KindNotMined
	// KindSessionTooShort: the contract's SessionTooShort revert (the
	// computed duration is below 300 s, or capped by the stake).
	KindSessionTooShort
	// KindMissingSessionHeader: "api adapter not found": the session_id
	// header did not reach the router (lost by a proxy hop) or a provider is
	// misconfigured for the bid.
	KindMissingSessionHeader
	// KindTimeout: a client-side deadline (the per-call timeout or the
	// caller's) expired before a response arrived. For opens, closes and
	// approvals the outcome is unknown: see RouterError.OutcomeUnknown.
	KindTimeout
	// KindUnreachable: the router itself could not be reached or dropped the
	// connection without a response (dial/DNS errors, reset, EOF), or a
	// load balancer in front of it answered 502/503/504 without a router body.
	KindUnreachable
	// KindCanceled: the caller's context was canceled. Like KindTimeout the
	// outcome of a non-idempotent call is unknown.
	KindCanceled
	// KindRouteNotFound: gin's plain-text "404 page not found": the route
	// does not exist on this router (wrong base URL, or a router version that
	// predates the endpoint, e.g. /v1/embeddings on v4). Configuration error.
	KindRouteNotFound
)

var kindNames = [...]string{
	KindUnknown:              "unknown",
	KindBadRequest:           "bad_request",
	KindUnauthorized:         "unauthorized",
	KindSessionExpired:       "session_expired",
	KindSessionNotFound:      "session_not_found",
	KindAlreadyClosed:        "already_closed",
	KindProviderNotFound:     "provider_not_found",
	KindProviderUnavailable:  "provider_unavailable",
	KindProviderModelError:   "provider_model_error",
	KindProviderImpaired:     "provider_impaired",
	KindTEE:                  "tee_failed",
	KindQueueCancelled:       "queue_cancelled",
	KindNonceRace:            "nonce_race",
	KindNoBids:               "no_bids",
	KindNoProvider:           "no_provider",
	KindInsufficientFunds:    "insufficient_funds",
	KindNotMined:             "not_mined",
	KindSessionTooShort:      "session_too_short",
	KindMissingSessionHeader: "missing_session_header",
	KindTimeout:              "timeout",
	KindUnreachable:          "router_unreachable",
	KindCanceled:             "canceled",
	KindRouteNotFound:        "route_not_found",
}

// String returns a stable snake_case name, suitable for logs and metrics labels.
func (k ErrorKind) String() string {
	if k >= 0 && int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// FailoverEligible reports whether a chat failure of this kind may be retried
// on another provider's session (spec §7.3): provider transport failures,
// "provider not found", impaired backends, gateway↔router network errors and
// unrecognised router 5xx. Session expiry (renew instead), session
// not found, TEE, queue cancellation and client errors are not eligible.
// The caller must still check that the model has an alternate bid.
func (k ErrorKind) FailoverEligible() bool {
	switch k {
	case KindProviderNotFound, KindProviderUnavailable, KindProviderImpaired, KindUnreachable, KindUnknown:
		return true
	}
	return false
}

// RouterError is every error the Router returns for a failed call, and what
// ClassifyResponse returns for a non-2xx response. Error() and Message are
// sanitized (no IPs, host:port, URLs, hostnames or credentials) and safe to
// show to API clients; the raw response body, which may contain provider
// IPs, is only reachable through DebugBody.
type RouterError struct {
	Op      string    // "open_session", "close_session", "chat", …
	Status  int       // HTTP status; 0 for transport errors and local validation
	Kind    ErrorKind // what it means (see the Kind constants)
	Message string    // sanitized, safe to show to API clients
	// ProviderStatus is the upstream status code inside a providerModelError
	// when the router gave one (a "statusCode" key, an inner status/code, or
	// the HTTP status of newer builds that pass it through), else 0.
	ProviderStatus int

	raw  []byte // response body (truncated), for debug logs only
	sent bool   // the request was fully written before the failure
	// cause is context.Canceled or context.DeadlineExceeded for KindCanceled
	// and KindTimeout, so errors.Is works; never a network error (those
	// carry addresses).
	cause error
}

// Error returns "proxy-router <op>: <message> (<kind>[, HTTP <status>])".
func (e *RouterError) Error() string {
	s := "proxy-router " + e.Op + ": " + e.Message + " (" + e.Kind.String()
	if e.Status != 0 {
		s += fmt.Sprintf(", HTTP %d", e.Status)
	}
	if e.ProviderStatus != 0 {
		s += fmt.Sprintf(", provider %d", e.ProviderStatus)
	}
	return s + ")"
}

// Unwrap returns context.Canceled or context.DeadlineExceeded for
// KindCanceled and KindTimeout errors, else nil.
func (e *RouterError) Unwrap() error { return e.cause }

// DebugBody returns the raw (truncated) response body. It may contain
// provider IPs and hostnames: log it at debug level only, never return it to
// API clients.
func (e *RouterError) DebugBody() string { return string(e.raw) }

// OutcomeUnknown reports whether the request may have been acted on although
// no response was read: it was fully written and then timed out, was
// canceled, or lost its connection. For opens this means a session may exist
// on chain without the gateway knowing its ID (spec §7.9): reconcile with
// getUserSessions / SessionOpened logs; do not retry blindly. KindNotMined
// and a 2xx with an undecodable body are also reported as unknown. Whether
// the request was sent is inferred from the error: only dial and DNS
// failures prove that it was not.
func (e *RouterError) OutcomeUnknown() bool {
	switch e.Kind {
	case KindNotMined:
		return true
	case KindTimeout, KindCanceled, KindUnreachable:
		return e.Status == 0 && e.sent
	case KindUnknown:
		// A 2xx whose body could not be decoded: it happened, but we do
		// not know its result (e.g. the session ID).
		return e.Status >= 200 && e.Status < 300
	}
	return false
}

// KindOf returns the Kind of the first *RouterError in err's chain, or
// KindUnknown when there is none (including err == nil).
func KindOf(err error) ErrorKind {
	var re *RouterError
	if errors.As(err, &re) {
		return re.Kind
	}
	return KindUnknown
}

func isKind(err error, k ErrorKind) bool {
	var re *RouterError
	return errors.As(err, &re) && re.Kind == k
}

// IsSessionExpired reports a "session expired" error (either version's string).
func IsSessionExpired(err error) bool { return isKind(err, KindSessionExpired) }

// IsSessionNotFound reports "session not found" (or v4's zeroed session view).
func IsSessionNotFound(err error) bool { return isKind(err, KindSessionNotFound) }

// IsAlreadyClosed reports SessionAlreadyClosed.
func IsAlreadyClosed(err error) bool { return isKind(err, KindAlreadyClosed) }

// IsNonceRace reports a wallet nonce collision (spec §7.2).
func IsNonceRace(err error) bool { return isKind(err, KindNonceRace) }

// IsTimeout reports a client-side timeout (KindTimeout).
func IsTimeout(err error) bool { return isKind(err, KindTimeout) }

// IsUnreachable reports that the router itself could not be reached.
func IsUnreachable(err error) bool { return isKind(err, KindUnreachable) }

// IsNoBids reports "no bids available".
func IsNoBids(err error) bool { return isKind(err, KindNoBids) }

// IsNoProvider reports "no provider accepting session".
func IsNoProvider(err error) bool { return isKind(err, KindNoProvider) }

// IsInsufficientFunds reports an under-funded router wallet.
func IsInsufficientFunds(err error) bool { return isKind(err, KindInsufficientFunds) }

// IsFailoverEligible reports whether err is a RouterError whose kind allows
// failover to another provider (ErrorKind.FailoverEligible).
func IsFailoverEligible(err error) bool {
	var re *RouterError
	return errors.As(err, &re) && re.Kind.FailoverEligible()
}

// IsOutcomeUnknown reports whether err is a RouterError whose request may
// have taken effect (RouterError.OutcomeUnknown).
func IsOutcomeUnknown(err error) bool {
	var re *RouterError
	return errors.As(err, &re) && re.OutcomeUnknown()
}

// newLocalError builds a RouterError for input rejected before any network
// call. msg must not contain the rejected input if it could be a secret.
func newLocalError(op string, kind ErrorKind, msg string) *RouterError {
	return &RouterError{Op: op, Kind: kind, Message: msg}
}

// contextKind maps a finished context to KindCanceled/KindTimeout.
func contextKind(err error) (ErrorKind, error, bool) {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return KindTimeout, context.DeadlineExceeded, true
	case errors.Is(err, context.Canceled):
		return KindCanceled, context.Canceled, true
	}
	return 0, nil, false
}
