package fakerouter

import (
	"context"
	"errors"
	"io"
	"math/big"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

var hex32 = regexp.MustCompile(`^0x[0-9a-f]{64}$`)

func TestOpenInputEncodings(t *testing.T) {
	f := newFixture(t, Config{})
	noPrefixUpper := strings.ToUpper(strings.TrimPrefix(f.modelID, "0x"))
	for _, c := range []struct{ name, path, body string }{
		{"number", "/blockchain/models/" + f.modelID + "/session", `{"sessionDuration":1800}`},
		{"quoted string", "/blockchain/models/" + f.modelID + "/session", `{"sessionDuration":"1800"}`},
		{"no 0x, upper case", "/blockchain/models/" + noPrefixUpper + "/session", `{"sessionDuration":600,"omitProvider":"0x1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"}`},
	} {
		res := f.do("POST", c.path, c.body)
		id, _ := res.json(t)["sessionID"].(string)
		if res.status != 200 || !hex32.MatchString(id) {
			t.Fatalf("%s: %d %s", c.name, res.status, res.body)
		}
	}
	if st := f.r.Sessions(); len(st) != 3 || st[2].OmitProvider != "0x1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b" || st[1].RequestedDuration != 1800*time.Second {
		t.Fatalf("sessions: %+v", st)
	}

	bad := []struct{ path, body, want string }{
		{"/blockchain/models/0x1234/session", `{"sessionDuration":1800}`, `{"error":"invalid hash length"}`},
		{"/blockchain/models/0xzz/session", `{"sessionDuration":1800}`, `encoding/hex: invalid byte: U+007A 'z'`},
		{"/blockchain/models/" + f.modelID + "/session", `{"sessionDuration":36.5}`, `invalid big.Int string: 36.5`},
		{"/blockchain/models/" + f.modelID + "/session", `{"sessionDuration":`, `unexpected EOF`},
	}
	for _, c := range bad {
		res := f.do("POST", c.path, c.body)
		expect(t, res, 400, "application/json", c.want)
	}
	for _, p := range []string{"/blockchain/sessions/0x12", "/blockchain/sessions/0x12/close", "/blockchain/models/0x12/bids/rated"} {
		method := map[bool]string{true: "POST", false: "GET"}[strings.HasSuffix(p, "close")]
		expect(t, f.do(method, p, ""), 400, "application/json", `{"error":"invalid hash length"}`)
	}
}

func TestOpenMissingDurationDropsConnection(t *testing.T) {
	f := newFixture(t, Config{})
	req, _ := http.NewRequest("POST", f.srv.URL+"/blockchain/models/"+f.modelID+"/session", strings.NewReader(`{"directPayment":false}`))
	req.SetBasicAuth("admin", "fake")
	res, err := http.DefaultClient.Do(req)
	if err == nil {
		res.Body.Close()
		t.Fatalf("got a response (%d); want the connection closed without one", res.StatusCode)
	}
	if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "EOF") && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("unexpected error: %v", err)
	}
	if len(f.r.Sessions()) != 0 {
		t.Fatal("session created")
	}
}

func TestSessionGetEncoding(t *testing.T) {
	f := newFixture(t, Config{})
	sid := f.open("1800")
	res := f.do("GET", "/blockchain/sessions/"+strings.ToUpper(sid[2:]), "")
	st, _ := f.r.Session(sid)
	if st.Stake.String() != "4170000000000000000" {
		t.Fatalf("stake %s", st.Stake)
	}
	for _, want := range []string{
		`{"session":{"Id":"` + sid + `","User":"` + DefaultWallet + `"`,
		`"Stake":4170000000000000000,`, // bare, above 2^53
		`"PricePerSecond":10000000000000,`,
		`"CloseoutReceipt":"",`, `"CloseoutType":0,`, `"ClosedAt":0}}`,
	} {
		if !strings.Contains(res.body, want) {
			t.Fatalf("session body lacks %s:\n%s", want, res.body)
		}
	}
	// Bid prices are quoted strings; the outer ID is the zero hash.
	bids := f.do("GET", "/blockchain/models/"+f.modelID+"/bids/rated", "")
	for _, want := range []string{`"ID":"` + zeroHash + `"`, `"PricePerSecond":"10000000000000"`, `"Nonce":"0"`, `"DeletedAt":"0"`, `"Score":0.9`} {
		if !strings.Contains(bids.body, want) {
			t.Fatalf("rated bids lack %s: %s", want, bids.body)
		}
	}
	expect(t, f.do("GET", "/blockchain/models/"+zeroHash+"/bids/rated", ""), 200, "", `{"bids":[]}`)

	unknown := "0x" + strings.Repeat("ab", 32)
	expect(t, f.do("GET", "/blockchain/sessions/"+unknown, ""), 500, "application/json", `{"error":"session not found"}`)
	f.r.SetVersion(V4)
	res = f.do("GET", "/blockchain/sessions/"+unknown, "")
	expect(t, res, 200, "application/json", `"BidID":"`+zeroHash+`"`)
	if !strings.Contains(res.body, `"Id":"`+unknown+`"`) || !strings.Contains(res.body, `"EndsAt":0`) {
		t.Fatalf("v4 zeroed session: %s", res.body)
	}
}

func TestModelsListing(t *testing.T) {
	f := newFixture(t, Config{})
	f.r.AddModel(Model{Name: "old", IsDeleted: true})
	emb := f.r.AddModel(Model{Name: "text-embedding-bge-m3", Tags: []string{"embedding"}})
	res := f.do("GET", "/blockchain/models", "")
	for _, want := range []string{`"Name":"old"`, `"IsDeleted":true`, `"ModelType":"EMBEDDING"`, `"Id":"` + emb + `"`, `"Stake":100000000000000000`, `"Tags":[]`} {
		if !strings.Contains(res.body, want) {
			t.Fatalf("models lack %s: %s", want, res.body)
		}
	}
	f.r.SetVersion(V4)
	if res := f.do("GET", "/blockchain/models", ""); strings.Contains(res.body, "ModelType") {
		t.Fatalf("v4 has ModelType: %s", res.body)
	}
}

func TestNotFoundCasesAre500(t *testing.T) {
	f := newFixture(t, Config{})
	unknown := "0x" + strings.Repeat("cd", 32)
	expect(t, f.do("POST", "/blockchain/models/"+unknown+"/session", `{"sessionDuration":1800}`), 500, "application/json", `{"error":"no bids available"}`)
	expect(t, f.do("POST", "/blockchain/sessions/"+unknown+"/close", ""), 500, "application/json",
		`{"error":"failed to get session report from user: session not found"}`)
	expect(t, f.do("GET", "/blockchain/sessions/"+unknown, ""), 500, "application/json", `session not found`)
	expect(t, f.chat(unknown, false, "hi"), 500, "application/json", `{"error":"session not found"}`)
}

func TestOpenIsNotCancellable(t *testing.T) {
	f := newFixture(t, Config{OpenLatency: 200 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", f.srv.URL+"/blockchain/models/"+f.modelID+"/session", strings.NewReader(`{"sessionDuration":1800}`))
	req.SetBasicAuth("admin", "fake")
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		t.Fatal("open did not time out")
	}
	if n := len(f.r.Sessions()); n != 0 {
		t.Fatalf("%d sessions before the latency elapsed", n)
	}
	eventually(t, "the orphan session", func() bool { return len(f.r.Sessions()) == 1 })
	eventually(t, "orphan accounting", func() bool { return f.r.Counters().OpenOrphans == 1 })
	if st := f.r.Sessions()[0]; !st.Orphaned || st.User != DefaultWallet {
		t.Fatalf("session %+v", st)
	}
}

func TestOpenClockMinedDelayAndCap(t *testing.T) {
	base := time.Unix(1_752_000_000, 0)
	f := newFixture(t, Config{Now: func() time.Time { return base }, MinedDelay: 7 * time.Second, MaxSessionDuration: time.Hour})
	sid := f.open("86400")
	st, _ := f.r.Session(sid)
	if !st.OpenedAt.Equal(base.Add(7*time.Second)) || st.EndsAt.Sub(st.OpenedAt) != time.Hour {
		t.Fatalf("OpenedAt %v EndsAt %v", st.OpenedAt, st.EndsAt)
	}
	if !strings.Contains(f.do("GET", "/blockchain/sessions/"+sid, "").body, `"OpenedAt":1752000007,"EndsAt":1752003607,`) {
		t.Fatal("wire times differ")
	}
}

func TestOpenOnChainFailures(t *testing.T) {
	f := newFixture(t, Config{})
	path := "/blockchain/models/" + f.modelID + "/session"

	expect(t, f.do("POST", path, `{"sessionDuration":299}`), 500, "", `{"error":"failed to send transaction: open session failed: failed to build transaction: EVM error: SessionTooShort() []"}`)

	f.r.FailNextOnChainOps(2)
	for range 2 {
		expect(t, f.do("POST", path, `{"sessionDuration":1800}`), 500, "",
			`{"error":"failed to send transaction: open session failed: failed to send transaction: replacement transaction underpriced"}`)
	}
	sid := f.open("1800") // counter exhausted
	if c := f.r.Counters(); c.NonceErrors != 2 {
		t.Fatalf("NonceErrors %d", c.NonceErrors)
	}
	f.r.FailNextOnChainOps(1)
	expect(t, f.do("POST", "/blockchain/sessions/"+sid+"/close", ""), 500, "", "close session failed: failed to send transaction: replacement transaction underpriced")

	f.r.SetWalletMode(WalletInsufficientETH)
	expect(t, f.do("POST", path, `{"sessionDuration":1800}`), 500, "", "insufficient funds for gas * price + value: balance 0")
	f.r.SetWalletMode(WalletCongestion)
	expect(t, f.do("POST", path, `{"sessionDuration":1800}`), 500, "", "failed to send transaction: open session failed: transaction not mined after all escalation attempts: last tx 0x")
	f.r.SetWalletMode(WalletInsufficientMOR)
	expect(t, f.do("POST", path, `{"sessionDuration":1800}`), 500, "", "ERC20: transfer amount exceeds balance")
	f.r.SetWalletMode(WalletOK)

	// A stake above the MOR balance fails naturally.
	f.r.SetBalances(big.NewInt(1), nil)
	expect(t, f.do("POST", path, `{"sessionDuration":1800}`), 500, "",
		`{"error":"failed to send transaction: open session failed: failed to build transaction: execution reverted: ERC20: transfer amount exceeds balance"}`)
	if len(f.r.Sessions()) != 1 {
		t.Fatalf("failed opens created sessions: %d", len(f.r.Sessions()))
	}
}

func TestOpenSkipsUnavailableProviders(t *testing.T) {
	r := New(Config{})
	model := r.AddModel(Model{Name: "m"})
	dead := r.AddBid(model, Bid{Score: 0.9, Mode: ModeUnreachable, Provider: "0x1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"})
	r.AddBid(model, Bid{Score: 0.8, Mode: ModeNoCapacity})
	good := r.AddBid(model, Bid{Score: 0.1})
	srv := r.Start()
	t.Cleanup(srv.Close)
	f := &fixture{t: t, r: r, srv: srv, modelID: model}

	sid := f.open("1800")
	if st, _ := r.Session(sid); st.BidID != good {
		t.Fatalf("opened on %s, want the ok bid %s", st.BidID, good)
	}
	r.SetMode(good, ModeNoCapacity)
	res := f.do("POST", "/blockchain/models/"+model+"/session", `{"sessionDuration":1800}`)
	msg := res.errorText(t)
	eip55 := common.HexToAddress("0x1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b").Hex()
	if res.status != 500 || !strings.HasPrefix(msg, "no provider accepting session: [{") ||
		!strings.Contains(msg, `"provider":"`+eip55+`"`) || eip55 == strings.ToLower(eip55) ||
		!strings.Contains(msg, "failed to connect to provider: dial tcp 10.0.0.9:3333: connect: connection refused") ||
		!strings.Contains(msg, "no capacity") {
		t.Fatalf("current: %d %q", res.status, msg)
	}
	r.SetVersion(V4)
	res = f.do("POST", "/blockchain/models/"+model+"/session", `{"sessionDuration":1800}`)
	if res.status != 500 || res.errorText(t) != "no provider accepting session" {
		t.Fatalf("v4: %d %s", res.status, res.body)
	}
	// A bid-level open reports the handshake failure directly.
	expect(t, f.do("POST", "/blockchain/bids/"+dead+"/session", `{"sessionDuration":1800}`), 500, "", "failed to connect to provider")
}

func TestCloseAndRefunds(t *testing.T) {
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f := newFixture(t, Config{Now: func() time.Time { return base }})
	mor0, _ := f.r.Balances()

	// Early close: part of the stake is held until the next UTC midnight.
	early := f.open("3600")
	f.r.Advance(30 * time.Minute)
	res := f.do("POST", "/blockchain/sessions/"+early+"/close", "")
	tx, _ := res.json(t)["tx"].(string)
	if res.status != 200 || !hex32.MatchString(tx) {
		t.Fatalf("close: %d %s", res.status, res.body)
	}
	st, _ := f.r.Session(early)
	if st.ClosedAt.IsZero() || st.CloseTx != tx || st.OnHold.Sign() <= 0 ||
		new(big.Int).Add(st.OnHold, st.Refunded).Cmp(st.Stake) != 0 ||
		!st.OnHoldUntil.Equal(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("early close: %+v", st)
	}
	if new(big.Int).Div(st.Stake, st.OnHold).Int64() != 2 { // half the session elapsed
		t.Fatalf("on hold %s of %s", st.OnHold, st.Stake)
	}
	mor, _ := f.r.Balances()
	if new(big.Int).Sub(mor0, mor).Cmp(st.OnHold) != 0 {
		t.Fatalf("balance %s → %s, on hold %s", mor0, mor, st.OnHold)
	}
	if !strings.Contains(f.do("GET", "/blockchain/sessions/"+early, "").body, `"ClosedAt":`+itoa(base.Add(30*time.Minute).Unix())) {
		t.Fatal("ClosedAt not on the wire")
	}
	expect(t, f.do("POST", "/blockchain/sessions/"+early+"/close", ""), 500, "",
		`{"error":"failed to send transaction: close session failed: failed to build transaction: EVM error: SessionAlreadyClosed() []"}`)

	// Late close: the whole stake comes back.
	late := f.open("600")
	f.r.Advance(11 * time.Minute)
	expect(t, f.do("POST", "/blockchain/sessions/"+late+"/close", ""), 200, "", `"tx":"0x`)
	st, _ = f.r.Session(late)
	if st.Refunded.Cmp(st.Stake) != 0 || st.OnHold.Sign() != 0 {
		t.Fatalf("late close: %+v", st)
	}
}

func itoa(n int64) string { return big.NewInt(n).String() }

func TestWalletEndpoints(t *testing.T) {
	f := newFixture(t, Config{})
	expect(t, f.do("GET", "/wallet", ""), 200, "", `{"address":"`+DefaultWallet+`"}`)
	expect(t, f.do("GET", "/blockchain/balance", ""), 200, "", `{"eth":"1000000000000000000","mor":"1000000000000000000000000"}`)
	expect(t, f.do("POST", "/blockchain/approve?spender="+DiamondAddress+"&amount=5", ""), 200, "", `"tx":"0x`)
	expect(t, f.do("GET", "/blockchain/allowance?spender="+DiamondAddress, ""), 200, "", `{"allowance":"5"}`)
	sid := f.open("1800")
	expect(t, f.do("GET", "/blockchain/sessions/user?user="+DefaultWallet, ""), 200, "", `{"sessions":[{"Id":"`+sid+`"`)
	expect(t, f.do("GET", "/blockchain/sessions/user/ids?user="+DefaultWallet, ""), 200, "", `["`+sid+`"]`)
}
