package chain

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// These tests run the Router against httptest servers that reproduce the
// proxy-router's exact bytes from spec §1–§2. fakerouter_test.go runs the
// same client against chain/fakerouter.

const (
	testUser = "admin"
	testPass = "s3cret-pw"

	modelID   = "0x729fd536e90580eaf5c617bc578567114530c64afe211d7100853a68521c13ca"
	bidID     = "0x3d5e8c1f0a2b4c6d8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f"
	sessionID = testSessionID
)

// recorded is one request as the stub server saw it.
type recorded struct {
	method, path, query string
	header              http.Header
	body                string
}

// stub is an httptest server that checks Basic auth like the router (every
// route except /healthcheck) and records requests.
type stub struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []recorded
	handle func(w http.ResponseWriter, r *http.Request, n int)
}

func newStub(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, n int)) *stub {
	t.Helper()
	s := &stub{t: t, handle: handle}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), string(body)})
		n := len(s.reqs)
		s.mu.Unlock()
		if r.URL.Path != "/healthcheck" {
			u, p, ok := r.BasicAuth()
			if !ok {
				writeJSON(w, 401, `{"error":"no basic auth provided"}`)
				return
			}
			if u != testUser || p != testPass {
				writeJSON(w, 401, `{"error":"invalid username or password"}`)
				return
			}
		}
		s.handle(w, r, n)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *stub) router(t *testing.T, mod ...func(*RouterConfig)) *Router {
	t.Helper()
	cfg := RouterConfig{BaseURL: s.srv.URL + "/", Username: testUser, Password: testPass}
	for _, m := range mod {
		m(&cfg)
	}
	r, err := NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (s *stub) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.reqs...)
}

func (s *stub) last() recorded {
	r := s.requests()
	if len(r) == 0 {
		s.t.Fatal("no request recorded")
	}
	return r[len(r)-1]
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// fixed answers every request with one status and body.
func fixed(status int, body string) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, _ int) { writeJSON(w, status, body) }
}

func wantKind(t *testing.T, err error, k ErrorKind) *RouterError {
	t.Helper()
	var re *RouterError
	if !errors.As(err, &re) {
		t.Fatalf("want *RouterError %v, got %T %v", k, err, err)
	}
	if re.Kind != k {
		t.Fatalf("want kind %v, got %v (%v)", k, re.Kind, re)
	}
	return re
}

func checkControlHeaders(t *testing.T, r recorded) {
	t.Helper()
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(testUser+":"+testPass))
	if got := r.header.Get("Authorization"); got != want {
		t.Errorf("%s %s: Authorization %q", r.method, r.path, got)
	}
	for _, h := range []string{"Session_id", "session_id", "X-Session-Id", "X-Private-Key"} {
		if v := r.header.Values(h); len(v) != 0 {
			t.Errorf("%s %s: unexpected header %s", r.method, r.path, h)
		}
	}
	if strings.Contains(r.query, "session_id") {
		t.Errorf("%s %s: session_id in query", r.method, r.path)
	}
	if r.header.Get("User-Agent") != DefaultUserAgent {
		t.Errorf("User-Agent %q", r.header.Get("User-Agent"))
	}
}

// ---- opens ----

func TestOpenModelSessionRequestShape(t *testing.T) {
	s := newStub(t, fixed(200, `{"sessionID":"0x6C1F0D2AB7D54E3F9A0B11C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F708192AE9A2"}`))
	r := s.router(t)
	ctx := WithRequestID(context.Background(), "req-123")
	// Upper case without 0x: normalised before the call.
	got, err := r.OpenModelSession(ctx, strings.ToUpper(modelID[2:]), 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got != sessionID {
		t.Fatalf("session ID %q", got)
	}
	req := s.last()
	if req.method != "POST" || req.path != "/blockchain/models/"+modelID+"/session" {
		t.Fatalf("%s %s", req.method, req.path)
	}
	if req.body != `{"sessionDuration":1800,"directPayment":false,"failover":false}` {
		t.Fatalf("body %s", req.body)
	}
	if req.header.Get("Content-Type") != "application/json" {
		t.Errorf("content type %q", req.header.Get("Content-Type"))
	}
	if req.header.Get("X-Request-Id") != "req-123" {
		t.Errorf("x-request-id %q", req.header.Get("X-Request-Id"))
	}
	checkControlHeaders(t, req)
}

func TestOpenRoundsDurationUpAndBidBody(t *testing.T) {
	s := newStub(t, fixed(200, `{"sessionID":"`+sessionID+`"}`))
	r := s.router(t)
	if _, err := r.OpenBidSession(context.Background(), bidID, 299*time.Second+time.Millisecond); err != nil {
		t.Fatal(err)
	}
	req := s.last()
	if req.path != "/blockchain/bids/"+bidID+"/session" || req.body != `{"sessionDuration":300}` {
		t.Fatalf("%s %s", req.path, req.body)
	}
	checkControlHeaders(t, req)
	if req.header.Get("X-Request-Id") != "" {
		t.Error("x-request-id sent without one in the context")
	}
}

func TestOpenLocalValidationMakesNoCall(t *testing.T) {
	s := newStub(t, fixed(200, `{}`))
	r := s.router(t)
	ctx := context.Background()
	for name, f := range map[string]func() error{
		"short id":      func() error { _, err := r.OpenModelSession(ctx, "0x1234", time.Hour); return err },
		"model name":    func() error { _, err := r.OpenModelSession(ctx, "llama-3.3-70b", time.Hour); return err },
		"non-hex":       func() error { _, err := r.OpenModelSession(ctx, "0x"+strings.Repeat("g", 64), time.Hour); return err },
		"zero duration": func() error { _, err := r.OpenModelSession(ctx, modelID, 0); return err },
		"bid id":        func() error { _, err := r.OpenBidSession(ctx, "nope", time.Hour); return err },
		"close":         func() error { return r.CloseSession(ctx, "0x") },
		"session":       func() error { _, err := r.Session(ctx, sessionID+"00"); return err },
		"rated bids":    func() error { _, err := r.RatedBids(ctx, ""); return err },
		"bid":           func() error { _, err := r.Bid(ctx, "x"); return err },
		"approve nil": func() error {
			_, err := r.Approve(ctx, common.HexToAddress("0x1"), nil)
			return err
		},
		"approve zero spender": func() error { _, err := r.Approve(ctx, common.Address{}, big.NewInt(1)); return err },
	} {
		err := f()
		re := wantKind(t, err, KindBadRequest)
		if re.Status != 0 {
			t.Errorf("%s: status %d", name, re.Status)
		}
	}
	if n := len(s.requests()); n != 0 {
		t.Fatalf("%d network calls", n)
	}
}

func TestOpenErrorsAreNotRetried(t *testing.T) {
	for _, tc := range []struct {
		body string
		kind ErrorKind
	}{
		{`{"error":"failed to send transaction: open session failed: failed to send transaction: replacement transaction underpriced"}`, KindNonceRace},
		{`{"error":"no bids available"}`, KindNoBids},
		{`{"error":"no provider accepting session: [{\"provider\":\"0xAbC0000000000000000000000000000000000001\",\"reason\":\"failed to initiate session: provider request failed: code: 500, msg: <nil>, error: failed to connect to provider: dial tcp 10.0.0.9:3333: connect: connection refused\"}]"}`, KindNoProvider},
		{`{"error":"failed to send transaction: open session failed: failed to build transaction: EVM error: SessionTooShort() []"}`, KindSessionTooShort},
		{`{"error":"failed to send transaction: open session failed: failed to build transaction: execution reverted: ERC20: transfer amount exceeds balance"}`, KindInsufficientFunds},
	} {
		s := newStub(t, fixed(500, tc.body))
		_, err := s.router(t).OpenModelSession(context.Background(), modelID, time.Hour)
		re := wantKind(t, err, tc.kind)
		if re.Status != 500 || re.OutcomeUnknown() {
			t.Errorf("%v: status %d unknown %v", tc.kind, re.Status, re.OutcomeUnknown())
		}
		if strings.Contains(err.Error(), "10.0.0.9") {
			t.Errorf("leak: %v", err)
		}
		if n := len(s.requests()); n != 1 {
			t.Errorf("%v: %d requests, want 1", tc.kind, n)
		}
	}
}

// hangUp closes the connection without a response, like the router when a
// handler panics (no recovery middleware).
func hangUp(t *testing.T, w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		t.Error("no hijacker")
		return
	}
	c, _, err := hj.Hijack()
	if err == nil {
		c.Close()
	}
}

func TestOpenConnectionDroppedIsOutcomeUnknown(t *testing.T) {
	var s *stub
	s = newStub(t, func(w http.ResponseWriter, _ *http.Request, _ int) { hangUp(s.t, w) })
	_, err := s.router(t).OpenModelSession(context.Background(), modelID, time.Hour)
	re := wantKind(t, err, KindUnreachable)
	if !re.OutcomeUnknown() || !IsOutcomeUnknown(err) {
		t.Fatal("a dropped open must be outcome-unknown")
	}
	if n := len(s.requests()); n != 1 {
		t.Fatalf("open retried: %d requests", n)
	}
	if strings.Contains(err.Error(), "127.0.0.1") {
		t.Fatalf("leak: %v", err)
	}
}

func TestOpenMalformedSuccess(t *testing.T) {
	s := newStub(t, fixed(200, `{"sessionID":""}`))
	_, err := s.router(t).OpenModelSession(context.Background(), modelID, time.Hour)
	re := wantKind(t, err, KindUnknown)
	if !re.OutcomeUnknown() {
		t.Fatal("2xx without ID must be outcome-unknown")
	}
}

// ---- close ----

func TestCloseSession(t *testing.T) {
	s := newStub(t, fixed(200, `{"tx":"0x9a8b7c6d5e4f30211a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081"}`))
	r := s.router(t)
	tx, gone, err := r.CloseSessionTx(context.Background(), strings.ToUpper(sessionID[2:]))
	if err != nil || gone || tx != "0x9a8b7c6d5e4f30211a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081" {
		t.Fatalf("%q %v %v", tx, gone, err)
	}
	req := s.last()
	if req.method != "POST" || req.path != "/blockchain/sessions/"+sessionID+"/close" || req.body != "" {
		t.Fatalf("%s %s %q", req.method, req.path, req.body)
	}
	checkControlHeaders(t, req)
}

func TestCloseAlreadyGoneIsSuccess(t *testing.T) {
	for _, body := range []string{
		`{"error":"failed to send transaction: close session failed: failed to build transaction: EVM error: SessionAlreadyClosed() []"}`,
		`{"error":"failed to get session report from user: session not found"}`,
	} {
		s := newStub(t, fixed(500, body))
		r := s.router(t)
		if err := r.CloseSession(context.Background(), sessionID); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if _, gone, err := r.CloseSessionTx(context.Background(), sessionID); !gone || err != nil {
			t.Fatalf("%s: gone=%v err=%v", body, gone, err)
		}
	}
}

func TestCloseErrorsNotRetried(t *testing.T) {
	s := newStub(t, fixed(500, `{"error":"failed to send transaction: close session failed: failed to send transaction: nonce too low"}`))
	err := s.router(t).CloseSession(context.Background(), sessionID)
	if !IsNonceRace(err) {
		t.Fatalf("got %v", err)
	}
	if n := len(s.requests()); n != 1 {
		t.Fatalf("%d requests", n)
	}
}

// ---- session view ----

const sessionBody = `{"session":{
    "Id":"0x6c1f0d2ab7d54e3f9a0b11c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192ae9a2",
    "User":"0x9f2c4e1d7b3a5c6e8f0a1b2c3d4e5f6a7b8c9d0e",
    "Provider":"0x1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b",
    "ModelAgentId":"0x729fd536e90580eaf5c617bc578567114530c64afe211d7100853a68521c13ca",
    "BidID":"0x3d5e8c1f0a2b4c6d8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f",
    "Stake":4170000000000000000,
    "PricePerSecond":10000000000000,
    "CloseoutReceipt":"",
    "CloseoutType":0,
    "ProviderWithdrawnAmount":0,
    "OpenedAt":1752000000,
    "EndsAt":1752001800,
    "ClosedAt":0}}`

func TestSessionDecode(t *testing.T) {
	s := newStub(t, fixed(200, sessionBody))
	r := s.router(t)
	si, err := r.Session(context.Background(), sessionID)
	if err != nil {
		t.Fatal(err)
	}
	req := s.last()
	if req.method != "GET" || req.path != "/blockchain/sessions/"+sessionID {
		t.Fatalf("%s %s", req.method, req.path)
	}
	checkControlHeaders(t, req)
	stake, _ := new(big.Int).SetString("4170000000000000000", 10)
	if si.ID != sessionID || si.BidID != bidID || si.ModelAgentID != modelID ||
		si.User != common.HexToAddress("0x9f2c4e1d7b3a5c6e8f0a1b2c3d4e5f6a7b8c9d0e") ||
		si.Provider != common.HexToAddress("0x1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b") ||
		si.Stake.Cmp(stake) != 0 || si.PricePerSecond.Cmp(big.NewInt(10000000000000)) != 0 ||
		!si.OpenedAt.Equal(time.Unix(1752000000, 0)) || !si.EndsAt.Equal(time.Unix(1752001800, 0)) ||
		!si.ClosedAt.IsZero() || si.CloseoutReceipt != "" {
		t.Fatalf("decoded %+v", si)
	}
	if !si.Open(time.Unix(1752001799, 0)) || si.Open(time.Unix(1752001800, 0)) {
		t.Fatal("Open(now) around EndsAt")
	}
}

func TestSessionClosedEIP55(t *testing.T) {
	body := strings.NewReplacer(
		`"ClosedAt":0`, `"ClosedAt":1752000900`,
		`"CloseoutReceipt":""`, `"CloseoutReceipt":"6c1f0d2ab7d54e3f9a0b11c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192ae9a2000000000000000000000000000000000000000000000000000000000000000a"`,
		`0x9f2c4e1d7b3a5c6e8f0a1b2c3d4e5f6a7b8c9d0e`, common.HexToAddress("0x9f2c4e1d7b3a5c6e8f0a1b2c3d4e5f6a7b8c9d0e").Hex(),
		`"Stake":4170000000000000000`, `"Stake":18446744073709551617`,
	).Replace(sessionBody)
	s := newStub(t, fixed(200, body))
	si, err := s.router(t).Session(context.Background(), sessionID)
	if err != nil {
		t.Fatal(err)
	}
	if si.User != common.HexToAddress("0x9f2c4e1d7b3a5c6e8f0a1b2c3d4e5f6a7b8c9d0e") {
		t.Fatal("EIP-55 address")
	}
	if si.ClosedAt.Unix() != 1752000900 || si.Open(time.Unix(1752000000, 0)) {
		t.Fatal("closed session reported open")
	}
	if !strings.HasPrefix(si.CloseoutReceipt, "6c1f0d") || si.Stake.String() != "18446744073709551617" {
		t.Fatalf("%+v", si)
	}
}

func TestSessionNotFoundBothVersions(t *testing.T) {
	// current: 500 session not found
	s := newStub(t, fixed(500, `{"error":"session not found"}`))
	_, err := s.router(t).Session(context.Background(), sessionID)
	wantKind(t, err, KindSessionNotFound)
	if n := len(s.requests()); n != 1 {
		t.Fatalf("a 500 must not be retried: %d", n)
	}
	// v4: 200 with a zeroed session echoing the ID
	zeroed := `{"session":{"Id":"` + sessionID + `","User":"0x0000000000000000000000000000000000000000","Provider":"0x0000000000000000000000000000000000000000","ModelAgentId":"0x0000000000000000000000000000000000000000000000000000000000000000","BidID":"0x0000000000000000000000000000000000000000000000000000000000000000","Stake":0,"PricePerSecond":0,"CloseoutReceipt":"","CloseoutType":0,"ProviderWithdrawnAmount":0,"OpenedAt":0,"EndsAt":0,"ClosedAt":0}}`
	s = newStub(t, fixed(200, zeroed))
	_, err = s.router(t).Session(context.Background(), sessionID)
	re := wantKind(t, err, KindSessionNotFound)
	if re.Status != 200 || !IsSessionNotFound(err) {
		t.Fatalf("%+v", re)
	}
	// GW-old's mistake: a top-level shape is malformed, not "open".
	s = newStub(t, fixed(200, `{"ClosedAt":0,"EndsAt":1752001800}`))
	_, err = s.router(t).Session(context.Background(), sessionID)
	wantKind(t, err, KindUnknown)
}

// ---- models and bids ----

const modelsBody = `{"models":[
 {"Id":"0x729fd536e90580eaf5c617bc578567114530c64afe211d7100853a68521c13ca",
  "IpfsCID":"0x397fef620ad2e217adf44dc42fde3e68ddfcfe36c550f29acab08761bb22d4ad",
  "Fee":1,"Stake":100000000000000000,
  "Owner":"0x23d25ead101cb9bfdd7970176597e72da344557e",
  "Name":"llama-3.3-70b-web","Tags":["llama-3.3-70b","web-search-enabled"],
  "CreatedAt":1749184806,"IsDeleted":false,"ModelType":"LLM"},
 {"Id":"0x0000000000000000000000000000000000000000000000000000000000000abc",
  "IpfsCID":"0x0000000000000000000000000000000000000000000000000000000000000000",
  "Fee":0,"Stake":0,"Owner":"0x23D25EAD101cB9bfDD7970176597E72da344557E",
  "Name":"old","Tags":[],"CreatedAt":1700000000,"IsDeleted":true}]}`

func TestModels(t *testing.T) {
	s := newStub(t, fixed(200, modelsBody))
	models, err := s.router(t).Models(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	req := s.last()
	if req.method != "GET" || req.path != "/blockchain/models" || req.query != "" {
		t.Fatalf("%s %s?%s", req.method, req.path, req.query)
	}
	checkControlHeaders(t, req)
	if len(models) != 2 {
		t.Fatalf("%d models (deleted ones must be included)", len(models))
	}
	m := models[0]
	owner := common.HexToAddress("0x23d25ead101cb9bfdd7970176597e72da344557e")
	if m.ID != modelID || m.Name != "llama-3.3-70b-web" || len(m.Tags) != 2 || m.Tags[1] != "web-search-enabled" ||
		m.ModelType != "LLM" || m.IsDeleted || !m.CreatedAt.Equal(time.Unix(1749184806, 0)) ||
		m.Owner != owner || m.Fee.Int64() != 1 || m.Stake.String() != "100000000000000000" ||
		m.IpfsCID != "0x397fef620ad2e217adf44dc42fde3e68ddfcfe36c550f29acab08761bb22d4ad" {
		t.Fatalf("%+v", m)
	}
	if d := models[1]; !d.IsDeleted || d.ModelType != "" || d.Owner != owner {
		t.Fatalf("deleted/v4 model %+v", d)
	}
}

func TestModelsRPCFailure400IsNotBadRequest(t *testing.T) {
	s := newStub(t, fixed(400, `{"error":"Post \"https://arb1.example.io/rpc\": context deadline exceeded"}`))
	_, err := s.router(t).Models(context.Background())
	re := wantKind(t, err, KindUnknown)
	if strings.Contains(re.Error(), "example.io") {
		t.Fatalf("leak: %v", re)
	}
}

const ratedBidsBody = `{"bids":[
 {"ID":"0x0000000000000000000000000000000000000000000000000000000000000000",
  "Bid":{"Id":"0x3d5e8c1f0a2b4c6d8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f","Provider":"0x1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b","ModelAgentId":"0x729fd536e90580eaf5c617bc578567114530c64afe211d7100853a68521c13ca",
         "PricePerSecond":"10000000000000","Nonce":"0","CreatedAt":"1749185000","DeletedAt":"0"},
  "Score":0.8731},
 {"ID":"0x0000000000000000000000000000000000000000000000000000000000000000",
  "Bid":{"Id":"0x00000000000000000000000000000000000000000000000000000000000000b2","Provider":"0x1A2B3C4D5E6F7A8B9C0D1E2F3A4B5C6D7E8F9A0C","ModelAgentId":"0x729fd536e90580eaf5c617bc578567114530c64afe211d7100853a68521c13ca",
         "PricePerSecond":"18446744073709551617","Nonce":"3","CreatedAt":"1749185100","DeletedAt":"0"},
  "Score":0.5}]}`

func TestRatedBids(t *testing.T) {
	s := newStub(t, fixed(200, ratedBidsBody))
	bids, err := s.router(t).RatedBids(context.Background(), modelID)
	if err != nil {
		t.Fatal(err)
	}
	req := s.last()
	if req.method != "GET" || req.path != "/blockchain/models/"+modelID+"/bids/rated" {
		t.Fatalf("%s %s", req.method, req.path)
	}
	checkControlHeaders(t, req)
	if len(bids) != 2 {
		t.Fatalf("%d bids", len(bids))
	}
	b := bids[0]
	if b.Bid.ID != bidID || b.Score != 0.8731 || b.Bid.ModelAgentID != modelID ||
		b.Bid.Provider != common.HexToAddress("0x1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b") ||
		b.Bid.PricePerSecond.Int64() != 10000000000000 || b.Bid.Nonce.Sign() != 0 ||
		!b.Bid.CreatedAt.Equal(time.Unix(1749185000, 0)) || !b.Bid.DeletedAt.IsZero() || b.Bid.Deleted() || !b.Bid.Exists() {
		t.Fatalf("%+v", b)
	}
	if bids[1].Bid.PricePerSecond.String() != "18446744073709551617" || bids[1].Bid.Nonce.Int64() != 3 {
		t.Fatalf("%+v", bids[1])
	}

	s = newStub(t, fixed(200, `{"bids":[]}`))
	bids, err = s.router(t).RatedBids(context.Background(), modelID)
	if err != nil || bids == nil || len(bids) != 0 {
		t.Fatalf("empty: %v %v", bids, err)
	}
}

func TestBid(t *testing.T) {
	s := newStub(t, fixed(200, `{"bid":{"Id":"`+bidID+`","Provider":"0x1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b","ModelAgentId":"`+modelID+`","PricePerSecond":"10000000000000","Nonce":"1","CreatedAt":"1749185000","DeletedAt":"1749186000"}}`))
	b, err := s.router(t).Bid(context.Background(), bidID)
	if err != nil {
		t.Fatal(err)
	}
	if s.last().path != "/blockchain/bids/"+bidID {
		t.Fatal(s.last().path)
	}
	if b.ID != bidID || !b.Deleted() || b.DeletedAt.Unix() != 1749186000 || b.Nonce.Int64() != 1 {
		t.Fatalf("%+v", b)
	}
	// Unknown bid: zeroed, no error.
	s = newStub(t, fixed(200, `{"bid":{"Id":"`+bidID+`","Provider":"0x0000000000000000000000000000000000000000","ModelAgentId":"0x0000000000000000000000000000000000000000000000000000000000000000","PricePerSecond":"0","Nonce":"0","CreatedAt":"0","DeletedAt":"0"}}`))
	b, err = s.router(t).Bid(context.Background(), bidID)
	if err != nil || b.Exists() {
		t.Fatalf("%+v %v", b, err)
	}
}

// ---- health, wallet, approve ----

func TestHealth(t *testing.T) {
	for _, tc := range []struct {
		status  int
		body    string
		healthy bool
		version string
	}{
		{200, `{"status":"healthy","version":"v7.1.0","uptime":"3h2m1s","components":{"badgerdb":"healthy, size=12.3MB"}}`, true, "v7.1.0"},
		{200, `{"Status":"healthy","Version":"v4.0.0","Uptime":"1m0s"}`, true, "v4.0.0"},
		{503, `{"status":"degraded","version":"v7.1.0","uptime":"1s","components":{"badgerdb":"unhealthy"}}`, false, "v7.1.0"},
	} {
		s := newStub(t, fixed(tc.status, tc.body))
		h, err := s.router(t).Health(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		if h.Healthy() != tc.healthy || h.Version != tc.version || h.Uptime == "" {
			t.Fatalf("%+v", h)
		}
		req := s.last()
		if req.path != "/healthcheck" || req.header.Get("Authorization") != "" {
			t.Fatalf("health must be sent without auth: %v", req.header)
		}
	}
	s := newStub(t, fixed(200, `{"status":"healthy","version":"v7.1.0","uptime":"3h2m1s","components":{"badgerdb":"healthy, size=12.3MB"}}`))
	h, _ := s.router(t).Health(context.Background())
	if h.Components["badgerdb"] != "healthy, size=12.3MB" {
		t.Fatalf("%+v", h)
	}
	s = newStub(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(503)
		_, _ = io.WriteString(w, "<html>down</html>")
	})
	_, err := s.router(t).Health(context.Background())
	wantKind(t, err, KindUnreachable)
}

func TestWalletApproveBalance(t *testing.T) {
	spender := common.HexToAddress("0xb8C55cD613af947E73E262F0d3C54b7211Af16CF")
	s := newStub(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		switch r.URL.Path {
		case "/wallet":
			writeJSON(w, 200, `{"address":"0x9f2c4e1d7b3a5c6e8f0a1b2c3d4e5f6a7b8c9d0e"}`)
		case "/blockchain/approve":
			writeJSON(w, 200, `{"tx":"0xabc0000000000000000000000000000000000000000000000000000000000001"}`)
		case "/blockchain/balance":
			writeJSON(w, 200, `{"eth":"1000000000000000000","mor":"18446744073709551617"}`)
		case "/blockchain/allowance":
			writeJSON(w, 200, `{"allowance":"42"}`)
		default:
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(404)
			_, _ = io.WriteString(w, "404 page not found")
		}
	})
	r := s.router(t)
	ctx := context.Background()
	addr, err := r.Wallet(ctx)
	if err != nil || addr != common.HexToAddress("0x9f2c4e1d7b3a5c6e8f0a1b2c3d4e5f6a7b8c9d0e") {
		t.Fatalf("%v %v", addr, err)
	}
	checkControlHeaders(t, s.last())
	amount, _ := new(big.Int).SetString("4170000000000000000", 10)
	tx, err := r.Approve(ctx, spender, amount)
	if err != nil || tx != "0xabc0000000000000000000000000000000000000000000000000000000000001" {
		t.Fatalf("%v %v", tx, err)
	}
	req := s.last()
	if req.method != "POST" || req.body != "" || req.query != "amount=4170000000000000000&spender="+spender.Hex() {
		t.Fatalf("%s %q %q", req.method, req.body, req.query)
	}
	checkControlHeaders(t, req)
	eth, mor, err := r.Balance(ctx)
	if err != nil || eth.String() != "1000000000000000000" || mor.String() != "18446744073709551617" {
		t.Fatalf("%v %v %v", eth, mor, err)
	}
	al, err := r.Allowance(ctx, spender)
	if err != nil || al.Int64() != 42 || s.last().query != "spender="+spender.Hex() {
		t.Fatalf("%v %v %q", al, err, s.last().query)
	}
}

// ---- transport behaviour ----

func TestAuthFailure(t *testing.T) {
	s := newStub(t, fixed(200, modelsBody))
	r := s.router(t, func(c *RouterConfig) { c.Password = "wrong-password" })
	_, err := r.Models(context.Background())
	re := wantKind(t, err, KindUnauthorized)
	if re.Status != 401 || strings.Contains(err.Error(), "wrong-password") {
		t.Fatalf("%v", err)
	}
}

func TestRouteNotFound(t *testing.T) {
	s := newStub(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(404)
		_, _ = io.WriteString(w, "404 page not found")
	})
	_, err := s.router(t).Models(context.Background())
	wantKind(t, err, KindRouteNotFound)
}

func TestRedirectNotFollowed(t *testing.T) {
	s := newStub(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		http.Redirect(w, r, "http://elsewhere.example.com/x", http.StatusFound)
	})
	_, err := s.router(t).Models(context.Background())
	wantKind(t, err, KindUnknown)
	if len(s.requests()) != 1 {
		t.Fatal("redirect followed")
	}
}

func TestGETRetriesOnceOnTransportError(t *testing.T) {
	var s *stub
	s = newStub(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		if n == 1 {
			hangUp(s.t, w)
			return
		}
		writeJSON(w, 200, modelsBody)
	})
	models, err := s.router(t).Models(context.Background())
	if err != nil || len(models) != 2 {
		t.Fatalf("%v %v", models, err)
	}
	if n := len(s.requests()); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
	// Two failures in a row: only one retry.
	s = newStub(t, func(w http.ResponseWriter, _ *http.Request, _ int) { hangUp(s.t, w) })
	_, err = s.router(t).Session(context.Background(), sessionID)
	wantKind(t, err, KindUnreachable)
	if n := len(s.requests()); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
}

func TestResponseSizeLimit(t *testing.T) {
	s := newStub(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"models":[`)
		chunk := strings.Repeat(" ", 64<<10)
		for i := 0; i < (MaxResponseBody/len(chunk))+2; i++ {
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
	})
	_, err := s.router(t).Models(context.Background())
	re := wantKind(t, err, KindUnknown)
	if !strings.Contains(re.Message, "exceeds") {
		t.Fatal(re)
	}
}

// neverAnswers blocks until the client goes away (or the test ends).
func neverAnswers(t *testing.T) *stub {
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	return newStub(t, func(_ http.ResponseWriter, r *http.Request, _ int) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	})
}

func TestOpenTimeout(t *testing.T) {
	s := neverAnswers(t)
	r := s.router(t, func(c *RouterConfig) { c.OpenTimeout = 50 * time.Millisecond })
	start := time.Now()
	_, err := r.OpenModelSession(context.Background(), modelID, time.Hour)
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("took %v", el)
	}
	re := wantKind(t, err, KindTimeout)
	if !IsTimeout(err) || !errors.Is(err, context.DeadlineExceeded) || !re.OutcomeUnknown() {
		t.Fatalf("%v unknown=%v", err, re.OutcomeUnknown())
	}
	if !strings.Contains(re.Message, "outcome unknown") {
		t.Errorf("message %q", re.Message)
	}
	if n := len(s.requests()); n != 1 {
		t.Fatalf("%d requests", n)
	}
}

func TestCallerDeadlineWinsAndCancel(t *testing.T) {
	s := neverAnswers(t)
	r := s.router(t) // default OpenTimeout 300 s
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.OpenModelSession(ctx, modelID, time.Hour)
	wantKind(t, err, KindTimeout)
	if time.Since(start) > 5*time.Second {
		t.Fatal("caller deadline ignored")
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	err = r.CloseSession(ctx, sessionID)
	re := wantKind(t, err, KindCanceled)
	if !errors.Is(err, context.Canceled) || !re.OutcomeUnknown() {
		t.Fatalf("%v", err)
	}

	// GETs honour ReadTimeout.
	r = s.router(t, func(c *RouterConfig) { c.ReadTimeout = 50 * time.Millisecond })
	_, err = r.Models(context.Background())
	wantKind(t, err, KindTimeout)
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r, err := NewRouter(RouterConfig{BaseURL: "http://" + addr, Username: testUser, Password: testPass})
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(addr)
	for name, f := range map[string]func() error{
		"open":   func() error { _, err := r.OpenModelSession(context.Background(), modelID, time.Hour); return err },
		"models": func() error { _, err := r.Models(context.Background()); return err },
		"health": func() error { _, err := r.Health(context.Background()); return err },
	} {
		err := f()
		re := wantKind(t, err, KindUnreachable)
		if strings.Contains(err.Error(), "127.0.0.1") || strings.Contains(err.Error(), port) || strings.Contains(err.Error(), testPass) {
			t.Errorf("%s: leak in %q", name, err)
		}
		if re.OutcomeUnknown() {
			t.Errorf("%s: a refused dial is a known outcome", name)
		}
		if !strings.Contains(re.Message, "connection refused") {
			t.Errorf("%s: %q", name, re.Message)
		}
	}
}

func TestRequestIDValidation(t *testing.T) {
	s := newStub(t, fixed(200, modelsBody))
	r := s.router(t)
	if RequestIDFrom(context.Background()) != "" {
		t.Fatal("empty context")
	}
	ctx := WithRequestID(context.Background(), "bad\r\nX-Injected: 1")
	if _, err := r.Models(ctx); err != nil {
		t.Fatal(err)
	}
	if h := s.last().header; h.Get("X-Request-Id") != "" || h.Get("X-Injected") != "" {
		t.Fatalf("invalid request id sent: %v", h)
	}
}

func TestNewRouterValidation(t *testing.T) {
	for name, cfg := range map[string]RouterConfig{
		"empty url":     {Username: "a", Password: "b"},
		"relative":      {BaseURL: "proxy-router:8082", Username: "a", Password: "b"},
		"ftp":           {BaseURL: "ftp://x", Username: "a", Password: "b"},
		"creds in url":  {BaseURL: "http://admin:topsecret@x:8082", Username: "a", Password: "b"},
		"query":         {BaseURL: "http://x:8082?a=b", Username: "a", Password: "b"},
		"no user":       {BaseURL: "http://x:8082", Password: "topsecret"},
		"no password":   {BaseURL: "http://x:8082", Username: "a"},
		"colon in user": {BaseURL: "http://x:8082", Username: "a:b", Password: "topsecret"},
		"negative":      {BaseURL: "http://x:8082", Username: "a", Password: "topsecret", OpenTimeout: -1},
	} {
		_, err := NewRouter(cfg)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if strings.Contains(err.Error(), "topsecret") {
			t.Errorf("%s: password in error %q", name, err)
		}
	}
	r, err := NewRouter(RouterConfig{BaseURL: "http://proxy-router:8082/prefix/", Username: "a", Password: "topsecret"})
	if err != nil {
		t.Fatal(err)
	}
	if r.BaseURL().String() != "http://proxy-router:8082/prefix" {
		t.Fatal(r.BaseURL())
	}
	r.BaseURL().Host = "mutated"
	if r.BaseURL().Host != "proxy-router:8082" {
		t.Fatal("BaseURL not a copy")
	}
	if r.openTimeout != DefaultOpenTimeout || r.closeTimeout != DefaultCloseTimeout || r.readTimeout != DefaultReadTimeout {
		t.Fatal("defaults")
	}
	cfg := RouterConfig{BaseURL: "http://u:p@x", Username: "admin", Password: "topsecret"}
	for _, s := range []string{cfg.String(), cfg.GoString(), r.String()} {
		if strings.Contains(s, "topsecret") || strings.Contains(s, "u:p@") {
			t.Errorf("secret in %q", s)
		}
	}
}

func TestPathPrefixKept(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Path
		writeJSON(w, 200, `{"models":[]}`)
	}))
	defer srv.Close()
	r, err := NewRouter(RouterConfig{BaseURL: srv.URL + "/router/", Username: "a", Password: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Models(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got != "/router/blockchain/models" {
		t.Fatal(got)
	}
}

func TestConcurrentUse(t *testing.T) {
	s := newStub(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/session"):
			writeJSON(w, 200, `{"sessionID":"`+sessionID+`"}`)
		case strings.HasPrefix(r.URL.Path, "/blockchain/sessions/"):
			writeJSON(w, 200, sessionBody)
		default:
			writeJSON(w, 200, modelsBody)
		}
	})
	r := s.router(t)
	var wg sync.WaitGroup
	errs := make(chan error, 48)
	for i := 0; i < 16; i++ {
		wg.Add(3)
		go func() { defer wg.Done(); _, err := r.Models(context.Background()); errs <- err }()
		go func() { defer wg.Done(); _, err := r.Session(context.Background(), sessionID); errs <- err }()
		go func() {
			defer wg.Done()
			_, err := r.OpenModelSession(context.Background(), modelID, time.Hour)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
