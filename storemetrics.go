package morpheus

import (
	"context"
	"encoding/json"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// countedStore counts every store call in the morpheus_store_calls_total
// metric, so that operators (and the benchmark) can see that requests with a
// cached key and session reach the database zero times. It forwards the
// optional Notifier and Locker interfaces only when the backend has them
// (see instrumentStore): the cache and the cleanup loop test for them.
type countedStore struct {
	store.Store
}

func (s countedStore) count(op string) { storeCalls.WithLabelValues(op).Inc() }

// instrumentStore wraps s so that its calls are counted, keeping exactly the
// optional interfaces s implements.
func instrumentStore(s store.Store) store.Store {
	c := countedStore{s}
	n, isNotifier := s.(store.Notifier)
	l, isLocker := s.(store.Locker)
	switch {
	case isNotifier && isLocker:
		return struct {
			countedStore
			store.Notifier
			store.Locker
		}{c, n, l}
	case isNotifier:
		return struct {
			countedStore
			store.Notifier
		}{c, n}
	case isLocker:
		return struct {
			countedStore
			store.Locker
		}{c, l}
	}
	return c
}

func (s countedStore) CreateUser(ctx context.Context, u store.NewUser) (store.User, error) {
	s.count("CreateUser")
	return s.Store.CreateUser(ctx, u)
}

func (s countedStore) UserByID(ctx context.Context, id int64) (store.User, error) {
	s.count("UserByID")
	return s.Store.UserByID(ctx, id)
}

func (s countedStore) UserByEmail(ctx context.Context, email string) (store.User, error) {
	s.count("UserByEmail")
	return s.Store.UserByEmail(ctx, email)
}

func (s countedStore) UpdateUser(ctx context.Context, id int64, u store.UserUpdate) (store.User, error) {
	s.count("UpdateUser")
	return s.Store.UpdateUser(ctx, id, u)
}

func (s countedStore) ListUsers(ctx context.Context, offset, limit int) ([]store.User, error) {
	s.count("ListUsers")
	return s.Store.ListUsers(ctx, offset, limit)
}

func (s countedStore) DeleteUser(ctx context.Context, id int64) error {
	s.count("DeleteUser")
	return s.Store.DeleteUser(ctx, id)
}

func (s countedStore) CreateAPIKey(ctx context.Context, k store.NewAPIKey) (store.APIKey, error) {
	s.count("CreateAPIKey")
	return s.Store.CreateAPIKey(ctx, k)
}

func (s countedStore) APIKeyByID(ctx context.Context, id int64) (store.APIKeyWithUser, error) {
	s.count("APIKeyByID")
	return s.Store.APIKeyByID(ctx, id)
}

func (s countedStore) APIKeysByPrefix(ctx context.Context, prefix string) ([]store.APIKeyWithUser, error) {
	s.count("APIKeysByPrefix")
	return s.Store.APIKeysByPrefix(ctx, prefix)
}

func (s countedStore) UserAPIKeys(ctx context.Context, userID int64) ([]store.APIKey, error) {
	s.count("UserAPIKeys")
	return s.Store.UserAPIKeys(ctx, userID)
}

func (s countedStore) DeactivateAPIKey(ctx context.Context, id, userID int64) (store.APIKey, error) {
	s.count("DeactivateAPIKey")
	return s.Store.DeactivateAPIKey(ctx, id, userID)
}

func (s countedStore) TouchAPIKey(ctx context.Context, id int64, at time.Time) error {
	s.count("TouchAPIKey")
	return s.Store.TouchAPIKey(ctx, id, at)
}

func (s countedStore) SetAPIKeyHash(ctx context.Context, id int64, hashedKey string) error {
	s.count("SetAPIKeyHash")
	return s.Store.SetAPIKeyHash(ctx, id, hashedKey)
}

func (s countedStore) CreateSession(ctx context.Context, sess store.Session) (store.Session, error) {
	s.count("CreateSession")
	return s.Store.CreateSession(ctx, sess)
}

func (s countedStore) SessionByID(ctx context.Context, id string) (store.Session, error) {
	s.count("SessionByID")
	return s.Store.SessionByID(ctx, id)
}

func (s countedStore) ActiveSessionByAPIKey(ctx context.Context, apiKeyID int64) (store.Session, error) {
	s.count("ActiveSessionByAPIKey")
	return s.Store.ActiveSessionByAPIKey(ctx, apiKeyID)
}

func (s countedStore) LatestSessionByAPIKey(ctx context.Context, apiKeyID int64) (store.Session, error) {
	s.count("LatestSessionByAPIKey")
	return s.Store.LatestSessionByAPIKey(ctx, apiKeyID)
}

func (s countedStore) ActiveSessions(ctx context.Context) ([]store.Session, error) {
	s.count("ActiveSessions")
	return s.Store.ActiveSessions(ctx)
}

func (s countedStore) ExpiredActiveSessions(ctx context.Context, now time.Time, limit int) ([]store.Session, error) {
	s.count("ExpiredActiveSessions")
	return s.Store.ExpiredActiveSessions(ctx, now, limit)
}

func (s countedStore) MarkSessionInactive(ctx context.Context, id string) error {
	s.count("MarkSessionInactive")
	return s.Store.MarkSessionInactive(ctx, id)
}

func (s countedStore) UpsertPrivateKey(ctx context.Context, userID int64, encrypted []byte, metadata json.RawMessage) (store.PrivateKey, error) {
	s.count("UpsertPrivateKey")
	return s.Store.UpsertPrivateKey(ctx, userID, encrypted, metadata)
}

func (s countedStore) PrivateKey(ctx context.Context, userID int64) (store.PrivateKey, error) {
	s.count("PrivateKey")
	return s.Store.PrivateKey(ctx, userID)
}

func (s countedStore) DeletePrivateKey(ctx context.Context, userID int64) error {
	s.count("DeletePrivateKey")
	return s.Store.DeletePrivateKey(ctx, userID)
}

func (s countedStore) HasPrivateKey(ctx context.Context, userID int64) (bool, error) {
	s.count("HasPrivateKey")
	return s.Store.HasPrivateKey(ctx, userID)
}

func (s countedStore) CreateAutomationSettings(ctx context.Context, userID int64, u store.AutomationUpdate) (store.AutomationSettings, error) {
	s.count("CreateAutomationSettings")
	return s.Store.CreateAutomationSettings(ctx, userID, u)
}

func (s countedStore) AutomationSettings(ctx context.Context, userID int64) (store.AutomationSettings, error) {
	s.count("AutomationSettings")
	return s.Store.AutomationSettings(ctx, userID)
}

func (s countedStore) UpdateAutomationSettings(ctx context.Context, userID int64, u store.AutomationUpdate) (store.AutomationSettings, error) {
	s.count("UpdateAutomationSettings")
	return s.Store.UpdateAutomationSettings(ctx, userID, u)
}

func (s countedStore) DeleteAutomationSettings(ctx context.Context, userID int64) error {
	s.count("DeleteAutomationSettings")
	return s.Store.DeleteAutomationSettings(ctx, userID)
}

func (s countedStore) CreateDelegation(ctx context.Context, d store.NewDelegation) (store.Delegation, error) {
	s.count("CreateDelegation")
	return s.Store.CreateDelegation(ctx, d)
}

func (s countedStore) ActiveDelegation(ctx context.Context, userID int64) (store.Delegation, error) {
	s.count("ActiveDelegation")
	return s.Store.ActiveDelegation(ctx, userID)
}

func (s countedStore) DeactivateDelegation(ctx context.Context, id, userID int64) error {
	s.count("DeactivateDelegation")
	return s.Store.DeactivateDelegation(ctx, id, userID)
}

func (s countedStore) UserDelegations(ctx context.Context, userID int64, offset, limit int) ([]store.Delegation, error) {
	s.count("UserDelegations")
	return s.Store.UserDelegations(ctx, userID, offset, limit)
}

func (s countedStore) Ping(ctx context.Context) error {
	s.count("Ping")
	return s.Store.Ping(ctx)
}
