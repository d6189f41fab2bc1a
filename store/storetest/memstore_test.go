package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// TestSuiteAgainstMemory runs the suite against memStore, a minimal
// in-memory reference implementation of the store.Store contract. It keeps
// the suite honest before the real backends exist and documents the
// contract in executable form.
func TestSuiteAgainstMemory(t *testing.T) {
	Run(t, func(t *testing.T) store.Store { return newMemStore() })
}

// memStore implements store.Store with maps under one mutex.
type memStore struct {
	mu          sync.Mutex
	lastID      int64
	users       map[int64]store.User
	keys        map[int64]store.APIKey
	sessions    map[string]store.Session
	privateKeys map[int64]store.PrivateKey // by user id
	automation  map[int64]store.AutomationSettings
	delegations map[int64]store.Delegation
}

var _ store.Store = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{
		users:       map[int64]store.User{},
		keys:        map[int64]store.APIKey{},
		sessions:    map[string]store.Session{},
		privateKeys: map[int64]store.PrivateKey{},
		automation:  map[int64]store.AutomationSettings{},
		delegations: map[int64]store.Delegation{},
	}
}

// now is the database clock: UTC, microsecond precision.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// dbTime is how an explicit time is stored.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func dbTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := dbTime(*t)
	return &v
}

func (m *memStore) id() int64 { m.lastID++; return m.lastID }

// sortedValues returns the map's values ordered by less.
func sortedValues[K comparable, V any](mp map[K]V, keep func(V) bool, less func(a, b V) int) []V {
	var out []V
	for _, v := range mp {
		if keep(v) {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, less)
	return out
}

func page[V any](vs []V, offset, limit int) []V {
	offset = max(offset, 0)
	if limit <= 0 {
		limit = len(vs)
	}
	if offset >= len(vs) {
		return nil
	}
	return vs[offset:min(len(vs), offset+limit)]
}

// Users.

func (m *memStore) emailTaken(email string, except int64) bool {
	for _, u := range m.users {
		if u.Email == email && u.ID != except {
			return true
		}
	}
	return false
}

func (m *memStore) CreateUser(_ context.Context, n store.NewUser) (store.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.emailTaken(n.Email, 0) {
		return store.User{}, store.ErrDuplicateEmail
	}
	t := now()
	u := store.User{ID: m.id(), Name: n.Name, Email: n.Email, HashedPassword: n.HashedPassword, IsActive: true, CreatedAt: t, UpdatedAt: t}
	m.users[u.ID] = u
	return u, nil
}

func (m *memStore) UserByID(_ context.Context, id int64) (store.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	return u, nil
}

func (m *memStore) UserByEmail(_ context.Context, email string) (store.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.users {
		if u.Email == email {
			return u, nil
		}
	}
	return store.User{}, store.ErrNotFound
}

func (m *memStore) UpdateUser(_ context.Context, id int64, up store.UserUpdate) (store.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	if up.Email != nil && m.emailTaken(*up.Email, id) {
		return store.User{}, store.ErrDuplicateEmail
	}
	if up.Name != nil {
		u.Name = *up.Name
	}
	if up.Email != nil {
		u.Email = *up.Email
	}
	if up.HashedPassword != nil {
		u.HashedPassword = *up.HashedPassword
	}
	if up.IsActive != nil {
		u.IsActive = *up.IsActive
	}
	u.UpdatedAt = now()
	m.users[id] = u
	return u, nil
}

func (m *memStore) ListUsers(_ context.Context, offset, limit int) ([]store.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	all := sortedValues(m.users, func(store.User) bool { return true }, func(a, b store.User) int { return int(a.ID - b.ID) })
	return page(all, offset, limit), nil
}

func (m *memStore) DeleteUser(_ context.Context, id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[id]; !ok {
		return store.ErrNotFound
	}
	for sid, s := range m.sessions {
		if s.UserID == id || m.keys[s.APIKeyID].UserID == id {
			delete(m.sessions, sid)
		}
	}
	for kid, k := range m.keys {
		if k.UserID == id {
			delete(m.keys, kid)
		}
	}
	for did, d := range m.delegations {
		if d.UserID == id {
			delete(m.delegations, did)
		}
	}
	delete(m.privateKeys, id)
	delete(m.automation, id)
	delete(m.users, id)
	return nil
}

// API keys.

func (m *memStore) CreateAPIKey(_ context.Context, n store.NewAPIKey) (store.APIKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[n.UserID]; !ok {
		return store.APIKey{}, store.ErrNotFound
	}
	k := store.APIKey{ID: m.id(), KeyPrefix: n.KeyPrefix, HashedKey: n.HashedKey, UserID: n.UserID, Name: n.Name, CreatedAt: now(), IsActive: true}
	m.keys[k.ID] = k
	return k, nil
}

func (m *memStore) APIKeyByID(_ context.Context, id int64) (store.APIKeyWithUser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[id]
	if !ok {
		return store.APIKeyWithUser{}, store.ErrNotFound
	}
	return store.APIKeyWithUser{APIKey: k, User: m.users[k.UserID]}, nil
}

func (m *memStore) APIKeysByPrefix(_ context.Context, prefix string) ([]store.APIKeyWithUser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ks := sortedValues(m.keys, func(k store.APIKey) bool { return k.KeyPrefix == prefix }, func(a, b store.APIKey) int { return int(a.ID - b.ID) })
	out := make([]store.APIKeyWithUser, len(ks))
	for i, k := range ks {
		out[i] = store.APIKeyWithUser{APIKey: k, User: m.users[k.UserID]}
	}
	return out, nil
}

func (m *memStore) UserAPIKeys(_ context.Context, userID int64) ([]store.APIKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return sortedValues(m.keys, func(k store.APIKey) bool { return k.UserID == userID }, func(a, b store.APIKey) int { return int(a.ID - b.ID) }), nil
}

func (m *memStore) DeactivateAPIKey(_ context.Context, id, userID int64) (store.APIKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[id]
	if !ok || k.UserID != userID {
		return store.APIKey{}, store.ErrNotFound
	}
	k.IsActive = false
	m.keys[id] = k
	return k, nil
}

func (m *memStore) TouchAPIKey(_ context.Context, id int64, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[id]
	if !ok {
		return store.ErrNotFound
	}
	k.LastUsedAt = dbTimePtr(&at)
	m.keys[id] = k
	return nil
}

func (m *memStore) SetAPIKeyHash(_ context.Context, id int64, hashedKey string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[id]
	if !ok {
		return store.ErrNotFound
	}
	k.HashedKey = hashedKey
	m.keys[id] = k
	return nil
}

// Sessions.

func (m *memStore) CreateSession(_ context.Context, s store.Session) (store.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.sessions[s.ID]; dup {
		return store.Session{}, store.ErrConflict
	}
	if s.IsActive {
		for _, o := range m.sessions {
			if o.IsActive && o.APIKeyID == s.APIKeyID {
				return store.Session{}, store.ErrActiveSessionExists
			}
		}
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now()
	}
	s.CreatedAt, s.ExpiresAt = dbTime(s.CreatedAt), dbTime(s.ExpiresAt)
	m.sessions[s.ID] = s
	return s, nil
}

func (m *memStore) SessionByID(_ context.Context, id string) (store.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return store.Session{}, store.ErrNotFound
	}
	return s, nil
}

func (m *memStore) ActiveSessionByAPIKey(_ context.Context, apiKeyID int64) (store.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.sessions {
		if s.IsActive && s.APIKeyID == apiKeyID {
			return s, nil
		}
	}
	return store.Session{}, store.ErrNotFound
}

func (m *memStore) LatestSessionByAPIKey(_ context.Context, apiKeyID int64) (store.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ss := sortedValues(m.sessions, func(s store.Session) bool { return s.APIKeyID == apiKeyID },
		func(a, b store.Session) int { return b.CreatedAt.Compare(a.CreatedAt) })
	if len(ss) == 0 {
		return store.Session{}, store.ErrNotFound
	}
	return ss[0], nil
}

func byExpiry(a, b store.Session) int { return a.ExpiresAt.Compare(b.ExpiresAt) }

func (m *memStore) ActiveSessions(_ context.Context) ([]store.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return sortedValues(m.sessions, func(s store.Session) bool { return s.IsActive }, byExpiry), nil
}

func (m *memStore) ExpiredActiveSessions(_ context.Context, at time.Time, limit int) ([]store.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ss := sortedValues(m.sessions, func(s store.Session) bool { return s.IsActive && s.ExpiresAt.Before(at) }, byExpiry)
	return page(ss, 0, limit), nil
}

func (m *memStore) MarkSessionInactive(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return store.ErrNotFound
	}
	s.IsActive = false
	m.sessions[id] = s
	return nil
}

// Private keys.

func (m *memStore) UpsertPrivateKey(_ context.Context, userID int64, encrypted []byte, metadata json.RawMessage) (store.PrivateKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	pk, ok := m.privateKeys[userID]
	t := now()
	if !ok {
		pk = store.PrivateKey{ID: m.id(), UserID: userID, CreatedAt: t}
	}
	pk.EncryptedPrivateKey = bytes.Clone(encrypted)
	pk.EncryptionMetadata = bytes.Clone(metadata)
	pk.UpdatedAt = t
	m.privateKeys[userID] = pk
	return pk, nil
}

func (m *memStore) PrivateKey(_ context.Context, userID int64) (store.PrivateKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	pk, ok := m.privateKeys[userID]
	if !ok {
		return store.PrivateKey{}, store.ErrNotFound
	}
	return pk, nil
}

func (m *memStore) DeletePrivateKey(_ context.Context, userID int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.privateKeys[userID]; !ok {
		return store.ErrNotFound
	}
	delete(m.privateKeys, userID)
	return nil
}

func (m *memStore) HasPrivateKey(_ context.Context, userID int64) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.privateKeys[userID]
	return ok, nil
}

// Automation settings.

func applyAutomation(a *store.AutomationSettings, u store.AutomationUpdate) {
	if u.IsEnabled != nil {
		a.IsEnabled = *u.IsEnabled
	}
	if u.SessionDuration != nil {
		a.SessionDuration = *u.SessionDuration
	}
}

func (m *memStore) newAutomation(userID int64, u store.AutomationUpdate) store.AutomationSettings {
	t := now()
	a := store.AutomationSettings{ID: m.id(), UserID: userID, IsEnabled: store.DefaultAutomationEnabled,
		SessionDuration: store.DefaultSessionDurationSec, CreatedAt: t, UpdatedAt: t}
	applyAutomation(&a, u)
	m.automation[userID] = a
	return a
}

func (m *memStore) CreateAutomationSettings(_ context.Context, userID int64, u store.AutomationUpdate) (store.AutomationSettings, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.automation[userID]; ok {
		return store.AutomationSettings{}, store.ErrConflict
	}
	return m.newAutomation(userID, u), nil
}

func (m *memStore) AutomationSettings(_ context.Context, userID int64) (store.AutomationSettings, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.automation[userID]
	if !ok {
		return store.AutomationSettings{}, store.ErrNotFound
	}
	return a, nil
}

func (m *memStore) UpdateAutomationSettings(_ context.Context, userID int64, u store.AutomationUpdate) (store.AutomationSettings, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.automation[userID]
	if !ok {
		return m.newAutomation(userID, u), nil
	}
	applyAutomation(&a, u)
	a.UpdatedAt = now()
	m.automation[userID] = a
	return a, nil
}

func (m *memStore) DeleteAutomationSettings(_ context.Context, userID int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.automation[userID]; !ok {
		return store.ErrNotFound
	}
	delete(m.automation, userID)
	return nil
}

// Delegations.

func newestFirst(a, b store.Delegation) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return int(b.ID - a.ID)
}

func (m *memStore) CreateDelegation(_ context.Context, n store.NewDelegation) (store.Delegation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, d := range m.delegations {
		if d.UserID == n.UserID && d.IsActive {
			d.IsActive = false
			m.delegations[id] = d
		}
	}
	d := store.Delegation{ID: m.id(), UserID: n.UserID, DelegateAddress: n.DelegateAddress,
		SignedDelegationData: n.SignedDelegationData, Expiry: dbTimePtr(n.Expiry), CreatedAt: now(), IsActive: true}
	m.delegations[d.ID] = d
	return d, nil
}

func (m *memStore) ActiveDelegation(_ context.Context, userID int64) (store.Delegation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ds := sortedValues(m.delegations, func(d store.Delegation) bool { return d.UserID == userID && d.IsActive }, newestFirst)
	if len(ds) == 0 {
		return store.Delegation{}, store.ErrNotFound
	}
	return ds[0], nil
}

func (m *memStore) DeactivateDelegation(_ context.Context, id, userID int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.delegations[id]
	if !ok || d.UserID != userID {
		return store.ErrNotFound
	}
	d.IsActive = false
	m.delegations[id] = d
	return nil
}

func (m *memStore) UserDelegations(_ context.Context, userID int64, offset, limit int) ([]store.Delegation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ds := sortedValues(m.delegations, func(d store.Delegation) bool { return d.UserID == userID }, newestFirst)
	return page(ds, offset, limit), nil
}

// Housekeeping.

func (m *memStore) Ping(context.Context) error { return nil }
func (m *memStore) Close() error               { return nil }
