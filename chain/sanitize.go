package chain

import (
	"net"
	"regexp"
	"strings"
)

// Sanitize removes from s everything that should not reach an API client
// (spec §7.15, DESIGN invariant 5): proxy-router and provider error strings
// carry provider IPs and ports ("dial tcp 203.0.113.7:3333"), URLs and
// hostnames.
//
// Replaced, in this order:
//   - Basic/Bearer credentials and "password=…"-style pairs → [redacted]
//   - a 64-hex value shortly after the word "private" (a private key) → [redacted]
//   - URLs (scheme://…, including any user:pass@) → [url]
//   - bracketed IPv6 with optional port ("[2001:db8::1]:8080") → [host]
//   - bare IPv6 addresses (validated with net.ParseIP) → [host]
//   - IPv4 addresses with optional port → [host]
//   - hostname:port ("provider.example.com:3333", "localhost:8082") → [host]
//   - fully-qualified domain names ("provider.example.com") → [host]
//
// Kept: 0x hashes and addresses (session, bid and model IDs, provider
// addresses and transaction hashes are useful to clients and operators),
// Go identifiers such as "big.Int" or "structs.OpenSessionReq", version
// strings, and durations.
//
// FQDN detection is heuristic: a dotted name is removed when its last label
// is a common TLD (com, net, org, io, ai, dev, local, internal …) or when it is
// all lower case with at least three labels. Two-label names with an unknown
// TLD, or with upper-case letters, are kept so that Go type names survive.
func Sanitize(s string) string {
	if s == "" {
		return s
	}
	s = reAuthScheme.ReplaceAllStringFunc(s, func(m string) string {
		sub := reAuthScheme.FindStringSubmatch(m)
		if looksLikeCredential(sub[2]) {
			return sub[1] + "[redacted]"
		}
		return m
	})
	s = reSecretPair.ReplaceAllString(s, "${1}[redacted]")
	s = rePrivateKey.ReplaceAllString(s, "${1}[redacted]")
	s = reURL.ReplaceAllString(s, "[url]")
	s = reIPv6Bracket.ReplaceAllString(s, "[host]")
	s = reIPv6Bare.ReplaceAllStringFunc(s, func(m string) string {
		if strings.Count(m, ":") >= 2 && net.ParseIP(m) != nil {
			return "[host]"
		}
		return m
	})
	s = reIPv4.ReplaceAllString(s, "[host]")
	s = reHostPort.ReplaceAllString(s, "[host]")
	s = reFQDN.ReplaceAllStringFunc(s, func(m string) string {
		if looksLikeHostname(m) {
			return "[host]"
		}
		return m
	})
	return s
}

var (
	// "Basic dXNlcjpwYXNz", "Bearer eyJ…"; filtered by looksLikeCredential
	// so that "no basic auth provided" survives.
	reAuthScheme = regexp.MustCompile(`(?i)(\b(?:basic|bearer)\s+)([A-Za-z0-9+/=._~-]+)`)
	// password=…, passwd: …, secret=…, api_key=…, COOKIE_CONTENT=admin:pw.
	reSecretPair = regexp.MustCompile(`(?i)(\b(?:password|passwd|pwd|secret|api[_-]?key|cookie_content)["']?\s*[:=]\s*["']?)[^\s"',;&]+`)
	// A 64-hex key within a few characters after "private" ("X-Private-Key:
	// 0x…", "private key 0x…", "privateKey":"…").
	rePrivateKey = regexp.MustCompile(`(?i)(private[A-Za-z_\- ]{0,16}["']?\s*[:=]?\s*["']?)(?:0x)?[0-9a-f]{64}\b`)
	// scheme://anything up to whitespace or a quote/bracket.
	reURL = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.\-]*://[^\s"'<>\x60]+`)
	// [v6]:port, [v6%zone]:port, [v6].
	reIPv6Bracket = regexp.MustCompile(`\[[0-9A-Fa-f:.]*:[0-9A-Fa-f:.%\w]*\](?::\d{1,5})?`)
	// Candidates only; validated with net.ParseIP so "12:30:45" survives.
	reIPv6Bare = regexp.MustCompile(`[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.\d{1,3}){0,3}`)
	// a.b.c.d with optional :port.
	reIPv4 = regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b`)
	// host:port where the host starts with a letter ("provider-1:3333",
	// "localhost:8082", "a.example.com:443"); "12:30" is not a host.
	reHostPort = regexp.MustCompile(`\b[A-Za-z][A-Za-z0-9\-]*(?:\.[A-Za-z0-9\-]+)*:\d{1,5}\b`)
	// dotted names; filtered by looksLikeHostname.
	reFQDN = regexp.MustCompile(`\b(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\b`)
)

// commonTLDs are last labels that make a dotted name a hostname even with
// only two labels. Kept short and free of words that end Go identifiers or
// file names in error strings ("int", "go", "sh", "to", "in" are absent).
var commonTLDs = map[string]bool{
	"com": true, "net": true, "org": true, "io": true, "ai": true, "dev": true,
	"app": true, "cloud": true, "xyz": true, "co": true, "info": true, "biz": true,
	"tech": true, "site": true, "online": true, "network": true, "local": true,
	"internal": true, "lan": true, "localdomain": true, "home": true, "arpa": true,
	"test": true, "example": true, "invalid": true, "localhost": true,
	"us": true, "uk": true, "de": true, "fr": true, "nl": true, "eu": true,
	"ch": true, "jp": true, "cn": true, "ru": true, "br": true, "au": true,
	"ca": true, "gg": true, "cc": true, "tv": true, "gov": true, "edu": true,
	"svc": true, "cluster": true, "amazonaws": true,
}

func looksLikeHostname(m string) bool {
	labels := strings.Split(m, ".")
	tld := strings.ToLower(labels[len(labels)-1])
	if commonTLDs[tld] {
		return true
	}
	return len(labels) >= 3 && m == strings.ToLower(m)
}

// looksLikeCredential tells a base64/JWT token from an English word: at least
// 8 characters and a digit, a base64 symbol, or mixed case.
func looksLikeCredential(tok string) bool {
	if len(tok) < 8 {
		return false
	}
	if strings.ContainsAny(tok, "0123456789+/=._~-") {
		return true
	}
	return tok != strings.ToLower(tok) && tok != strings.ToUpper(tok)
}
