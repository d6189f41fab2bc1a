package postgres

import (
	"time"

	"github.com/jackc/pgx/v5"
)

// rowScanner is what pgx.Row and pgx.Rows have in common.
type rowScanner interface {
	Scan(dest ...any) error
}

// collect scans every row of rows with scan, returning a non-nil slice.
func collect[T any](rows pgx.Rows, scan func(rowScanner) (T, error)) ([]T, error) {
	defer rows.Close()
	out := make([]T, 0)
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

// utcPtr returns t in UTC, or nil.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// micro truncates t to the microsecond, the precision of PostgreSQL's
// timestamps. pgx truncates too in the binary format, but in the text format
// (simple_protocol) the server would round, which could move an instant to
// the next microsecond.
func micro(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

// microPtr is micro for nullable times.
func microPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	m := micro(*t)
	return &m
}

// nullID is id as a query argument, with 0 meaning NULL.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// limitArg is a LIMIT argument: NULL (no limit) when limit <= 0.
func limitArg(limit int) any {
	if limit <= 0 {
		return nil
	}
	return limit
}

// offsetArg is an OFFSET argument, negative offsets counting as 0.
func offsetArg(offset int) int {
	return max(offset, 0)
}
