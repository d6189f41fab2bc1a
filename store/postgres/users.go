package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// userColumns is the select list scanned by scanUser, with the columns
// qualified by prefix (for example "u.").
func userColumns(p string) string {
	return p + "id, COALESCE(" + p + "name, ''), COALESCE(" + p + "email, ''), COALESCE(" +
		p + "hashed_password, ''), " + p + "is_active, " + p + "created_at, " + p + "updated_at"
}

// userDest returns the scan destinations of userColumns in u.
func userDest(u *store.User) []any {
	return []any{&u.ID, &u.Name, &u.Email, &u.HashedPassword, &u.IsActive, &u.CreatedAt, &u.UpdatedAt}
}

// utcUser converts u's times to UTC.
func utcUser(u *store.User) {
	u.CreatedAt = u.CreatedAt.UTC()
	u.UpdatedAt = u.UpdatedAt.UTC()
}

// scanUser scans one row of userColumns.
func scanUser(r rowScanner) (store.User, error) {
	var u store.User
	if err := r.Scan(userDest(&u)...); err != nil {
		return store.User{}, err
	}
	utcUser(&u)
	return u, nil
}

// CreateUser inserts an active user; store.ErrDuplicateEmail if the email
// is taken. An empty name or password is stored as NULL.
func (s *Store) CreateUser(ctx context.Context, u store.NewUser) (store.User, error) {
	row := s.pool.QueryRow(ctx, `
INSERT INTO users (name, email, hashed_password, is_active, created_at, updated_at)
VALUES (NULLIF($1, ''), $2, NULLIF($3, ''), true, now(), now())
RETURNING `+userColumns(""), u.Name, u.Email, u.HashedPassword)
	user, err := scanUser(row)
	return user, wrapErr("create user", err)
}

// UserByID returns the user, or store.ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id int64) (store.User, error) {
	row := s.pool.QueryRow(ctx, `SELECT `+userColumns("")+` FROM users WHERE id = $1`, id)
	user, err := scanUser(row)
	return user, wrapErr("user by id", err)
}

// UserByEmail returns the user with exactly this email, or
// store.ErrNotFound.
func (s *Store) UserByEmail(ctx context.Context, email string) (store.User, error) {
	row := s.pool.QueryRow(ctx, `SELECT `+userColumns("")+` FROM users WHERE email = $1`, email)
	user, err := scanUser(row)
	return user, wrapErr("user by email", err)
}

// UpdateUser applies the non-nil fields, sets updated_at and returns the
// new row.
func (s *Store) UpdateUser(ctx context.Context, id int64, u store.UserUpdate) (store.User, error) {
	row := s.pool.QueryRow(ctx, `
UPDATE users
   SET name            = COALESCE($2::varchar, name),
       email           = COALESCE($3::varchar, email),
       hashed_password = COALESCE($4::varchar, hashed_password),
       is_active       = COALESCE($5::boolean, is_active),
       updated_at      = now()
 WHERE id = $1
RETURNING `+userColumns(""), id, u.Name, u.Email, u.HashedPassword, u.IsActive)
	user, err := scanUser(row)
	return user, wrapErr("update user", err)
}

// ListUsers returns users ordered by id, skipping offset, at most limit
// (no limit when limit <= 0).
func (s *Store) ListUsers(ctx context.Context, offset, limit int) ([]store.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userColumns("")+` FROM users ORDER BY id OFFSET $1 LIMIT $2`,
		offsetArg(offset), limitArg(limit))
	if err != nil {
		return nil, wrapErr("list users", err)
	}
	users, err := collect(rows, scanUser)
	return users, wrapErr("list users", err)
}

// DeleteUser deletes the user with their sessions (including sessions of
// their keys recorded under another user id), API keys, private key,
// automation settings and delegations, in one transaction. The foreign
// keys cascade too; the explicit deletes keep the order obvious and do not
// depend on them.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, q := range []string{
			`DELETE FROM sessions WHERE user_id = $1 OR api_key_id IN (SELECT id FROM api_keys WHERE user_id = $1)`,
			`DELETE FROM api_keys WHERE user_id = $1`,
			`DELETE FROM user_private_keys WHERE user_id = $1`,
			`DELETE FROM user_automation_settings WHERE user_id = $1`,
			`DELETE FROM delegations WHERE user_id = $1`,
		} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return err
			}
		}
		tag, err := tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return pgx.ErrNoRows // rolls back (nothing was deleted anyway)
		}
		return nil
	})
	return wrapErr("delete user", err)
}
