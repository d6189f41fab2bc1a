package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

func TestAutomation(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, func(c *Config) { c.DefaultSessionDuration = 2 * time.Hour })
		uid, access := e.newUser("rae@example.com")
		_, key := e.createKey(access, "auto")

		// No auth: 401.
		wantError(t, e.request("GET", "/automation/settings", nil, ""), http.StatusUnauthorized, TypeAuthentication, "")
		wantError(t, e.request("PUT", "/automation/settings", map[string]any{"is_enabled": false}, ""), http.StatusUnauthorized, TypeAuthentication, "")

		// Defaults, without creating a row; by JWT and by API key.
		for _, auth := range []string{bearer(access), bearer(key)} {
			r := e.request("GET", "/automation/settings", nil, auth)
			wantStatus(t, r, http.StatusOK)
			got := r.object(t)
			if got["is_enabled"] != true || got["session_duration"] != float64(7200) || got["user_id"] != float64(uid) ||
				got["created_at"] != nil || got["updated_at"] != nil {
				t.Fatalf("defaults %s", r.body)
			}
		}
		if _, err := st.AutomationSettings(context.Background(), uid); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("GET created a row: %v", err)
		}

		// PUT partial on a missing row: the other field takes the effective default.
		r := e.request("PUT", "/automation/settings", map[string]any{"session_duration": 600}, bearer(key))
		wantStatus(t, r, http.StatusOK)
		got := r.object(t)
		if got["is_enabled"] != true || got["session_duration"] != float64(600) || got["created_at"] == nil || got["updated_at"] == nil {
			t.Fatalf("PUT on missing row %s", r.body)
		}
		// PUT partial keeps the other field.
		r = e.request("PUT", "/automation/settings", map[string]any{"is_enabled": false}, bearer(access))
		wantStatus(t, r, http.StatusOK)
		if got := r.object(t); got["is_enabled"] != false || got["session_duration"] != float64(600) {
			t.Fatalf("PUT is_enabled %s", r.body)
		}
		// Explicit null is "unchanged" too; {} changes nothing.
		r = e.request("PUT", "/automation/settings", `{"is_enabled":null,"session_duration":900}`, bearer(access))
		if got := r.object(t); got["is_enabled"] != false || got["session_duration"] != float64(900) {
			t.Fatalf("PUT with null %s", r.body)
		}
		r = e.request("PUT", "/automation/settings", map[string]any{}, bearer(access))
		if got := r.object(t); got["is_enabled"] != false || got["session_duration"] != float64(900) {
			t.Fatalf("PUT {} %s", r.body)
		}
		// GET sees the change (the cache was told), by key and by JWT.
		for _, auth := range []string{bearer(key), bearer(access)} {
			r = e.request("GET", "/automation/settings", nil, auth)
			if got := r.object(t); got["is_enabled"] != false || got["session_duration"] != float64(900) || got["created_at"] == nil {
				t.Fatalf("GET after PUT %s", r.body)
			}
		}

		// Bounds.
		for _, d := range []int{59, 86401, 0, -1} {
			r := e.request("PUT", "/automation/settings", map[string]any{"session_duration": d}, bearer(access))
			wantError(t, r, http.StatusBadRequest, TypeInvalidRequest, "session_duration")
		}
		for _, d := range []int{60, 86400} {
			r := e.request("PUT", "/automation/settings", map[string]any{"session_duration": d}, bearer(access))
			wantStatus(t, r, http.StatusOK)
			if got := r.object(t); got["session_duration"] != float64(d) {
				t.Fatalf("PUT %d: %s", d, r.body)
			}
		}
		// Wrong JSON types: 422 naming the field.
		wantError(t, e.request("PUT", "/automation/settings", `{"session_duration":"60"}`, bearer(access)),
			http.StatusUnprocessableEntity, TypeInvalidRequest, "session_duration")
		wantError(t, e.request("PUT", "/automation/settings", `{"session_duration":60.5}`, bearer(access)),
			http.StatusUnprocessableEntity, TypeInvalidRequest, "session_duration")
		wantError(t, e.request("PUT", "/automation/settings", `{"is_enabled":"yes"}`, bearer(access)),
			http.StatusUnprocessableEntity, TypeInvalidRequest, "is_enabled")

		// Another user still has the defaults.
		_, access2 := e.newUser("sol@example.com")
		r = e.request("GET", "/automation/settings", nil, bearer(access2))
		if got := r.object(t); got["is_enabled"] != true || got["session_duration"] != float64(7200) {
			t.Fatalf("other user %s", r.body)
		}

		// An invalid key is 401, never a fallback to JWT.
		wantError(t, e.request("GET", "/automation/settings", nil, bearer("sk-AAAAAA.00")), http.StatusUnauthorized, TypeAuthentication, "")
	})
}

func TestAutomationWithoutCache(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		_, access := e.newUser("tao@example.com")
		// A server without cache reads the store; API keys are 503.
		e2 := &testEnv{t: t, st: st, clock: e.clock}
		cfg := e.cfg
		cfg.Cache = nil
		e2.srv = New(cfg)
		r := e2.request("GET", "/automation/settings", nil, bearer(access))
		wantStatus(t, r, http.StatusOK)
		wantStatus(t, e2.request("PUT", "/automation/settings", map[string]any{"is_enabled": false}, bearer(access)), http.StatusOK)
		if got := e2.request("GET", "/automation/settings", nil, bearer(access)).object(t); got["is_enabled"] != false {
			t.Fatalf("GET %v", got)
		}
		wellFormed := "sk-AAAAAA." + strings.Repeat("0", 64)
		wantError(t, e2.request("GET", "/automation/settings", nil, bearer(wellFormed)), http.StatusServiceUnavailable, TypeUnavailable, "")
	})
}
