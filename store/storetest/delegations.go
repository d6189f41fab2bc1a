package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// delegationCases covers CreateDelegation, ActiveDelegation,
// DeactivateDelegation and UserDelegations.
func delegationCases() []testCase {
	return []testCase{
		{"Create", testDelegationCreate},
		{"CreateDeactivatesPrevious", testDelegationSecond},
		{"ListNewestFirst", testDelegationList},
		{"Deactivate", testDelegationDeactivate},
		{"DeactivateOtherUsers", testDelegationDeactivateOther},
		{"ActiveNone", testDelegationActiveNone},
	}
}

// checkDelegation compares every field; times to the microsecond.
func checkDelegation(t *testing.T, what string, got, want store.Delegation) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.DelegateAddress != want.DelegateAddress ||
		got.SignedDelegationData != want.SignedDelegationData || got.IsActive != want.IsActive ||
		!sameTimePtr(got.Expiry, want.Expiry) || !sameTime(got.CreatedAt, want.CreatedAt) {
		t.Errorf("%s:\n got  %+v (Expiry %s)\n want %+v (Expiry %s)",
			what, got, fmtTimePtr(got.Expiry), want, fmtTimePtr(want.Expiry))
	}
	checkUTC(t, what+".CreatedAt", got.CreatedAt)
	if got.Expiry != nil {
		checkUTC(t, what+".Expiry", *got.Expiry)
	}
}

// delegationIDs lists ids, for order checks and failure messages.
func delegationIDs(ds []store.Delegation) []int64 {
	ids := make([]int64, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	return ids
}

// mustDelegation creates a delegation for the user. It sleeps briefly
// first so that consecutive delegations have distinct created_at values
// (the order of UserDelegations is by creation time).
func mustDelegation(t *testing.T, s store.Store, userID int64, expiry *time.Time) store.Delegation {
	t.Helper()
	time.Sleep(2 * time.Millisecond)
	n := next()
	d, err := s.CreateDelegation(ctx(t), store.NewDelegation{
		UserID:               userID,
		DelegateAddress:      fmt.Sprintf("0x%040x", n),
		SignedDelegationData: fmt.Sprintf(`{"delegate":"0x%040x","signature":"0xdeadbeef"}`, n),
		Expiry:               expiry,
	})
	if err != nil {
		t.Fatalf("CreateDelegation: %v", err)
	}
	return d
}

func testDelegationCreate(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	before := time.Now()
	in := store.NewDelegation{UserID: u.ID, DelegateAddress: "0x2222222222222222222222222222222222222222", SignedDelegationData: `{"sig":"0x01"}`}
	d, err := s.CreateDelegation(ctx(t), in)
	noErr(t, "CreateDelegation(no expiry)", err)
	if d.ID <= 0 || d.UserID != u.ID || d.DelegateAddress != in.DelegateAddress || d.SignedDelegationData != in.SignedDelegationData {
		t.Errorf("CreateDelegation = %+v, want fields of %+v", d, in)
	}
	if !d.IsActive {
		t.Error("IsActive = false, want true")
	}
	if d.Expiry != nil {
		t.Errorf("Expiry = %v, want nil", *d.Expiry)
	}
	checkRecent(t, "CreatedAt", d.CreatedAt, before)
	got, err := s.ActiveDelegation(ctx(t), u.ID)
	noErr(t, "ActiveDelegation", err)
	checkDelegation(t, "ActiveDelegation(no expiry)", got, d)

	v := mustUser(t, s)
	exp := time.Now().UTC().Add(30 * 24 * time.Hour).Truncate(time.Microsecond)
	e := mustDelegation(t, s, v.ID, &exp)
	if e.Expiry == nil || !e.Expiry.Equal(exp) {
		t.Errorf("CreateDelegation.Expiry = %s, want %v", fmtTimePtr(e.Expiry), exp)
	}
	got, err = s.ActiveDelegation(ctx(t), v.ID)
	noErr(t, "ActiveDelegation", err)
	checkDelegation(t, "ActiveDelegation(with expiry)", got, e)
}

func testDelegationSecond(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	other := mustUser(t, s)
	od := mustDelegation(t, s, other.ID, nil)
	first := mustDelegation(t, s, u.ID, nil)
	second := mustDelegation(t, s, u.ID, nil)
	if !second.IsActive {
		t.Error("second delegation: IsActive = false")
	}

	got, err := s.ActiveDelegation(ctx(t), u.ID)
	noErr(t, "ActiveDelegation", err)
	checkDelegation(t, "ActiveDelegation", got, second)

	list, err := s.UserDelegations(ctx(t), u.ID, 0, 10)
	noErr(t, "UserDelegations", err)
	firstNow := first
	firstNow.IsActive = false
	if len(list) != 2 {
		t.Fatalf("UserDelegations = %v, want [%d %d]", delegationIDs(list), second.ID, first.ID)
	}
	checkDelegation(t, "UserDelegations[0]", list[0], second)
	checkDelegation(t, "UserDelegations[1] (previous, now inactive)", list[1], firstNow)

	o, err := s.ActiveDelegation(ctx(t), other.ID)
	noErr(t, "ActiveDelegation(other)", err)
	checkDelegation(t, "other user's delegation", o, od)
}

func testDelegationList(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	other := mustUser(t, s)
	var made []store.Delegation
	for i := range 5 {
		made = append(made, mustDelegation(t, s, u.ID, nil))
		if i == 2 {
			mustDelegation(t, s, other.ID, nil)
		}
	}
	newestFirst := slices.Clone(made)
	slices.Reverse(newestFirst)
	for i := range newestFirst {
		newestFirst[i].IsActive = i == 0
	}

	pages := []struct {
		offset, limit int
		want          []store.Delegation
	}{
		{0, 10, newestFirst},
		{0, 2, newestFirst[0:2]},
		{1, 2, newestFirst[1:3]},
		{4, 2, newestFirst[4:5]},
		{5, 10, nil},
	}
	for _, p := range pages {
		got, err := s.UserDelegations(ctx(t), u.ID, p.offset, p.limit)
		noErr(t, "UserDelegations", err)
		if !slices.Equal(delegationIDs(got), delegationIDs(p.want)) {
			t.Errorf("UserDelegations(%d, %d) = %v, want %v", p.offset, p.limit, delegationIDs(got), delegationIDs(p.want))
			continue
		}
		for i := range got {
			checkDelegation(t, fmt.Sprintf("UserDelegations(%d, %d)[%d]", p.offset, p.limit, i), got[i], p.want[i])
		}
	}

	none := mustUser(t, s)
	got, err := s.UserDelegations(ctx(t), none.ID, 0, 10)
	noErr(t, "UserDelegations(none)", err)
	if len(got) != 0 {
		t.Errorf("UserDelegations(user without delegations) = %v", delegationIDs(got))
	}
}

func testDelegationDeactivate(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	d := mustDelegation(t, s, u.ID, nil)
	noErr(t, "DeactivateDelegation", s.DeactivateDelegation(ctx(t), d.ID, u.ID))
	_, err := s.ActiveDelegation(ctx(t), u.ID)
	wantErr(t, "ActiveDelegation after DeactivateDelegation", err, store.ErrNotFound)
	list, err := s.UserDelegations(ctx(t), u.ID, 0, 10)
	noErr(t, "UserDelegations", err)
	want := d
	want.IsActive = false
	if len(list) != 1 {
		t.Fatalf("UserDelegations = %v, want [%d]", delegationIDs(list), d.ID)
	}
	checkDelegation(t, "UserDelegations[0] after DeactivateDelegation", list[0], want)

	wantErr(t, "DeactivateDelegation(missing)", s.DeactivateDelegation(ctx(t), d.ID+1000, u.ID), store.ErrNotFound)
}

func testDelegationDeactivateOther(t *testing.T, s store.Store) {
	owner := mustUser(t, s)
	thief := mustUser(t, s)
	d := mustDelegation(t, s, owner.ID, nil)
	wantErr(t, "DeactivateDelegation(someone else's)", s.DeactivateDelegation(ctx(t), d.ID, thief.ID), store.ErrNotFound)
	got, err := s.ActiveDelegation(ctx(t), owner.ID)
	noErr(t, "ActiveDelegation", err)
	checkDelegation(t, "delegation after refused deactivation", got, d)
}

func testDelegationActiveNone(t *testing.T, s store.Store) {
	u := mustUser(t, s)
	_, err := s.ActiveDelegation(ctx(t), u.ID)
	wantErr(t, "ActiveDelegation(none)", err, store.ErrNotFound)
	_, err = s.ActiveDelegation(ctx(t), u.ID+1000)
	wantErr(t, "ActiveDelegation(missing user)", err, store.ErrNotFound)
}
