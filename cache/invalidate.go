package cache

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// genSlots is the size of each generation table.
const (
	genBits  = 14
	genSlots = 1 << genBits
)

// genTable holds generation counters indexed by a hash of what they guard.
type genTable [genSlots]atomic.Uint32

func (t *genTable) get(slot uint32) uint32 { return t[slot].Load() }
func (t *genTable) bump(slot uint32)       { t[slot].Add(1) }

// generations is the cache's invalidation state. An entry is live only
// while every generation it was stamped with is current.
//
//   - prefix[slot(prefix)]: bumped by KeyRevoked and KeyCreated. A key
//     load reads it before asking the store and stamps the entry (and any
//     negative entry) with it.
//   - user[slot(userID)]: bumped by UserChanged. A key load reads it for
//     each key's owner after the store answered; loadEpoch (below) covers
//     a change that lands while the load is in flight.
//   - settings[slot(userID)]: bumped by SettingsChanged and UserChanged,
//     read before a settings load.
//   - epoch: bumped when everything must go (the listener reconnected
//     and may have missed notifications).
//   - loadEpoch: bumped by UserChanged and by clearing everything, before
//     the user generation; a key load that sees it changed does not
//     insert its result.
type generations struct {
	prefix, user, settings genTable
	epoch                  atomic.Uint32
	loadEpoch              atomic.Uint64
}

// prefixSlot is FNV-1a of the prefix, folded to the table size.
func prefixSlot(prefix string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(prefix); i++ {
		h ^= uint32(prefix[i])
		h *= 16777619
	}
	return (h ^ h>>16) & (genSlots - 1)
}

// userSlot spreads user ids over the table (Fibonacci hashing).
func userSlot(userID int64) uint32 {
	return uint32((uint64(userID) * 0x9E3779B97F4A7C15) >> (64 - genBits))
}

// KeyCreated clears the negative-cache entry of prefix, here and on other instances.
func (c *Cache) KeyCreated(ctx context.Context, prefix string) {
	c.dropPrefix(prefix)
	c.notify(ctx, "created:"+prefix)
}

// KeyRevoked drops the key from the cache, here and on other instances.
// All keys sharing the prefix are reloaded on their next use.
func (c *Cache) KeyRevoked(ctx context.Context, keyID int64, prefix string) {
	c.dropPrefix(prefix)
	c.notify(ctx, "key:"+prefix)
}

// UserChanged drops every cached key and the settings of the user (after
// deactivation or deletion), here and on other instances.
func (c *Cache) UserChanged(ctx context.Context, userID int64) {
	c.dropUser(userID)
	c.notify(ctx, "user:"+strconv.FormatInt(userID, 10))
}

// SettingsChanged drops the user's cached settings, here and on other instances.
func (c *Cache) SettingsChanged(ctx context.Context, userID int64) {
	c.dropSettings(userID)
	c.notify(ctx, "settings:"+strconv.FormatInt(userID, 10))
}

// dropPrefix makes every entry for prefix dead, positive or negative.
func (c *Cache) dropPrefix(prefix string) {
	c.gens.prefix.bump(prefixSlot(prefix))
	// The generation already makes the entries dead; deleting frees them.
	c.keys.Del(prefix)
	c.neg.Del(prefix)
}

// dropUser makes the user's keys and settings dead. The order matters: a
// key load checks loadEpoch after reading the user generations, so
// bumping loadEpoch first guarantees that a load either sees the new
// loadEpoch (and does not insert) or stamped the old user generation
// (and its entry is dead).
func (c *Cache) dropUser(userID int64) {
	c.gens.loadEpoch.Add(1)
	slot := userSlot(userID)
	c.gens.user.bump(slot)
	c.gens.settings.bump(slot)
	c.settings.Del(userID)
}

// dropSettings makes the user's cached settings dead.
func (c *Cache) dropSettings(userID int64) {
	c.gens.settings.bump(userSlot(userID))
	c.settings.Del(userID)
}

// dropAll makes every entry dead (used after the listener reconnected).
func (c *Cache) dropAll() {
	c.gens.loadEpoch.Add(1)
	c.gens.epoch.Add(1)
}

// notify tells other instances, when the store is shared. A failure is
// logged: the other instances then catch up within KeyTTL.
func (c *Cache) notify(ctx context.Context, payload string) {
	if c.notifier == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), notifyTimeout)
	defer cancel()
	if err := c.notifier.Notify(ctx, NotifyChannel, payload); err != nil {
		c.log.Warn("cache: cannot notify other instances; they catch up within the key TTL",
			zap.String("invalidation", payload), zap.Error(err))
	}
}

// applyRemote applies an invalidation received from another instance (or
// this one: applying it twice is harmless).
func (c *Cache) applyRemote(payload string) {
	kind, arg, ok := strings.Cut(payload, ":")
	if !ok || arg == "" || len(arg) > 64 {
		c.log.Debug("cache: ignoring malformed notification", zap.Int("length", len(payload)))
		return
	}
	switch kind {
	case "key", "created":
		c.dropPrefix(arg)
	case "user", "settings":
		id, err := strconv.ParseInt(arg, 10, 64)
		if err != nil {
			c.log.Debug("cache: ignoring malformed notification", zap.String("kind", kind))
			return
		}
		if kind == "user" {
			c.dropUser(id)
		} else {
			c.dropSettings(id)
		}
	case "ping":
		c.lastPing.Store(&arg)
	default:
		c.log.Debug("cache: ignoring unknown notification", zap.String("kind", kind))
	}
}

// runListener applies other instances' invalidations until ctx ends.
func (c *Cache) runListener(ctx context.Context) {
	for ctx.Err() == nil {
		err := c.notifier.Listen(ctx, NotifyChannel, c.applyRemote, func() {
			c.log.Info("cache: invalidation listener reconnected; dropping all cached keys and settings")
			c.dropAll()
		})
		if ctx.Err() != nil {
			return
		}
		// Listen only returns early on a bug or a closed store; don't spin.
		c.log.Warn("cache: invalidation listener stopped; restarting", zap.Error(err))
		c.dropAll()
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// waitListening sends "ping" notifications until this instance's own
// listener receives one, i.e. until it is listening. For tests.
func (c *Cache) waitListening(ctx context.Context) error {
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	for {
		if err := c.notifier.Notify(ctx, NotifyChannel, "ping:"+nonce); err != nil && ctx.Err() == nil {
			c.log.Debug("cache: ping", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if p := c.lastPing.Load(); p != nil && *p == nonce {
			return nil
		}
	}
}
