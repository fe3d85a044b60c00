// Package postgres is the read model, the accounts and the audit log, in
// PostgreSQL through pgx v5. Migrations are embedded and numbered.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parcours-rsa/parcours/internal/domain"
)

//go:embed migration/*.sql
var migrationFS embed.FS

// DB is the application database.
type DB struct {
	Pool *pgxpool.Pool
}

// Open connects to PostgreSQL and checks the connection.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	if cfg.MaxConns < 10 {
		cfg.MaxConns = 10
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to PostgreSQL at %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	return &DB{Pool: pool}, nil
}

// Apart is a second pool on the same database, with the same settings: the
// worker's activities take their connections from their own pool, so that
// a burst of deadlines, hundreds of writes waiting for a connection, does
// not queue the HTTP requests behind it.
func (db *DB) Apart(ctx context.Context) (*DB, error) {
	pool, err := pgxpool.NewWithConfig(ctx, db.Pool.Config())
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	return &DB{Pool: pool}, nil
}

// Close releases the connections.
func (db *DB) Close() { db.Pool.Close() }

// Ping checks that PostgreSQL answers.
func (db *DB) Ping(ctx context.Context) error { return db.Pool.Ping(ctx) }

type migration struct {
	version  int
	name     string
	up, down string
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migration")
	if err != nil {
		return nil, err
	}
	byVersion := map[int]*migration{}
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must be NNN_name.up.sql or .down.sql", name)
		}
		body, err := fs.ReadFile(migrationFS, "migration/"+name)
		if err != nil {
			return nil, err
		}
		m := byVersion[v]
		if m == nil {
			m = &migration{version: v}
			byVersion[v] = m
		}
		switch {
		case strings.HasSuffix(rest, ".up.sql"):
			m.name, m.up = strings.TrimSuffix(rest, ".up.sql"), string(body)
		case strings.HasSuffix(rest, ".down.sql"):
			m.down = string(body)
		default:
			return nil, fmt.Errorf("migration %s: unknown suffix", name)
		}
	}
	out := make([]migration, 0, len(byVersion))
	for _, m := range byVersion {
		if m.up == "" || m.down == "" {
			return nil, fmt.Errorf("migration %03d: needs both .up.sql and .down.sql", m.version)
		}
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// LatestVersion is the number of the newest embedded migration.
func LatestVersion() int {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// Migrate brings the schema to the given version (LatestVersion() for the
// newest, 0 for none), one transaction per migration, under an advisory lock
// so that concurrent starts do not race.
func (db *DB) Migrate(ctx context.Context, target int) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	const lockKey = 7_236_001 // "parcours migrations"
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockKey); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockKey) }()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	rows, err := conn.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return err
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return err
	}
	applied := map[int]bool{}
	for _, v := range versions {
		applied[v] = true
	}
	step := func(sql string, record func(pgx.Tx) error, what string) error {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
		if _, err := tx.Exec(ctx, sql); err != nil {
			return fmt.Errorf("migration %s: %w", what, err)
		}
		if err := record(tx); err != nil {
			return err
		}
		return tx.Commit(ctx)
	}
	// Every migration up to target that is not applied, in order: not only
	// those above the highest applied (a database may have a later one
	// without an earlier one when branches were merged in another order).
	for _, m := range ms {
		if !applied[m.version] && m.version <= target {
			if err := step(m.up, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name)
				return err
			}, fmt.Sprintf("%03d_%s up", m.version, m.name)); err != nil {
				return err
			}
		}
	}
	for i := len(ms) - 1; i >= 0; i-- {
		m := ms[i]
		if applied[m.version] && m.version > target {
			if err := step(m.down, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, `DELETE FROM schema_migrations WHERE version = $1`, m.version)
				return err
			}, fmt.Sprintf("%03d_%s down", m.version, m.name)); err != nil {
				return err
			}
		}
	}
	return nil
}

// SchemaVersion is the version the database is at.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.Pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

func isUniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && (constraint == "" || pgErr.ConstraintName == constraint)
}

func isForeignKeyViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503" && (constraint == "" || pgErr.ConstraintName == constraint)
}

// pgDate is a date parameter: NULL for the zero date.
func pgDate(d domain.Date) any {
	if d.IsZero() {
		return nil
	}
	return d.String()
}

// fromPG reads a date column.
func fromPG(t pgtype.Date) domain.Date {
	if !t.Valid {
		return domain.Date{}
	}
	return domain.NewDate(t.Time.Year(), t.Time.Month(), t.Time.Day())
}

// nullTime is a timestamptz parameter: NULL for the zero time.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// nullText is a text parameter: NULL for "".
func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// MigrationFS is the embedded migrations (for tests that fingerprint them).
func MigrationFS() fs.FS { return migrationFS }
