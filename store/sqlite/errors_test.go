package sqlite

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"modernc.org/sqlite"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// TestMissingParentIsNotFound checks the foreign key mapping beyond the
// conformance suite: rows naming a user or key that does not exist are
// refused with store.ErrNotFound, the driver's error still in the chain.
func TestMissingParentIsNotFound(t *testing.T) {
	s := openMigrated(t, filepath.Join(t.TempDir(), "m.db"))
	ctx := t.Context()
	const missing = 4242
	_, err := s.CreateSession(ctx, store.Session{
		ID: "0xdead", APIKeyID: missing, Model: "m", Type: store.SessionTypeManual,
		ExpiresAt: time.Now().Add(time.Hour), IsActive: true,
	})
	checkNotFound(t, "CreateSession(missing key)", err)
	_, err = s.UpsertPrivateKey(ctx, missing, []byte{1}, nil)
	checkNotFound(t, "UpsertPrivateKey(missing user)", err)
	_, err = s.CreateDelegation(ctx, store.NewDelegation{UserID: missing, DelegateAddress: "0x1", SignedDelegationData: "{}"})
	checkNotFound(t, "CreateDelegation(missing user)", err)
	_, err = s.UpdateAutomationSettings(ctx, missing, store.AutomationUpdate{})
	checkNotFound(t, "UpdateAutomationSettings(missing user)", err)
}

func checkNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: error = %v, want store.ErrNotFound", what, err)
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		t.Errorf("%s: error %v does not carry the driver's *sqlite.Error", what, err)
	}
}
