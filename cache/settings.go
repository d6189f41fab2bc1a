package cache

import (
	"context"
	"errors"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// settingsEntry is a user's cached automation settings, or the fact that
// the user has none (found=false).
type settingsEntry struct {
	s       store.AutomationSettings
	found   bool
	gen     uint32 // settings generation of the user at the start of the load
	epoch   uint32
	fresh   int64 // unix nanos: served without asking the store until then
	expires int64 // unix nanos: served when the store is down until then
}

// AutomationSettings returns the user's settings; found is false when the
// user has no row.
//
// A cached answer (including "no row") costs no store call for
// SettingsTTL. After that the store is asked again; if it cannot answer,
// the previous value is served for up to another SettingsTTL, unless it
// was invalidated (SettingsChanged, UserChanged).
func (c *Cache) AutomationSettings(ctx context.Context, userID int64) (s store.AutomationSettings, found bool, err error) {
	now := time.Now().UnixNano()
	slot := userSlot(userID)
	var prev *settingsEntry
	if e, ok := c.settings.Get(userID); ok && c.settingsLive(e, slot, now) {
		if now < e.fresh {
			return e.s, e.found, nil
		}
		prev = e
	}
	e, err := c.loadSettings(ctx, userID, slot)
	if err != nil {
		if prev != nil && c.settingsLive(prev, slot, time.Now().UnixNano()) {
			return prev.s, prev.found, nil
		}
		return store.AutomationSettings{}, false, err
	}
	return e.s, e.found, nil
}

func (c *Cache) settingsLive(e *settingsEntry, slot uint32, now int64) bool {
	return now < e.expires && e.gen == c.gens.settings.get(slot) && e.epoch == c.gens.epoch.Load()
}

// loadSettings reads the user's settings through to the store, one load
// per user and generation.
func (c *Cache) loadSettings(ctx context.Context, userID int64, slot uint32) (*settingsEntry, error) {
	gen, epoch := c.gens.settings.get(slot), c.gens.epoch.Load()
	start := time.Now().UnixNano()
	sfKey := strconv.FormatInt(userID, 10) + "/" + strconv.FormatUint(uint64(gen), 36) + "/" + strconv.FormatUint(uint64(epoch), 36)
	ch := c.settingsLoads.DoChan(sfKey, func() (any, error) {
		if !c.enterLoad() {
			return nil, errClosed
		}
		defer c.loads.Done()
		if e, ok := c.settings.Get(userID); ok && e.gen == gen && e.epoch == epoch && c.settingsLive(e, slot, time.Now().UnixNano()) && time.Now().UnixNano() < e.fresh {
			return e, nil
		}
		lctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		s, err := c.s.AutomationSettings(lctx, userID)
		found := true
		if errors.Is(err, store.ErrNotFound) {
			s, found, err = store.AutomationSettings{}, false, nil
		}
		if err != nil {
			c.log.Warn("cache: cannot load automation settings", zap.Int64("user_id", userID), zap.Error(err))
			return nil, err
		}
		e := &settingsEntry{
			s: s, found: found, gen: gen, epoch: epoch,
			fresh:   start + int64(c.cfg.SettingsTTL),
			expires: start + 2*int64(c.cfg.SettingsTTL),
		}
		// Stamped with the generation read before the query: if the
		// settings changed meanwhile, the entry is dead on arrival.
		c.settings.SetWithTTL(userID, e, 1, 2*c.cfg.SettingsTTL)
		c.settings.Wait()
		return e, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, unavailable(r.Err)
		}
		return r.Val.(*settingsEntry), nil
	case <-ctx.Done():
		return nil, unavailable(ctx.Err())
	}
}
