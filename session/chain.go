package session

import (
	"context"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"go.uber.org/zap"

	"github.com/morpheus-gateway/caddy-morpheus/chain"
)

// ChainReader reads a session straight from the Morpheus Diamond contract,
// independent of the proxy-router (*chain.SessionReader implements it).
type ChainReader interface {
	Session(ctx context.Context, id common.Hash) (chain.OnChainSession, error)
}

// lookup returns the session as the chain records it: from the Diamond
// contract when Config.Chain is set (falling back to the router when the
// read fails or the session is not on chain yet), else from the router's
// GET /blockchain/sessions/{id}.
func (m *Manager) lookup(ctx context.Context, sid string) (chain.SessionInfo, error) {
	if m.cfg.Chain != nil {
		oc, err := m.cfg.Chain.Session(ctx, common.HexToHash(sid))
		if err == nil && oc.Exists {
			return fromChain(sid, oc), nil
		}
		m.log.Debug("session: on-chain read unavailable; asking the router",
			zap.String("session_id", sid), zap.Bool("exists", err == nil && oc.Exists), zap.Error(err))
	}
	return m.router.Session(ctx, sid)
}

// fromChain converts a contract read into the router's view of a session.
func fromChain(sid string, oc chain.OnChainSession) chain.SessionInfo {
	info := chain.SessionInfo{
		ID:       strings.ToLower(sid),
		User:     oc.User,
		Provider: oc.Provider,
		BidID:    strings.ToLower(oc.BidID.Hex()),
		Stake:    oc.Stake,
		OpenedAt: oc.OpenedAt,
		EndsAt:   oc.EndsAt,
		ClosedAt: oc.ClosedAt,
	}
	if oc.ModelAgentID != (common.Hash{}) {
		info.ModelAgentID = strings.ToLower(oc.ModelAgentID.Hex())
	}
	return info
}
