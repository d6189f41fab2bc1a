package sqlite

import "database/sql"

// nullString binds s, or NULL when s is empty (the store's convention for
// NULLable text columns).
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullInt64 binds n, or NULL when n is zero (for sessions.user_id).
func nullInt64(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// collect scans every row of rows with scan and returns them (an empty,
// non-nil slice when there are none).
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// page normalises offset and limit for LIMIT ? OFFSET ?: a negative
// offset is 0, and a limit below 1 means no limit (SQLite's LIMIT -1).
func page(offset, limit int) (int, int) {
	if limit <= 0 {
		limit = -1
	}
	return max(offset, 0), limit
}
