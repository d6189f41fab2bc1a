package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// closedPort returns a local TCP port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	return port
}

// TestOpenIsLazy checks that Open does no I/O (caddy validate calls it
// with no server around), that Ping then fails, and that no error quotes
// the DSN.
func TestOpenIsLazy(t *testing.T) {
	const secret = "s3cr3t-pw"
	dsn := fmt.Sprintf("postgres://morpheus:%s@127.0.0.1:%d/morpheus?sslmode=disable&connect_timeout=2", secret, closedPort(t))
	s, err := Open(context.Background(), Config{DSN: dsn, MaxConns: 4, MinConns: 1})
	if err != nil {
		t.Fatalf("Open with the server down: %v", err)
	}
	defer s.Close()
	if s.Pool() == nil {
		t.Fatal("Pool() is nil")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = s.Ping(ctx)
	if err == nil {
		t.Fatal("Ping succeeded with nothing listening")
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("Ping error leaks the password: %v", err)
	}
	if _, err := s.UserByID(ctx, 1); err == nil || errors.Is(err, store.ErrNotFound) || strings.Contains(err.Error(), secret) {
		t.Errorf("UserByID with the server down: %v", err)
	}

	for _, bad := range []Config{
		{DSN: "postgres://morpheus:" + secret + "@host:notaport/db"},
		{DSN: "host=x password=" + secret + " sslmode=bogus"},
	} {
		_, err := Open(context.Background(), bad)
		if err == nil {
			t.Errorf("Open(%q) succeeded", bad.DSN)
			continue
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "host") {
			t.Errorf("Open error quotes the DSN: %v", err)
		}
	}
	if _, err := Open(context.Background(), Config{DSN: dsn, MaxConns: 2, MinConns: 3}); err == nil {
		t.Error("Open with MinConns > MaxConns succeeded")
	}
}

// TestStatementModes checks every statement mode with a CRUD round trip
// that touches each column type (text, bool, int, bytea, json,
// timestamptz, NULLs), and that an unknown mode is refused.
func TestStatementModes(t *testing.T) {
	if _, err := Open(context.Background(), Config{DSN: "postgres://127.0.0.1:1/x", StatementMode: "prepared"}); err == nil ||
		!strings.Contains(err.Error(), "prepared") {
		t.Errorf("Open with an unknown statement mode: err = %v, want an error naming it", err)
	}

	base, dsn := newMigratedStore(t)
	for _, mode := range []string{"", "cache_statement", "cache_describe", "describe_exec", "exec", "simple_protocol"} {
		t.Run("mode="+mode, func(t *testing.T) {
			emptyTables(t, base)
			roundTrip(t, openStore(t, dsn, mode))
		})
	}
}

// roundTrip exercises one of each kind of query on s.
func roundTrip(t *testing.T, s *Store) {
	ctx := testCtx(t)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	u, err := s.CreateUser(ctx, store.NewUser{Name: "O'Brien; --", Email: "ob@example.test", HashedPassword: "$2b$12$abc"})
	must("CreateUser", err)
	_, err = s.CreateUser(ctx, store.NewUser{Email: "ob@example.test"})
	if !errors.Is(err, store.ErrDuplicateEmail) {
		t.Fatalf("duplicate CreateUser: %v", err)
	}
	off := false
	name := ""
	u2, err := s.UpdateUser(ctx, u.ID, store.UserUpdate{IsActive: &off, Name: &name})
	must("UpdateUser", err)
	if u2.IsActive || u2.Name != "" || u2.Email != u.Email {
		t.Fatalf("UpdateUser = %+v", u2)
	}
	got, err := s.UserByEmail(ctx, "ob@example.test")
	must("UserByEmail", err)
	if got.ID != u.ID {
		t.Fatalf("UserByEmail = %+v", got)
	}
	users, err := s.ListUsers(ctx, 0, 10)
	must("ListUsers", err)
	if len(users) != 1 {
		t.Fatalf("ListUsers = %d users", len(users))
	}

	k, err := s.CreateAPIKey(ctx, store.NewAPIKey{UserID: u.ID, KeyPrefix: "sk-abcdef", HashedKey: "h1"})
	must("CreateAPIKey", err)
	if _, err := s.CreateAPIKey(ctx, store.NewAPIKey{UserID: u.ID + 99, KeyPrefix: "sk-abcdef"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CreateAPIKey(missing user): %v", err)
	}
	now := time.Date(2030, 1, 2, 3, 4, 5, 999999999, time.UTC)
	must("TouchAPIKey", s.TouchAPIKey(ctx, k.ID, now))
	keys, err := s.APIKeysByPrefix(ctx, "sk-abcdef")
	must("APIKeysByPrefix", err)
	if len(keys) != 1 || keys[0].LastUsedAt == nil || !keys[0].LastUsedAt.Equal(now.Truncate(time.Microsecond)) || keys[0].User.ID != u.ID {
		t.Fatalf("APIKeysByPrefix = %+v", keys)
	}

	sess, err := s.CreateSession(ctx, store.Session{ID: "0x01", UserID: u.ID, APIKeyID: k.ID, Model: "m", Type: store.SessionTypeAutomated,
		ExpiresAt: now, IsActive: true})
	must("CreateSession", err)
	if _, err := s.CreateSession(ctx, store.Session{ID: "0x02", APIKeyID: k.ID, Model: "m", Type: store.SessionTypeManual,
		ExpiresAt: now, IsActive: true}); !errors.Is(err, store.ErrActiveSessionExists) {
		t.Fatalf("second active session: %v", err)
	}
	act, err := s.ActiveSessionByAPIKey(ctx, k.ID)
	must("ActiveSessionByAPIKey", err)
	if act.ID != sess.ID || !act.ExpiresAt.Equal(now.Truncate(time.Microsecond)) || act.ExpiresAt.Location() != time.UTC {
		t.Fatalf("ActiveSessionByAPIKey = %+v", act)
	}
	exp, err := s.ExpiredActiveSessions(ctx, now.Add(time.Second), 0)
	must("ExpiredActiveSessions", err)
	if len(exp) != 1 {
		t.Fatalf("ExpiredActiveSessions = %+v", exp)
	}

	blob := []byte{0, 1, 2, 0xff, '\\', '\'', 'x'}
	meta := json.RawMessage(`{"algorithm":"fernet","n":1}`)
	pk, err := s.UpsertPrivateKey(ctx, u.ID, blob, meta)
	must("UpsertPrivateKey", err)
	pk2, err := s.PrivateKey(ctx, u.ID)
	must("PrivateKey", err)
	var m map[string]any
	if !bytes.Equal(pk2.EncryptedPrivateKey, blob) || json.Unmarshal(pk2.EncryptionMetadata, &m) != nil || m["algorithm"] != "fernet" || pk2.ID != pk.ID {
		t.Fatalf("PrivateKey = %+v (%s)", pk2, pk2.EncryptionMetadata)
	}
	pk3, err := s.UpsertPrivateKey(ctx, u.ID, []byte("new"), nil)
	must("UpsertPrivateKey(replace)", err)
	if pk3.EncryptionMetadata != nil || string(pk3.EncryptedPrivateKey) != "new" || !pk3.CreatedAt.Equal(pk.CreatedAt) {
		t.Fatalf("UpsertPrivateKey(replace) = %+v", pk3)
	}

	dur := 120
	as, err := s.UpdateAutomationSettings(ctx, u.ID, store.AutomationUpdate{SessionDuration: &dur})
	must("UpdateAutomationSettings(create)", err)
	on := true
	as2, err := s.UpdateAutomationSettings(ctx, u.ID, store.AutomationUpdate{IsEnabled: &on})
	must("UpdateAutomationSettings", err)
	if as.IsEnabled || as.SessionDuration != 120 || !as2.IsEnabled || as2.SessionDuration != 120 {
		t.Fatalf("automation = %+v then %+v", as, as2)
	}

	d1, err := s.CreateDelegation(ctx, store.NewDelegation{UserID: u.ID, DelegateAddress: "0xd1", SignedDelegationData: "{}", Expiry: &now})
	must("CreateDelegation", err)
	d2, err := s.CreateDelegation(ctx, store.NewDelegation{UserID: u.ID, DelegateAddress: "0xd2", SignedDelegationData: "{}"})
	must("CreateDelegation", err)
	ds, err := s.UserDelegations(ctx, u.ID, 0, 10)
	must("UserDelegations", err)
	if len(ds) != 2 || ds[0].ID != d2.ID || ds[0].Expiry != nil || ds[1].ID != d1.ID || ds[1].IsActive || ds[1].Expiry == nil {
		t.Fatalf("UserDelegations = %+v", ds)
	}

	must("DeleteUser", s.DeleteUser(ctx, u.ID))
	if err := s.DeleteUser(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteUser(twice): %v", err)
	}
	if _, err := s.SessionByID(ctx, sess.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SessionByID after DeleteUser: %v", err)
	}
}
