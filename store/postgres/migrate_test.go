package postgres

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/store"
	"github.com/morpheus-gateway/caddy-morpheus/store/postgres/pgtest"
)

// embeddedMigrations returns the migrations Migrate applies.
func embeddedMigrations(t *testing.T) []store.Migration {
	t.Helper()
	ms, err := store.LoadMigrations(migrationsFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].Version != 1 || ms[0].Name != "reference_schema" {
		t.Fatalf("migrations = %+v, want 0001_reference_schema first", ms)
	}
	return ms
}

// appliedVersions returns the recorded migration versions, one row each.
func appliedVersions(t *testing.T, s *Store) []string {
	t.Helper()
	return queryStrings(t, s, "SELECT version::text || ' ' || name FROM "+store.MigrationsTable+" ORDER BY version")
}

// wantApplied checks that every embedded migration is recorded once.
func wantApplied(t *testing.T, s *Store) {
	t.Helper()
	var want []string
	for _, m := range embeddedMigrations(t) {
		want = append(want, fmt.Sprintf("%d %s", m.Version, m.Name))
	}
	if got := appliedVersions(t, s); !slices.Equal(got, want) {
		t.Fatalf("recorded migrations = %q, want %q", got, want)
	}
}

// TestMigrateConcurrent starts four instances migrating one fresh database
// at once: all succeed, and each migration is applied and recorded once.
func TestMigrateConcurrent(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	const instances = 4
	stores := make([]*Store, instances)
	for i := range stores {
		stores[i] = openStore(t, dsn, "")
	}
	errs := make([]error, instances)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.Migrate(testCtx(t))
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: Migrate: %v", i, err)
		}
	}
	wantApplied(t, stores[0])
	// The advisory lock is released: another Migrate does not block.
	if err := stores[1].Migrate(testCtx(t)); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	if n := queryInt(t, stores[0], "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"); n != 0 {
		t.Errorf("%d advisory locks still held after Migrate", n)
	}
}

// TestMigrateIdempotent checks that a second Migrate changes nothing.
func TestMigrateIdempotent(t *testing.T) {
	s, _ := newMigratedStore(t)
	before := queryStrings(t, s, "SELECT version || ' ' || applied_at::text FROM "+store.MigrationsTable+" ORDER BY version")
	schema := schemaDump(t, s)
	if err := s.Migrate(testCtx(t)); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if after := queryStrings(t, s, "SELECT version || ' ' || applied_at::text FROM "+store.MigrationsTable+" ORDER BY version"); !slices.Equal(before, after) {
		t.Errorf("second Migrate changed %s: %q → %q", store.MigrationsTable, before, after)
	}
	if after := schemaDump(t, s); !slices.Equal(schema, after) {
		t.Errorf("second Migrate changed the schema")
	}
	wantApplied(t, s)
}

// referenceDatabase returns a Store on a new database holding the
// reference schema (testdata) at alembic revision version, not migrated,
// and its DSN.
func referenceDatabase(t *testing.T, version string) (*Store, string) {
	t.Helper()
	ddl, err := os.ReadFile("testdata/reference_5f7a3e1b8d42.sql")
	if err != nil {
		t.Fatal(err)
	}
	dsn := pgtest.NewDatabase(t)
	s := openStore(t, dsn, "")
	exec(t, s, string(ddl))
	exec(t, s, `CREATE TABLE alembic_version (
  version_num VARCHAR(32) NOT NULL,
  CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))`)
	exec(t, s, "INSERT INTO alembic_version (version_num) VALUES ($1)", version)
	return s, dsn
}

// TestSchemaConverges checks that a fresh database and one adopted from
// the reference end up with the identical schema.
func TestSchemaConverges(t *testing.T) {
	fresh, _ := newMigratedStore(t)
	adopted, _ := referenceDatabase(t, ReferenceAlembicHead)
	if err := adopted.Migrate(testCtx(t)); err != nil {
		t.Fatalf("Migrate (adopted): %v", err)
	}
	a, b := schemaDump(t, fresh), schemaDump(t, adopted)
	if !slices.Equal(a, b) {
		t.Errorf("schemas differ:\nfresh:\n  %s\nadopted:\n  %s", strings.Join(a, "\n  "), strings.Join(b, "\n  "))
	}
	// Spot checks of what the migrations promise.
	dump := strings.Join(a, "\n")
	for _, want := range []string{
		"column users.created_at timestamp with time zone null=NO default=now()",
		"column users.is_active boolean null=NO default=true",
		"column user_automation_settings.session_duration integer null=NO default=3600",
		"column user_automation_settings.is_enabled boolean null=NO default=false",
		"column delegations.expiry timestamp with time zone null=YES",
		"column api_keys.last_used_at timestamp with time zone null=YES",
		"index ix_users_email: CREATE UNIQUE INDEX ix_users_email ON public.users USING btree (email)",
		"index ix_api_keys_key_prefix: CREATE INDEX ix_api_keys_key_prefix ON public.api_keys USING btree (key_prefix)",
		"index sessions_active_api_key_unique: CREATE UNIQUE INDEX sessions_active_api_key_unique ON public.sessions USING btree (api_key_id, is_active) WHERE (is_active IS TRUE)",
		"index ix_sessions_is_active_expires_at: CREATE INDEX ix_sessions_is_active_expires_at ON public.sessions USING btree (is_active, expires_at)",
		"constraint sessions.sessions_api_key_id_fkey: FOREIGN KEY (api_key_id) REFERENCES api_keys(id) ON DELETE CASCADE",
		"constraint api_keys.api_keys_user_id_fkey: FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE",
		"constraint delegations.delegations_user_id_fkey: FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE",
	} {
		if !strings.Contains(dump, want) {
			t.Errorf("schema lacks %q", want)
		}
	}
	if strings.Contains(dump, "timestamp without time zone") {
		t.Errorf("schema still has naive timestamps")
	}
}

// TestAdoptOtherAlembicVersion checks that a reference database at another
// alembic revision (or none) is refused with an explanation, untouched.
func TestAdoptOtherAlembicVersion(t *testing.T) {
	for _, version := range []string{"881e615d25ac", ""} {
		s, _ := referenceDatabase(t, "881e615d25ac")
		if version == "" {
			exec(t, s, "DELETE FROM alembic_version")
		}
		err := s.Migrate(testCtx(t))
		if err == nil {
			t.Fatalf("Migrate at alembic %q succeeded", version)
		}
		for _, want := range []string{ReferenceAlembicHead, "alembic upgrade", version} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Migrate error %q does not mention %q", err, want)
			}
		}
		if n := queryInt(t, s, "SELECT count(*) FROM pg_tables WHERE tablename = $1", store.MigrationsTable); n != 0 {
			t.Errorf("Migrate at alembic %q created %s", version, store.MigrationsTable)
		}
	}
}

// TestAdoptReferenceDatabase migrates a database written by the reference
// (naive UTC timestamps, NULL booleans, bcrypt hashes, shared prefixes) and
// checks that nothing is lost and the Store reads it correctly.
func TestAdoptReferenceDatabase(t *testing.T) {
	s, dsn := referenceDatabase(t, ReferenceAlembicHead)
	// Naive timestamps must be read as UTC whatever the session's zone.
	exec(t, s, "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET timezone TO %L', current_database(), 'America/New_York'); END $$")

	exec(t, s, `
INSERT INTO users (name, email, hashed_password, created_at, updated_at, is_active) VALUES
  ('Alice', 'alice@example.com', '$2b$12$KIXQJ1dYz0cW0p1kq3Yx8eQ0pQ9y9lT8lS7d6bD0Vb2m1h4e5f6gS', '2024-03-01 10:00:00.123456', NULL, NULL),
  ('Bob', 'bob@example.com', '$2b$12$9bX1q2W3e4R5t6Y7u8I9oO0pP1aS2dF3gH4jK5lZ6xC7vB8nM9q0a', '2024-03-02 11:00:00', '2024-03-05 12:30:00', false),
  (NULL, 'carol@example.com', NULL, '2024-03-03 23:59:59.999999', '2024-03-03 23:59:59.999999', true);
INSERT INTO api_keys (key_prefix, hashed_key, user_id, created_at, last_used_at, is_active, name) VALUES
  ('sk-abc123', '$2b$12$aaaaaaaaaaaaaaaaaaaaaOaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 1, '2024-03-01 10:05:00', '2024-04-01 08:00:00.5', true, 'default'),
  ('sk-abc123', '$2b$12$bbbbbbbbbbbbbbbbbbbbbObbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 1, '2024-03-01 10:06:00', NULL, NULL, NULL),
  ('sk-zzz999', '$2b$12$ccccccccccccccccccccccOcccccccccccccccccccccccccccccc', 2, '2024-03-02 11:05:00', NULL, false, 'old');
INSERT INTO sessions (id, user_id, api_key_id, model, type, created_at, expires_at, is_active) VALUES
  ('0xaaa1', 1, 1, '0xmodel1', 'automated', '2024-04-01 08:00:00', '2024-04-01 09:00:00', true),
  ('0xaaa0', 1, 1, '0xmodel1', 'automated', '2024-03-31 08:00:00', '2024-03-31 09:00:00', false),
  ('0xaaa2', 1, 1, '0xmodel2', 'bid', '2024-03-30 08:00:00', '2024-03-30 09:00:00', NULL),
  ('0xccc1', 2, 3, '0xmodel1', 'automated', NULL, '2024-03-02 12:05:00', NULL);
INSERT INTO user_private_keys (user_id, encrypted_private_key, encryption_metadata, created_at, updated_at) VALUES
  (1, '\x674141414141426d5f6b65790001ff'::bytea, '{"algorithm": "fernet", "kdf": {"name": "pbkdf2", "iterations": 480000}}', '2024-03-01 10:10:00', NULL);
INSERT INTO user_automation_settings (user_id, is_enabled, session_duration, created_at, updated_at) VALUES
  (1, NULL, NULL, NULL, NULL),
  (2, true, 7200, '2024-03-02 11:10:00', '2024-03-06 00:00:00');
INSERT INTO delegations (user_id, delegate_address, signed_delegation_data, expiry, created_at, is_active) VALUES
  (1, '0xDe1e6a7e00000000000000000000000000000001', '{"sig":"0xabc"}', '2025-01-01 00:00:00', '2024-03-10 10:00:00+00', NULL),
  (1, '0xDe1e6a7e00000000000000000000000000000002', '{"sig":"0xdef"}', NULL, '2024-03-09 10:00:00+00', false);
`)
	counts := func() map[string]int64 {
		m := map[string]int64{}
		for _, tbl := range strings.Split(allTables, ", ") {
			m[tbl] = queryInt(t, s, "SELECT count(*) FROM "+tbl)
		}
		return m
	}
	before := counts()

	// A fresh pool so the sessions use the database's new time zone.
	s = openStore(t, dsn, "")
	if err := s.Migrate(testCtx(t)); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if after := counts(); !mapsEqual(before, after) {
		t.Fatalf("row counts changed: %v → %v", before, after)
	}
	wantApplied(t, s)
	if got := queryStrings(t, s, "SELECT version_num FROM alembic_version"); !slices.Equal(got, []string{ReferenceAlembicHead}) {
		t.Errorf("alembic_version = %q, want it left in place", got)
	}

	ctx := testCtx(t)
	utc := func(v string) time.Time {
		tm, err := time.Parse("2006-01-02 15:04:05.999999", v)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	sameInstant := func(what string, got, want time.Time) {
		t.Helper()
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("%s = %v, want %v (UTC)", what, got, want)
		}
	}

	// Users.
	alice, err := s.UserByEmail(ctx, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if alice.ID != 1 || alice.Name != "Alice" || !alice.IsActive || !strings.HasPrefix(alice.HashedPassword, "$2b$12$KIXQ") {
		t.Errorf("alice = %+v", alice)
	}
	sameInstant("alice.CreatedAt", alice.CreatedAt, utc("2024-03-01 10:00:00.123456"))
	sameInstant("alice.UpdatedAt (backfilled from created_at)", alice.UpdatedAt, utc("2024-03-01 10:00:00.123456"))
	bob, err := s.UserByID(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if bob.IsActive {
		t.Errorf("bob.IsActive = true, want false kept")
	}
	sameInstant("bob.UpdatedAt", bob.UpdatedAt, utc("2024-03-05 12:30:00"))
	carol, err := s.UserByID(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if carol.Name != "" || carol.HashedPassword != "" {
		t.Errorf("carol = %+v, want empty name and password for NULLs", carol)
	}
	sameInstant("carol.CreatedAt", carol.CreatedAt, utc("2024-03-03 23:59:59.999999"))

	// API keys: shared prefix, bcrypt hashes, NULL is_active → true.
	keys, err := s.APIKeysByPrefix(ctx, "sk-abc123")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].ID != 1 || keys[1].ID != 2 || keys[0].User.Email != "alice@example.com" {
		t.Fatalf("APIKeysByPrefix = %+v", keys)
	}
	if !keys[1].IsActive || keys[1].Name != "" || keys[1].LastUsedAt != nil || !strings.HasPrefix(keys[1].HashedKey, "$2b$12$") {
		t.Errorf("key 2 = %+v", keys[1])
	}
	if keys[0].LastUsedAt == nil {
		t.Fatal("key 1 lost last_used_at")
	}
	sameInstant("key1.LastUsedAt", *keys[0].LastUsedAt, utc("2024-04-01 08:00:00.5"))
	sameInstant("key1.CreatedAt", keys[0].CreatedAt, utc("2024-03-01 10:05:00"))
	old, err := s.APIKeyByID(ctx, 3)
	if err != nil || old.IsActive || old.User.ID != 2 {
		t.Errorf("APIKeyByID(3) = %+v, %v", old, err)
	}

	// Sessions: the NULL session of a key that has an active one became
	// inactive, the NULL session of a key without one became active.
	act, err := s.ActiveSessionByAPIKey(ctx, 1)
	if err != nil || act.ID != "0xaaa1" {
		t.Fatalf("ActiveSessionByAPIKey(1) = %+v, %v", act, err)
	}
	sameInstant("session.ExpiresAt", act.ExpiresAt, utc("2024-04-01 09:00:00"))
	sameInstant("session.CreatedAt", act.CreatedAt, utc("2024-04-01 08:00:00"))
	if s2, err := s.SessionByID(ctx, "0xaaa2"); err != nil || s2.IsActive || s2.Type != store.SessionTypeBid {
		t.Errorf("session 0xaaa2 = %+v, %v; want inactive", s2, err)
	}
	c1, err := s.SessionByID(ctx, "0xccc1")
	if err != nil || !c1.IsActive || c1.UserID != 2 || c1.APIKeyID != 3 {
		t.Errorf("session 0xccc1 = %+v, %v; want active", c1, err)
	}
	sameInstant("0xccc1.CreatedAt (backfilled from expires_at)", c1.CreatedAt, utc("2024-03-02 12:05:00"))
	latest, err := s.LatestSessionByAPIKey(ctx, 1)
	if err != nil || latest.ID != "0xaaa1" {
		t.Errorf("LatestSessionByAPIKey(1) = %+v, %v", latest, err)
	}
	expired, err := s.ExpiredActiveSessions(ctx, utc("2024-05-01 00:00:00"), 10)
	if err != nil || len(expired) != 2 || expired[0].ID != "0xccc1" || expired[1].ID != "0xaaa1" {
		t.Errorf("ExpiredActiveSessions = %+v, %v", expired, err)
	}
	// The unique partial index still refuses a second active session.
	_, err = s.CreateSession(ctx, store.Session{ID: "0xnew", UserID: 1, APIKeyID: 1, Model: "m", Type: store.SessionTypeAutomated,
		ExpiresAt: time.Now().Add(time.Hour), IsActive: true})
	if !errors.Is(err, store.ErrActiveSessionExists) {
		t.Errorf("second active session for key 1: %v, want ErrActiveSessionExists", err)
	}

	// Private key and metadata.
	pk, err := s.PrivateKey(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pk.EncryptedPrivateKey, []byte("gAAAAABm_key\x00\x01\xff")) {
		t.Errorf("EncryptedPrivateKey = %q", pk.EncryptedPrivateKey)
	}
	var meta struct {
		Algorithm string `json:"algorithm"`
		KDF       struct {
			Iterations int `json:"iterations"`
		} `json:"kdf"`
	}
	if err := json.Unmarshal(pk.EncryptionMetadata, &meta); err != nil || meta.Algorithm != "fernet" || meta.KDF.Iterations != 480000 {
		t.Errorf("EncryptionMetadata = %s (%v)", pk.EncryptionMetadata, err)
	}
	sameInstant("pk.UpdatedAt (backfilled)", pk.UpdatedAt, utc("2024-03-01 10:10:00"))

	// Automation settings: NULLs became the seed's defaults.
	a1, err := s.AutomationSettings(ctx, 1)
	if err != nil || a1.IsEnabled != store.DefaultAutomationEnabled || a1.SessionDuration != store.DefaultSessionDurationSec {
		t.Errorf("AutomationSettings(1) = %+v, %v", a1, err)
	}
	if time.Since(a1.CreatedAt) > time.Hour || a1.CreatedAt.Location() != time.UTC {
		t.Errorf("AutomationSettings(1).CreatedAt = %v, want backfilled with now", a1.CreatedAt)
	}
	a2, err := s.AutomationSettings(ctx, 2)
	if err != nil || !a2.IsEnabled || a2.SessionDuration != 7200 {
		t.Errorf("AutomationSettings(2) = %+v, %v", a2, err)
	}
	sameInstant("a2.UpdatedAt", a2.UpdatedAt, utc("2024-03-06 00:00:00"))

	// Delegations: NULL is_active → true; expiry read as UTC.
	d, err := s.ActiveDelegation(ctx, 1)
	if err != nil || d.DelegateAddress != "0xDe1e6a7e00000000000000000000000000000001" || d.Expiry == nil {
		t.Fatalf("ActiveDelegation(1) = %+v, %v", d, err)
	}
	sameInstant("delegation.Expiry", *d.Expiry, utc("2025-01-01 00:00:00"))
	sameInstant("delegation.CreatedAt", d.CreatedAt, utc("2024-03-10 10:00:00"))

	// The sequences continue after the adopted rows.
	dave, err := s.CreateUser(ctx, store.NewUser{Name: "Dave", Email: "dave@example.com"})
	if err != nil || dave.ID != 4 {
		t.Errorf("CreateUser after adoption = %+v, %v", dave, err)
	}

	// Deleting cascades, through the Store and in plain SQL (ON DELETE
	// CASCADE of migration 0004).
	if err := s.DeleteUser(ctx, 1); err != nil {
		t.Fatalf("DeleteUser(1): %v", err)
	}
	exec(t, s, "DELETE FROM users WHERE id = 2")
	if after := counts(); after["users"] != 2 || after["api_keys"] != 0 || after["sessions"] != 0 ||
		after["user_private_keys"] != 0 || after["user_automation_settings"] != 0 || after["delegations"] != 0 {
		t.Errorf("after deleting users 1 and 2: %v", after)
	}

	// A second Migrate is a no-op.
	schema := schemaDump(t, s)
	applied := queryStrings(t, s, "SELECT version || ' ' || applied_at::text FROM "+store.MigrationsTable+" ORDER BY version")
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if !slices.Equal(schema, schemaDump(t, s)) ||
		!slices.Equal(applied, queryStrings(t, s, "SELECT version || ' ' || applied_at::text FROM "+store.MigrationsTable+" ORDER BY version")) {
		t.Error("second Migrate changed something")
	}
}

// mapsEqual compares two count maps.
func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
