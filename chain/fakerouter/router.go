package fakerouter

import (
	"crypto/rand"
	"encoding/hex"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Version selects the per-version behaviour of spec §6.3.
type Version string

// Versions.
const (
	// V4 is proxy-router v4 (2025-06, the old gateway's era): no [DONE], no
	// usage_from_* keys, no per-session semaphore, "session expired", zeroed
	// 200 for unknown sessions, bare "no provider accepting session",
	// capitalised healthcheck keys, no /v1/embeddings, no ModelType, no
	// X-Request-Id.
	V4 Version = "v4"
	// Current is proxy-router v7.x (2026).
	Current Version = "current"
)

// Config configures a Router. The zero value is usable.
type Config struct {
	// Username and Password for HTTP Basic auth; default "admin" / "fake".
	Username, Password string
	// Version defaults to Current.
	Version Version
	// OpenLatency is how long a successful handshake takes to become a mined
	// session (real time; the open cannot be cancelled by the client).
	OpenLatency time.Duration
	// CloseLatency delays the reply to a close (the close itself happens first).
	CloseLatency time.Duration
	// MinedDelay is added to the clock to get OpenedAt (the block time).
	MinedDelay time.Duration
	// MaxSessionDuration caps EndsAt-OpenedAt (getMaxSessionDuration); 0 = none.
	MaxSessionDuration time.Duration
	// Now is the base clock; default time.Now. Router.Advance adds to it.
	Now func() time.Time
	// StreamChunkDelay is the (real) delay between chunks of a reply; a
	// non-streaming reply takes as long as the stream would.
	StreamChunkDelay time.Duration
	// FirstByteTimeout is how long a prompt in ModeSlowFirstByte waits before
	// failing (real time; the real router takes 4 × 90 s).
	FirstByteTimeout time.Duration
	// Wallet is the router wallet address; default
	// 0x9f2c4e1d7b3a5c6e8f0a1b2c3d4e5f6a7b8c9d0e.
	Wallet string
	// MOR and ETH are the wallet balances in wei; defaults 1,000,000 MOR and
	// 1 ETH.
	MOR, ETH *big.Int
}

// Defaults used by New.
const (
	DefaultUsername = "admin"
	DefaultPassword = "fake"
	DefaultWallet   = "0x9f2c4e1d7b3a5c6e8f0a1b2c3d4e5f6a7b8c9d0e"
	// DiamondAddress is the Base Diamond, the spender the router approves.
	DiamondAddress = "0x6abe1d282f72b474e54527d93b979a4f64d3030a"
	// FakeVersion is reported by /healthcheck.
	FakeVersion = "v7.1.0-fake"
)

// Endpoint names, used by Counters.Calls and LastHeaders.
const (
	EndpointHealth      = "healthcheck"
	EndpointWallet      = "wallet"
	EndpointBalance     = "balance"
	EndpointAllowance   = "allowance"
	EndpointApprove     = "approve"
	EndpointSupply      = "token_supply"
	EndpointBudget      = "budget"
	EndpointModels      = "models"
	EndpointRatedBids   = "rated_bids"
	EndpointModelBids   = "model_bids"
	EndpointBid         = "bid"
	EndpointOpen        = "open_session"
	EndpointOpenBid     = "open_bid_session"
	EndpointSession     = "get_session"
	EndpointSessionList = "list_sessions"
	EndpointClose       = "close_session"
	EndpointChat        = "chat"
	EndpointEmbeddings  = "embeddings"
	EndpointLocalModels = "local_models"
)

// Router is the fake proxy-router. It is an http.Handler and safe for
// concurrent use. Create it with New.
type Router struct {
	cfg    Config
	clock  *clock
	start  time.Time
	routes []route

	mu            sync.Mutex
	version       Version
	wallet        string
	mor, eth      *big.Int
	allowance     map[string]*big.Int // spender -> MOR allowance
	models        map[string]*Model
	modelOrder    []string
	bids          map[string]*Bid // bid ID -> bid
	bidOrder      []string
	bidNonces     map[string]int64 // provider|model -> next nonce
	sessions      map[string]*session
	sessionOrder  []string
	sessionNonce  int64
	nonceFailures int
	walletMode    WalletMode
	counters      Counters
	lastHeaders   map[string]http.Header
	completionSeq int
}

// New returns a Router with no models; add them with AddModel and AddBid.
func New(cfg Config) *Router {
	if cfg.Username == "" {
		cfg.Username = DefaultUsername
	}
	if cfg.Password == "" {
		cfg.Password = DefaultPassword
	}
	if cfg.Version == "" {
		cfg.Version = Current
	}
	if cfg.Wallet == "" {
		cfg.Wallet = DefaultWallet
	}
	r := &Router{
		cfg:         cfg,
		clock:       newClock(cfg.Now),
		version:     cfg.Version,
		wallet:      mustAddress(cfg.Wallet),
		mor:         cloneBig(cfg.MOR),
		eth:         cloneBig(cfg.ETH),
		allowance:   map[string]*big.Int{},
		models:      map[string]*Model{},
		bids:        map[string]*Bid{},
		bidNonces:   map[string]int64{},
		sessions:    map[string]*session{},
		walletMode:  WalletOK,
		lastHeaders: map[string]http.Header{},
	}
	if r.mor == nil {
		r.mor, _ = new(big.Int).SetString("1000000000000000000000000", 10)
	}
	if r.eth == nil {
		r.eth = bigFrom(1_000_000_000_000_000_000)
	}
	r.start = r.clock.now()
	r.routes = r.routeTable()
	return r
}

// Start serves the Router on a new httptest.Server (HTTP/1.1, loopback).
// The caller must Close it.
func (r *Router) Start() *httptest.Server { return httptest.NewServer(r) }

// SetVersion switches the emulated version at runtime.
func (r *Router) SetVersion(v Version) {
	r.mu.Lock()
	r.version = v
	r.mu.Unlock()
}

// Version returns the emulated version.
func (r *Router) Version() Version {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.version
}

// Wallet returns the router wallet address (lowercase).
func (r *Router) Wallet() string { return r.wallet }

type params map[string]string

type route struct {
	method   string
	segs     []string // ":id" is a parameter
	endpoint string
	auth     bool
	current  bool // exists only in Current
	handle   func(http.ResponseWriter, *http.Request, params)
}

// routeTable lists the routes; static routes come before parameterised ones
// at the same position, as gin prefers them.
func (r *Router) routeTable() []route {
	rt := func(method, path, endpoint string, h func(http.ResponseWriter, *http.Request, params)) route {
		return route{method: method, segs: strings.Split(strings.Trim(path, "/"), "/"), endpoint: endpoint, auth: true, handle: h}
	}
	health := rt("GET", "/healthcheck", EndpointHealth, r.handleHealth)
	health.auth = false
	emb := rt("POST", "/v1/embeddings", EndpointEmbeddings, r.handleEmbeddings)
	emb.current = true
	return []route{
		health,
		rt("GET", "/wallet", EndpointWallet, r.handleWallet),
		rt("GET", "/blockchain/balance", EndpointBalance, r.handleBalance),
		rt("GET", "/blockchain/allowance", EndpointAllowance, r.handleAllowance),
		rt("POST", "/blockchain/approve", EndpointApprove, r.handleApprove),
		rt("GET", "/blockchain/token/supply", EndpointSupply, r.handleSupply),
		rt("GET", "/blockchain/sessions/budget", EndpointBudget, r.handleBudget),
		rt("GET", "/blockchain/models", EndpointModels, r.handleModels),
		rt("GET", "/blockchain/models/:id/bids/rated", EndpointRatedBids, r.handleRatedBids),
		rt("GET", "/blockchain/models/:id/bids/active", EndpointModelBids, r.handleModelBids),
		rt("GET", "/blockchain/models/:id/bids", EndpointModelBids, r.handleModelBids),
		rt("POST", "/blockchain/models/:id/session", EndpointOpen, r.handleOpenByModel),
		rt("GET", "/blockchain/bids/:id", EndpointBid, r.handleBid),
		rt("POST", "/blockchain/bids/:id/session", EndpointOpenBid, r.handleOpenByBid),
		rt("GET", "/blockchain/sessions/user/ids", EndpointSessionList, r.handleSessionIDs),
		rt("GET", "/blockchain/sessions/user", EndpointSessionList, r.handleSessionList),
		rt("GET", "/blockchain/sessions/provider", EndpointSessionList, r.handleSessionList),
		rt("GET", "/blockchain/sessions/:id", EndpointSession, r.handleGetSession),
		rt("POST", "/blockchain/sessions/:id/close", EndpointClose, r.handleClose),
		rt("POST", "/v1/chat/completions", EndpointChat, r.handleChat),
		emb,
		rt("GET", "/v1/models", EndpointLocalModels, r.handleLocalModels),
	}
}

func (r *Router) match(method, path string, v Version) (*route, params, bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if path == "" || path[0] != '/' || (len(path) > 1 && strings.HasSuffix(path, "/")) {
		return nil, nil, false
	}
	for i := range r.routes {
		rt := &r.routes[i]
		if rt.method != method || len(rt.segs) != len(segs) || (rt.current && v != Current) {
			continue
		}
		p := params{}
		ok := true
		for j, s := range rt.segs {
			if strings.HasPrefix(s, ":") {
				if segs[j] == "" {
					ok = false
					break
				}
				p[s[1:]] = segs[j]
			} else if s != segs[j] {
				ok = false
				break
			}
		}
		if ok {
			return rt, p, true
		}
	}
	return nil, nil, false
}

// ServeHTTP routes like gin: CORS for everyone, X-Request-Id (current), the
// plain-text 404 for unknown routes and wrong methods (a trailing slash gets
// gin's redirect), then Basic auth, then the handler.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	if req.Method == http.MethodOptions && req.Header.Get("Origin") != "" && req.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "session_id, model_id, chat_id, Authorization, content-type")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	v := r.Version()
	if v == Current {
		rid := req.Header.Get("X-Request-Id")
		if rid == "" {
			rid = newRequestID()
		}
		h.Set("X-Request-Id", rid)
	}
	rt, p, ok := r.match(req.Method, req.URL.Path, v)
	if !ok {
		if alt := strings.TrimSuffix(req.URL.Path, "/"); alt != req.URL.Path && alt != "" {
			if _, _, ok := r.match(req.Method, alt, v); ok {
				code := http.StatusMovedPermanently
				if req.Method != http.MethodGet {
					code = http.StatusTemporaryRedirect
				}
				u := *req.URL
				u.Path = alt
				http.Redirect(w, req, u.String(), code)
				return
			}
		}
		r.count(func(c *Counters) { c.NotFound++ })
		notFound(w)
		return
	}
	r.mu.Lock()
	r.lastHeaders[rt.endpoint] = req.Header.Clone()
	r.mu.Unlock()
	if rt.auth && !r.checkAuth(w, req) {
		return
	}
	r.count(func(c *Counters) {
		if c.Calls == nil {
			c.Calls = map[string]int{}
		}
		c.Calls[rt.endpoint]++
	})
	rt.handle(w, req, p)
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	s := hex.EncodeToString(b[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

func randomHash() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return "0x" + hex.EncodeToString(b[:])
}
