package fakerouter

import (
	"fmt"
	"strings"
)

// Mode is a provider failure mode (spec §6.4), set per bid (Bid.Mode) or
// switched at runtime with SetMode.
type Mode string

// Failure modes. The effect at open is the provider handshake; the effect on a
// prompt happens before the first byte unless stated otherwise.
const (
	// ModeOK accepts sessions and serves prompts.
	ModeOK Mode = "ok"
	// ModeUnreachable is skipped at open; a prompt fails with
	// 500 "provider request failed: failed to connect to provider: dial tcp …: connect: connection refused".
	ModeUnreachable Mode = "unreachable"
	// ModeNoCapacity is skipped at open ("no capacity"); prompts are served.
	ModeNoCapacity Mode = "no_capacity"
	// ModeSlowFirstByte accepts; a prompt waits Config.FirstByteTimeout and
	// fails with 500 "provider request failed: read timed out after 3 retries: i/o timeout".
	ModeSlowFirstByte Mode = "slow_first_byte"
	// ModeSilentClose accepts; a prompt fails with
	// 500 "provider request failed: provider closed connection without sending any data".
	ModeSilentClose Mode = "silent_close"
	// ModeRateLimited accepts; a prompt fails with
	// 400 {"providerModelError":{"error":{"message":"Rate limit exceeded","type":"rate_limit_error"}}}.
	ModeRateLimited Mode = "rate_limited"
	// ModeRateLimitedStatus is the newer-build variant of ModeRateLimited:
	// 429 {"providerModelError":{…},"statusCode":429}.
	ModeRateLimitedStatus Mode = "rate_limited_status"
	// ModeBackendAuth accepts; a prompt fails with
	// 400 {"providerModelError":{"error":"Authentication failed"}}.
	ModeBackendAuth Mode = "backend_auth"
	// ModeTEEFail is skipped at open and fails prompts with
	// 500 "p-node tee attestation failed: quote invalid" — for models tagged
	// "tee" in current only; otherwise it behaves like ModeOK.
	ModeTEEFail Mode = "tee_fail"
	// ModeDieMidstreamEOF streams two chunks, then ends the 200 body cleanly:
	// no error, no [DONE].
	ModeDieMidstreamEOF Mode = "die_midstream_eof"
	// ModeDieMidstreamErr streams two chunks, then appends the raw
	// {"error":"provider request failed: invalid response: unexpected EOF"}
	// (no "data:" prefix, no newline) to the 200 body.
	ModeDieMidstreamErr Mode = "die_midstream_err"
	// ModeForeignInstance accepts at open; prompts fail with
	// 500 "provider not found" (session opened by another router instance).
	ModeForeignInstance Mode = "foreign_instance"
)

var knownModes = map[Mode]bool{
	ModeOK: true, ModeUnreachable: true, ModeNoCapacity: true, ModeSlowFirstByte: true,
	ModeSilentClose: true, ModeRateLimited: true, ModeRateLimitedStatus: true,
	ModeBackendAuth: true, ModeTEEFail: true, ModeDieMidstreamEOF: true,
	ModeDieMidstreamErr: true, ModeForeignInstance: true,
}

func checkMode(m Mode) Mode {
	if m == "" {
		return ModeOK
	}
	if !knownModes[m] {
		panic(fmt.Sprintf("fakerouter: unknown mode %q", m))
	}
	return m
}

// WalletMode is a wallet-level failure for on-chain operations (open, close,
// approve), spec §6.4.
type WalletMode string

// Wallet modes.
const (
	// WalletOK: transactions go through (subject to real balances).
	WalletOK WalletMode = "ok"
	// WalletInsufficientMOR: opens fail with "ERC20: transfer amount exceeds
	// balance" whatever the MOR balance (an open also fails that way when the
	// stake exceeds the balance).
	WalletInsufficientMOR WalletMode = "insufficient_mor"
	// WalletInsufficientETH: every transaction fails with "insufficient funds
	// for gas * price + value" (also the case when the ETH balance is 0).
	WalletInsufficientETH WalletMode = "insufficient_eth"
	// WalletCongestion: every transaction fails with "transaction not mined
	// after all escalation attempts".
	WalletCongestion WalletMode = "congestion"
)

// Error strings of the real router (spec §2, §3, §6).
const (
	errNoBasicAuth      = "no basic auth provided"
	errInvalidBasicAuth = "invalid basic auth provided"
	errBadCredentials   = "invalid username or password"

	errNoBids             = "no bids available"
	errNoProvider         = "no provider accepting session"
	errNonce              = "failed to send transaction: %s session failed: failed to send transaction: replacement transaction underpriced"
	errTransferExceeds    = "failed to send transaction: open session failed: failed to build transaction: execution reverted: ERC20: transfer amount exceeds balance"
	errSessionTooShort    = "failed to send transaction: open session failed: failed to build transaction: EVM error: SessionTooShort() []"
	errInsufficientFunds  = "failed to send transaction: %s session failed: failed to build transaction: insufficient funds for gas * price + value: balance %s, tx cost %s, overshot %s"
	errNotMined           = "failed to send transaction: %s session failed: transaction not mined after all escalation attempts: last tx %s"
	errCloseUnknown       = "failed to get session report from user: session not found"
	errAlreadyClosed      = "failed to send transaction: close session failed: failed to build transaction: EVM error: SessionAlreadyClosed() []"
	errOwnBid             = "cannot open session with own bid"
	errSessionNotFound    = "session not found"
	errAdapterNotFound    = "api adapter not found: "
	errExpiredV4          = "session expired"
	errExpiredCurrent     = "provider request failed: provider error: session expired"
	errProviderNotFound   = "provider not found"
	errQueueCancelled     = "request cancelled while waiting in queue: "
	errConnectRefused     = "provider request failed: failed to connect to provider: dial tcp %s: connect: connection refused"
	errReadTimeout        = "provider request failed: read timed out after 3 retries: i/o timeout"
	errSilentClose        = "provider request failed: provider closed connection without sending any data"
	errTEE                = "p-node tee attestation failed: quote invalid"
	errUnexpectedEOF      = "provider request failed: invalid response: unexpected EOF"
	reasonUnreachable     = "failed to initiate session: provider request failed: code: 500, msg: <nil>, error: failed to connect to provider: dial tcp %s: connect: connection refused"
	reasonNoCapacity      = "failed to initiate session: response error: error: no capacity, result: <nil>"
	reasonTEE             = "failed to initiate session: " + errTEE
	defaultProviderSocket = "10.0.0.9:3333"
)

// rateLimitError is the upstream body wrapped in providerModelError.
var rateLimitError = map[string]any{"error": map[string]any{"message": "Rate limit exceeded", "type": "rate_limit_error"}}

// SetMode switches the failure mode of every bid whose ID or provider address
// equals bidOrProvider (case-insensitive, 0x optional for bid IDs). It takes
// effect for the next open or prompt, including prompts on sessions already
// open on those bids. It returns the number of bids changed and panics on an
// unknown mode.
func (r *Router) SetMode(bidOrProvider string, m Mode) int {
	m = checkMode(m)
	key := strings.ToLower(bidOrProvider)
	if h, err := parseHash(key); err == nil {
		key = h
	} else if !strings.HasPrefix(key, "0x") {
		key = "0x" + key
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, b := range r.bids {
		if b.ID == key || b.Provider == key {
			b.Mode = m
			n++
		}
	}
	return n
}

// FailNextOnChainOps makes the next n on-chain operations (opens that got past
// the provider handshake, closes, approves) fail with the nonce error
// "…replacement transaction underpriced".
func (r *Router) FailNextOnChainOps(n int) {
	r.mu.Lock()
	r.nonceFailures = n
	r.mu.Unlock()
}

// SetWalletMode sets a wallet-level failure (WalletOK to clear it).
func (r *Router) SetWalletMode(m WalletMode) {
	r.mu.Lock()
	r.walletMode = m
	r.mu.Unlock()
}
