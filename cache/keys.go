package cache

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"
)

// keyEntry is what the cache holds for one prefix: the active keys with
// that prefix, verified by digest. It is immutable once published, except
// for the use-tracking atomics of its keys and the failed-digest memory,
// which synchronize themselves. Prefixes are unique for keys made by this
// gateway, so keys usually has one element: 64 + 64 bytes in all, plus
// the prefix's 16. Adopted databases may hold several.
type keyEntry struct {
	prefix    string
	expires   int64  // unix nanos: KeyTTL after the load started
	prefixGen uint32 // generations at the start of the load
	epoch     uint32
	keys      []cachedKey
	adopted   *adoptedKeys // nil unless the prefix has bcrypt keys
}

// cachedKey is one key with a known SHA-256 digest (64 bytes).
type cachedKey struct {
	digest   [32]byte
	id       int64
	userID   int64
	lastUsed atomic.Int64  // unix nanos of the latest recorded use
	userGen  uint32        // the owner's generation when loaded
	flags    atomic.Uint32 // flagDisabled (fixed), flagQueued
}

// Bits of cachedKey.flags.
const (
	flagDisabled = 1 << iota // the owner is inactive: a match is a rejection
	flagQueued               // in the last_used_at writer's queue
)

func (k *cachedKey) disabled() bool { return k.flags.Load()&flagDisabled != 0 }

// adoptedKeys are an entry's keys still hashed with bcrypt, and the wrong
// secrets recently tried against them.
type adoptedKeys struct {
	keys   []bcryptKey
	failed failedDigests
}

// bcryptKey is a key of an adopted reference database, still hashed with
// bcrypt. It is verified once, then rehashed to SHA-256.
type bcryptKey struct {
	id       int64
	userID   int64
	hash     string
	userGen  uint32
	disabled bool
}

// negEntry remembers that a prefix has no key.
type negEntry struct {
	prefixGen uint32
	epoch     uint32
	expires   int64
}

// Outcomes of matching a digest against an entry.
const (
	noMatch = iota
	matched
	stale // the matching key's owner changed since the load: reload
)

// Authenticate verifies a raw API key ("sk-XXXXXX.<64 hex>").
//
// A key whose prefix is cached costs no store call. ErrInvalidKey means
// the key is wrong in some way (401); ErrUnavailable means the key is not
// cached and the store did not answer (503).
func (c *Cache) Authenticate(ctx context.Context, rawKey string) (Principal, error) {
	if !validKeyFormat(rawKey) {
		return Principal{}, ErrInvalidKey
	}
	prefix := rawKey[:PrefixLen]
	var buf [KeyLen]byte
	copy(buf[:], rawKey)
	digest := sha256.Sum256(buf[:])
	now := time.Now().UnixNano()

	if e, ok := c.keys.Get(prefix); ok && c.live(e, now) {
		k, r := c.match(e, &digest)
		switch r {
		case matched:
			return c.accept(e, k, now)
		case noMatch:
			if e.adopted == nil {
				return Principal{}, ErrInvalidKey
			}
			if p, isStale, err := c.verifyBcrypt(ctx, e, rawKey, &digest, now); !isStale {
				return p, err
			}
		}
	} else if n, ok := c.neg.Get(prefix); ok && c.negLive(n, prefix, now) {
		return Principal{}, ErrInvalidKey
	}
	return c.authenticateSlow(ctx, rawKey, prefix, &digest)
}

// authenticateSlow loads the prefix from the store and verifies against it.
func (c *Cache) authenticateSlow(ctx context.Context, rawKey, prefix string, digest *[32]byte) (Principal, error) {
	for range 3 {
		e, err := c.loadKeys(ctx, prefix)
		if err != nil {
			return Principal{}, err
		}
		now := time.Now().UnixNano()
		if !c.live(e, now) {
			continue // invalidated while loading
		}
		k, r := c.match(e, digest)
		switch r {
		case matched:
			return c.accept(e, k, now)
		case noMatch:
			if e.adopted == nil {
				return Principal{}, ErrInvalidKey
			}
			if p, isStale, err := c.verifyBcrypt(ctx, e, rawKey, digest, now); !isStale {
				return p, err
			}
		}
	}
	return Principal{}, unavailable(errors.New("keys invalidated repeatedly while loading"))
}

// live reports whether e may be used: not expired, not invalidated.
func (c *Cache) live(e *keyEntry, now int64) bool {
	return now < e.expires &&
		e.prefixGen == c.gens.prefix.get(prefixSlot(e.prefix)) &&
		e.epoch == c.gens.epoch.Load()
}

// fullyLive is live plus no owner of any of e's keys changed.
func (c *Cache) fullyLive(e *keyEntry, now int64) bool {
	if !c.live(e, now) {
		return false
	}
	for i := range e.keys {
		if e.keys[i].userGen != c.gens.user.get(userSlot(e.keys[i].userID)) {
			return false
		}
	}
	if e.adopted != nil {
		for i := range e.adopted.keys {
			if e.adopted.keys[i].userGen != c.gens.user.get(userSlot(e.adopted.keys[i].userID)) {
				return false
			}
		}
	}
	return true
}

func (c *Cache) negLive(n negEntry, prefix string, now int64) bool {
	return now < n.expires &&
		n.prefixGen == c.gens.prefix.get(prefixSlot(prefix)) &&
		n.epoch == c.gens.epoch.Load()
}

// match compares digest with each key of e in constant time.
func (c *Cache) match(e *keyEntry, digest *[32]byte) (*cachedKey, int) {
	for i := range e.keys {
		k := &e.keys[i]
		if subtle.ConstantTimeCompare(k.digest[:], digest[:]) == 1 {
			if k.userGen != c.gens.user.get(userSlot(k.userID)) {
				return nil, stale
			}
			return k, matched
		}
	}
	return nil, noMatch
}

// accept turns a matched key into a Principal and records the use.
func (c *Cache) accept(e *keyEntry, k *cachedKey, now int64) (Principal, error) {
	if k.disabled() {
		return Principal{}, ErrInvalidKey
	}
	c.touch.used(k, now)
	return Principal{KeyID: k.id, UserID: k.userID, KeyPrefix: e.prefix}, nil
}

// loadStamp is the invalidation state read before a load asks the store.
type loadStamp struct {
	prefixGen uint32
	epoch     uint32
	loadEpoch uint64
	start     int64
}

// loadKeys reads prefix through to the store, one load per prefix and
// generation however many requests want it.
func (c *Cache) loadKeys(ctx context.Context, prefix string) (*keyEntry, error) {
	slot := prefixSlot(prefix)
	st := loadStamp{
		prefixGen: c.gens.prefix.get(slot),
		epoch:     c.gens.epoch.Load(),
		loadEpoch: c.gens.loadEpoch.Load(),
		start:     time.Now().UnixNano(),
	}
	// Requests arriving after an invalidation must not join a load that
	// started before it: the generations are part of the flight's key.
	sfKey := prefix + "/" + strconv.FormatUint(uint64(st.prefixGen), 36) +
		"/" + strconv.FormatUint(uint64(st.epoch), 36) +
		"/" + strconv.FormatUint(st.loadEpoch, 36)
	ch := c.keyLoads.DoChan(sfKey, func() (any, error) {
		keyLoads.Inc()
		return c.fetchKeys(strings.Clone(prefix), st)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, unavailable(r.Err)
		}
		return r.Val.(*keyEntry), nil
	case <-ctx.Done():
		return nil, unavailable(ctx.Err())
	}
}

// fetchKeys asks the store for prefix and caches the answer, unless an
// invalidation happened meanwhile.
func (c *Cache) fetchKeys(prefix string, st loadStamp) (*keyEntry, error) {
	if !c.enterLoad() {
		return nil, errClosed
	}
	defer c.loads.Done()
	// A load that just finished may have cached the answer after this
	// request missed.
	now := time.Now().UnixNano()
	if e, ok := c.keys.Get(prefix); ok && e.prefixGen == st.prefixGen && e.epoch == st.epoch && c.fullyLive(e, now) {
		return e, nil
	}
	if n, ok := c.neg.Get(prefix); ok && n.prefixGen == st.prefixGen && n.epoch == st.epoch && c.negLive(n, prefix, now) {
		return &keyEntry{prefix: prefix, prefixGen: st.prefixGen, epoch: st.epoch, expires: n.expires}, nil
	}

	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	rows, err := c.s.APIKeysByPrefix(ctx, prefix)
	if err != nil {
		c.log.Warn("cache: cannot load API key", zap.String("prefix", prefix), zap.Error(err))
		return nil, err
	}
	e := &keyEntry{prefix: prefix, prefixGen: st.prefixGen, epoch: st.epoch, expires: st.start + int64(c.cfg.KeyTTL)}
	if len(rows) == 0 {
		// Stamped with the generation read before the query: a KeyCreated
		// since then makes it dead.
		c.neg.SetWithTTL(prefix, negEntry{st.prefixGen, st.epoch, st.start + int64(c.cfg.NegativeTTL)}, 1, c.cfg.NegativeTTL)
		c.neg.Wait()
		e.expires = st.start + int64(c.cfg.NegativeTTL)
		return e, nil
	}

	nsha, nbcrypt := 0, 0
	for i := range rows {
		switch {
		case !rows[i].IsActive:
		case isBcryptHash(rows[i].HashedKey):
			nbcrypt++
		default:
			nsha++
		}
	}
	if nsha > 0 {
		e.keys = make([]cachedKey, 0, nsha)
	}
	if nbcrypt > 0 {
		e.adopted = &adoptedKeys{keys: make([]bcryptKey, 0, nbcrypt)}
	}
	// The owners' generations are read after the store answered; see
	// dropUser for why loadEpoch is checked after this.
	for i := range rows {
		r := &rows[i]
		if !r.IsActive {
			continue // revoked keys never come back
		}
		ug := c.gens.user.get(userSlot(r.UserID))
		if isBcryptHash(r.HashedKey) {
			e.adopted.keys = append(e.adopted.keys, bcryptKey{id: r.ID, userID: r.UserID, hash: r.HashedKey, userGen: ug, disabled: !r.User.IsActive})
			continue
		}
		var d [32]byte
		if len(r.HashedKey) != 2*len(d) {
			c.log.Warn("cache: API key has an unrecognised hash; ignoring it", zap.String("prefix", prefix), zap.Int64("key_id", r.ID))
			continue
		}
		if _, err := hex.Decode(d[:], []byte(r.HashedKey)); err != nil {
			c.log.Warn("cache: API key has an unrecognised hash; ignoring it", zap.String("prefix", prefix), zap.Int64("key_id", r.ID))
			continue
		}
		e.keys = append(e.keys, cachedKey{digest: d, id: r.ID, userID: r.UserID, userGen: ug})
		if !r.User.IsActive {
			e.keys[len(e.keys)-1].flags.Store(flagDisabled)
		}
	}
	if c.gens.loadEpoch.Load() != st.loadEpoch {
		return e, nil // a user changed meanwhile: use once, don't cache
	}
	c.keys.SetWithTTL(prefix, e, 1, c.cfg.KeyTTL)
	c.keys.Wait()
	return e, nil
}

func isBcryptHash(h string) bool {
	return strings.HasPrefix(h, "$2a$") || strings.HasPrefix(h, "$2b$") || strings.HasPrefix(h, "$2y$")
}

// verifyBcrypt checks rawKey against e's adopted bcrypt keys. stale means
// an owner changed since e was loaded: reload and try again.
func (c *Cache) verifyBcrypt(ctx context.Context, e *keyEntry, rawKey string, digest *[32]byte, now int64) (p Principal, isStale bool, err error) {
	for i := range e.adopted.keys {
		if e.adopted.keys[i].userGen != c.gens.user.get(userSlot(e.adopted.keys[i].userID)) {
			return Principal{}, true, nil
		}
	}
	if e.adopted.failed.contains(digest, now) {
		return Principal{}, false, ErrInvalidKey
	}
	d := *digest
	ch := c.bcryptChecks.DoChan(e.prefix+string(d[:]), func() (any, error) {
		if !c.enterLoad() {
			return nil, errClosed
		}
		defer c.loads.Done()
		return c.checkBcrypt(e, rawKey, d), nil
	})
	var k *cachedKey
	select {
	case r := <-ch:
		if r.Err != nil {
			return Principal{}, false, unavailable(r.Err)
		}
		k = r.Val.(*cachedKey)
	case <-ctx.Done():
		return Principal{}, false, unavailable(ctx.Err())
	}
	if k == nil {
		return Principal{}, false, ErrInvalidKey
	}
	if k.userGen != c.gens.user.get(userSlot(k.userID)) {
		return Principal{}, true, nil
	}
	p, err = c.accept(e, k, time.Now().UnixNano())
	return p, false, err
}

// bcryptMaxLen is the number of bytes bcrypt uses; the reference's passlib
// truncates longer inputs (a full key is 74 bytes) to it.
const bcryptMaxLen = 72

// checkBcrypt runs bcrypt against each adopted key of e. On a match it
// rehashes the key to SHA-256 in the store and caches it by digest; on no
// match it remembers the digest briefly so that the same wrong secret
// does not cost another bcrypt.
func (c *Cache) checkBcrypt(e *keyEntry, rawKey string, digest [32]byte) *cachedKey {
	c.bcryptSem <- struct{}{}
	defer func() { <-c.bcryptSem }()

	pw := []byte(rawKey)
	if len(pw) > bcryptMaxLen {
		pw = pw[:bcryptMaxLen]
	}
	for i, b := range e.adopted.keys {
		if b.disabled {
			continue
		}
		c.bcryptRuns.Add(1)
		if bcrypt.CompareHashAndPassword([]byte(b.hash), pw) != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		if err := c.s.SetAPIKeyHash(ctx, b.id, HashAPIKey(rawKey)); err != nil {
			c.log.Warn("cache: cannot rehash adopted API key to SHA-256; will verify it with bcrypt again after a reload",
				zap.String("prefix", e.prefix), zap.Int64("key_id", b.id), zap.Error(err))
		}
		cancel()
		now := time.Now().UnixNano()
		e2 := *e
		e2.keys = make([]cachedKey, len(e.keys), len(e.keys)+1)
		for j := range e.keys {
			e.keys[j].copyTo(&e2.keys[j])
		}
		e2.keys = append(e2.keys, cachedKey{digest: digest, id: b.id, userID: b.userID, userGen: b.userGen})
		e2.adopted = nil
		if len(e.adopted.keys) > 1 {
			// The remaining ones keep the memory of failed secrets.
			e2.adopted = e.adopted.without(i)
		}
		// e2 carries e's generations: if e was invalidated meanwhile, e2
		// is dead too.
		if ttl := time.Duration(e.expires - now); ttl > 0 && c.live(e, now) {
			c.keys.SetWithTTL(e.prefix, &e2, 1, ttl)
			c.keys.Wait()
		}
		return &e2.keys[len(e2.keys)-1]
	}
	e.adopted.failed.add(&digest, time.Now().UnixNano()+int64(c.cfg.NegativeTTL))
	return nil
}

// copyTo copies k to dst (a fresh key of a new entry).
func (k *cachedKey) copyTo(dst *cachedKey) {
	dst.digest, dst.id, dst.userID = k.digest, k.id, k.userID
	dst.userGen = k.userGen
	dst.flags.Store(k.flags.Load() &^ flagQueued)
	dst.lastUsed.Store(k.lastUsed.Load())
}

// without returns a copy of a without its i-th key, with the same failed
// secrets.
func (a *adoptedKeys) without(i int) *adoptedKeys {
	b := &adoptedKeys{keys: append(append(make([]bcryptKey, 0, len(a.keys)-1), a.keys[:i]...), a.keys[i+1:]...)}
	a.failed.mu.Lock()
	b.failed.next, b.failed.d = a.failed.next, a.failed.d
	a.failed.mu.Unlock()
	return b
}

// failedDigests remembers a few wrong secrets tried against a prefix with
// bcrypt keys, each for NegativeTTL.
type failedDigests struct {
	mu   sync.Mutex
	next int
	d    [16]struct {
		digest [32]byte
		until  int64
	}
}

func (f *failedDigests) contains(digest *[32]byte, now int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.d {
		if f.d[i].until > now && f.d[i].digest == *digest {
			return true
		}
	}
	return false
}

func (f *failedDigests) add(digest *[32]byte, until int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.d[f.next].digest = *digest
	f.d[f.next].until = until
	f.next = (f.next + 1) % len(f.d)
}
