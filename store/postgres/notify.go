package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// Timing of Listen.
const (
	listenBackoffMin = 100 * time.Millisecond
	listenBackoffMax = 2 * time.Second
	// listenIdleCheck: a listening connection that has been quiet this long
	// is pinged, so that a silently dead connection (no RST) is noticed.
	listenIdleCheck = 30 * time.Second
	listenPingTime  = 5 * time.Second
)

// Notify sends payload on channel to every listener, on every instance
// sharing the database (pg_notify; delivered when the sending transaction
// commits, here at once). PostgreSQL limits payloads to 8000 bytes.
func (s *Store) Notify(ctx context.Context, channel, payload string) error {
	if _, err := s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, payload); err != nil {
		return fmt.Errorf("postgres: notify: %w", err)
	}
	return nil
}

// Listen calls fn for each notification on channel until ctx ends, on a
// connection of its own (taken out of the pool). After any error (a lost
// connection, the server down) it reconnects with backoff; once listening
// again it calls onReconnect (notifications may have been missed) before
// resuming. fn and onReconnect run on Listen's goroutine. It returns
// ctx's error.
func (s *Store) Listen(ctx context.Context, channel string, fn func(payload string), onReconnect func()) error {
	backoff := listenBackoffMin
	failed := false
	for {
		conn, err := s.listenConn(ctx, channel)
		if err == nil {
			if failed && onReconnect != nil {
				onReconnect()
			}
			failed = false
			backoff = listenBackoffMin
			// receive only returns on a failed connection or ctx's end.
			_ = receive(ctx, conn, channel, fn)
			closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = conn.Close(closeCtx)
			cancel()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		failed = true
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenBackoffMax)
	}
}

// listenConn takes a connection out of the pool and LISTENs on it.
func (s *Store) listenConn(ctx context.Context, channel string) (*pgx.Conn, error) {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: listen: %w", err)
	}
	// The connection keeps LISTEN state, so it must not go back to the pool.
	conn := pc.Hijack()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = conn.Close(closeCtx)
		cancel()
		return nil, fmt.Errorf("postgres: listen: %w", err)
	}
	return conn, nil
}

// receive delivers notifications until ctx ends or the connection fails.
func receive(ctx context.Context, conn *pgx.Conn, channel string, fn func(string)) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, listenIdleCheck)
		n, err := conn.WaitForNotification(wctx)
		idle := errors.Is(wctx.Err(), context.DeadlineExceeded)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !idle || conn.IsClosed() {
				return fmt.Errorf("postgres: listen: %w", err)
			}
			// Quiet for a while: check that the connection still works.
			pctx, cancel := context.WithTimeout(ctx, listenPingTime)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return fmt.Errorf("postgres: listen: ping: %w", err)
			}
			continue
		}
		if n != nil && n.Channel == channel {
			fn(n.Payload)
		}
	}
}

// Interface guard.
var _ store.Notifier = (*Store)(nil)
