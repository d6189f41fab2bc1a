// Package postgres is the PostgreSQL backend of store.Store, built on pgx
// and pgxpool.
//
// Its schema is the reference gateway's (alembic head 5f7a3e1b8d42), brought
// up to date by the embedded migrations in migrations/: a database written
// by the reference is adopted in place, and a fresh database ends up with
// the identical schema.
package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// Config configures Open.
type Config struct {
	// DSN is a libpq connection string, URL ("postgres://…") or keyword/value
	// form. TLS is configured here too (sslmode, sslrootcert, …).
	DSN string
	// MaxConns caps the pool; 0 keeps pgxpool's default (pool_max_conns in
	// the DSN, else the greater of 4 and the number of CPUs).
	MaxConns int32
	// MinConns is the number of connections the pool keeps open; 0 keeps
	// pgxpool's default (pool_min_conns in the DSN, else 0).
	MinConns int32
	// StatementMode selects how pgx sends queries: "" (pgx's default,
	// cache_statement unless default_query_exec_mode is in the DSN),
	// "cache_statement", "cache_describe", "describe_exec", "exec" or
	// "simple_protocol". Behind PgBouncer in transaction pooling mode use
	// "exec" or "simple_protocol", which use no named prepared statements.
	StatementMode string
}

// Store is the PostgreSQL implementation of store.Store and
// store.Migrator. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

// Open builds a connection pool from cfg. It does no I/O: connections are
// made when first needed, so Open succeeds while the server is down (call
// Ping to check it). The returned error never contains the DSN.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	pc, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		// pgx's parse errors quote the connection string (with the password
		// redacted on a best-effort basis only), so none of it is kept.
		return nil, errors.New("postgres: cannot parse the DSN (check its syntax)")
	}
	if cfg.StatementMode != "" {
		mode, err := parseStatementMode(cfg.StatementMode)
		if err != nil {
			return nil, err
		}
		pc.ConnConfig.DefaultQueryExecMode = mode
	}
	if cfg.MaxConns < 0 || cfg.MinConns < 0 {
		return nil, errors.New("postgres: MaxConns and MinConns must not be negative")
	}
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	if cfg.MinConns > 0 {
		pc.MinConns = cfg.MinConns
	}
	if pc.MinConns > pc.MaxConns {
		return nil, fmt.Errorf("postgres: MinConns (%d) is greater than MaxConns (%d)", pc.MinConns, pc.MaxConns)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres: creating pool: %w", err)
	}
	return &Store{pool: pool}, nil
}

// parseStatementMode maps Config.StatementMode to pgx's query exec mode.
func parseStatementMode(s string) (pgx.QueryExecMode, error) {
	switch s {
	case "cache_statement":
		return pgx.QueryExecModeCacheStatement, nil
	case "cache_describe":
		return pgx.QueryExecModeCacheDescribe, nil
	case "describe_exec":
		return pgx.QueryExecModeDescribeExec, nil
	case "exec":
		return pgx.QueryExecModeExec, nil
	case "simple_protocol":
		return pgx.QueryExecModeSimpleProtocol, nil
	}
	return 0, fmt.Errorf("postgres: unknown statement mode %q (want cache_statement, cache_describe, describe_exec, exec or simple_protocol)", s)
}

// Pool returns the underlying pool, for features beyond store.Store
// (LISTEN/NOTIFY, advisory locks).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close releases the store's connections. It waits for connections in use
// to be returned.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Interface guards.
var (
	_ store.Store    = (*Store)(nil)
	_ store.Migrator = (*Store)(nil)
)
