package storetest

import (
	"testing"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// housekeepingCases covers Ping. Close is left to the backend's cleanup:
// the suite never closes a store it did not open.
func housekeepingCases() []testCase {
	return []testCase{
		{"Ping", testPing},
	}
}

func testPing(t *testing.T, s store.Store) {
	noErr(t, "Ping", s.Ping(ctx(t)))
	// The store still works after a ping.
	mustUser(t, s)
	noErr(t, "Ping after a write", s.Ping(ctx(t)))
}
