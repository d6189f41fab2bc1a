package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"testing"
)

func TestGenerateAPIKey(t *testing.T) {
	re := regexp.MustCompile(`^sk-[A-Za-z0-9]{6}\.[0-9a-f]{64}$`)
	seen := map[string]bool{}
	counts := map[byte]int{}
	const n = 2000
	for range n {
		key, prefix, hashed, err := GenerateAPIKey()
		if err != nil {
			t.Fatal(err)
		}
		if !re.MatchString(key) || len(key) != KeyLen {
			t.Fatalf("key %q does not match %v", key, re)
		}
		if prefix != key[:PrefixLen] {
			t.Fatalf("prefix %q is not the key's first %d characters", prefix, PrefixLen)
		}
		sum := sha256.Sum256([]byte(key))
		if hashed != hex.EncodeToString(sum[:]) || hashed != HashAPIKey(key) {
			t.Fatalf("hashed key %q is not the hex SHA-256 of the key", hashed)
		}
		if !validKeyFormat(key) {
			t.Fatalf("validKeyFormat(%q) = false", key)
		}
		if seen[key] {
			t.Fatalf("duplicate key %q", key)
		}
		seen[key] = true
		for i := 3; i < PrefixLen; i++ {
			counts[key[i]]++
		}
	}
	// 12000 characters over 62 symbols: every symbol shows up.
	if len(counts) != len(prefixAlphabet) {
		t.Fatalf("prefix characters used: %d, want all %d", len(counts), len(prefixAlphabet))
	}
}

func TestHashAPIKey(t *testing.T) {
	// echo -n 'sk-6gQtjD.30cf…' | sha256sum
	const key = "sk-6gQtjD.30cf18b6e3e91302bb7377baed72e01539ffac1365ff73e746659347b06b1522"
	sum := sha256.Sum256([]byte(key))
	if got := HashAPIKey(key); got != hex.EncodeToString(sum[:]) || len(got) != 64 {
		t.Fatalf("HashAPIKey = %q", got)
	}
	if !validKeyFormat(key) {
		t.Fatal("the reference's example key is not accepted")
	}
}

func TestParseAuthorization(t *testing.T) {
	const key = "sk-6gQtjD.30cf18b6e3e91302bb7377baed72e01539ffac1365ff73e746659347b06b1522"
	const jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
	for _, tc := range []struct {
		header string
		want   string
		ok     bool
	}{
		{"Bearer " + key, key, true},
		{"bearer " + key, key, true},
		{"BEARER " + key, key, true},
		{"Bearer   " + key + " ", key, true},
		{key, key, true},
		{"  " + key, key, true},
		{"Basic dXNlcjpwYXNz", "", false},
		{"", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Bearer " + jwt, "", false},
		{jwt, "", false},
		{"Token " + key, "", false},
		{"Bearer sk-abc def", "", false},
	} {
		got, ok := ParseAuthorization(tc.header)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseAuthorization(%q) = %q, %v; want %q, %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
}
