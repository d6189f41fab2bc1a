package handlers

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// downStore is a store whose database does not answer.
type downStore struct{ store.Store }

func (downStore) Ping(context.Context) error { return errors.New("connection refused") }

func TestHealthReportsDatabase(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		r := newEnv(t, st).request("GET", "/health", nil, "")
		if r.code != http.StatusOK || r.object(t)["database"] != "connected" {
			t.Fatalf("healthy: %s", r)
		}
		r = newEnv(t, downStore{st}).request("GET", "/health", nil, "")
		if r.code != http.StatusServiceUnavailable || r.object(t)["database"] != "unreachable" || r.object(t)["status"] != "unhealthy" {
			t.Fatalf("database down: %s", r)
		}
	})
}
