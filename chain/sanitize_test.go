package chain

import (
	"regexp"
	"strings"
	"testing"
)

const testSessionID = "0x6c1f0d2ab7d54e3f9a0b11c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192ae9a2"

// leaks finds anything address-like left behind.
var leaks = regexp.MustCompile(`\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|:\d{2,5}\b|://|2001:db8|example\.com|localhost`)

func TestSanitize(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"dial tcp 203.0.113.7:3333: connect: connection refused",
			"dial tcp [host]: connect: connection refused"},
		{`provider request failed: failed to connect to provider: dial tcp 203.0.113.7:3333: i/o timeout`,
			`provider request failed: failed to connect to provider: dial tcp [host]: i/o timeout`},
		{"read tcp 10.0.0.1:51234->203.0.113.7:3333: i/o timeout",
			"read tcp [host]->[host]: i/o timeout"},
		{"dial tcp [2001:db8::1]:8080: connect: connection refused",
			"dial tcp [host]: connect: connection refused"},
		{"peer 2001:db8::1 went away", "peer [host] went away"},
		{"peer ::ffff:192.0.2.1 went away", "peer [host] went away"},
		{"dial tcp provider.example.com:3333: connect: connection refused",
			"dial tcp [host]: connect: connection refused"},
		{"dial tcp: lookup provider.example.com on 127.0.0.53:53: no such host",
			"dial tcp: lookup [host] on [host]: no such host"},
		{"dial tcp localhost:8082: connect: connection refused", "dial tcp [host]: connect: connection refused"},
		{"failed to reach provider-1:3333", "failed to reach [host]"},
		{`Post "http://admin:secret@127.0.0.1:8082/blockchain/models/x/session": EOF`,
			`Post "[url]": EOF`},
		{"see https://api.openai.com/v1/chat/completions?key=abc for details", "see [url] for details"},
		{"backend api.openai.com refused", "backend [host] refused"},
		{"Authorization: Basic YWRtaW46c2VjcmV0cGFzcw==", "Authorization: Basic [redacted]"},
		{"header Bearer sk-abc123DEF456ghi", "header Bearer [redacted]"},
		{"COOKIE_CONTENT=admin:hunter2 failed", "COOKIE_CONTENT=[redacted] failed"},
		{"password=hunter2; user=x", "password=[redacted]; user=x"},
		{"X-Private-Key: 0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
			"X-Private-Key: [redacted]"},
		{`{"privateKey":"4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"}`,
			`{"privateKey":"[redacted]"}`},
		// Kept: IDs, addresses, tx hashes, Go identifiers, versions, times.
		{"session " + testSessionID + " expired", "session " + testSessionID + " expired"},
		{"failed to send transaction: close session failed: failed to build transaction: EVM error: SessionAlreadyClosed() []",
			"failed to send transaction: close session failed: failed to build transaction: EVM error: SessionAlreadyClosed() []"},
		{"invalid big.Int string: 36.5", "invalid big.Int string: 36.5"},
		{"json: cannot unmarshal string into Go struct field OpenSessionWithFailover.sessionDuration of type lib.BigInt",
			"json: cannot unmarshal string into Go struct field OpenSessionWithFailover.sessionDuration of type lib.BigInt"},
		{"provider 0x1A2b3C4d5E6f7A8b9C0d1E2f3A4b5C6d7E8f9A0b refused at 12:30:45 (v7.1.0, up 3h2m1s)",
			"provider 0x1A2b3C4d5E6f7A8b9C0d1E2f3A4b5C6d7E8f9A0b refused at 12:30:45 (v7.1.0, up 3h2m1s)"},
		{"no basic auth provided", "no basic auth provided"},
		{"invalid username or password", "invalid username or password"},
		{"response error: error: no capacity, result: <nil>", "response error: error: no capacity, result: <nil>"},
		{"", ""},
	} {
		got := Sanitize(tc.in)
		if got != tc.want {
			t.Errorf("Sanitize(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestSanitizeNoLeaks(t *testing.T) {
	// The v6 open-failure list: EIP-55 provider addresses stay, IPs go.
	in := `no provider accepting session: [{"provider":"0xAbC0000000000000000000000000000000000001","reason":"failed to initiate session: provider request failed: code: 500, msg: <nil>, error: failed to connect to provider: dial tcp 203.0.113.7:3333: i/o timeout"},{"provider":"0xAbC0000000000000000000000000000000000002","reason":"dial tcp [2001:db8::1]:8080: connection refused; http://provider.example.com:3333/x; localhost:8082"}]`
	got := Sanitize(in)
	if m := leaks.FindString(got); m != "" {
		t.Fatalf("leak %q in %q", m, got)
	}
	if !strings.Contains(got, "0xAbC0000000000000000000000000000000000001") {
		t.Fatalf("provider address lost: %q", got)
	}
}
