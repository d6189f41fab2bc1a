package session

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/morpheus-gateway/caddy-morpheus/chain"
	"github.com/morpheus-gateway/caddy-morpheus/chain/fakerouter"
)

// stubChain is a ChainReader answering from a fixed EndsAt offset, so that
// a test can tell the chain's answer from the router's.
type stubChain struct {
	endsAt time.Time
	fail   bool
	calls  atomic.Int32
}

func (c *stubChain) Session(_ context.Context, id common.Hash) (chain.OnChainSession, error) {
	c.calls.Add(1)
	if c.fail {
		return chain.OnChainSession{}, errors.New("rpc down")
	}
	return chain.OnChainSession{ID: id, User: common.HexToAddress("0x01"), Stake: common.Big1,
		OpenedAt: c.endsAt.Add(-time.Hour), EndsAt: c.endsAt, Exists: true}, nil
}

// With a chain reader, expires_at is the contract's EndsAt; when the read
// fails, the router's answer is used.
func TestExpiryFromChainReader(t *testing.T) {
	f := newFixture(t, fakerouter.Config{MinedDelay: 7 * time.Second})
	onChain := &stubChain{endsAt: f.clock.Now().Add(50 * time.Minute).Truncate(time.Second).UTC()}
	e := newEnv(t, f, newSQLite(t), nil, func(c *Config) { c.Chain = onChain })
	p := newKey(t, e.st.Store, nil)

	l := e.acquire(p, "")
	l.Release()
	row := e.active(p)
	if !row.ExpiresAt.Equal(onChain.endsAt) || onChain.calls.Load() == 0 {
		t.Fatalf("expires_at = %s, want the contract's EndsAt %s (%d reads)", row.ExpiresAt, onChain.endsAt, onChain.calls.Load())
	}

	down := &stubChain{fail: true}
	e2 := newEnv(t, f, newSQLite(t), nil, func(c *Config) { c.Chain = down })
	p2 := newKey(t, e2.st.Store, nil)
	l = e2.acquire(p2, "")
	l.Release()
	row = e2.active(p2)
	if fs := f.session(row.ID); !row.ExpiresAt.Equal(fs.EndsAt) || down.calls.Load() == 0 {
		t.Fatalf("chain down: expires_at = %s, want the router's EndsAt %s", row.ExpiresAt, fs.EndsAt)
	}
}

// A session the provider calls expired while the chain's EndsAt is still
// ahead is closed at EndsAt, not at once (an early close locks stake).
func TestRenewClosesOldSessionAtChainEndsAt(t *testing.T) {
	f := newFixture(t, fakerouter.Config{})
	onChain := &stubChain{endsAt: f.clock.Now().Add(400 * time.Millisecond)}
	e := newEnv(t, f, newSQLite(t), nil)
	p := newKey(t, e.st.Store, nil)
	l := e.acquire(p, "")
	defer l.Release()
	oldID := l.SessionID
	e.m.cfg.Chain = onChain // from here on, the chain says the old session ends in 400 ms

	if err := l.Renew(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	if !f.session(oldID).ClosedAt.IsZero() {
		t.Fatal("the old session was closed before its on-chain EndsAt")
	}
	eventually(t, "old session closed at EndsAt", func() bool { return !f.session(oldID).ClosedAt.IsZero() })
}
