package cache

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// mapStore answers APIKeysByPrefix from a map; every other method panics
// (through the nil embedded interface). For benchmarks.
type mapStore struct {
	store.Store
	keys map[string]store.APIKeyWithUser
}

func (m *mapStore) APIKeysByPrefix(_ context.Context, prefix string) ([]store.APIKeyWithUser, error) {
	k, ok := m.keys[prefix]
	if !ok {
		return nil, nil
	}
	return []store.APIKeyWithUser{k}, nil
}

func (m *mapStore) TouchAPIKey(context.Context, int64, time.Time) error { return nil }

// newMapStore makes n keys with distinct prefixes.
func newMapStore(tb testing.TB, n int) (*mapStore, []string) {
	m := &mapStore{keys: make(map[string]store.APIKeyWithUser, n)}
	raws := make([]string, 0, n)
	for i := 0; len(raws) < n; i++ {
		raw, prefix, hashed, err := GenerateAPIKey()
		if err != nil {
			tb.Fatal(err)
		}
		if _, dup := m.keys[prefix]; dup {
			continue
		}
		id := int64(len(raws) + 1)
		m.keys[prefix] = store.APIKeyWithUser{
			APIKey: store.APIKey{ID: id, KeyPrefix: prefix, HashedKey: hashed, UserID: id, IsActive: true},
			User:   store.User{ID: id, IsActive: true},
		}
		raws = append(raws, raw)
	}
	return m, raws
}

// BenchmarkAuthenticateCached is the hot path: a cached key.
func BenchmarkAuthenticateCached(b *testing.B) {
	m, raws := newMapStore(b, 1)
	c, err := New(m, Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if _, err := c.Authenticate(ctx, raws[0]); err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Authenticate(ctx, raws[0]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.Authenticate(ctx, raws[0]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// heapAlloc is the live heap after a full collection.
func heapAlloc() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// cachedKeysHeap returns the heap growth (MiB) of a cache with default
// configuration holding n keys, counting the cache's fixed overhead too.
func cachedKeysHeap(tb testing.TB, n int) float64 {
	m, raws := newMapStore(tb, n)
	ctx := context.Background()
	before := heapAlloc()
	c, err := New(m, Config{})
	if err != nil {
		tb.Fatal(err)
	}
	for _, raw := range raws {
		if _, err := c.Authenticate(ctx, raw); err != nil {
			tb.Fatal(err)
		}
	}
	after := heapAlloc()
	// Every key must still be cached: no store call for any of them.
	m.keys = nil
	for _, raw := range raws[:1000] {
		if _, err := c.Authenticate(ctx, raw); err != nil {
			tb.Fatalf("key evicted: %v", err)
		}
	}
	runtime.KeepAlive(raws)
	c.Close()
	return float64(after-before) / (1 << 20)
}

// BenchmarkCachedKeysHeap reports the heap of 100k cached keys.
func BenchmarkCachedKeysHeap(b *testing.B) {
	for b.Loop() {
		b.ReportMetric(cachedKeysHeap(b, 100_000), "MiB/100k-keys")
	}
}
