package chain

import (
	"errors"
	"strings"
	"testing"
)

const (
	ctJSON = "application/json; charset=utf-8"
	ctSSE  = "text/event-stream"
	ctText = "text/plain; charset=utf-8"
)

func errBody(msg string) []byte {
	return []byte(`{"error":` + quoteJSON(msg) + `}`)
}

func quoteJSON(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// TestClassifyCatalogue covers every substring of spec §3, the open/close
// error tables (§2.1, §2.3) and the chat error table (§2.7.4).
func TestClassifyCatalogue(t *testing.T) {
	for _, tc := range []struct {
		status int
		msg    string
		want   ErrorKind
	}{
		// session expiry, both versions
		{500, "session expired", KindSessionExpired},
		{500, "provider request failed: provider error: session expired", KindSessionExpired},
		// session not found
		{500, "session not found", KindSessionNotFound},
		{500, "failed to get session report from user: session not found", KindSessionNotFound},
		{500, "provider request failed: provider error: session cannot be loaded: not found", KindSessionNotFound},
		// provider not found / unavailable
		{500, "provider not found", KindProviderNotFound},
		{500, "provider request failed: failed to connect to provider: dial tcp 203.0.113.7:3333: connect: connection refused", KindProviderUnavailable},
		{500, "provider request failed: failed to connect to provider: dial tcp 203.0.113.7:3333: i/o timeout", KindProviderUnavailable},
		{500, "provider request failed: failed to write to provider: broken pipe", KindProviderUnavailable},
		{500, "provider request failed: provider closed connection without sending any data", KindProviderUnavailable},
		{500, "provider request failed: read timed out after 3 retries: read tcp 10.0.0.1:5555->203.0.113.7:3333: i/o timeout", KindProviderUnavailable},
		{500, "provider request failed: read timed out after 3 retries: provider is not available", KindProviderUnavailable},
		{500, "provider request failed: read timed out after 3 retries: provider availability check failed: x", KindProviderUnavailable},
		{500, "provider request failed: received invalid signature from provider", KindProviderUnavailable},
		{500, "provider request failed: failed to decrypt ai response chunk: bad", KindProviderUnavailable},
		{500, "provider request failed: provider error: user not found", KindProviderUnavailable},
		{500, "provider request failed: provider error: api adapter not found: 0xabc", KindProviderUnavailable},
		{500, "provider request failed: invalid response: unexpected EOF", KindProviderUnavailable},
		// TEE
		{500, "p-node tee attestation failed: quote invalid", KindTEE},
		{500, "provider request failed: LLM TEE verification failed: mismatch", KindTEE},
		// queue
		{500, "request cancelled while waiting in queue: context canceled", KindQueueCancelled},
		// nonce race, every pattern
		{500, "failed to send transaction: open session failed: failed to send transaction: replacement transaction underpriced", KindNonceRace},
		{500, "failed to send transaction: nonce too low", KindNonceRace},
		{500, "failed to send transaction: nonce too high", KindNonceRace},
		{500, "failed to send transaction: transaction underpriced", KindNonceRace},
		{500, "failed to send transaction: already known", KindNonceRace},
		{500, "invalid nonce", KindNonceRace},
		{500, "incorrect nonce", KindNonceRace},
		{500, "nonce error", KindNonceRace},
		{500, "failed to send transaction: close session failed: failed to send transaction: replacement transaction underpriced", KindNonceRace},
		// close
		{500, "failed to send transaction: close session failed: failed to build transaction: EVM error: SessionAlreadyClosed() []", KindAlreadyClosed},
		{500, "session already closed", KindAlreadyClosed},
		{500, "Session is already closed", KindAlreadyClosed},
		// open
		{500, "no bids available", KindNoBids},
		{500, "no provider accepting session", KindNoProvider},
		{500, `no provider accepting session: [{"provider":"0xAbC0000000000000000000000000000000000001","reason":"failed to initiate session: provider request failed: code: 500, msg: <nil>, error: failed to connect to provider: dial tcp 203.0.113.7:3333: i/o timeout"}]`, KindNoProvider},
		{500, `no provider accepting session: [{"provider":"0xAbC","reason":"p-node tee attestation failed"}]`, KindNoProvider},
		{500, "failed to send transaction: open session failed: failed to build transaction: execution reverted: ERC20: transfer amount exceeds balance", KindInsufficientFunds},
		{500, "failed to send transaction: insufficient funds for gas * price + value: balance 0, tx cost 1", KindInsufficientFunds},
		{500, "insufficient MOR balance — top up", KindInsufficientFunds},
		{500, "insufficient ETH for gas", KindInsufficientFunds},
		{500, "failed to send transaction: open session failed: failed to build transaction: EVM error: SessionTooShort() []", KindSessionTooShort},
		{500, "failed to send transaction: open session failed: transaction not mined after all escalation attempts: last tx 0xabc", KindNotMined},
		{500, "not mined after all escalation attempts", KindNotMined},
		{500, "failed to parse token supply: rpc down", KindUnknown},
		{500, "can't get model: rpc down", KindUnknown},
		{500, "failed to send transaction: close session failed: Transaction failed with status 0", KindUnknown},
		// missing session header
		{500, "api adapter not found: ", KindMissingSessionHeader},
		// bad requests
		{400, "invalid hash length", KindBadRequest},
		{400, "encoding/hex: invalid byte: U+0078 'x'", KindBadRequest},
		{400, "json: cannot unmarshal string into Go struct field", KindBadRequest},
		{400, "invalid big.Int string: 36.5", KindBadRequest},
		{500, "cannot open session with own bid", KindBadRequest},
		{400, "some other binding error", KindBadRequest},
		// auth (§1.2)
		{401, "no basic auth provided", KindUnauthorized},
		{401, "invalid basic auth provided", KindUnauthorized},
		{401, "invalid username or password", KindUnauthorized},
		{403, "method not allowed", KindUnauthorized},
		// unmatched
		{500, "something new", KindUnknown},
	} {
		for _, ct := range []string{ctJSON, ctSSE} {
			e := ClassifyResponse("chat", tc.status, ct, errBody(tc.msg))
			if e == nil {
				t.Fatalf("%d %q: nil", tc.status, tc.msg)
			}
			if e.Kind != tc.want {
				t.Errorf("%d %q (%s): got %v, want %v", tc.status, tc.msg, ct, e.Kind, tc.want)
			}
			if e.Status != tc.status || e.Op != "chat" {
				t.Errorf("%q: status/op %d %q", tc.msg, e.Status, e.Op)
			}
			if m := leaks.FindString(e.Error()); m != "" {
				t.Errorf("%q: leak %q in %q", tc.msg, m, e.Error())
			}
			if e.DebugBody() == "" {
				t.Errorf("%q: raw body not kept", tc.msg)
			}
		}
		// The same strings arrive raw in a 200 stream tail (ClassifyMessage).
		if got := ClassifyMessage("chat", 200, tc.msg).Kind; tc.status == 500 && got != tc.want {
			t.Errorf("ClassifyMessage(%q) = %v, want %v", tc.msg, got, tc.want)
		}
	}
}

func TestClassify2xxIsNil(t *testing.T) {
	for _, s := range []int{200, 201, 204} {
		if e := ClassifyResponse("x", s, ctJSON, errBody("session expired")); e != nil {
			t.Errorf("%d: %v", s, e)
		}
	}
}

// TestClassifySSE500 is the quirk of §2.7.4: a pre-stream failure of a
// stream:true chat is 500 + text/event-stream + a JSON body.
func TestClassifySSE500(t *testing.T) {
	e := ClassifyResponse("chat", 500, ctSSE, []byte(`{"error":"provider request failed: provider error: session expired"}`))
	if e == nil || e.Kind != KindSessionExpired || !IsSessionExpired(e) {
		t.Fatalf("got %v", e)
	}
	// Tolerate a data: prefix as well.
	e = ClassifyResponse("chat", 500, ctSSE, []byte("data: {\"error\":\"provider not found\"}\n\n"))
	if e == nil || e.Kind != KindProviderNotFound {
		t.Fatalf("got %v", e)
	}
}

func TestClassifyProviderModelError(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     int
		body       string
		want       ErrorKind
		wantPS     int
		wantInMsg  string
		notInError string
	}{
		{"rate limit 400", 400, `{"providerModelError":{"error":{"message":"Rate limit exceeded","type":"rate_limit_error"}}}`,
			KindProviderImpaired, 0, "Rate limit exceeded", ""},
		{"statusCode 429 variant", 429, `{"providerModelError":{"error":{"message":"Rate limit exceeded","type":"rate_limit_error"}},"statusCode":429}`,
			KindProviderImpaired, 429, "Rate limit exceeded", ""},
		{"statusCode in 400 body", 400, `{"providerModelError":{"error":{"message":"slow down"}},"statusCode":429}`,
			KindProviderImpaired, 429, "slow down", ""},
		{"too many requests", 400, `{"providerModelError":{"error":"Too Many Requests"}}`, KindProviderImpaired, 0, "Too Many Requests", ""},
		{"capacity", 400, `{"providerModelError":{"error":{"message":"no capacity left"}}}`, KindProviderImpaired, 0, "", ""},
		{"overloaded", 400, `{"providerModelError":{"error":{"message":"Overloaded","type":"overloaded_error"}}}`, KindProviderImpaired, 0, "", ""},
		{"model unavailable", 400, `{"providerModelError":{"error":{"message":"model unavailable"}}}`, KindProviderImpaired, 0, "", ""},
		{"model is unavailable", 400, `{"providerModelError":{"detail":"The model is unavailable"}}`, KindProviderImpaired, 0, "", ""},
		{"service unavailable", 400, `{"providerModelError":{"error":{"message":"Service Unavailable","type":"upstream_error"}}}`, KindProviderImpaired, 0, "", ""},
		{"inner statuscode 503", 400, `{"providerModelError":{"error":{"message":"x"},"statusCode":503}}`, KindProviderImpaired, 503, "", ""},
		{"inner status 502", 400, `{"providerModelError":{"error":{"message":"bad gateway","status":502}}}`, KindProviderImpaired, 502, "", ""},
		{"upstream auth 401 inner", 400, `{"providerModelError":{"error":{"message":"Invalid API key","code":401}}}`,
			KindProviderModelError, 401, "Invalid API key", ""},
		{"upstream 403 statusCode", 403, `{"providerModelError":{"error":{"message":"forbidden"}},"statusCode":403}`,
			KindProviderModelError, 403, "forbidden", ""},
		{"upstream 404 passthrough status", 404, `{"providerModelError":{"error":{"message":"model not found"}}}`,
			KindProviderModelError, 404, "model not found", ""},
		{"401 beats patterns", 400, `{"providerModelError":{"error":{"message":"rate limit key revoked"}},"statusCode":401}`,
			KindProviderModelError, 401, "", ""},
		{"backend auth (fake)", 400, `{"providerModelError":{"error":"Authentication failed"}}`, KindProviderModelError, 0, "Authentication failed", ""},
		{"bad params", 400, `{"providerModelError":{"error":{"message":"max_tokens is too large","type":"invalid_request_error","code":"context_length_exceeded"}}}`,
			KindProviderModelError, 0, "max_tokens is too large", ""},
		{"upstream text wrapped", 400, `{"providerModelError":{"error":{"message":"upstream at http://10.1.2.3:8000/v1 failed","type":"upstream_error"}}}`,
			KindProviderModelError, 0, "upstream at [url] failed", "10.1.2.3"},
		{"sse content type", 400, `{"providerModelError":{"error":{"message":"Rate limit exceeded"}}}`, KindProviderImpaired, 0, "", ""},
	} {
		e := ClassifyResponse("chat", tc.status, ctJSON, []byte(tc.body))
		if e == nil {
			t.Fatalf("%s: nil", tc.name)
		}
		if e.Kind != tc.want || e.ProviderStatus != tc.wantPS {
			t.Errorf("%s: got %v/%d, want %v/%d", tc.name, e.Kind, e.ProviderStatus, tc.want, tc.wantPS)
		}
		if tc.wantInMsg != "" && !strings.Contains(e.Message, tc.wantInMsg) {
			t.Errorf("%s: message %q lacks %q", tc.name, e.Message, tc.wantInMsg)
		}
		if tc.notInError != "" && strings.Contains(e.Error(), tc.notInError) {
			t.Errorf("%s: %q leaked into %q", tc.name, tc.notInError, e.Error())
		}
	}
}

func TestClassifyNonJSON(t *testing.T) {
	// gin's unknown route: documented as KindRouteNotFound (configuration
	// error, neither the client's fault nor a missing resource).
	e := ClassifyResponse("get_models", 404, ctText, []byte("404 page not found"))
	if e == nil || e.Kind != KindRouteNotFound {
		t.Fatalf("404: %v", e)
	}
	// A load balancer in front of the router.
	e = ClassifyResponse("get_models", 502, "text/html", []byte("<html><body>502 Bad Gateway nginx</body></html>"))
	if e == nil || e.Kind != KindUnreachable || strings.Contains(e.Message, "nginx") {
		t.Fatalf("502: %v", e)
	}
	// A bare 429 without a body.
	if e = ClassifyResponse("chat", 429, "", nil); e == nil || e.Kind != KindProviderImpaired {
		t.Fatalf("429: %v", e)
	}
	// An empty 500.
	e = ClassifyResponse("chat", 500, "", nil)
	if e == nil || e.Kind != KindUnknown || e.Message == "" {
		t.Fatalf("empty 500: %v", e)
	}
	// A plain-text 500 still goes through the catalogue.
	if e = ClassifyResponse("chat", 500, ctText, []byte("session expired")); e.Kind != KindSessionExpired {
		t.Fatalf("text 500: %v", e)
	}
	// A redirect.
	if e = ClassifyResponse("chat", 302, "", nil); e.Kind != KindUnknown {
		t.Fatalf("302: %v", e)
	}
	// OpenAI-shaped error from an intermediary.
	e = ClassifyResponse("chat", 500, ctJSON, []byte(`{"error":{"message":"provider not found","type":"x"}}`))
	if e.Kind != KindProviderNotFound || e.Message != "provider not found" {
		t.Fatalf("openai shape: %v", e)
	}
}

func TestClassifyMessageSanitizedAndTruncated(t *testing.T) {
	long := "provider request failed: " + strings.Repeat("é", 600) + " dial tcp 203.0.113.7:3333"
	e := ClassifyResponse("chat", 500, ctJSON, errBody(long))
	if len(e.Message) > maxMessage+len("…") {
		t.Fatalf("message not truncated: %d", len(e.Message))
	}
	if !strings.HasSuffix(e.Message, "…") {
		t.Fatalf("no ellipsis: %q", e.Message[len(e.Message)-10:])
	}
	if strings.Contains(e.Error(), "203.0.113.7") {
		t.Fatal("leak")
	}
	if !strings.Contains(e.DebugBody(), "é") {
		t.Fatal("raw body should keep the original text")
	}
}

func TestErrorHelpers(t *testing.T) {
	e := ClassifyResponse("open_session", 500, ctJSON, errBody("nonce too low"))
	wrapped := errors.Join(errors.New("open failed"), e)
	if !IsNonceRace(wrapped) || KindOf(wrapped) != KindNonceRace || IsSessionExpired(wrapped) {
		t.Fatal("helpers do not see through wrapping")
	}
	if KindOf(nil) != KindUnknown || KindOf(errors.New("x")) != KindUnknown {
		t.Fatal("KindOf of non-router errors")
	}
	if e.OutcomeUnknown() {
		t.Fatal("a 500 is a definite answer")
	}
	if !strings.Contains(e.Error(), "nonce_race") || !strings.Contains(e.Error(), "HTTP 500") {
		t.Fatalf("Error() = %q", e.Error())
	}
	for k := KindUnknown; k <= KindRouteNotFound; k++ {
		if strings.HasPrefix(k.String(), "kind(") {
			t.Errorf("kind %d has no name", int(k))
		}
	}
	if ErrorKind(999).String() != "kind(999)" {
		t.Fatal("unknown kind name")
	}
	if !KindProviderImpaired.FailoverEligible() || KindSessionExpired.FailoverEligible() || KindTEE.FailoverEligible() {
		t.Fatal("failover eligibility")
	}
	notMined := ClassifyResponse("open_session", 500, ctJSON, errBody("transaction not mined after all escalation attempts"))
	if !IsOutcomeUnknown(notMined) {
		t.Fatal("not mined must be outcome-unknown")
	}
}
