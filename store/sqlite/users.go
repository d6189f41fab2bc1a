package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// userCols are the columns scanUser reads, in order.
const userCols = `id, name, email, hashed_password, is_active, created_at, updated_at`

// userColsU is userCols qualified with the alias u, for joins.
const userColsU = `u.id, u.name, u.email, u.hashed_password, u.is_active, u.created_at, u.updated_at`

// userDest returns the scan destinations of userCols and a function that
// finishes u once they are filled.
func userDest(u *store.User) ([]any, func() error) {
	var (
		name, hashed     sql.NullString
		created, updated string
	)
	dest := []any{&u.ID, &name, &u.Email, &hashed, &u.IsActive, &created, &updated}
	return dest, func() error {
		u.Name, u.HashedPassword = name.String, hashed.String
		var err error
		if u.CreatedAt, err = parseTime(created); err != nil {
			return err
		}
		u.UpdatedAt, err = parseTime(updated)
		return err
	}
}

// scanUser reads a row of userCols.
func scanUser(sc scanner) (store.User, error) {
	var u store.User
	dest, finish := userDest(&u)
	if err := sc.Scan(dest...); err != nil {
		return store.User{}, err
	}
	if err := finish(); err != nil {
		return store.User{}, err
	}
	return u, nil
}

// CreateUser inserts an active user; store.ErrDuplicateEmail if the email
// is taken.
func (s *Store) CreateUser(ctx context.Context, nu store.NewUser) (store.User, error) {
	ts := formatTime(now())
	u, err := scanUser(s.w.QueryRowContext(ctx,
		`INSERT INTO users (name, email, hashed_password, is_active, created_at, updated_at)
		 VALUES (?, ?, ?, 1, ?, ?)
		 RETURNING `+userCols,
		nullString(nu.Name), nu.Email, nullString(nu.HashedPassword), ts, ts))
	if err != nil {
		return store.User{}, wrapErr("create user", err)
	}
	return u, nil
}

// UserByID returns the user, or store.ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id int64) (store.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx,
		`SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if err != nil {
		return store.User{}, wrapErr("user by id", err)
	}
	return u, nil
}

// UserByEmail returns the user with exactly this email, or
// store.ErrNotFound.
func (s *Store) UserByEmail(ctx context.Context, email string) (store.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx,
		`SELECT `+userCols+` FROM users WHERE email = ?`, email))
	if err != nil {
		return store.User{}, wrapErr("user by email", err)
	}
	return u, nil
}

// UpdateUser applies the non-nil fields, always setting updated_at, and
// returns the new row; store.ErrNotFound if there is no such user,
// store.ErrDuplicateEmail if the new email is taken.
func (s *Store) UpdateUser(ctx context.Context, id int64, uu store.UserUpdate) (store.User, error) {
	var (
		sets []string
		args []any
	)
	if uu.Name != nil {
		sets, args = append(sets, "name = ?"), append(args, nullString(*uu.Name))
	}
	if uu.Email != nil {
		sets, args = append(sets, "email = ?"), append(args, *uu.Email)
	}
	if uu.HashedPassword != nil {
		sets, args = append(sets, "hashed_password = ?"), append(args, nullString(*uu.HashedPassword))
	}
	if uu.IsActive != nil {
		sets, args = append(sets, "is_active = ?"), append(args, *uu.IsActive)
	}
	sets, args = append(sets, "updated_at = ?"), append(args, formatTime(now()))
	args = append(args, id)
	u, err := scanUser(s.w.QueryRowContext(ctx,
		`UPDATE users SET `+strings.Join(sets, ", ")+` WHERE id = ? RETURNING `+userCols,
		args...))
	if err != nil {
		return store.User{}, wrapErr("update user", err)
	}
	return u, nil
}

// ListUsers returns users ordered by id, skipping offset, at most limit.
func (s *Store) ListUsers(ctx context.Context, offset, limit int) ([]store.User, error) {
	offset, limit = page(offset, limit)
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+userCols+` FROM users ORDER BY id LIMIT ? OFFSET ?`, limit, offset)
	if err != nil {
		return nil, wrapErr("list users", err)
	}
	us, err := collect(rows, scanUser)
	if err != nil {
		return nil, wrapErr("list users", err)
	}
	return us, nil
}

// DeleteUser deletes the user and everything that belongs to them in one
// transaction; store.ErrNotFound if there is no such user. The schema's
// ON DELETE CASCADE would do the same; the explicit deletes keep the
// operation correct even on a connection without foreign_keys.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	const op = "delete user"
	return s.inTx(ctx, func(tx *sql.Tx) error {
		stmts := []string{
			`DELETE FROM sessions WHERE user_id = ?1 OR api_key_id IN (SELECT id FROM api_keys WHERE user_id = ?1)`,
			`DELETE FROM api_keys WHERE user_id = ?1`,
			`DELETE FROM user_private_keys WHERE user_id = ?1`,
			`DELETE FROM user_automation_settings WHERE user_id = ?1`,
			`DELETE FROM delegations WHERE user_id = ?1`,
		}
		for _, q := range stmts {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return wrapErr(op, err)
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
		if err != nil {
			return wrapErr(op, err)
		}
		return mustAffect(op, res)
	})
}
