// Package pgtest gives tests a throwaway PostgreSQL database.
//
// The server comes from the environment variable MORPHEUS_TEST_DATABASE_URL
// (for example postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable),
// whose user must be allowed to create databases. Without it, or when the
// server does not answer, tests are skipped, except when CI=true, where
// that is a failure.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable holding the test server's DSN.
const EnvURL = "MORPHEUS_TEST_DATABASE_URL"

// NewDatabase creates an empty database named morpheus_test_<random hex>
// on the test server, drops it (WITH (FORCE)) when the test ends, and
// returns a DSN for it.
func NewDatabase(t testing.TB) (dsn string) {
	t.Helper()
	server := os.Getenv(EnvURL)
	if server == "" {
		unavailable(t, EnvURL+" is not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		unavailable(t, fmt.Sprintf("cannot connect to the server in %s: %v", EnvURL, err))
	}
	defer conn.Close(context.Background())

	b := make([]byte, 8)
	_, _ = rand.Read(b)
	name := "morpheus_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, server)
		if err != nil {
			t.Errorf("pgtest: dropping database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: dropping database %s: %v", name, err)
		}
	})

	dsn, err = withDatabase(server, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// unavailable skips the test, or fails it when CI=true.
func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("pgtest: PostgreSQL is required in CI: %s", why)
	}
	t.Skipf("\n\n*** SKIPPING PostgreSQL test: %s ***\n*** set %s=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable to run it ***\n\n", why, EnvURL)
}

// withDatabase returns dsn (URL or keyword/value form) with its database
// replaced by name.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parsing %s: %w", EnvURL, err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// In keyword/value form a later setting overrides an earlier one.
	return dsn + " dbname=" + name, nil
}
