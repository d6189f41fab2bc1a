package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// delegationColumns is the select list scanned by scanDelegation.
const delegationColumns = `id, user_id, delegate_address, signed_delegation_data, expiry, created_at, is_active`

// scanDelegation scans one row of delegationColumns.
func scanDelegation(r rowScanner) (store.Delegation, error) {
	var d store.Delegation
	if err := r.Scan(&d.ID, &d.UserID, &d.DelegateAddress, &d.SignedDelegationData, &d.Expiry, &d.CreatedAt, &d.IsActive); err != nil {
		return store.Delegation{}, err
	}
	d.Expiry = utcPtr(d.Expiry)
	d.CreatedAt = d.CreatedAt.UTC()
	return d, nil
}

// CreateDelegation inserts an active delegation and, in the same
// transaction, deactivates the user's previously active ones. The user's
// row is locked meanwhile, so concurrent calls for one user leave exactly
// one active delegation. store.ErrNotFound if the user does not exist.
func (s *Store) CreateDelegation(ctx context.Context, d store.NewDelegation) (store.Delegation, error) {
	var out store.Delegation
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, `SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE`, d.UserID).Scan(&id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE delegations SET is_active = false WHERE user_id = $1 AND is_active`, d.UserID); err != nil {
			return err
		}
		row := tx.QueryRow(ctx, `
INSERT INTO delegations (user_id, delegate_address, signed_delegation_data, expiry, created_at, is_active)
VALUES ($1, $2, $3, $4, now(), true)
RETURNING `+delegationColumns, d.UserID, d.DelegateAddress, d.SignedDelegationData, microPtr(d.Expiry))
		var err error
		out, err = scanDelegation(row)
		return err
	})
	if err != nil {
		return store.Delegation{}, wrapErr("create delegation", err)
	}
	return out, nil
}

// ActiveDelegation returns the user's newest active delegation, or
// store.ErrNotFound.
func (s *Store) ActiveDelegation(ctx context.Context, userID int64) (store.Delegation, error) {
	row := s.pool.QueryRow(ctx, `SELECT `+delegationColumns+` FROM delegations
 WHERE user_id = $1 AND is_active
 ORDER BY created_at DESC, id DESC LIMIT 1`, userID)
	d, err := scanDelegation(row)
	return d, wrapErr("active delegation", err)
}

// DeactivateDelegation sets is_active=false on the user's delegation;
// store.ErrNotFound if it does not exist or belongs to someone else.
func (s *Store) DeactivateDelegation(ctx context.Context, id, userID int64) error {
	tag, err := s.pool.Exec(ctx, `UPDATE delegations SET is_active = false WHERE id = $1 AND user_id = $2`, id, userID)
	if err != nil {
		return wrapErr("deactivate delegation", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("deactivate delegation")
	}
	return nil
}

// UserDelegations returns the user's delegations, newest first, skipping
// offset, at most limit (all when limit <= 0).
func (s *Store) UserDelegations(ctx context.Context, userID int64, offset, limit int) ([]store.Delegation, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+delegationColumns+` FROM delegations
 WHERE user_id = $1
 ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT $3`, userID, offsetArg(offset), limitArg(limit))
	if err != nil {
		return nil, wrapErr("user delegations", err)
	}
	out, err := collect(rows, scanDelegation)
	return out, wrapErr("user delegations", err)
}
