package sqlite

import (
	"database/sql"
	"fmt"
	"time"
)

// timeLayout is how times are stored: UTC, RFC 3339 with exactly nine
// fractional digits and a literal "Z". Every stored time has the same
// width, so comparing the text (expires_at < ?, ORDER BY created_at)
// compares the instants. The schema's column defaults produce the same
// format.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// precision is the resolution of stored times: microseconds, as in the
// PostgreSQL backend (and the reference), so that both backends hand back
// the same values.
const precision = time.Microsecond

// formatTime returns t in the stored format, truncated to precision.
func formatTime(t time.Time) string { return t.UTC().Truncate(precision).Format(timeLayout) }

// formatTimePtr is formatTime for a nullable time: nil becomes NULL.
func formatTimePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return formatTime(*t)
}

// now returns the current time as it will be read back: UTC, truncated to
// precision (which also drops the monotonic clock reading).
func now() time.Time { return time.Now().UTC().Truncate(precision) }

// parseLayouts are the formats parseTime accepts: the stored one (which
// RFC 3339 covers), and SQLite's own "YYYY-MM-DD HH:MM:SS[.SSS]" in case a
// row was written by hand with datetime('now').
var parseLayouts = [...]string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
}

// parseTime parses a stored time and returns it in UTC.
func parseTime(s string) (time.Time, error) {
	for _, layout := range parseLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("sqlite: bad stored time %q", s)
}

// parseNullTime parses a nullable stored time: NULL becomes nil.
func parseNullTime(s sql.NullString) (*time.Time, error) {
	if !s.Valid {
		return nil, nil
	}
	t, err := parseTime(s.String)
	if err != nil {
		return nil, err
	}
	return &t, nil
}
