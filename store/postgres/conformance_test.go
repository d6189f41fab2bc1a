package postgres

import (
	"testing"

	"github.com/morpheus-gateway/caddy-morpheus/store"
	"github.com/morpheus-gateway/caddy-morpheus/store/storetest"
)

// TestConformance runs the store conformance suite on one database,
// migrated once and emptied (emptyTables) before every case.
func TestConformance(t *testing.T) {
	base, dsn := newMigratedStore(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		emptyTables(t, base)
		return openStore(t, dsn, "")
	})
}
