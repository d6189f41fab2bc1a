package chain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// ClassifyResponse turns a proxy-router HTTP response into a *RouterError,
// or nil for any 2xx. It is used by the Router for control calls and by the
// chat proxy for /v1/chat/completions and /v1/embeddings.
//
// The status code is read first, the content type second: a pre-stream
// failure of a stream:true chat arrives as 500 with Content-Type
// text/event-stream and a JSON body, and is an error like any other 500.
//
// Rules, in order (spec §1.2, §2.7.4, §3):
//
//  1. A body with a "providerModelError" key (any status: 400 on every known
//     build, the upstream status on newer ones) → KindProviderImpaired when
//     the provider status is 429 or ≥ 500, or, unless it is 401/403/404, when
//     the text matches rate limit | rate_limit | too many requests | capacity
//     | overloaded | model unavailable | model is unavailable | service
//     unavailable; otherwise KindProviderModelError. ProviderStatus comes
//     from a top-level "statusCode", an inner statusCode/status_code/status/
//     code number, or the HTTP status when it is not 400.
//  2. 401, 403 → KindUnauthorized.
//  3. 404 → KindRouteNotFound: the router itself never answers 404; gin's
//     text/plain "404 page not found" means an unknown route or method
//     (wrong base URL, or a router too old for the endpoint). It is neither
//     the client's fault (KindBadRequest) nor a missing resource.
//  4. The §3 substring catalogue on the error message, case-insensitively
//     (see catalogue below; first match wins).
//  5. By status: 400 → KindBadRequest; 429 → KindProviderImpaired; 502, 503,
//     504 without a router JSON body → KindUnreachable (a load balancer in
//     front of the router); anything else → KindUnknown.
//
// The message is extracted from {"error":"…"}, {"error":{"message":…}},
// {"detail":…} or {"message":…}, else the body text, then sanitized
// (Sanitize) and truncated. The raw body is kept for DebugBody.
func ClassifyResponse(op string, status int, contentType string, body []byte) *RouterError {
	if status >= 200 && status < 300 {
		return nil
	}
	e := &RouterError{Op: op, Status: status, raw: truncateBytes(body, maxDebugBody)}
	eb := parseErrorBody(body)

	if eb.providerModelError != nil {
		classifyProviderModelError(e, status, eb)
		return e
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Kind = KindUnauthorized
		e.Message = messageOr(eb.message, "proxy-router rejected the gateway's credentials")
		return e
	case status == http.StatusNotFound:
		e.Kind = KindRouteNotFound
		e.Message = "proxy-router has no such route (wrong base URL, or the router version predates this endpoint)"
		return e
	}
	if k, ok := matchCatalogue(eb.message); ok {
		e.Kind = k
		e.Message = messageOr(eb.message, "")
		return e
	}
	switch {
	case status == http.StatusBadRequest:
		e.Kind = KindBadRequest
	case status == http.StatusTooManyRequests:
		e.Kind = KindProviderImpaired
	case (status == http.StatusBadGateway || status == http.StatusServiceUnavailable ||
		status == http.StatusGatewayTimeout) && !eb.json:
		e.Kind = KindUnreachable
		e.Message = fmt.Sprintf("proxy-router unavailable (HTTP %d from an intermediary)", status)
		return e
	case status >= 300 && status < 400:
		e.Kind = KindUnknown
		e.Message = fmt.Sprintf("unexpected redirect (HTTP %d) from proxy-router", status)
		return e
	default:
		e.Kind = KindUnknown
	}
	if isHTML(contentType) {
		e.Message = fmt.Sprintf("proxy-router answered HTTP %d with an HTML page", status)
		return e
	}
	e.Message = messageOr(eb.message, fmt.Sprintf("HTTP %d %s with no error message", status, http.StatusText(status)))
	return e
}

// ClassifyMessage classifies a bare router error string, e.g. the raw
// {"error":"…"} the router appends to a 200 stream after the first chunk
// (spec §2.7.4 quirk 2), where there is no status code to go by. It never
// returns nil: an unmatched message is KindUnknown.
func ClassifyMessage(op string, status int, message string) *RouterError {
	e := &RouterError{Op: op, Status: status, raw: truncateBytes([]byte(message), maxDebugBody)}
	if k, ok := matchCatalogue(message); ok {
		e.Kind = k
	} else {
		e.Kind = KindUnknown
	}
	e.Message = messageOr(message, "proxy-router error without a message")
	return e
}

// catalogue is spec §3 in match order. Order matters where one message
// contains another's pattern:
//   - "no provider accepting session: [{…reason: failed to connect to provider
//     … tee attestation failed …}]" is an open failure, not a TEE or
//     transport failure, so it comes first;
//   - "provider request failed: provider error: session expired" is expiry;
//   - "provider request failed" is a catch-all for provider faults
//     (invalid signature, decrypt failure, provider-side errors such as
//     "provider error: api adapter not found: …") and comes after the specific
//     patterns but before the bare "api adapter not found" of a missing
//     session_id header.
var catalogue = []struct {
	kind     ErrorKind
	patterns []string
}{
	{KindNoProvider, []string{"no provider accepting session"}},
	{KindTEE, []string{"p-node tee attestation failed", "llm tee verification failed", "tee attestation failed"}},
	{KindQueueCancelled, []string{"request cancelled while waiting in queue", "request canceled while waiting in queue"}},
	{KindSessionExpired, []string{"session expired"}},
	{KindAlreadyClosed, []string{"sessionalreadyclosed", "session already closed", "session is already closed"}},
	{KindSessionTooShort, []string{"sessiontooshort"}},
	{KindNonceRace, []string{"nonce too low", "nonce too high", "replacement transaction underpriced",
		"transaction underpriced", "already known", "invalid nonce", "incorrect nonce", "nonce error"}},
	{KindInsufficientFunds, []string{"insufficient funds", "transfer amount exceeds balance", "insufficient mor", "insufficient eth"}},
	{KindNotMined, []string{"not mined after all escalation", "transaction not mined"}},
	{KindNoBids, []string{"no bids available"}},
	{KindSessionNotFound, []string{"session not found", "session cannot be loaded"}},
	{KindProviderNotFound, []string{"provider not found"}},
	{KindProviderUnavailable, []string{"failed to connect to provider", "failed to write to provider",
		"provider closed connection", "read timed out", "provider is not available",
		"provider availability check failed", "provider request failed"}},
	{KindMissingSessionHeader, []string{"api adapter not found"}},
	{KindBadRequest, []string{"invalid hash length", "encoding/hex", "invalid big.int", "json: ",
		"cannot open session with own bid"}},
}

// impairedPatterns mark a providerModelError as an impaired backend (spec §3).
var impairedPatterns = []string{
	"rate limit", "rate_limit", "too many requests", "capacity", "overloaded",
	"model unavailable", "model is unavailable", "service unavailable",
	`"statuscode":429`, `"statuscode":503`,
}

func matchCatalogue(msg string) (ErrorKind, bool) {
	if msg == "" {
		return 0, false
	}
	lower := strings.ToLower(msg)
	for _, c := range catalogue {
		for _, p := range c.patterns {
			if strings.Contains(lower, p) {
				return c.kind, true
			}
		}
	}
	return 0, false
}

func classifyProviderModelError(e *RouterError, status int, eb errorBody) {
	ps := eb.statusCode
	if ps == 0 {
		ps = innerStatus(eb.providerModelError)
	}
	if ps == 0 && status != http.StatusBadRequest {
		ps = status // newer builds pass the upstream status through
	}
	e.ProviderStatus = ps
	text := strings.ToLower(string(eb.providerModelError))
	switch {
	case ps == http.StatusTooManyRequests || ps >= 500:
		e.Kind = KindProviderImpaired
	case ps == http.StatusUnauthorized || ps == http.StatusForbidden || ps == http.StatusNotFound:
		e.Kind = KindProviderModelError
	case containsAny(text, impairedPatterns):
		e.Kind = KindProviderImpaired
	default:
		e.Kind = KindProviderModelError
	}
	msg := upstreamMessage(eb.providerModelError)
	e.Message = "provider model error: " + messageOr(msg, "upstream model backend failed")
}

// errorBody is what parseErrorBody could read from an error response.
type errorBody struct {
	json               bool            // the body was a JSON object
	message            string          // the best human-readable message
	providerModelError json.RawMessage // set when the key is present
	statusCode         int             // top-level "statusCode"
}

func parseErrorBody(body []byte) errorBody {
	var eb errorBody
	b := bytes.TrimSpace(body)
	// A JSON error under an SSE content type is bare JSON, but tolerate a
	// "data: " prefix too.
	if bytes.HasPrefix(b, []byte("data:")) {
		b = bytes.TrimSpace(b[len("data:"):])
	}
	var obj map[string]json.RawMessage
	if len(b) > 0 && b[0] == '{' && json.Unmarshal(b, &obj) == nil {
		eb.json = true
		for k, v := range obj {
			switch strings.ToLower(k) {
			case "providermodelerror":
				if len(v) == 0 {
					v = json.RawMessage("null")
				}
				eb.providerModelError = v
			case "statuscode", "status_code":
				eb.statusCode = jsonStatus(v)
			}
		}
		eb.message = upstreamMessage(b)
		return eb
	}
	eb.message = string(b)
	return eb
}

// upstreamMessage extracts a message from common error shapes: a JSON
// string; {"error":"…"}; {"error":{"message":"…"}}; {"message":"…"};
// {"detail":"…"}. Failing that, the compact JSON itself.
func upstreamMessage(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return compactJSON(raw)
	}
	for _, key := range []string{"error", "message", "detail", "msg"} {
		for k, v := range obj {
			if strings.EqualFold(k, key) {
				if m := upstreamMessage(v); m != "" {
					return m
				}
			}
		}
	}
	return compactJSON(raw)
}

// innerStatus finds an HTTP-like status number inside a providerModelError:
// statusCode / status_code / status / code, at the top level or under
// "error".
func innerStatus(raw json.RawMessage) int {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return 0
	}
	for _, key := range []string{"statuscode", "status_code", "status", "code"} {
		for k, v := range obj {
			if strings.ToLower(k) == key {
				if n := jsonStatus(v); n != 0 {
					return n
				}
			}
		}
	}
	for k, v := range obj {
		if strings.ToLower(k) == "error" {
			return innerStatus(v)
		}
	}
	return 0
}

// jsonStatus reads a number or numeric string in the HTTP status range.
func jsonStatus(v json.RawMessage) int {
	s := strings.Trim(strings.TrimSpace(string(v)), `"`)
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 599 {
		return 0
	}
	return n
}

func compactJSON(raw []byte) string {
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return string(raw)
	}
	return buf.String()
}

func containsAny(s string, subs []string) bool {
	for _, p := range subs {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// maxMessage bounds Message; maxDebugBody bounds the kept raw body.
const (
	maxMessage   = 512
	maxDebugBody = 4096
)

// messageOr sanitizes and truncates msg, or returns def when msg is blank.
func messageOr(msg, def string) string {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return def
	}
	msg = Sanitize(msg)
	if len(msg) > maxMessage {
		// Cut on a rune boundary.
		cut := maxMessage
		for cut > 0 && msg[cut]&0xC0 == 0x80 {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return msg
}

func truncateBytes(b []byte, n int) []byte {
	if len(b) > n {
		b = b[:n]
	}
	return append([]byte(nil), b...)
}

func isHTML(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "text/html"
}
