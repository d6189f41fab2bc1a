package session

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// countingStore counts every store call and can fail chosen methods.
type countingStore struct {
	store.Store
	mu    sync.Mutex
	calls map[string]int
	fail  map[string]error
}

func newCountingStore(s store.Store) *countingStore {
	return &countingStore{Store: s, calls: map[string]int{}, fail: map[string]error{}}
}

func (c *countingStore) hit(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[name]++
	return c.fail[name]
}

// total is the number of calls so far.
func (c *countingStore) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.calls {
		n += v
	}
	return n
}

func (c *countingStore) count(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[name]
}

// setFail makes name fail with err (nil: succeed again).
func (c *countingStore) setFail(name string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		delete(c.fail, name)
	} else {
		c.fail[name] = err
	}
}

// TryLock forwards to the wrapped store when it is a store.Locker.
func (c *countingStore) TryLock(ctx context.Context, name string) (func(), bool, error) {
	if err := c.hit("TryLock"); err != nil {
		return nil, false, err
	}
	if l, ok := c.Store.(store.Locker); ok {
		return l.TryLock(ctx, name)
	}
	return func() {}, true, nil
}

func (c *countingStore) CreateUser(ctx context.Context, u store.NewUser) (store.User, error) {
	if err := c.hit("CreateUser"); err != nil {
		return store.User{}, err
	}
	return c.Store.CreateUser(ctx, u)
}

func (c *countingStore) UserByID(ctx context.Context, id int64) (store.User, error) {
	if err := c.hit("UserByID"); err != nil {
		return store.User{}, err
	}
	return c.Store.UserByID(ctx, id)
}

func (c *countingStore) UserByEmail(ctx context.Context, email string) (store.User, error) {
	if err := c.hit("UserByEmail"); err != nil {
		return store.User{}, err
	}
	return c.Store.UserByEmail(ctx, email)
}

func (c *countingStore) UpdateUser(ctx context.Context, id int64, u store.UserUpdate) (store.User, error) {
	if err := c.hit("UpdateUser"); err != nil {
		return store.User{}, err
	}
	return c.Store.UpdateUser(ctx, id, u)
}

func (c *countingStore) ListUsers(ctx context.Context, offset, limit int) ([]store.User, error) {
	if err := c.hit("ListUsers"); err != nil {
		return nil, err
	}
	return c.Store.ListUsers(ctx, offset, limit)
}

func (c *countingStore) DeleteUser(ctx context.Context, id int64) error {
	if err := c.hit("DeleteUser"); err != nil {
		return err
	}
	return c.Store.DeleteUser(ctx, id)
}

func (c *countingStore) CreateAPIKey(ctx context.Context, k store.NewAPIKey) (store.APIKey, error) {
	if err := c.hit("CreateAPIKey"); err != nil {
		return store.APIKey{}, err
	}
	return c.Store.CreateAPIKey(ctx, k)
}

func (c *countingStore) APIKeyByID(ctx context.Context, id int64) (store.APIKeyWithUser, error) {
	if err := c.hit("APIKeyByID"); err != nil {
		return store.APIKeyWithUser{}, err
	}
	return c.Store.APIKeyByID(ctx, id)
}

func (c *countingStore) APIKeysByPrefix(ctx context.Context, prefix string) ([]store.APIKeyWithUser, error) {
	if err := c.hit("APIKeysByPrefix"); err != nil {
		return nil, err
	}
	return c.Store.APIKeysByPrefix(ctx, prefix)
}

func (c *countingStore) UserAPIKeys(ctx context.Context, userID int64) ([]store.APIKey, error) {
	if err := c.hit("UserAPIKeys"); err != nil {
		return nil, err
	}
	return c.Store.UserAPIKeys(ctx, userID)
}

func (c *countingStore) DeactivateAPIKey(ctx context.Context, id, userID int64) (store.APIKey, error) {
	if err := c.hit("DeactivateAPIKey"); err != nil {
		return store.APIKey{}, err
	}
	return c.Store.DeactivateAPIKey(ctx, id, userID)
}

func (c *countingStore) TouchAPIKey(ctx context.Context, id int64, at time.Time) error {
	if err := c.hit("TouchAPIKey"); err != nil {
		return err
	}
	return c.Store.TouchAPIKey(ctx, id, at)
}

func (c *countingStore) SetAPIKeyHash(ctx context.Context, id int64, hashedKey string) error {
	if err := c.hit("SetAPIKeyHash"); err != nil {
		return err
	}
	return c.Store.SetAPIKeyHash(ctx, id, hashedKey)
}

func (c *countingStore) CreateSession(ctx context.Context, s store.Session) (store.Session, error) {
	if err := c.hit("CreateSession"); err != nil {
		return store.Session{}, err
	}
	return c.Store.CreateSession(ctx, s)
}

func (c *countingStore) SessionByID(ctx context.Context, id string) (store.Session, error) {
	if err := c.hit("SessionByID"); err != nil {
		return store.Session{}, err
	}
	return c.Store.SessionByID(ctx, id)
}

func (c *countingStore) ActiveSessionByAPIKey(ctx context.Context, apiKeyID int64) (store.Session, error) {
	if err := c.hit("ActiveSessionByAPIKey"); err != nil {
		return store.Session{}, err
	}
	return c.Store.ActiveSessionByAPIKey(ctx, apiKeyID)
}

func (c *countingStore) LatestSessionByAPIKey(ctx context.Context, apiKeyID int64) (store.Session, error) {
	if err := c.hit("LatestSessionByAPIKey"); err != nil {
		return store.Session{}, err
	}
	return c.Store.LatestSessionByAPIKey(ctx, apiKeyID)
}

func (c *countingStore) ActiveSessions(ctx context.Context) ([]store.Session, error) {
	if err := c.hit("ActiveSessions"); err != nil {
		return nil, err
	}
	return c.Store.ActiveSessions(ctx)
}

func (c *countingStore) ExpiredActiveSessions(ctx context.Context, now time.Time, limit int) ([]store.Session, error) {
	if err := c.hit("ExpiredActiveSessions"); err != nil {
		return nil, err
	}
	return c.Store.ExpiredActiveSessions(ctx, now, limit)
}

func (c *countingStore) MarkSessionInactive(ctx context.Context, id string) error {
	if err := c.hit("MarkSessionInactive"); err != nil {
		return err
	}
	return c.Store.MarkSessionInactive(ctx, id)
}

func (c *countingStore) UpsertPrivateKey(ctx context.Context, userID int64, encrypted []byte, metadata json.RawMessage) (store.PrivateKey, error) {
	if err := c.hit("UpsertPrivateKey"); err != nil {
		return store.PrivateKey{}, err
	}
	return c.Store.UpsertPrivateKey(ctx, userID, encrypted, metadata)
}

func (c *countingStore) PrivateKey(ctx context.Context, userID int64) (store.PrivateKey, error) {
	if err := c.hit("PrivateKey"); err != nil {
		return store.PrivateKey{}, err
	}
	return c.Store.PrivateKey(ctx, userID)
}

func (c *countingStore) DeletePrivateKey(ctx context.Context, userID int64) error {
	if err := c.hit("DeletePrivateKey"); err != nil {
		return err
	}
	return c.Store.DeletePrivateKey(ctx, userID)
}

func (c *countingStore) HasPrivateKey(ctx context.Context, userID int64) (bool, error) {
	if err := c.hit("HasPrivateKey"); err != nil {
		return false, err
	}
	return c.Store.HasPrivateKey(ctx, userID)
}

func (c *countingStore) CreateAutomationSettings(ctx context.Context, userID int64, u store.AutomationUpdate) (store.AutomationSettings, error) {
	if err := c.hit("CreateAutomationSettings"); err != nil {
		return store.AutomationSettings{}, err
	}
	return c.Store.CreateAutomationSettings(ctx, userID, u)
}

func (c *countingStore) AutomationSettings(ctx context.Context, userID int64) (store.AutomationSettings, error) {
	if err := c.hit("AutomationSettings"); err != nil {
		return store.AutomationSettings{}, err
	}
	return c.Store.AutomationSettings(ctx, userID)
}

func (c *countingStore) UpdateAutomationSettings(ctx context.Context, userID int64, u store.AutomationUpdate) (store.AutomationSettings, error) {
	if err := c.hit("UpdateAutomationSettings"); err != nil {
		return store.AutomationSettings{}, err
	}
	return c.Store.UpdateAutomationSettings(ctx, userID, u)
}

func (c *countingStore) DeleteAutomationSettings(ctx context.Context, userID int64) error {
	if err := c.hit("DeleteAutomationSettings"); err != nil {
		return err
	}
	return c.Store.DeleteAutomationSettings(ctx, userID)
}

func (c *countingStore) CreateDelegation(ctx context.Context, d store.NewDelegation) (store.Delegation, error) {
	if err := c.hit("CreateDelegation"); err != nil {
		return store.Delegation{}, err
	}
	return c.Store.CreateDelegation(ctx, d)
}

func (c *countingStore) ActiveDelegation(ctx context.Context, userID int64) (store.Delegation, error) {
	if err := c.hit("ActiveDelegation"); err != nil {
		return store.Delegation{}, err
	}
	return c.Store.ActiveDelegation(ctx, userID)
}

func (c *countingStore) DeactivateDelegation(ctx context.Context, id, userID int64) error {
	if err := c.hit("DeactivateDelegation"); err != nil {
		return err
	}
	return c.Store.DeactivateDelegation(ctx, id, userID)
}

func (c *countingStore) UserDelegations(ctx context.Context, userID int64, offset, limit int) ([]store.Delegation, error) {
	if err := c.hit("UserDelegations"); err != nil {
		return nil, err
	}
	return c.Store.UserDelegations(ctx, userID, offset, limit)
}

func (c *countingStore) Ping(ctx context.Context) error {
	if err := c.hit("Ping"); err != nil {
		return err
	}
	return c.Store.Ping(ctx)
}

func (c *countingStore) Close() error {
	if err := c.hit("Close"); err != nil {
		return err
	}
	return c.Store.Close()
}
