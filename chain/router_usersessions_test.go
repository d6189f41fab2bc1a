package chain_test

import (
	"context"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/morpheus-gateway/caddy-morpheus/chain"
	"github.com/morpheus-gateway/caddy-morpheus/chain/fakerouter"
)

func TestUserSessions(t *testing.T) {
	fake, r := newFake(t, fakerouter.Config{})
	ctx := context.Background()
	model := fake.AddModel(fakerouter.Model{Name: "m", Tags: []string{"llm"}})
	fake.AddBid(model, fakerouter.Bid{Score: 1})
	var ids []string
	for range 3 {
		id, err := r.OpenModelSession(ctx, model, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := r.CloseSession(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	wallet, err := r.Wallet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list, err := r.UserSessions(ctx, wallet, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].ID != ids[2] || list[2].ID != ids[0] {
		t.Fatalf("list = %+v, want newest first %v", list, ids)
	}
	if list[0].ModelAgentID != model || !list[0].ClosedAt.IsZero() || list[2].ClosedAt.IsZero() {
		t.Fatalf("unexpected session fields: %+v", list)
	}
	page, err := r.UserSessions(ctx, wallet, 1, 1)
	if err != nil || len(page) != 1 || page[0].ID != ids[1] {
		t.Fatalf("page = %+v, %v", page, err)
	}
	other, err := r.UserSessions(ctx, common.HexToAddress("0x1111111111111111111111111111111111111111"), 0, 10)
	if err != nil || len(other) != 0 {
		t.Fatalf("other wallet: %+v, %v", other, err)
	}
	if _, err := r.UserSessions(ctx, common.Address{}, 0, 10); chain.KindOf(err) != chain.KindBadRequest {
		t.Fatalf("zero address: %v", err)
	}
}
