package main

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/cache"
	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// mapStore answers APIKeysByPrefix from a map; any other store method
// panics (nil embedded interface). The same approach as the cache
// package's BenchmarkCachedKeysHeap.
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

// liveHeap is the live heap after full collections.
func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// cachedKeysHeap is the heap growth (MiB) of a key cache with the
// gateway's default configuration once it holds n verified keys (its fixed
// overhead included). It runs before anything else is started, so nothing
// else allocates meanwhile.
func cachedKeysHeap(n int) (float64, error) {
	m := &mapStore{keys: make(map[string]store.APIKeyWithUser, n)}
	raws := make([]string, 0, n)
	for len(raws) < n {
		raw, prefix, hashed, err := cache.GenerateAPIKey()
		if err != nil {
			return 0, err
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
	ctx := context.Background()
	before := liveHeap()
	c, err := cache.New(m, cache.Config{})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	for _, raw := range raws {
		if _, err := c.Authenticate(ctx, raw); err != nil {
			return 0, err
		}
	}
	after := liveHeap()
	// Every key must still be cached: with the map gone, a miss would fail.
	m.keys = nil
	for _, raw := range raws[:min(1000, len(raws))] {
		if _, err := c.Authenticate(ctx, raw); err != nil {
			return 0, fmt.Errorf("a key was evicted: %w", err)
		}
	}
	runtime.KeepAlive(raws)
	runtime.KeepAlive(m)
	return float64(after-before) / (1 << 20), nil
}
