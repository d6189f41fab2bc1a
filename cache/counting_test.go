package cache

// The pass-through methods of countingStore (see helpers_test.go), one per
// method of store.Store: each counts its call and fails while the store is
// "down".

import (
	"context"
	"encoding/json"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

func (w *countingStore) CreateUser(ctx context.Context, u store.NewUser) (store.User, error) {
	if err := w.call("CreateUser"); err != nil {
		var zero store.User
		return zero, err
	}
	return w.Store.CreateUser(ctx, u)
}

func (w *countingStore) UserByID(ctx context.Context, id int64) (store.User, error) {
	if err := w.call("UserByID"); err != nil {
		var zero store.User
		return zero, err
	}
	return w.Store.UserByID(ctx, id)
}

func (w *countingStore) UserByEmail(ctx context.Context, email string) (store.User, error) {
	if err := w.call("UserByEmail"); err != nil {
		var zero store.User
		return zero, err
	}
	return w.Store.UserByEmail(ctx, email)
}

func (w *countingStore) UpdateUser(ctx context.Context, id int64, u store.UserUpdate) (store.User, error) {
	if err := w.call("UpdateUser"); err != nil {
		var zero store.User
		return zero, err
	}
	return w.Store.UpdateUser(ctx, id, u)
}

func (w *countingStore) ListUsers(ctx context.Context, offset, limit int) ([]store.User, error) {
	if err := w.call("ListUsers"); err != nil {
		var zero []store.User
		return zero, err
	}
	return w.Store.ListUsers(ctx, offset, limit)
}

func (w *countingStore) DeleteUser(ctx context.Context, id int64) error {
	if err := w.call("DeleteUser"); err != nil {
		return err
	}
	return w.Store.DeleteUser(ctx, id)
}

func (w *countingStore) CreateAPIKey(ctx context.Context, k store.NewAPIKey) (store.APIKey, error) {
	if err := w.call("CreateAPIKey"); err != nil {
		var zero store.APIKey
		return zero, err
	}
	return w.Store.CreateAPIKey(ctx, k)
}

func (w *countingStore) APIKeyByID(ctx context.Context, id int64) (store.APIKeyWithUser, error) {
	if err := w.call("APIKeyByID"); err != nil {
		var zero store.APIKeyWithUser
		return zero, err
	}
	return w.Store.APIKeyByID(ctx, id)
}

func (w *countingStore) UserAPIKeys(ctx context.Context, userID int64) ([]store.APIKey, error) {
	if err := w.call("UserAPIKeys"); err != nil {
		var zero []store.APIKey
		return zero, err
	}
	return w.Store.UserAPIKeys(ctx, userID)
}

func (w *countingStore) DeactivateAPIKey(ctx context.Context, id, userID int64) (store.APIKey, error) {
	if err := w.call("DeactivateAPIKey"); err != nil {
		var zero store.APIKey
		return zero, err
	}
	return w.Store.DeactivateAPIKey(ctx, id, userID)
}

func (w *countingStore) TouchAPIKey(ctx context.Context, id int64, at time.Time) error {
	if err := w.call("TouchAPIKey"); err != nil {
		return err
	}
	return w.Store.TouchAPIKey(ctx, id, at)
}

func (w *countingStore) SetAPIKeyHash(ctx context.Context, id int64, hashedKey string) error {
	if err := w.call("SetAPIKeyHash"); err != nil {
		return err
	}
	return w.Store.SetAPIKeyHash(ctx, id, hashedKey)
}

func (w *countingStore) CreateSession(ctx context.Context, s store.Session) (store.Session, error) {
	if err := w.call("CreateSession"); err != nil {
		var zero store.Session
		return zero, err
	}
	return w.Store.CreateSession(ctx, s)
}

func (w *countingStore) SessionByID(ctx context.Context, id string) (store.Session, error) {
	if err := w.call("SessionByID"); err != nil {
		var zero store.Session
		return zero, err
	}
	return w.Store.SessionByID(ctx, id)
}

func (w *countingStore) ActiveSessionByAPIKey(ctx context.Context, apiKeyID int64) (store.Session, error) {
	if err := w.call("ActiveSessionByAPIKey"); err != nil {
		var zero store.Session
		return zero, err
	}
	return w.Store.ActiveSessionByAPIKey(ctx, apiKeyID)
}

func (w *countingStore) LatestSessionByAPIKey(ctx context.Context, apiKeyID int64) (store.Session, error) {
	if err := w.call("LatestSessionByAPIKey"); err != nil {
		var zero store.Session
		return zero, err
	}
	return w.Store.LatestSessionByAPIKey(ctx, apiKeyID)
}

func (w *countingStore) ActiveSessions(ctx context.Context) ([]store.Session, error) {
	if err := w.call("ActiveSessions"); err != nil {
		var zero []store.Session
		return zero, err
	}
	return w.Store.ActiveSessions(ctx)
}

func (w *countingStore) ExpiredActiveSessions(ctx context.Context, now time.Time, limit int) ([]store.Session, error) {
	if err := w.call("ExpiredActiveSessions"); err != nil {
		var zero []store.Session
		return zero, err
	}
	return w.Store.ExpiredActiveSessions(ctx, now, limit)
}

func (w *countingStore) MarkSessionInactive(ctx context.Context, id string) error {
	if err := w.call("MarkSessionInactive"); err != nil {
		return err
	}
	return w.Store.MarkSessionInactive(ctx, id)
}

func (w *countingStore) UpsertPrivateKey(ctx context.Context, userID int64, encrypted []byte, metadata json.RawMessage) (store.PrivateKey, error) {
	if err := w.call("UpsertPrivateKey"); err != nil {
		var zero store.PrivateKey
		return zero, err
	}
	return w.Store.UpsertPrivateKey(ctx, userID, encrypted, metadata)
}

func (w *countingStore) PrivateKey(ctx context.Context, userID int64) (store.PrivateKey, error) {
	if err := w.call("PrivateKey"); err != nil {
		var zero store.PrivateKey
		return zero, err
	}
	return w.Store.PrivateKey(ctx, userID)
}

func (w *countingStore) DeletePrivateKey(ctx context.Context, userID int64) error {
	if err := w.call("DeletePrivateKey"); err != nil {
		return err
	}
	return w.Store.DeletePrivateKey(ctx, userID)
}

func (w *countingStore) HasPrivateKey(ctx context.Context, userID int64) (bool, error) {
	if err := w.call("HasPrivateKey"); err != nil {
		var zero bool
		return zero, err
	}
	return w.Store.HasPrivateKey(ctx, userID)
}

func (w *countingStore) CreateAutomationSettings(ctx context.Context, userID int64, u store.AutomationUpdate) (store.AutomationSettings, error) {
	if err := w.call("CreateAutomationSettings"); err != nil {
		var zero store.AutomationSettings
		return zero, err
	}
	return w.Store.CreateAutomationSettings(ctx, userID, u)
}

func (w *countingStore) AutomationSettings(ctx context.Context, userID int64) (store.AutomationSettings, error) {
	if err := w.call("AutomationSettings"); err != nil {
		var zero store.AutomationSettings
		return zero, err
	}
	return w.Store.AutomationSettings(ctx, userID)
}

func (w *countingStore) UpdateAutomationSettings(ctx context.Context, userID int64, u store.AutomationUpdate) (store.AutomationSettings, error) {
	if err := w.call("UpdateAutomationSettings"); err != nil {
		var zero store.AutomationSettings
		return zero, err
	}
	return w.Store.UpdateAutomationSettings(ctx, userID, u)
}

func (w *countingStore) DeleteAutomationSettings(ctx context.Context, userID int64) error {
	if err := w.call("DeleteAutomationSettings"); err != nil {
		return err
	}
	return w.Store.DeleteAutomationSettings(ctx, userID)
}

func (w *countingStore) CreateDelegation(ctx context.Context, d store.NewDelegation) (store.Delegation, error) {
	if err := w.call("CreateDelegation"); err != nil {
		var zero store.Delegation
		return zero, err
	}
	return w.Store.CreateDelegation(ctx, d)
}

func (w *countingStore) ActiveDelegation(ctx context.Context, userID int64) (store.Delegation, error) {
	if err := w.call("ActiveDelegation"); err != nil {
		var zero store.Delegation
		return zero, err
	}
	return w.Store.ActiveDelegation(ctx, userID)
}

func (w *countingStore) DeactivateDelegation(ctx context.Context, id, userID int64) error {
	if err := w.call("DeactivateDelegation"); err != nil {
		return err
	}
	return w.Store.DeactivateDelegation(ctx, id, userID)
}

func (w *countingStore) UserDelegations(ctx context.Context, userID int64, offset, limit int) ([]store.Delegation, error) {
	if err := w.call("UserDelegations"); err != nil {
		var zero []store.Delegation
		return zero, err
	}
	return w.Store.UserDelegations(ctx, userID, offset, limit)
}

func (w *countingStore) Ping(ctx context.Context) error {
	if err := w.call("Ping"); err != nil {
		return err
	}
	return w.Store.Ping(ctx)
}
