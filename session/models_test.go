package session

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/chain/fakerouter"
)

// The active-models feed: deleted entries filtered, ETag revalidation after
// the TTL, the stale catalogue served while the feed fails, and a cold
// failure reported as ErrModelsUnavailable.
func TestModelsFeed(t *testing.T) {
	var (
		mu       sync.Mutex
		requests int
		notMod   int
		failing  bool
	)
	const feed = `{"models":[
 {"Id":"0x729FD536E90580EAF5C617BC578567114530C64AFE211D7100853A68521C13CA","Name":"Llama-Web","Tags":["llm"],"CreatedAt":1749184806,"IsDeleted":false,"ModelType":"LLM","enrichment":{"veniceId":"x"}},
 {"Id":"0x8e5c0229ab1dac1753b24e6614ae7c4a4896463ca4929d7601b2b241384d3bbd","Name":"gone","IsDeleted":true},
 {"Id":"bad","Name":"broken"}]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		requests++
		if failing {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		if r.Header.Get("If-None-Match") == `"v1"` {
			notMod++
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		_, _ = w.Write([]byte(feed))
	}))
	defer srv.Close()

	f := newFixture(t, fakerouter.Config{})
	e := newEnv(t, f, newSQLite(t), nil, func(c *Config) {
		c.ModelsURL = srv.URL
		c.ModelsTTL = 50 * time.Millisecond
		c.DefaultModel = "llama-web"
	})
	ctx := context.Background()
	models, err := e.m.Models(ctx)
	if err != nil || len(models) != 1 {
		t.Fatalf("Models = %+v, %v", models, err)
	}
	m := models[0]
	if m.ID != "0x729fd536e90580eaf5c617bc578567114530c64afe211d7100853a68521c13ca" || m.Name != "Llama-Web" ||
		m.ModelType != "LLM" || m.OwnedBy != OwnedBy || m.CreatedAt.Unix() != 1749184806 {
		t.Fatalf("model = %+v", m)
	}
	if got, err := e.m.ResolveModel(ctx, ""); err != nil || got.ID != m.ID {
		t.Fatalf("default = %+v %v", got, err)
	}
	if c := f.fake.Counters(); c.Models != 0 {
		t.Fatal("the router's model list was read although a feed is configured")
	}

	time.Sleep(60 * time.Millisecond)
	_, _ = e.m.Models(ctx) // stale: served, refreshed in the background
	eventually(t, "revalidated with If-None-Match", func() bool { mu.Lock(); defer mu.Unlock(); return notMod == 1 })

	mu.Lock()
	failing = true
	mu.Unlock()
	time.Sleep(60 * time.Millisecond)
	for range 3 {
		if models, err := e.m.Models(ctx); err != nil || len(models) != 1 {
			t.Fatalf("stale catalogue not served during a feed failure: %v", err)
		}
	}

	cold := newEnv(t, f, newSQLite(t), nil, func(c *Config) { c.ModelsURL = srv.URL })
	if _, err := cold.m.Acquire(ctx, newKey(t, cold.st.Store, nil), "Llama-Web"); !errors.Is(err, ErrModelsUnavailable) {
		t.Fatalf("cold feed failure: %v", err)
	}
}

// An unknown name forces one refresh (a model added upstream is found),
// rate-limited.
func TestModelsRefreshOnMiss(t *testing.T) {
	f := newFixture(t, fakerouter.Config{})
	e := newEnv(t, f, newSQLite(t), nil)
	ctx := context.Background()
	if _, err := e.m.Models(ctx); err != nil {
		t.Fatal(err)
	}
	id := f.fake.AddModel(fakerouter.Model{Name: "new-model", Tags: []string{"llm"}})
	got, err := e.m.ResolveModel(ctx, "NEW-MODEL")
	if err != nil || got.ID != id {
		t.Fatalf("new model: %+v %v", got, err)
	}
	before := f.fake.Counters().Models
	for range 5 {
		if _, err := e.m.ResolveModel(ctx, "nope"); !errors.Is(err, ErrModelNotFound) {
			t.Fatal(err)
		}
	}
	if n := f.fake.Counters().Models - before; n > 1 {
		t.Fatalf("%d catalogue reloads for unknown names, want at most 1", n)
	}
}
