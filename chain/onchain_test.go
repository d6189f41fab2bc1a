package chain

import (
	"bytes"
	"context"
	"errors"
	"math/big"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	ethereum "github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/morpheus-gateway/caddy-morpheus/chain/contracts"
)

// Facts copied from spec/proxy-router.md §4.2, §4.4 and §4.5. If the real
// Diamond changes, update the spec first, then these.
const (
	specGetSessionSig      = "getSession(bytes32)"
	specGetSessionSelector = "0x39b240bd"
	specGetSessionTuple    = "(address,bytes32,uint256,bytes,uint256,uint256,uint128,uint128,uint128,bool,bool)"
	specGetBidSig          = "getBid(bytes32)"
	specGetBidSelector     = "0x91704e1e"
	specGetBidTuple        = "(address,bytes32,uint256,uint256,uint128,uint128)"
	specSessionOpenedSig   = "SessionOpened(address,bytes32,address)"
	specSessionOpenedTopic = "0x2bd7c890baf595977d256a6e784512c873ac58ba612b4895dbb7f784bfbf4839"
	specSessionClosedSig   = "SessionClosed(address,bytes32,address)"
	specSessionClosedTopic = "0x337fbb0a41a596db800dc836595a57815f967185e3596615c646f2455ac3914a"
	specAlreadyClosedSel   = "0xe9fb372e" // SessionAlreadyClosed()
)

// TestOnChainABIMatchesSpec guards against signature drift: the reader's ABI
// fragment and the mock's compiled ABI must both produce the spec's
// selectors, tuple layouts and event topics.
func TestOnChainABIMatchesSpec(t *testing.T) {
	mockABI, err := contracts.SessionRouterMockMetaData.GetAbi()
	if err != nil {
		t.Fatalf("mock ABI: %v", err)
	}
	// The committed .abi/.bin must be what the binding was generated from
	// (abigen minifies the ABI it embeds, which also strips the space in
	// "struct ISessionStorage.Session": struct names are checked on the file).
	abiFile, err := os.ReadFile("contracts/SessionRouterMock.abi")
	if err != nil {
		t.Fatal(err)
	}
	fileABI, err := abi.JSON(bytes.NewReader(abiFile))
	if err != nil {
		t.Fatalf("SessionRouterMock.abi: %v", err)
	}
	binFile, err := os.ReadFile("contracts/SessionRouterMock.bin")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(binFile)) != strings.TrimPrefix(contracts.SessionRouterMockMetaData.Bin, "0x") {
		t.Error("SessionRouterMock.bin differs from the binding's bytecode: run chain/contracts/generate.sh")
	}
	if a, b := abiSigs(fileABI), abiSigs(*mockABI); a != b {
		t.Errorf("SessionRouterMock.abi (%s) differs from the binding's ABI (%s): run chain/contracts/generate.sh", a, b)
	}

	abis := []struct {
		name string
		abi  abi.ABI
	}{{"reader fragment", diamondABI}, {"SessionRouterMock binding", *mockABI}, {"SessionRouterMock.abi", fileABI}}

	methods := []struct{ name, sig, selector, tuple string }{
		{"getSession", specGetSessionSig, specGetSessionSelector, specGetSessionTuple},
		{"getBid", specGetBidSig, specGetBidSelector, specGetBidTuple},
	}
	events := []struct{ name, sig, topic string }{
		{"SessionOpened", specSessionOpenedSig, specSessionOpenedTopic},
		{"SessionClosed", specSessionClosedSig, specSessionClosedTopic},
	}

	for _, m := range methods {
		// The spec's selector is keccak256(signature)[:4].
		if got := hexutilEncode(crypto.Keccak256([]byte(m.sig))[:4]); got != m.selector {
			t.Errorf("keccak(%s)[:4] = %s, spec says %s", m.sig, got, m.selector)
		}
	}
	for _, e := range events {
		if got := crypto.Keccak256Hash([]byte(e.sig)); got != common.HexToHash(e.topic) {
			t.Errorf("keccak(%s) = %s, spec says %s", e.sig, got.Hex(), e.topic)
		}
	}

	for _, a := range abis {
		for _, m := range methods {
			meth, ok := a.abi.Methods[m.name]
			if !ok {
				t.Errorf("%s: no method %s", a.name, m.name)
				continue
			}
			if meth.Sig != m.sig {
				t.Errorf("%s: %s signature = %s, want %s", a.name, m.name, meth.Sig, m.sig)
			}
			if got := hexutilEncode(meth.ID); got != m.selector {
				t.Errorf("%s: %s selector = %s, spec says %s", a.name, m.name, got, m.selector)
			}
			if meth.StateMutability != "view" {
				t.Errorf("%s: %s is %q, want view", a.name, m.name, meth.StateMutability)
			}
			if len(meth.Outputs) != 1 || meth.Outputs[0].Type.String() != m.tuple {
				t.Errorf("%s: %s outputs = %v, want one %s", a.name, m.name, meth.Outputs, m.tuple)
			}
		}
		for _, e := range events {
			ev, ok := a.abi.Events[e.name]
			if !ok {
				t.Errorf("%s: no event %s", a.name, e.name)
				continue
			}
			if ev.Sig != e.sig || ev.ID != common.HexToHash(e.topic) {
				t.Errorf("%s: %s = %s %s, spec says %s %s", a.name, e.name, ev.Sig, ev.ID.Hex(), e.sig, e.topic)
			}
			for _, in := range ev.Inputs {
				if !in.Indexed {
					t.Errorf("%s: %s.%s is not indexed", a.name, e.name, in.Name)
				}
			}
		}
	}

	// The reader's session/bid decoding relies on these component names.
	if got, want := tupleNames(diamondABI.Methods["getSession"]), "user,bidId,stake,closeoutReceipt,closeoutType,providerWithdrawnAmount,openedAt,endsAt,closedAt,isActive,isDirectPaymentFromUser"; got != want {
		t.Errorf("getSession components = %s, want %s", got, want)
	}
	for _, m := range methods {
		if a, b := tupleNames(diamondABI.Methods[m.name]), tupleNames(fileABI.Methods[m.name]); a != b {
			t.Errorf("%s components differ: reader %s, mock %s", m.name, a, b)
		}
		if a, b := diamondABI.Methods[m.name].Outputs[0].Type.TupleRawName, fileABI.Methods[m.name].Outputs[0].Type.TupleRawName; a != b || a == "" {
			t.Errorf("%s struct name differs: reader %s, mock %s", m.name, a, b)
		}
	}

	// The mock's custom error has the real selector, and its test-only
	// functions cannot be mistaken for Diamond functions.
	if e, ok := mockABI.Errors["SessionAlreadyClosed"]; !ok || hexutilEncode(e.ID[:4]) != specAlreadyClosedSel {
		t.Errorf("mock SessionAlreadyClosed error missing or selector != %s", specAlreadyClosedSel)
	}
	for name := range mockABI.Methods {
		if name != "getSession" && name != "getBid" && !strings.HasPrefix(name, "mock") {
			t.Errorf("mock method %s is neither a Diamond read nor prefixed mock", name)
		}
	}
}

func TestOnChainSessionOpen(t *testing.T) {
	opened := time.Unix(1_750_000_000, 0).UTC()
	ends := opened.Add(time.Hour)
	s := OnChainSession{Exists: true, OpenedAt: opened, EndsAt: ends}
	cases := []struct {
		name string
		s    OnChainSession
		now  time.Time
		want bool
	}{
		{"running", s, opened.Add(time.Minute), true},
		{"last second", s, ends.Add(-time.Second), true},
		{"at endsAt", s, ends, false},
		{"past endsAt, unclosed", s, ends.Add(time.Minute), false},
		{"closed early", withClosed(s, opened.Add(10*time.Minute)), opened.Add(11 * time.Minute), false},
		{"closed, asked before close", withClosed(s, opened.Add(10*time.Minute)), opened.Add(time.Minute), false},
		{"not existing", OnChainSession{EndsAt: ends}, opened, false},
	}
	for _, c := range cases {
		if got := c.s.Open(c.now); got != c.want {
			t.Errorf("%s: Open = %v, want %v", c.name, got, c.want)
		}
	}
}

func withClosed(s OnChainSession, at time.Time) OnChainSession {
	s.ClosedAt = at
	return s
}

// simDiamond is SessionRouterMock deployed on go-ethereum's simulated backend.
type simDiamond struct {
	backend *simulated.Backend
	client  simulated.Client
	auth    *bind.TransactOpts
	addr    common.Address
	mock    *contracts.SessionRouterMock
}

func newSimDiamond(t *testing.T) *simDiamond {
	t.Helper()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	deployer := crypto.PubkeyToAddress(key.PublicKey)
	eth := new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
	backend := simulated.NewBackend(types.GenesisAlloc{deployer: {Balance: new(big.Int).Mul(eth, big.NewInt(100))}})
	t.Cleanup(func() { _ = backend.Close() })
	client := backend.Client()

	chainID, err := client.ChainID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	auth, err := bind.NewKeyedTransactorWithChainID(key, chainID)
	if err != nil {
		t.Fatal(err)
	}
	addr, tx, mock, err := contracts.DeploySessionRouterMock(auth, client)
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	d := &simDiamond{backend: backend, client: client, auth: auth, addr: addr, mock: mock}
	d.mine(t, tx, err)
	return d
}

// mine commits the pending block and checks that tx succeeded.
func (d *simDiamond) mine(t *testing.T, tx *types.Transaction, err error) *types.Receipt {
	t.Helper()
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	d.backend.Commit()
	rcpt, err := d.client.TransactionReceipt(context.Background(), tx.Hash())
	if err != nil {
		t.Fatalf("receipt: %v", err)
	}
	if rcpt.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("tx %s reverted", tx.Hash().Hex())
	}
	return rcpt
}

func TestSessionReaderSimulated(t *testing.T) {
	d := newSimDiamond(t)
	ctx := context.Background()

	var (
		user      = common.HexToAddress("0x1111111111111111111111111111111111111111")
		provider  = common.HexToAddress("0x2222222222222222222222222222222222222222")
		modelID   = crypto.Keccak256Hash([]byte("model"))
		bidID     = crypto.Keccak256Hash(provider.Bytes(), modelID.Bytes(), common.LeftPadBytes(nil, 32))
		sessionID = crypto.Keccak256Hash([]byte("session-1"))
		noBidSess = crypto.Keccak256Hash([]byte("session-without-bid"))
		openedAt  = int64(1_750_000_000)
		endsAt    = openedAt + 3600
		closedAt  = openedAt + 600
	)
	// More than 64 bits, to prove no truncation: 12345.678… MOR.
	stake, _ := new(big.Int).SetString("12345678901234567890123", 10)

	tx, err := d.mock.MockSetBid(d.auth, bidID, provider, modelID, big.NewInt(1_000_000_000), big.NewInt(0), big.NewInt(openedAt-100))
	d.mine(t, tx, err)
	tx, err = d.mock.MockSetSession(d.auth, sessionID, user, bidID, stake, big.NewInt(openedAt), big.NewInt(endsAt), false)
	d.mine(t, tx, err)

	r, err := NewSessionReader(d.client, d.addr)
	if err != nil {
		t.Fatal(err)
	}
	if r.Diamond() != d.addr {
		t.Errorf("Diamond() = %s", r.Diamond().Hex())
	}

	// Open session.
	s, err := r.Session(ctx, sessionID)
	if err != nil {
		t.Fatalf("Session: %v", err)
	}
	want := OnChainSession{
		ID: sessionID, User: user, Provider: provider, ModelAgentID: modelID, BidID: bidID,
		Stake:    stake,
		OpenedAt: time.Unix(openedAt, 0).UTC(), EndsAt: time.Unix(endsAt, 0).UTC(),
		Exists: true,
	}
	checkSession(t, "open", s, want)
	if !s.Open(time.Unix(openedAt+10, 0)) || s.Open(time.Unix(endsAt, 0)) {
		t.Errorf("Open around endsAt wrong for %+v", s)
	}

	// The generated binding decodes the same call identically.
	raw, err := d.mock.GetSession(&bind.CallOpts{Context: ctx}, sessionID)
	if err != nil {
		t.Fatal(err)
	}
	if raw.User != s.User || raw.EndsAt.Int64() != s.EndsAt.Unix() || !raw.IsActive || raw.Stake.Cmp(s.Stake) != 0 {
		t.Errorf("binding GetSession = %+v, reader = %+v", raw, s)
	}

	// Close it at a chosen time: ClosedAt appears, EndsAt is unchanged.
	tx, err = d.mock.MockCloseSession(d.auth, sessionID, big.NewInt(closedAt))
	d.mine(t, tx, err)
	s, err = r.Session(ctx, sessionID)
	if err != nil {
		t.Fatalf("Session after close: %v", err)
	}
	want.ClosedAt = time.Unix(closedAt, 0).UTC()
	checkSession(t, "closed", s, want)
	if s.Open(time.Unix(openedAt+10, 0)) {
		t.Error("closed session reported open")
	}

	// A second close reverts with the real SessionAlreadyClosed selector.
	_, err = d.mock.MockCloseSession(d.auth, sessionID, big.NewInt(closedAt+1))
	var de rpc.DataError
	if err == nil || !errors.As(err, &de) || !strings.HasPrefix(strings.ToLower(asString(de.ErrorData())), specAlreadyClosedSel) {
		t.Errorf("second close: err = %v (data %v), want revert %s", err, dataOf(err), specAlreadyClosedSel)
	}

	// The events carry the spec's topics: [topic0, user, sessionId, provider].
	logs, err := d.client.FilterLogs(ctx, ethereum.FilterQuery{
		Addresses: []common.Address{d.addr},
		Topics:    [][]common.Hash{{common.HexToHash(specSessionOpenedTopic), common.HexToHash(specSessionClosedTopic)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 2 {
		t.Fatalf("got %d session logs, want 2 (opened, closed)", len(logs))
	}
	for i, topic0 := range []string{specSessionOpenedTopic, specSessionClosedTopic} {
		wantTopics := []common.Hash{common.HexToHash(topic0), common.BytesToHash(user.Bytes()), sessionID, common.BytesToHash(provider.Bytes())}
		if !equalHashes(logs[i].Topics, wantTopics) || len(logs[i].Data) != 0 {
			t.Errorf("log %d: topics %v data %x, want %v and no data", i, logs[i].Topics, logs[i].Data, wantTopics)
		}
	}

	// A never-opened ID is not an error.
	unknown := crypto.Keccak256Hash([]byte("never opened"))
	s, err = r.Session(ctx, unknown)
	if err != nil {
		t.Fatalf("unknown id: %v", err)
	}
	checkSession(t, "unknown", s, OnChainSession{ID: unknown, Stake: new(big.Int)})
	if s.Open(time.Unix(openedAt, 0)) {
		t.Error("unknown session reported open")
	}

	// A session whose bid is unknown: the session fields are read, provider
	// and model stay zero.
	otherBid := crypto.Keccak256Hash([]byte("unknown bid"))
	tx, err = d.mock.MockSetSession(d.auth, noBidSess, user, otherBid, big.NewInt(1), big.NewInt(openedAt), big.NewInt(endsAt), true)
	d.mine(t, tx, err)
	s, err = r.Session(ctx, noBidSess)
	if err != nil {
		t.Fatalf("session with unknown bid: %v", err)
	}
	checkSession(t, "unknown bid", s, OnChainSession{
		ID: noBidSess, User: user, BidID: otherBid, Stake: big.NewInt(1),
		OpenedAt: time.Unix(openedAt, 0).UTC(), EndsAt: time.Unix(endsAt, 0).UTC(), Exists: true,
	})

	// No contract at the address: a typed error naming the address only.
	empty := common.HexToAddress("0x000000000000000000000000000000000000dEaD")
	r2, err := NewSessionReader(d.client, empty)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r2.Session(ctx, sessionID); !errors.Is(err, ErrDiamondNoCode) {
		t.Errorf("no code: err = %v, want ErrDiamondNoCode", err)
	}

	// A canceled context is reported as such.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := r.Session(cctx, sessionID); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: err = %v, want context.Canceled", err)
	}
}

func checkSession(t *testing.T, name string, got, want OnChainSession) {
	t.Helper()
	if got.ID != want.ID || got.User != want.User || got.Provider != want.Provider ||
		got.ModelAgentID != want.ModelAgentID || got.BidID != want.BidID || got.Exists != want.Exists {
		t.Errorf("%s: ids/addresses = %+v, want %+v", name, got, want)
	}
	if got.Stake == nil || got.Stake.Cmp(want.Stake) != 0 {
		t.Errorf("%s: Stake = %v, want %v", name, got.Stake, want.Stake)
	}
	for _, f := range []struct {
		field     string
		got, want time.Time
	}{{"OpenedAt", got.OpenedAt, want.OpenedAt}, {"EndsAt", got.EndsAt, want.EndsAt}, {"ClosedAt", got.ClosedAt, want.ClosedAt}} {
		if !f.got.Equal(f.want) || f.got.IsZero() != f.want.IsZero() {
			t.Errorf("%s: %s = %v, want %v", name, f.field, f.got, f.want)
		}
		if !f.got.IsZero() && f.got.Location() != time.UTC {
			t.Errorf("%s: %s not UTC", name, f.field)
		}
	}
}

func TestSessionReaderErrorsHideRPCURL(t *testing.T) {
	secrets := []string{"SECRETKEY0123456789", "TOPSECRETQUERY", "pa55w0rdX", "127.0.0.1", "rpc.example-provider.io", "://"}
	check := func(name string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", name)
			return
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("%s: error %q contains %q", name, err, s)
			}
		}
	}
	diamond := common.HexToAddress("0x3333333333333333333333333333333333333333")
	ctx := context.Background()

	// Port 1 on loopback: the connection is refused at once, and the
	// transport error (a *url.Error) repeats the whole URL.
	r, err := DialSessionReader(ctx, ChainConfig{
		RPCURL:  "http://user:pa55w0rdX@127.0.0.1:1/v2/SECRETKEY0123456789?apikey=TOPSECRETQUERY",
		Diamond: diamond,
	})
	if err != nil {
		t.Fatalf("http dial is lazy, got %v", err)
	}
	defer r.Close()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = r.Session(sctx, common.Hash{1})
	check("refused", err)
	t.Logf("refused: %v", err)
	if err != nil && !strings.Contains(err.Error(), "getSession") {
		t.Errorf("error %q does not name the call", err)
	}

	for _, bad := range []string{
		"rpc.example-provider.io:8545/SECRETKEY0123456789", // no scheme: the host parses as one
		"ftp://rpc.example-provider.io/SECRETKEY0123456789",
		"http://rpc.example-provider.io/SECRETKEY0123456789\x7f%zz",
		"ws://127.0.0.1:1/SECRETKEY0123456789", // ws connects at dial: refused
	} {
		_, err := DialSessionReader(ctx, ChainConfig{RPCURL: bad, Diamond: diamond})
		check("dial "+strings.ToValidUTF8(bad[:4], "?"), err)
		t.Logf("dial: %v", err)
	}
	if _, err := DialSessionReader(ctx, ChainConfig{RPCURL: " ", Diamond: diamond}); err == nil {
		t.Error("empty url accepted")
	}
	if _, err := DialSessionReader(ctx, ChainConfig{RPCURL: "http://127.0.0.1:1"}); err == nil {
		t.Error("zero diamond accepted")
	}
	if _, err := NewSessionReader(nil, diamond); err == nil {
		t.Error("nil caller accepted")
	}

	// The scrubber on its own: parts of the URL and stray URLs/IPs go.
	msg := `Post "https://rpc.example-provider.io/v2/SECRETKEY0123456789": dial tcp 203.0.113.7:443 and [2001:db8::1]:8545: refused`
	u := "https://rpc.example-provider.io/v2/SECRETKEY0123456789"
	r2, _ := DialSessionReader(ctx, ChainConfig{RPCURL: u, Diamond: diamond})
	if r2 == nil {
		t.Fatal("dial https failed")
	}
	defer r2.Close()
	got := onchainScrub(msg, r2.secrets)
	t.Logf("scrubbed: %s", got)
	for _, s := range []string{"SECRETKEY", "example-provider", "203.0.113.7", "2001:db8", "https"} {
		if strings.Contains(got, s) {
			t.Errorf("scrubbed %q still contains %q", got, s)
		}
	}
}

func tupleNames(m abi.Method) string {
	var names []string
	if len(m.Outputs) == 1 {
		names = append(names, m.Outputs[0].Type.TupleRawNames...)
	}
	return strings.Join(names, ",")
}

// abiSigs lists an ABI's method, event and error signatures, sorted.
func abiSigs(a abi.ABI) string {
	var sigs []string
	for _, m := range a.Methods {
		var outs []string
		for _, o := range m.Outputs {
			outs = append(outs, o.Type.String())
		}
		sigs = append(sigs, m.Sig+"->"+strings.Join(outs, ","))
	}
	for _, e := range a.Events {
		sigs = append(sigs, "event "+e.Sig)
	}
	for _, e := range a.Errors {
		sigs = append(sigs, "error "+e.Sig)
	}
	sort.Strings(sigs)
	return strings.Join(sigs, " ")
}

func hexutilEncode(b []byte) string { return "0x" + common.Bytes2Hex(b) }

func equalHashes(a, b []common.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i][:], b[i][:]) {
			return false
		}
	}
	return true
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

func dataOf(err error) any {
	var de rpc.DataError
	if errors.As(err, &de) {
		return de.ErrorData()
	}
	return nil
}
