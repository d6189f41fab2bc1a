package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/store"
	"github.com/morpheus-gateway/caddy-morpheus/store/storetest"
)

// openMigrated opens and migrates a Store on path, closing it when the test
// ends.
func openMigrated(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openMigrated(t, filepath.Join(t.TempDir(), "m.db"))
	})
}

func TestOpenIsLazy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not", "yet")
	path := filepath.Join(dir, "m.db")
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open under a missing directory: %v", err)
	}
	defer s.Close()
	if _, err := os.Stat(filepath.Dir(dir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open created %s (stat error %v)", filepath.Dir(dir), err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatalf("Migrate did not create the directory: %v", err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("directory mode = %o, want 700", perm)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("Migrate did not create the database: %v", err)
	}
}

func TestOpenRejectsBadPaths(t *testing.T) {
	for _, p := range []string{"", "file:m.db", "m.db?mode=ro", "a#b"} {
		if s, err := Open(p); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", p)
		}
	}
}

// migrationVersions returns the recorded versions with how often each is
// recorded.
func migrationVersions(t *testing.T, s *Store) map[int]int {
	t.Helper()
	rows, err := s.r.QueryContext(t.Context(), `SELECT version FROM `+store.MigrationsTable)
	if err != nil {
		t.Fatalf("reading %s: %v", store.MigrationsTable, err)
	}
	defer rows.Close()
	got := map[int]int{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		got[v]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestMigrateIdempotentAndConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	stores := make([]*Store, 2)
	for i := range stores {
		s, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	errs := make(chan error, len(stores))
	start := make(chan struct{})
	for _, s := range stores {
		go func() {
			<-start
			errs <- s.Migrate(t.Context())
		}()
	}
	close(start)
	for range stores {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Migrate: %v", err)
		}
	}
	if t.Failed() {
		return
	}

	want, err := store.LoadMigrations(migrationsFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		got := migrationVersions(t, stores[0])
		if len(got) != len(want) {
			t.Errorf("%s: %d versions recorded, want %d", when, len(got), len(want))
		}
		for _, m := range want {
			if got[m.Version] != 1 {
				t.Errorf("%s: version %d recorded %d times, want once", when, m.Version, got[m.Version])
			}
		}
	}
	check("after concurrent Migrate")

	// Both stores work on the migrated file.
	u, err := stores[0].CreateUser(t.Context(), store.NewUser{Email: "a@example.test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stores[1].UserByID(t.Context(), u.ID); err != nil {
		t.Errorf("second store does not see the first one's user: %v", err)
	}

	// Migrating again is a no-op that keeps the data.
	for _, s := range stores {
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
	}
	check("after Migrate again")
	if _, err := stores[1].UserByID(t.Context(), u.ID); err != nil {
		t.Errorf("user lost after Migrate again: %v", err)
	}
}

func TestDataSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(ctx, store.NewUser{Name: "Ada", Email: "ada@example.test", HashedPassword: "$2b$12$x"})
	if err != nil {
		t.Fatal(err)
	}
	k, err := s.CreateAPIKey(ctx, store.NewAPIKey{UserID: u.ID, KeyPrefix: "sk-abcdef", HashedKey: "00ff"})
	if err != nil {
		t.Fatal(err)
	}
	expires := time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)
	sess, err := s.CreateSession(ctx, store.Session{
		ID: "0x01", UserID: u.ID, APIKeyID: k.ID, Model: "0xmodel",
		Type: store.SessionTypeAutomated, ExpiresAt: expires, IsActive: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := openMigrated(t, path)
	got, err := s2.UserByEmail(ctx, "ada@example.test")
	if err != nil {
		t.Fatalf("user after reopen: %v", err)
	}
	if got != u {
		t.Errorf("user after reopen = %+v, want %+v", got, u)
	}
	gs, err := s2.ActiveSessionByAPIKey(ctx, k.ID)
	if err != nil {
		t.Fatalf("session after reopen: %v", err)
	}
	if gs != sess || !gs.ExpiresAt.Equal(expires) {
		t.Errorf("session after reopen = %+v, want %+v (expires %v)", gs, sess, expires)
	}
}

func TestMemory(t *testing.T) {
	s := openMigrated(t, ":memory:")
	ctx := t.Context()
	u, err := s.CreateUser(ctx, store.NewUser{Email: "m@example.test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByID(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
}

func TestTimeFormatOrdersLexically(t *testing.T) {
	times := []time.Time{
		time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 1, 1, 0, 0, 0, 1000, time.UTC),
		time.Date(2024, 1, 1, 0, 0, 0, 999_999_000, time.UTC),
		time.Date(2024, 1, 1, 0, 0, 1, 0, time.FixedZone("x", 3600)).Add(2 * time.Hour),
	}
	for i := 1; i < len(times); i++ {
		a, b := formatTime(times[i-1]), formatTime(times[i])
		if len(a) != len(b) || a >= b {
			t.Errorf("formatTime(%v) = %q, formatTime(%v) = %q: not ordered", times[i-1], a, times[i], b)
		}
		back, err := parseTime(b)
		if err != nil || !back.Equal(times[i]) || back.Location() != time.UTC {
			t.Errorf("parseTime(%q) = %v, %v; want %v in UTC", b, back, err, times[i])
		}
	}
}

// TestDefaultTimesMatchFormat checks that the schema's column defaults
// write the same fixed-width format as formatTime.
func TestDefaultTimesMatchFormat(t *testing.T) {
	s := openMigrated(t, filepath.Join(t.TempDir(), "m.db"))
	ctx := context.Background()
	if _, err := s.w.ExecContext(ctx, `INSERT INTO users (email) VALUES ('d@example.test')`); err != nil {
		t.Fatal(err)
	}
	u, err := s.UserByEmail(ctx, "d@example.test")
	if err != nil {
		t.Fatal(err)
	}
	var raw string
	if err := s.r.QueryRowContext(ctx, `SELECT created_at FROM users WHERE id = ?`, u.ID).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if len(raw) != len(timeLayout) || raw != formatTime(u.CreatedAt) {
		t.Errorf("default created_at = %q, want the format of %q", raw, formatTime(u.CreatedAt))
	}
	if !u.IsActive {
		t.Error("default is_active is false")
	}
}

// TestReadersAreQueryOnly checks that the reader pool cannot write.
func TestReadersAreQueryOnly(t *testing.T) {
	s := openMigrated(t, filepath.Join(t.TempDir(), "m.db"))
	if _, err := s.r.ExecContext(t.Context(), `INSERT INTO users (email) VALUES ('r@example.test')`); err == nil {
		t.Error("a reader connection wrote to the database")
	}
}
