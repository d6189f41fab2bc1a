package chain_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/morpheus-gateway/caddy-morpheus/chain"
	"github.com/morpheus-gateway/caddy-morpheus/chain/fakerouter"
)

// The Router against chain/fakerouter, the faithful fake of spec §6. An
// external test package, so that the fake may import chain without a cycle.

func newFake(t *testing.T, cfg fakerouter.Config) (*fakerouter.Router, *chain.Router) {
	t.Helper()
	cfg.Username, cfg.Password = "admin", "fake-pw"
	fake := fakerouter.New(cfg)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	r, err := chain.NewRouter(chain.RouterConfig{BaseURL: srv.URL, Username: "admin", Password: "fake-pw",
		OpenTimeout: 10 * time.Second, CloseTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return fake, r
}

func TestFakeRouterLifecycle(t *testing.T) {
	base := time.Unix(1752000000, 0).UTC()
	fake, r := newFake(t, fakerouter.Config{Now: func() time.Time { return base }, MinedDelay: 7 * time.Second})
	ctx := chain.WithRequestID(context.Background(), "lifecycle-1")

	modelID := fake.AddModel(fakerouter.Model{Name: "llama-3.3-70b", Tags: []string{"llm"}})
	deletedID := fake.AddModel(fakerouter.Model{Name: "gone", IsDeleted: true})
	best := fake.AddBid(modelID, fakerouter.Bid{Score: 0.9})
	second := fake.AddBid(modelID, fakerouter.Bid{Score: 0.4})

	h, err := r.Health(ctx)
	if err != nil || !h.Healthy() || h.Version == "" {
		t.Fatalf("health %+v %v", h, err)
	}
	if hdr := fake.LastHeaders(fakerouter.EndpointHealth); hdr.Get("Authorization") != "" {
		t.Fatal("health sent with auth")
	}

	// Open → Session (EndsAt read back).
	sid, err := r.OpenModelSession(ctx, modelID, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := chain.NormalizeID(sid); n != sid {
		t.Fatalf("session ID not canonical: %q", sid)
	}
	hdr := fake.LastHeaders(fakerouter.EndpointOpen)
	if hdr.Get("Authorization") == "" || hdr.Get("X-Request-Id") != "lifecycle-1" ||
		hdr.Get("X-Private-Key") != "" || hdr.Get("Session_id") != "" {
		t.Fatalf("open headers %v", hdr)
	}
	si, err := r.Session(ctx, sid)
	if err != nil {
		t.Fatal(err)
	}
	if si.ID != sid || si.BidID != best || si.ModelAgentID != modelID ||
		si.User != common.HexToAddress(fake.Wallet()) || si.Stake.Sign() <= 0 || si.PricePerSecond.Sign() <= 0 {
		t.Fatalf("session %+v", si)
	}
	if !si.OpenedAt.Equal(base.Add(7*time.Second)) || !si.EndsAt.Equal(si.OpenedAt.Add(30*time.Minute)) {
		t.Fatalf("OpenedAt %v EndsAt %v", si.OpenedAt, si.EndsAt)
	}
	if !si.Open(base) || !si.ClosedAt.IsZero() {
		t.Fatal("new session not open")
	}

	// Close → closed on chain → Close again is nil.
	if err := r.CloseSession(ctx, sid); err != nil {
		t.Fatal(err)
	}
	si, err = r.Session(ctx, sid)
	if err != nil || si.ClosedAt.IsZero() || si.Open(base) || si.CloseoutReceipt == "" || strings.HasPrefix(si.CloseoutReceipt, "0x") {
		t.Fatalf("after close %+v %v", si, err)
	}
	if _, gone, err := r.CloseSessionTx(ctx, sid); err != nil || !gone {
		t.Fatalf("second close: gone=%v err=%v", gone, err)
	}
	unknown := "0x" + strings.Repeat("ab", 32)
	if err := r.CloseSession(ctx, unknown); err != nil {
		t.Fatalf("close unknown: %v", err)
	}

	// Models (deleted included) → RatedBids (outer ID ignored, Bid.ID used).
	models, err := r.Models(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]chain.Model{}
	for _, m := range models {
		seen[m.ID] = m
	}
	if m, ok := seen[modelID]; !ok || m.Name != "llama-3.3-70b" || m.ModelType != "LLM" || m.Stake.Sign() <= 0 {
		t.Fatalf("model %+v", m)
	}
	if !seen[deletedID].IsDeleted {
		t.Fatal("deleted model missing or not flagged")
	}
	bids, err := r.RatedBids(ctx, modelID)
	if err != nil {
		t.Fatal(err)
	}
	if len(bids) != 2 || bids[0].Bid.ID != best || bids[1].Bid.ID != second || bids[0].Score < bids[1].Score {
		t.Fatalf("rated bids %+v", bids)
	}
	if bids[0].Bid.PricePerSecond.Sign() <= 0 || !bids[0].Bid.Exists() || bids[0].Bid.ModelAgentID != modelID {
		t.Fatalf("bid %+v", bids[0].Bid)
	}
	b, err := r.Bid(ctx, best)
	if err != nil || b.ID != best || b.Provider != bids[0].Bid.Provider {
		t.Fatalf("bid %+v %v", b, err)
	}
	w, err := r.Wallet(ctx)
	if err != nil || w != common.HexToAddress(fake.Wallet()) {
		t.Fatalf("wallet %v %v", w, err)
	}

	// Unknown session: 500 (current) and zeroed 200 (v4) are both not-found.
	if _, err := r.Session(ctx, unknown); !chain.IsSessionNotFound(err) {
		t.Fatalf("current unknown: %v", err)
	}
	fake.SetVersion(fakerouter.V4)
	if _, err := r.Session(ctx, unknown); !chain.IsSessionNotFound(err) {
		t.Fatalf("v4 unknown: %v", err)
	}
	h, err = r.Health(ctx)
	if err != nil || !h.Healthy() {
		t.Fatalf("v4 health %+v %v", h, err)
	}
}

func TestFakeRouterOpenFailures(t *testing.T) {
	fake, r := newFake(t, fakerouter.Config{})
	ctx := context.Background()
	modelID := fake.AddModel(fakerouter.Model{Name: "m"})
	bid := fake.AddBid(modelID, fakerouter.Bid{Score: 1})
	noBids := fake.AddModel(fakerouter.Model{Name: "empty"})

	if _, err := r.OpenModelSession(ctx, noBids, time.Hour); !chain.IsNoBids(err) {
		t.Fatalf("no bids: %v", err)
	}

	before := fake.Counters().Opens
	fake.FailNextOnChainOps(1)
	_, err := r.OpenModelSession(ctx, modelID, time.Hour)
	if !chain.IsNonceRace(err) {
		t.Fatalf("nonce: %v", err)
	}
	if got := fake.Counters().Opens - before; got != 1 {
		t.Fatalf("open retried: %d calls", got)
	}

	if _, err := r.OpenModelSession(ctx, modelID, 100*time.Second); chain.KindOf(err) != chain.KindSessionTooShort {
		t.Fatalf("too short: %v", err)
	}

	fake.SetMode(bid, fakerouter.ModeUnreachable)
	_, err = r.OpenModelSession(ctx, modelID, time.Hour)
	if !chain.IsNoProvider(err) {
		t.Fatalf("no provider: %v", err)
	}
	if strings.Contains(err.Error(), "10.0.0.9") || strings.Contains(err.Error(), ":3333") {
		t.Fatalf("provider address leaked: %v", err)
	}
}

func TestFakeRouterSlowOpenTimesOut(t *testing.T) {
	fake, _ := newFake(t, fakerouter.Config{OpenLatency: 500 * time.Millisecond})
	modelID := fake.AddModel(fakerouter.Model{Name: "slow"})
	fake.AddBid(modelID, fakerouter.Bid{Score: 1})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	r, err := chain.NewRouter(chain.RouterConfig{BaseURL: srv.URL, Username: "admin", Password: "fake-pw",
		OpenTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.OpenModelSession(context.Background(), modelID, time.Hour)
	if !chain.IsTimeout(err) || !chain.IsOutcomeUnknown(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	// The open is not cancellable: the session appears anyway (an orphan the
	// caller must reconcile).
	deadline := time.Now().Add(3 * time.Second)
	for len(fake.Sessions()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if len(fake.Sessions()) != 1 {
		t.Fatalf("%d sessions", len(fake.Sessions()))
	}
}
