package sqlite

import (
	"context"
	"database/sql"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// delegationCols are the columns scanDelegation reads, in order.
const delegationCols = `id, user_id, delegate_address, signed_delegation_data, expiry, created_at, is_active`

// scanDelegation reads a row of delegationCols.
func scanDelegation(sc scanner) (store.Delegation, error) {
	var (
		d       store.Delegation
		expiry  sql.NullString
		created string
	)
	if err := sc.Scan(&d.ID, &d.UserID, &d.DelegateAddress, &d.SignedDelegationData, &expiry, &created, &d.IsActive); err != nil {
		return store.Delegation{}, err
	}
	var err error
	if d.Expiry, err = parseNullTime(expiry); err != nil {
		return store.Delegation{}, err
	}
	if d.CreatedAt, err = parseTime(created); err != nil {
		return store.Delegation{}, err
	}
	return d, nil
}

// CreateDelegation inserts an active delegation and, in the same
// transaction, deactivates the user's previously active ones;
// store.ErrNotFound if the user does not exist.
func (s *Store) CreateDelegation(ctx context.Context, nd store.NewDelegation) (store.Delegation, error) {
	const op = "create delegation"
	var d store.Delegation
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`UPDATE delegations SET is_active = 0 WHERE user_id = ? AND is_active`, nd.UserID); err != nil {
			return wrapErr(op, err)
		}
		var err error
		d, err = scanDelegation(tx.QueryRowContext(ctx,
			`INSERT INTO delegations (user_id, delegate_address, signed_delegation_data, expiry, created_at, is_active)
			 VALUES (?, ?, ?, ?, ?, 1)
			 RETURNING `+delegationCols,
			nd.UserID, nd.DelegateAddress, nd.SignedDelegationData, formatTimePtr(nd.Expiry), formatTime(now())))
		return wrapErr(op, err)
	})
	if err != nil {
		return store.Delegation{}, err
	}
	return d, nil
}

// ActiveDelegation returns the user's newest active delegation, or
// store.ErrNotFound.
func (s *Store) ActiveDelegation(ctx context.Context, userID int64) (store.Delegation, error) {
	d, err := scanDelegation(s.r.QueryRowContext(ctx,
		`SELECT `+delegationCols+` FROM delegations WHERE user_id = ? AND is_active
		 ORDER BY created_at DESC, id DESC LIMIT 1`, userID))
	if err != nil {
		return store.Delegation{}, wrapErr("active delegation", err)
	}
	return d, nil
}

// DeactivateDelegation sets is_active=false on the user's delegation;
// store.ErrNotFound if it does not exist or belongs to someone else.
func (s *Store) DeactivateDelegation(ctx context.Context, id, userID int64) error {
	res, err := s.w.ExecContext(ctx,
		`UPDATE delegations SET is_active = 0 WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return wrapErr("deactivate delegation", err)
	}
	return mustAffect("deactivate delegation", res)
}

// UserDelegations returns the user's delegations, newest first, skipping
// offset, at most limit.
func (s *Store) UserDelegations(ctx context.Context, userID int64, offset, limit int) ([]store.Delegation, error) {
	offset, limit = page(offset, limit)
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+delegationCols+` FROM delegations WHERE user_id = ?
		 ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, userID, limit, offset)
	if err != nil {
		return nil, wrapErr("user delegations", err)
	}
	ds, err := collect(rows, scanDelegation)
	if err != nil {
		return nil, wrapErr("user delegations", err)
	}
	return ds, nil
}
