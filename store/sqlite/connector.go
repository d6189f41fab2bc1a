package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// retryConnector opens connections with modernc.org/sqlite's connector (the
// driver registered as "sqlite") and retries an open that fails with
// SQLITE_BUSY.
//
// Opening a connection applies the DSN's pragmas, journal_mode(WAL) among
// them. While another connection (possibly another process) is converting
// a new database to WAL or recovering its WAL index, that pragma can fail
// with SQLITE_BUSY at once, without waiting on busy_timeout. The retry
// gives such an open the same patience busy_timeout gives statements. The
// connection itself is returned unwrapped.
type retryConnector struct {
	driver.Connector
	// patience bounds how long Connect keeps retrying.
	patience time.Duration
}

// newRetryConnector returns a retryConnector for dsn.
func newRetryConnector(dsn string) (*retryConnector, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return &retryConnector{Connector: c, patience: busyTimeoutMillis * time.Millisecond}, nil
}

// Connect opens a connection, retrying with a growing pause while the open
// fails with SQLITE_BUSY, until patience runs out or ctx ends.
func (c *retryConnector) Connect(ctx context.Context) (driver.Conn, error) {
	deadline := time.Now().Add(c.patience)
	pause := time.Millisecond
	for {
		conn, err := c.Connector.Connect(ctx)
		if err == nil || !isBusy(err) || time.Now().Add(pause).After(deadline) {
			return conn, err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, errors.Join(ctx.Err(), err)
		case <-t.C:
		}
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (any extended code).
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}
