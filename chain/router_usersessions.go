package chain

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/ethereum/go-ethereum/common"
)

// MaxUserSessionsPage is the largest page GET /blockchain/sessions/user
// serves: the router parses limit as a uint8.
const MaxUserSessionsPage = 255

// UserSessions reads GET /blockchain/sessions/user?user=&offset=&limit=
// (spec §2.5): the sessions opened by user (the router wallet, see Wallet),
// newest first, skipping offset, at most limit (1..255; other values are
// clamped). The elements have the shape of Session (§2.4); closed and
// expired sessions are listed too. The session manager uses it to reconcile
// an open whose outcome is unknown (§7.9). A GET: retried once after a
// transport error.
func (r *Router) UserSessions(ctx context.Context, user common.Address, offset, limit int) ([]SessionInfo, error) {
	if user == (common.Address{}) {
		return nil, newLocalError(opGetSessions, KindBadRequest, "user must not be the zero address")
	}
	offset = max(offset, 0)
	if limit <= 0 || limit > MaxUserSessionsPage {
		limit = MaxUserSessionsPage
	}
	q := url.Values{
		"user":   {user.Hex()},
		"offset": {strconv.Itoa(offset)},
		"limit":  {strconv.Itoa(limit)},
		// Any value other than "ASC" sorts newest first (§2.5); say so.
		"order": {"DESC"},
	}
	var out struct {
		Sessions []sessionWire `json:"sessions"`
	}
	c := call{op: opGetSessions, method: http.MethodGet, path: "/blockchain/sessions/user", query: q,
		timeout: r.readTimeout, retry: true}
	resp, e := r.callJSON(ctx, c, &out)
	if e != nil {
		return nil, e
	}
	list := make([]SessionInfo, 0, len(out.Sessions))
	for i, w := range out.Sessions {
		s, err := w.decode()
		if err != nil {
			return nil, malformed(c.op, resp, fmt.Errorf("sessions[%d]: %w", i, err))
		}
		if isZeroID(s.ID) {
			continue
		}
		list = append(list, s)
	}
	return list, nil
}
