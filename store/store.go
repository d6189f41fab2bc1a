// Package store holds the gateway's domain types, the Store interface that
// every persistence backend implements, and the typed errors callers match
// with errors.Is.
//
// Table and column names are the seed's (users, api_keys, sessions,
// user_private_keys, user_automation_settings, delegations) so that a
// database written by the reference gateway can be adopted in place.
// Two backends exist: store/postgres (production, pgx) and store/sqlite
// (the embedded default). Both pass the conformance suite in
// store/storetest.
//
// Conventions every implementation follows:
//
//   - Times are stored with microsecond precision and returned in UTC.
//   - Methods that look a single row up, or change one by id, return
//     ErrNotFound when there is none; a write that names a user or API key
//     that does not exist returns ErrNotFound too.
//   - A limit <= 0 means "no limit"; a negative offset counts as 0.
//   - Orderings by time break ties by id (newest first means highest id first).
//   - Emails are matched exactly; callers normalise them.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Errors returned by every Store implementation. Match them with errors.Is;
// implementations may wrap them with more context.
var (
	// ErrNotFound means the row asked for does not exist (or does not belong
	// to the user named in the call).
	ErrNotFound = errors.New("store: not found")

	// ErrDuplicateEmail means a user with that email already exists.
	ErrDuplicateEmail = errors.New("store: email already registered")

	// ErrActiveSessionExists means the API key already has an active
	// session: the unique index sessions_active_api_key_unique refused a
	// second one.
	ErrActiveSessionExists = errors.New("store: api key already has an active session")

	// ErrConflict means some other uniqueness rule refused the write (for
	// example a session id that is already recorded, or automation
	// settings that already exist for the user).
	ErrConflict = errors.New("store: conflicting row exists")
)

// Session types stored in sessions.type.
const (
	SessionTypeAutomated = "automated"
	SessionTypeManual    = "manual"
	SessionTypeBid       = "bid"
)

// Defaults of user_automation_settings, as in the seed.
const (
	DefaultAutomationEnabled  = false
	DefaultSessionDurationSec = 3600
)

// User is a row of users.
type User struct {
	ID             int64
	Name           string // empty when NULL
	Email          string
	HashedPassword string // bcrypt; empty when NULL
	IsActive       bool
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// NewUser is what CreateUser inserts. IsActive is always true.
type NewUser struct {
	Name           string
	Email          string
	HashedPassword string
}

// UserUpdate changes the non-nil fields of a user; updated_at is always set.
type UserUpdate struct {
	Name           *string
	Email          *string
	HashedPassword *string
	IsActive       *bool
}

// APIKey is a row of api_keys. HashedKey is the hex SHA-256 of the full key
// for keys created by this gateway, or a bcrypt hash ("$2b$…") for keys
// written by the reference gateway and not yet rehashed.
type APIKey struct {
	ID         int64
	KeyPrefix  string
	HashedKey  string
	UserID     int64
	Name       string // empty when NULL
	CreatedAt  time.Time
	LastUsedAt *time.Time
	IsActive   bool
}

// APIKeyWithUser is an API key joined with its owner, which is what
// authentication needs (an inactive user's keys are rejected).
type APIKeyWithUser struct {
	APIKey
	User User
}

// NewAPIKey is what CreateAPIKey inserts. IsActive is always true.
type NewAPIKey struct {
	UserID    int64
	KeyPrefix string
	HashedKey string
	Name      string
}

// Session is a row of sessions: a session on the Morpheus network bound to
// one API key. ID is the blockchain session id (0x…).
type Session struct {
	ID        string
	UserID    int64 // 0 when NULL
	APIKeyID  int64
	Model     string // resolved blockchain model id (or bid id for type "bid")
	Type      string // SessionTypeAutomated, SessionTypeManual or SessionTypeBid
	CreatedAt time.Time
	ExpiresAt time.Time
	IsActive  bool
}

// PrivateKey is a row of user_private_keys. The key itself is only ever
// stored encrypted; EncryptionMetadata records how (algorithm, nonce, …).
type PrivateKey struct {
	ID                  int64
	UserID              int64
	EncryptedPrivateKey []byte
	EncryptionMetadata  json.RawMessage // nil when NULL
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// AutomationSettings is a row of user_automation_settings.
type AutomationSettings struct {
	ID              int64
	UserID          int64
	IsEnabled       bool
	SessionDuration int // seconds
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// AutomationUpdate changes the non-nil fields; nil means "leave as is" (or
// the seed's default when the row is being created).
type AutomationUpdate struct {
	IsEnabled       *bool
	SessionDuration *int
}

// Delegation is a row of delegations.
type Delegation struct {
	ID                   int64
	UserID               int64
	DelegateAddress      string
	SignedDelegationData string
	Expiry               *time.Time
	CreatedAt            time.Time
	IsActive             bool
}

// NewDelegation is what CreateDelegation inserts. IsActive is always true.
type NewDelegation struct {
	UserID               int64
	DelegateAddress      string
	SignedDelegationData string
	Expiry               *time.Time
}

// Store is the persistence interface of the gateway. It covers the CRUD
// functions of the seed ("Database Access Patterns") for all six tables,
// plus the few writes the gateway needs beyond them (last_used_at,
// rehashing adopted keys, cleanup queries). Implementations are safe for
// concurrent use.
//
// Composite operations of the seed that are not plain data access live
// above the store: authenticate_user (lookup + bcrypt) in handlers, and
// get_private_key_with_fallback in chain.
type Store interface {
	// Users.

	// CreateUser inserts a user; ErrDuplicateEmail if the email is taken.
	CreateUser(ctx context.Context, u NewUser) (User, error)
	// UserByID returns the user, or ErrNotFound.
	UserByID(ctx context.Context, id int64) (User, error)
	// UserByEmail returns the user with exactly this email, or ErrNotFound.
	UserByEmail(ctx context.Context, email string) (User, error)
	// UpdateUser applies the non-nil fields and returns the new row;
	// ErrNotFound if there is no such user, ErrDuplicateEmail if the new
	// email is taken.
	UpdateUser(ctx context.Context, id int64, u UserUpdate) (User, error)
	// ListUsers returns users ordered by id, skipping offset, at most limit.
	ListUsers(ctx context.Context, offset, limit int) ([]User, error)
	// DeleteUser deletes the user and everything that belongs to them
	// (sessions of the user or of the user's API keys, API keys, private
	// key, automation settings, delegations) in one transaction; ErrNotFound
	// if there is no such user.
	DeleteUser(ctx context.Context, id int64) error

	// API keys.

	// CreateAPIKey inserts an active key; ErrNotFound if the user does not
	// exist.
	CreateAPIKey(ctx context.Context, k NewAPIKey) (APIKey, error)
	// APIKeyByID returns the key with its owner, or ErrNotFound.
	APIKeyByID(ctx context.Context, id int64) (APIKeyWithUser, error)
	// APIKeysByPrefix returns every key (active or not) with this 9-char
	// prefix, with its owner, ordered by id. Prefixes are not unique in
	// databases adopted from the reference; the caller picks the key whose
	// hash matches.
	APIKeysByPrefix(ctx context.Context, prefix string) ([]APIKeyWithUser, error)
	// UserAPIKeys returns all keys of a user ordered by id.
	UserAPIKeys(ctx context.Context, userID int64) ([]APIKey, error)
	// DeactivateAPIKey sets is_active=false on the user's key and returns
	// it; ErrNotFound if the key does not exist or belongs to someone else.
	// Deactivating an inactive key succeeds.
	DeactivateAPIKey(ctx context.Context, id, userID int64) (APIKey, error)
	// TouchAPIKey sets last_used_at; ErrNotFound if the key does not exist.
	TouchAPIKey(ctx context.Context, id int64, at time.Time) error
	// SetAPIKeyHash replaces hashed_key (used to rehash adopted bcrypt keys
	// to SHA-256 after one successful bcrypt verification); ErrNotFound if
	// the key does not exist.
	SetAPIKeyHash(ctx context.Context, id int64, hashedKey string) error

	// Sessions.

	// CreateSession records a session. IsActive sessions are subject to
	// sessions_active_api_key_unique: a second active session for the same
	// key fails with ErrActiveSessionExists. A duplicate id is ErrConflict.
	// A zero CreatedAt is set to now.
	CreateSession(ctx context.Context, s Session) (Session, error)
	// SessionByID returns the session, or ErrNotFound.
	SessionByID(ctx context.Context, id string) (Session, error)
	// ActiveSessionByAPIKey returns the key's active session, or ErrNotFound.
	// It does not look at expires_at: callers decide what "too old" means.
	ActiveSessionByAPIKey(ctx context.Context, apiKeyID int64) (Session, error)
	// LatestSessionByAPIKey returns the key's most recently created session,
	// active or not, or ErrNotFound.
	LatestSessionByAPIKey(ctx context.Context, apiKeyID int64) (Session, error)
	// ActiveSessions returns all active sessions ordered by expires_at.
	ActiveSessions(ctx context.Context) ([]Session, error)
	// ExpiredActiveSessions returns at most limit active sessions whose
	// expires_at is before now, oldest first (the cleanup query; it uses
	// the index on (is_active, expires_at)).
	ExpiredActiveSessions(ctx context.Context, now time.Time, limit int) ([]Session, error)
	// MarkSessionInactive sets is_active=false; ErrNotFound if the session
	// does not exist. Marking an inactive session succeeds.
	MarkSessionInactive(ctx context.Context, id string) error

	// Private keys.

	// UpsertPrivateKey stores the user's encrypted key, replacing any
	// previous one (created_at is kept, updated_at set).
	UpsertPrivateKey(ctx context.Context, userID int64, encrypted []byte, metadata json.RawMessage) (PrivateKey, error)
	// PrivateKey returns the user's encrypted key, or ErrNotFound.
	PrivateKey(ctx context.Context, userID int64) (PrivateKey, error)
	// DeletePrivateKey deletes the user's key; ErrNotFound if there is none.
	DeletePrivateKey(ctx context.Context, userID int64) error
	// HasPrivateKey reports whether the user has a stored key.
	HasPrivateKey(ctx context.Context, userID int64) (bool, error)

	// Automation settings.

	// CreateAutomationSettings inserts the user's settings, nil fields
	// taking the seed's defaults; ErrConflict if the user already has them.
	CreateAutomationSettings(ctx context.Context, userID int64, u AutomationUpdate) (AutomationSettings, error)
	// AutomationSettings returns the user's settings, or ErrNotFound.
	AutomationSettings(ctx context.Context, userID int64) (AutomationSettings, error)
	// UpdateAutomationSettings applies the non-nil fields, creating the row
	// (with the seed's defaults for nil fields) if there is none.
	UpdateAutomationSettings(ctx context.Context, userID int64, u AutomationUpdate) (AutomationSettings, error)
	// DeleteAutomationSettings deletes the user's settings; ErrNotFound if
	// there are none.
	DeleteAutomationSettings(ctx context.Context, userID int64) error

	// Delegations.

	// CreateDelegation inserts an active delegation and, in the same
	// transaction, deactivates the user's previously active ones.
	CreateDelegation(ctx context.Context, d NewDelegation) (Delegation, error)
	// ActiveDelegation returns the user's newest active delegation, or
	// ErrNotFound.
	ActiveDelegation(ctx context.Context, userID int64) (Delegation, error)
	// DeactivateDelegation sets is_active=false on the user's delegation;
	// ErrNotFound if it does not exist or belongs to someone else.
	DeactivateDelegation(ctx context.Context, id, userID int64) error
	// UserDelegations returns the user's delegations, newest first,
	// skipping offset, at most limit.
	UserDelegations(ctx context.Context, userID int64, offset, limit int) ([]Delegation, error)

	// Housekeeping.

	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the store's connections.
	Close() error
}

// Migrator is implemented by backends that apply their embedded, versioned
// schema migrations at start. Migrate is idempotent and safe to run from
// several processes at once.
type Migrator interface {
	Migrate(ctx context.Context) error
}

// Notifier is implemented by backends that several gateway instances share
// (PostgreSQL, with LISTEN/NOTIFY), so that a change made on one instance
// (a revoked key, a deactivated user) reaches the others' caches.
type Notifier interface {
	// Notify sends payload on channel to every listener, on every instance.
	Notify(ctx context.Context, channel, payload string) error
	// Listen calls fn for each notification on channel until ctx ends. It
	// reconnects after a lost connection, calling onReconnect first (the
	// caller may have missed notifications and should drop what they could
	// have invalidated). It returns ctx's error.
	Listen(ctx context.Context, channel string, fn func(payload string), onReconnect func()) error
}

// Locker is implemented by backends that several gateway instances share
// (PostgreSQL), so that a periodic job (the session cleanup loop) runs on
// one instance at a time. Single-instance backends (SQLite) do not
// implement it; their callers simply run the job.
type Locker interface {
	// TryLock takes the cluster-wide lock called name without waiting. ok
	// is false (and err nil) when another holder has it. When ok, unlock
	// releases it; unlock is safe to call more than once. The lock is also
	// released if the holder's database connection is lost, so a holder
	// must not assume it keeps the lock across database failures.
	TryLock(ctx context.Context, name string) (unlock func(), ok bool, err error)
}
