package postgres

import (
	"context"
	"testing"

	"github.com/morpheus-gateway/caddy-morpheus/store/postgres/pgtest"
)

// TestTryLock: the advisory lock excludes a second holder on another pool
// (another instance) and on the same pool, is released by unlock (twice is
// harmless), and locks of different names are independent.
func TestTryLock(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	a := openStore(t, dsn, "")
	b := openStore(t, dsn, "")
	ctx := context.Background()

	unlockA, ok, err := a.TryLock(ctx, "cleanup")
	if err != nil || !ok {
		t.Fatalf("first TryLock: ok=%v err=%v", ok, err)
	}
	for name, s := range map[string]*Store{"other instance": b, "same instance": a} {
		if _, ok, err := s.TryLock(ctx, "cleanup"); err != nil || ok {
			t.Fatalf("%s: TryLock while held: ok=%v err=%v", name, ok, err)
		}
	}
	unlockOther, ok, err := b.TryLock(ctx, "another-job")
	if err != nil || !ok {
		t.Fatalf("independent name: ok=%v err=%v", ok, err)
	}
	unlockOther()

	unlockA()
	unlockA()
	unlockB, ok, err := b.TryLock(ctx, "cleanup")
	if err != nil || !ok {
		t.Fatalf("TryLock after unlock: ok=%v err=%v", ok, err)
	}
	unlockB()
	// Connections went back to the pool usable.
	if err := a.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if st := a.Pool().Stat(); st.AcquiredConns() != 0 {
		t.Fatalf("%d connections still acquired after unlock", st.AcquiredConns())
	}
}

// TestTryLockCanceled: a canceled context is an error, not "not acquired".
func TestTryLockCanceled(t *testing.T) {
	s := openStore(t, pgtest.NewDatabase(t), "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok, err := s.TryLock(ctx, "x"); err == nil || ok {
		t.Fatalf("ok=%v err=%v, want an error", ok, err)
	}
}
