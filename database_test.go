package morpheus

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestParseDatabaseConfig(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/data")
	for _, tc := range []struct {
		url, kind, dsn string
		embedded       bool
	}{
		{"", "sqlite", filepath.Join("/data", "caddy", "morpheus", "morpheus.db"), true},
		{"postgres://u:p@h/db", "postgres", "postgres://u:p@h/db", false},
		{"postgresql://h/db?sslmode=require", "postgres", "postgresql://h/db?sslmode=require", false},
		{"sqlite:/var/lib/m.db", "sqlite", "/var/lib/m.db", false},
		{"sqlite:///var/lib/m.db", "sqlite", "/var/lib/m.db", false},
		{"sqlite:rel/m.db", "sqlite", "rel/m.db", false},
	} {
		c, err := parseDatabaseConfig(tc.url, 0, 0, "")
		if err != nil {
			t.Errorf("%q: %v", tc.url, err)
			continue
		}
		if c.kind != tc.kind || c.dsn != tc.dsn || c.embedded != tc.embedded {
			t.Errorf("%q: got %+v", tc.url, c)
		}
	}

	for _, tc := range []struct {
		url           string
		max, min      int32
		mode, wantErr string
	}{
		{"mysql://u:secret@h/db", 0, 0, "", "the scheme must be"},
		{"sqlite:", 0, 0, "", "needs a file path"},
		{"sqlite:/x.db", 5, 0, "", "PostgreSQL only"},
		{"postgres://h/db", 2, 3, "", "min <= max"},
		{"postgres://h/db", 0, 0, "turbo", "unknown mode"},
	} {
		_, err := parseDatabaseConfig(tc.url, tc.max, tc.min, tc.mode)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%q: error = %v, want %q", tc.url, err, tc.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%q: error leaks the password: %v", tc.url, err)
		}
	}
}

func TestPoolKeyHidesDSN(t *testing.T) {
	c, err := parseDatabaseConfig("postgres://user:hunter2@db/x", 0, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	k := c.poolKey()
	if strings.Contains(k, "hunter2") || strings.Contains(k, "db/x") {
		t.Fatalf("pool key %q contains the DSN", k)
	}
	c2, _ := parseDatabaseConfig("postgres://user:hunter2@db/x", 10, 0, "")
	if c2.poolKey() == k {
		t.Fatal("different pool settings must give different keys")
	}
}
