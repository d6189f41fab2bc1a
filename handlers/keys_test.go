package handlers

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/morpheus-gateway/caddy-morpheus/cache"
	"github.com/morpheus-gateway/caddy-morpheus/store"
)

var keyFormat = regexp.MustCompile(`^sk-[A-Za-z0-9]{6}\.[0-9a-f]{64}$`)

func TestKeys(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		uid, access := e.newUser("kim@example.com")
		_, other := e.newUser("lee@example.com")

		// Create: 201, the key once.
		r := e.request("POST", "/auth/keys", map[string]any{"name": "laptop"}, bearer(access))
		wantStatus(t, r, http.StatusCreated)
		var created struct {
			ID        int64   `json:"id"`
			Key       string  `json:"key"`
			KeyPrefix string  `json:"key_prefix"`
			Name      *string `json:"name"`
		}
		r.decode(t, &created)
		if !keyFormat.MatchString(created.Key) || created.KeyPrefix != created.Key[:9] || created.Name == nil || *created.Name != "laptop" || created.ID == 0 {
			t.Fatalf("created %s", r.body)
		}
		stored, err := st.APIKeyByID(context.Background(), created.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.HashedKey != cache.HashAPIKey(created.Key) || stored.UserID != uid || strings.Contains(stored.HashedKey, created.Key[10:]) {
			t.Fatalf("stored key %+v", stored.APIKey)
		}

		// No body and {} are fine; name null.
		r = e.request("POST", "/auth/keys", nil, bearer(access))
		wantStatus(t, r, http.StatusCreated)
		if r.object(t)["name"] != nil {
			t.Fatalf("name of an unnamed key: %s", r.body)
		}
		wantStatus(t, e.request("POST", "/auth/keys", map[string]any{}, bearer(access)), http.StatusCreated)
		r = e.request("POST", "/auth/keys", `{"name":5}`, bearer(access))
		wantError(t, r, http.StatusUnprocessableEntity, TypeInvalidRequest, "name")

		// List: no secret, no hash; ordered by id.
		r = e.request("GET", "/auth/keys", nil, bearer(access))
		wantStatus(t, r, http.StatusOK)
		if strings.Contains(string(r.body), created.Key[10:]) || strings.Contains(string(r.body), stored.HashedKey) {
			t.Fatal("list leaks the key or its hash")
		}
		var list []map[string]any
		r.decode(t, &list)
		if len(list) != 3 {
			t.Fatalf("list %s", r.body)
		}
		for _, k := range list {
			for _, f := range []string{"id", "key_prefix", "name", "created_at", "last_used_at", "is_active"} {
				if _, ok := k[f]; !ok {
					t.Errorf("list item lacks %s: %v", f, k)
				}
			}
			for _, f := range []string{"key", "hashed_key"} {
				if _, ok := k[f]; ok {
					t.Errorf("list item has %s", f)
				}
			}
		}
		if list[0]["id"].(float64) != float64(created.ID) || list[0]["is_active"] != true {
			t.Fatalf("first item %v", list[0])
		}
		// The other user sees none of them.
		r = e.request("GET", "/auth/keys", nil, bearer(other))
		wantStatus(t, r, http.StatusOK)
		if strings.TrimSpace(string(r.body)) != "[]" {
			t.Fatalf("other user's list %s", r.body)
		}

		// The key authenticates.
		wantStatus(t, e.request("GET", "/automation/settings", nil, bearer(created.Key)), http.StatusOK)

		// Someone else's key: 404, and it keeps working.
		r = e.request("DELETE", "/auth/keys/"+strconv.FormatInt(created.ID, 10), nil, bearer(other))
		wantError(t, r, http.StatusNotFound, TypeNotFound, "")
		wantStatus(t, e.request("GET", "/automation/settings", nil, bearer(created.Key)), http.StatusOK)
		// Unknown id and non-integer id.
		wantError(t, e.request("DELETE", "/auth/keys/999999", nil, bearer(access)), http.StatusNotFound, TypeNotFound, "")
		wantError(t, e.request("DELETE", "/auth/keys/abc", nil, bearer(access)), http.StatusBadRequest, TypeInvalidRequest, "key_id")

		// Delete own: 200 with the deactivated key; it stops authenticating.
		r = e.request("DELETE", "/auth/keys/"+strconv.FormatInt(created.ID, 10), nil, bearer(access))
		wantStatus(t, r, http.StatusOK)
		got := r.object(t)
		if got["is_active"] != false || got["id"].(float64) != float64(created.ID) || got["key_prefix"] != created.KeyPrefix {
			t.Fatalf("delete reply %s", r.body)
		}
		if _, ok := got["key"]; ok {
			t.Fatal("delete reply has the key")
		}
		r = e.request("GET", "/automation/settings", nil, bearer(created.Key))
		r2 := wantError(t, r, http.StatusUnauthorized, TypeAuthentication, "")
		_ = r2
		var eb APIError
		r.decode(t, &eb)
		if eb.Error.Code == nil || *eb.Error.Code != "invalid_api_key" {
			t.Errorf("code %v", eb.Error.Code)
		}
		// A wrong secret with a valid prefix does not authenticate either.
		_, k2 := e.createKey(access, "second")
		wrong := k2[:10] + strings.Repeat("0", 64)
		wantError(t, e.request("GET", "/automation/settings", nil, bearer(wrong)), http.StatusUnauthorized, TypeAuthentication, "")
		// Bare key (no Bearer) is accepted.
		wantStatus(t, e.request("GET", "/automation/settings", nil, k2), http.StatusOK)
	})
}

func TestJWTAuth(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		id, access := e.newUser("max@example.com")
		pair := e.login("max@example.com", "password-123")

		for _, path := range []string{"/auth/keys", "/auth/private-key", "/automation/settings"} {
			wantError(t, e.request("GET", path, nil, ""), http.StatusUnauthorized, TypeAuthentication, "")
			wantError(t, e.request("GET", path, nil, "Bearer"), http.StatusUnauthorized, TypeAuthentication, "")
			wantError(t, e.request("GET", path, nil, bearer("garbage")), http.StatusUnauthorized, TypeAuthentication, "")
			wantError(t, e.request("GET", path, nil, "Basic "+access), http.StatusUnauthorized, TypeAuthentication, "")
			// A refresh token is not an access token.
			wantError(t, e.request("GET", path, nil, bearer(pair.RefreshToken)), http.StatusUnauthorized, TypeAuthentication, "")
		}
		// Scheme is case-insensitive.
		wantStatus(t, e.request("GET", "/auth/keys", nil, "bearer "+access), http.StatusOK)

		// Wrong algorithm (none) and wrong secret.
		claims := jwt.MapClaims{"sub": strconv.FormatInt(id, 10), "type": "access", "exp": e.clock.Now().Add(time.Hour).Unix()}
		none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
		wantError(t, e.request("GET", "/auth/keys", nil, bearer(none)), http.StatusUnauthorized, TypeAuthentication, "")
		other, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte("other"))
		wantError(t, e.request("GET", "/auth/keys", nil, bearer(other)), http.StatusUnauthorized, TypeAuthentication, "")
		// Non-integer sub.
		bad, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "abc", "type": "access", "exp": e.clock.Now().Add(time.Hour).Unix()}).SignedString(testSecret)
		wantError(t, e.request("GET", "/auth/keys", nil, bearer(bad)), http.StatusUnauthorized, TypeAuthentication, "")

		// Within the leeway, still valid; after, expired.
		e.clock.Advance(30*time.Minute + 10*time.Second)
		wantStatus(t, e.request("GET", "/auth/keys", nil, bearer(access)), http.StatusOK)
		e.clock.Advance(time.Minute)
		wantError(t, e.request("GET", "/auth/keys", nil, bearer(access)), http.StatusUnauthorized, TypeAuthentication, "")

		// Deactivated user: 401 at once; deleted user: 401.
		access = e.login("max@example.com", "password-123").AccessToken
		inactive := false
		if _, err := st.UpdateUser(context.Background(), id, store.UserUpdate{IsActive: &inactive}); err != nil {
			t.Fatal(err)
		}
		wantError(t, e.request("GET", "/auth/keys", nil, bearer(access)), http.StatusUnauthorized, TypeAuthentication, "")
		if err := st.DeleteUser(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		wantError(t, e.request("GET", "/auth/keys", nil, bearer(access)), http.StatusUnauthorized, TypeAuthentication, "")
	})
}

func TestRouting(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		wantStatus(t, e.request("GET", "/health", nil, ""), http.StatusOK)
		r := e.request("GET", "/auth/register", nil, "")
		wantError(t, r, http.StatusMethodNotAllowed, TypeInvalidRequest, "")
		if r.hdr.Get("Allow") != "POST" {
			t.Errorf("Allow = %q", r.hdr.Get("Allow"))
		}
		r = e.request("PATCH", "/automation/settings", nil, "")
		wantStatus(t, r, http.StatusMethodNotAllowed)
		if r.hdr.Get("Allow") != "GET, PUT" {
			t.Errorf("Allow = %q", r.hdr.Get("Allow"))
		}
		wantError(t, e.request("GET", "/auth/nothing", nil, ""), http.StatusNotFound, TypeNotFound, "")
		wantError(t, e.request("POST", "/auth/login/", nil, ""), http.StatusNotFound, TypeNotFound, "")
	})
}
