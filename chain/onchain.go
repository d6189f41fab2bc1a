package chain

// Direct, read-only contract calls on the Morpheus Diamond (spec
// proxy-router.md §4, §5.1): the gateway reads a session's openedAt, endsAt
// and closedAt from the chain itself, independent of the proxy-router.
//
// The calls go through a minimal hand-written ABI fragment with the real
// Diamond signatures (getSession, getBid, and the SessionOpened/SessionClosed
// events for later log watching), so the reader works against the real
// Diamond, which has many more functions. chain/contracts holds a Solidity
// mock with the same signatures for tests; onchain_test.go checks that the
// fragment, the mock and the spec's selectors and topics agree.

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
)

// ChainConfig says where the Morpheus Diamond is read from.
type ChainConfig struct {
	// RPCURL is an Ethereum JSON-RPC endpoint (http, https, ws or wss) of the
	// chain the Diamond is deployed on. It may carry an API key in its path,
	// query or user info, so it never appears in errors.
	RPCURL string
	// Diamond is the address of the Morpheus Diamond (EIP-2535 proxy); every
	// facet's function is called at this address.
	Diamond common.Address
}

// ErrDiamondNoCode reports that there is no contract at the configured
// Diamond address (wrong address, or an RPC endpoint of another chain).
var ErrDiamondNoCode = errors.New("no contract code at the diamond address")

// onchainDefaultTimeout bounds a Session call whose context has no deadline.
const onchainDefaultTimeout = 15 * time.Second

// SessionReader reads sessions from the Diamond with eth_call. It needs no
// wallet and sends no transactions. It is safe for concurrent use.
type SessionReader struct {
	contract *bind.BoundContract
	diamond  common.Address
	client   *ethclient.Client // owned, closed by Close; nil from NewSessionReader
	secrets  []string          // parts of the RPC URL scrubbed from errors, longest first
}

// OnChainSession is the Diamond's view of one session (ISessionStorage.Session,
// spec §4.2), with Provider and ModelAgentID taken from the session's bid
// (IBidStorage.Bid), since the session struct itself has neither.
type OnChainSession struct {
	ID           common.Hash
	User         common.Address // the wallet that opened and pays (the proxy-router's wallet)
	Provider     common.Address // bid.provider; zero if the bid is unknown
	ModelAgentID common.Hash    // bid.modelId; zero if the bid is unknown
	BidID        common.Hash
	Stake        *big.Int  // MOR wei staked at open; never nil (zero when !Exists)
	OpenedAt     time.Time // UTC, whole seconds
	EndsAt       time.Time // UTC, fixed at open
	ClosedAt     time.Time // zero until the session is closed
	// Exists is false for an ID that was never opened: the Diamond returns an
	// all-zero struct (user == 0) for unknown IDs rather than reverting. All
	// fields but ID and Stake (zero) are then zero values.
	Exists bool
}

// Open reports whether the session can still be prompted at now (spec §5.1):
// it exists, it has not been closed, and now is before EndsAt. An unclosed
// session past EndsAt is not open, although the Diamond keeps isActive=true
// until somebody closes it.
func (s OnChainSession) Open(now time.Time) bool {
	return s.Exists && s.ClosedAt.IsZero() && now.Before(s.EndsAt)
}

// DialSessionReader connects to cfg.RPCURL and returns a reader for the
// Diamond at cfg.Diamond. For http(s) URLs nothing is sent until the first
// Session call; ws(s) URLs connect here. Call Close when done.
//
// Errors never contain the URL or any part of it.
func DialSessionReader(ctx context.Context, cfg ChainConfig) (*SessionReader, error) {
	raw := strings.TrimSpace(cfg.RPCURL)
	if raw == "" {
		return nil, errors.New("chain: dial session reader: rpc url is empty")
	}
	if cfg.Diamond == (common.Address{}) {
		return nil, errors.New("chain: dial session reader: diamond address is zero")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the input: never wrap or print it.
		return nil, errors.New("chain: dial session reader: rpc url is not a valid URL")
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "ws", "wss":
	default:
		// Not even the scheme is echoed: "host:port/key" parses with the
		// host as its scheme.
		return nil, errors.New("chain: dial session reader: rpc url scheme must be http, https, ws or wss")
	}
	secrets := onchainURLSecrets(raw, u)

	client, err := ethclient.DialContext(ctx, raw)
	if err != nil {
		return nil, onchainWrap("dial session reader", err, secrets)
	}
	r, err := NewSessionReader(client, cfg.Diamond)
	if err != nil {
		client.Close()
		return nil, err
	}
	r.client = client
	r.secrets = secrets
	return r, nil
}

// NewSessionReader returns a reader that calls the Diamond at diamond through
// caller (an *ethclient.Client, or the client of go-ethereum's simulated
// backend in tests). The caller is not closed by Close.
func NewSessionReader(caller bind.ContractCaller, diamond common.Address) (*SessionReader, error) {
	if caller == nil {
		return nil, errors.New("chain: new session reader: caller is nil")
	}
	if diamond == (common.Address{}) {
		return nil, errors.New("chain: new session reader: diamond address is zero")
	}
	return &SessionReader{
		contract: bind.NewBoundContract(diamond, diamondABI, caller, nil, nil),
		diamond:  diamond,
	}, nil
}

// Diamond returns the address the reader calls.
func (r *SessionReader) Diamond() common.Address { return r.diamond }

// Close releases the RPC connection opened by DialSessionReader. It is a
// no-op for readers made with NewSessionReader.
func (r *SessionReader) Close() {
	if r != nil && r.client != nil {
		r.client.Close()
	}
}

// Session reads session id at the latest block: getSession(id) and, for an
// existing session, getBid(bidId) for its provider and model. A never-opened
// id is not an error: it yields Exists=false.
//
// If ctx has no deadline, the call is bounded by a default timeout. Errors
// wrap context.Canceled / context.DeadlineExceeded and ErrDiamondNoCode (for
// errors.Is) but never carry the RPC URL.
func (r *SessionReader) Session(ctx context.Context, id common.Hash) (OnChainSession, error) {
	if r == nil || r.contract == nil {
		return OnChainSession{}, errors.New("chain: session reader is not initialised")
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, onchainDefaultTimeout)
		defer cancel()
	}
	opts := &bind.CallOpts{Context: ctx}

	var out []any
	if err := r.contract.Call(opts, &out, "getSession", id); err != nil {
		return OnChainSession{}, r.wrap("getSession", err)
	}
	var s diamondSession
	if err := onchainConvert(out, &s); err != nil {
		return OnChainSession{}, fmt.Errorf("chain: getSession: decode: %w", err)
	}

	res := OnChainSession{ID: id, Stake: new(big.Int)}
	if s.User == (common.Address{}) {
		return res, nil
	}
	res.Exists = true
	res.User = s.User
	res.BidID = s.BidId
	if s.Stake != nil {
		res.Stake.Set(s.Stake)
	}
	var err error
	if res.OpenedAt, err = onchainUnix("openedAt", s.OpenedAt); err != nil {
		return OnChainSession{}, err
	}
	if res.EndsAt, err = onchainUnix("endsAt", s.EndsAt); err != nil {
		return OnChainSession{}, err
	}
	if res.ClosedAt, err = onchainUnix("closedAt", s.ClosedAt); err != nil {
		return OnChainSession{}, err
	}

	// The bid ID is keccak(provider, modelId, nonce), so provider and model
	// never change for a given bid: no need to pin both calls to one block.
	if s.BidId != ([32]byte{}) {
		out = nil
		if err := r.contract.Call(opts, &out, "getBid", s.BidId); err != nil {
			return OnChainSession{}, r.wrap("getBid", err)
		}
		var b diamondBid
		if err := onchainConvert(out, &b); err != nil {
			return OnChainSession{}, fmt.Errorf("chain: getBid: decode: %w", err)
		}
		res.Provider = b.Provider
		res.ModelAgentID = b.ModelId
	}
	return res, nil
}

// --- ABI -------------------------------------------------------------------

// diamondABIJSON is the part of the Morpheus Diamond's ABI this file uses,
// with the upstream names and layouts (ISessionStorage.Session,
// IBidStorage.Bid, ISessionRouter events). Selectors (spec §4.4, §4.5):
//
//	getSession(bytes32)                     0x39b240bd
//	getBid(bytes32)                         0x91704e1e
//	SessionOpened(address,bytes32,address)  0x2bd7c890…4839
//	SessionClosed(address,bytes32,address)  0x337fbb0a…914a
const diamondABIJSON = `[
{"type":"function","name":"getSession","stateMutability":"view",
 "inputs":[{"name":"sessionId_","type":"bytes32","internalType":"bytes32"}],
 "outputs":[{"name":"","type":"tuple","internalType":"struct ISessionStorage.Session","components":[
  {"name":"user","type":"address","internalType":"address"},
  {"name":"bidId","type":"bytes32","internalType":"bytes32"},
  {"name":"stake","type":"uint256","internalType":"uint256"},
  {"name":"closeoutReceipt","type":"bytes","internalType":"bytes"},
  {"name":"closeoutType","type":"uint256","internalType":"uint256"},
  {"name":"providerWithdrawnAmount","type":"uint256","internalType":"uint256"},
  {"name":"openedAt","type":"uint128","internalType":"uint128"},
  {"name":"endsAt","type":"uint128","internalType":"uint128"},
  {"name":"closedAt","type":"uint128","internalType":"uint128"},
  {"name":"isActive","type":"bool","internalType":"bool"},
  {"name":"isDirectPaymentFromUser","type":"bool","internalType":"bool"}]}]},
{"type":"function","name":"getBid","stateMutability":"view",
 "inputs":[{"name":"bidId_","type":"bytes32","internalType":"bytes32"}],
 "outputs":[{"name":"","type":"tuple","internalType":"struct IBidStorage.Bid","components":[
  {"name":"provider","type":"address","internalType":"address"},
  {"name":"modelId","type":"bytes32","internalType":"bytes32"},
  {"name":"pricePerSecond","type":"uint256","internalType":"uint256"},
  {"name":"nonce","type":"uint256","internalType":"uint256"},
  {"name":"createdAt","type":"uint128","internalType":"uint128"},
  {"name":"deletedAt","type":"uint128","internalType":"uint128"}]}]},
{"type":"event","name":"SessionOpened","anonymous":false,"inputs":[
  {"name":"user","type":"address","indexed":true,"internalType":"address"},
  {"name":"sessionId","type":"bytes32","indexed":true,"internalType":"bytes32"},
  {"name":"providerId","type":"address","indexed":true,"internalType":"address"}]},
{"type":"event","name":"SessionClosed","anonymous":false,"inputs":[
  {"name":"user","type":"address","indexed":true,"internalType":"address"},
  {"name":"sessionId","type":"bytes32","indexed":true,"internalType":"bytes32"},
  {"name":"providerId","type":"address","indexed":true,"internalType":"address"}]}
]`

var diamondABI = func() abi.ABI {
	a, err := abi.JSON(strings.NewReader(diamondABIJSON))
	if err != nil {
		panic("chain: diamond ABI fragment: " + err.Error())
	}
	return a
}()

// diamondSession mirrors ISessionStorage.Session; field names are the
// capitalised ABI component names (required by abi.ConvertType).
type diamondSession struct {
	User                    common.Address
	BidId                   [32]byte
	Stake                   *big.Int
	CloseoutReceipt         []byte
	CloseoutType            *big.Int
	ProviderWithdrawnAmount *big.Int
	OpenedAt                *big.Int
	EndsAt                  *big.Int
	ClosedAt                *big.Int
	IsActive                bool
	IsDirectPaymentFromUser bool
}

// diamondBid mirrors IBidStorage.Bid.
type diamondBid struct {
	Provider       common.Address
	ModelId        [32]byte
	PricePerSecond *big.Int
	Nonce          *big.Int
	CreatedAt      *big.Int
	DeletedAt      *big.Int
}

// onchainConvert copies the single tuple output of a call into dst (a
// pointer to diamondSession or diamondBid). abi.ConvertType panics on a
// layout mismatch; that is turned into an error.
func onchainConvert[T any](out []any, dst *T) (err error) {
	if len(out) != 1 {
		return fmt.Errorf("expected 1 output, got %d", len(out))
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("unexpected output layout: %v", p)
		}
	}()
	v, ok := abi.ConvertType(out[0], new(T)).(*T)
	if !ok || v == nil {
		return errors.New("unexpected output type")
	}
	*dst = *v
	return nil
}

// maxOnchainUnix is 9999-12-31T23:59:59Z; larger timestamps are corrupt.
const maxOnchainUnix = 253402300799

// onchainUnix converts a uint128 Unix-seconds value; 0 is the zero time.
func onchainUnix(field string, v *big.Int) (time.Time, error) {
	if v == nil || v.Sign() == 0 {
		return time.Time{}, nil
	}
	if !v.IsInt64() || v.Int64() > maxOnchainUnix {
		return time.Time{}, fmt.Errorf("chain: getSession: %s %s is not a Unix time in seconds", field, v)
	}
	return time.Unix(v.Int64(), 0).UTC(), nil
}

// --- errors without secrets --------------------------------------------------

// onchainError carries an already sanitised message. Unwrap exposes only a
// sentinel (context errors, ErrDiamondNoCode), never the raw cause, whose
// text (a *url.Error, say) may contain the RPC URL.
type onchainError struct {
	op   string
	msg  string
	kind error
}

func (e *onchainError) Error() string { return "chain: " + e.op + ": " + e.msg }
func (e *onchainError) Unwrap() error { return e.kind }

func (r *SessionReader) wrap(op string, err error) error {
	if errors.Is(err, bind.ErrNoCode) {
		return &onchainError{op: op, msg: ErrDiamondNoCode.Error() + " " + r.diamond.Hex(), kind: ErrDiamondNoCode}
	}
	return onchainWrap(op, err, r.secrets)
}

func onchainWrap(op string, err error, secrets []string) error {
	var kind error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		kind = context.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		kind = context.Canceled
	}
	return &onchainError{op: op, msg: onchainScrub(err.Error(), secrets), kind: kind}
}

var (
	onchainURLRe  = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.-]*://[^\s"'<>]+`)
	onchainIPv4Re = regexp.MustCompile(`\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b`)
	onchainIPv6Re = regexp.MustCompile(`\[[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:%[0-9A-Za-z]+)?\](?::\d{1,5})?`)
)

// onchainScrub removes every known part of the RPC URL, then anything that
// still looks like a URL or an IP address.
func onchainScrub(s string, secrets []string) string {
	for _, sec := range secrets {
		s = strings.ReplaceAll(s, sec, "[rpc]")
	}
	s = onchainURLRe.ReplaceAllString(s, "[rpc]")
	s = onchainIPv6Re.ReplaceAllString(s, "[host]")
	s = onchainIPv4Re.ReplaceAllString(s, "[host]")
	return s
}

// onchainURLSecrets lists the substrings of an RPC URL that may identify the
// endpoint or carry a key: the URL in its raw, normalised and escaped forms,
// host, user info, query (whole and per value), fragment, and path segments of
// six or more characters (keys are usually a path segment: /v2/<key>).
// Longest first, so that a whole URL is replaced before its parts.
func onchainURLSecrets(raw string, u *url.URL) []string {
	set := map[string]struct{}{}
	add := func(s string) {
		if len(s) >= 4 {
			set[s] = struct{}{}
		}
	}
	add(raw)
	add(u.String())
	add(u.Redacted())
	add(u.Host)
	add(u.Hostname())
	add(u.EscapedPath())
	add(u.Path)
	add(u.RawQuery)
	add(u.Fragment)
	if u.User != nil {
		add(u.User.String())
		add(u.User.Username())
		if p, ok := u.User.Password(); ok {
			add(p)
		}
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			add(v)
		}
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if len(seg) >= 6 {
			add(seg)
		}
	}
	for _, seg := range strings.Split(u.EscapedPath(), "/") {
		if len(seg) >= 6 {
			add(seg)
		}
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i]) != len(out[j]) {
			return len(out[i]) > len(out[j])
		}
		return out[i] < out[j]
	})
	return out
}
