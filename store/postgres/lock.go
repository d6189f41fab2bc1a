package postgres

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// unlockTimeout bounds pg_advisory_unlock when a lock is released.
const unlockTimeout = 5 * time.Second

// advisoryKey maps a lock name to the bigint key of pg_try_advisory_lock:
// the FNV-1a 64-bit hash of the name, reinterpreted as signed.
func advisoryKey(name string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("morpheus:" + name))
	return int64(h.Sum64())
}

// TryLock takes the session-level advisory lock named name
// (pg_try_advisory_lock on the FNV-1a hash of the name) without waiting.
// The lock lives on a connection taken from the pool and kept out of it
// until unlock, which runs pg_advisory_unlock and returns the connection;
// if the unlock fails, the connection is closed instead, which releases
// the lock server-side. If the connection dies while held, PostgreSQL
// releases the lock too. Implements store.Locker.
func (s *Store) TryLock(ctx context.Context, name string) (unlock func(), ok bool, err error) {
	key := advisoryKey(name)
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("postgres: try lock: %w", err)
	}
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got); err != nil {
		// The connection's state is unknown (the lock may have been taken
		// before the error): do not give it back to the pool.
		_ = conn.Hijack().Close(context.Background())
		return nil, false, fmt.Errorf("postgres: try lock: %w", err)
	}
	if !got {
		conn.Release()
		return nil, false, nil
	}
	var once sync.Once
	unlock = func() {
		once.Do(func() {
			uctx, cancel := context.WithTimeout(context.Background(), unlockTimeout)
			defer cancel()
			var released bool
			if err := conn.QueryRow(uctx, `SELECT pg_advisory_unlock($1)`, key).Scan(&released); err != nil || !released {
				// Closing the session releases every lock it holds.
				_ = conn.Hijack().Close(uctx)
				return
			}
			conn.Release()
		})
	}
	return unlock, true, nil
}

var _ store.Locker = (*Store)(nil)
