package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// IdempotencyKeyTTL is how long a create route remembers a key: a client
// retries within minutes.
const IdempotencyKeyTTL = 24 * time.Hour

// CreateOnce runs create, which creates a record and returns its id,
// unless the same caller (scope) already created one on route with key:
// then it returns that record's id and replay true. Two requests with one
// key at once wait for each other (an advisory lock on the key), so that
// exactly one creates.
func (db *DB) CreateOnce(ctx context.Context, scope, route, key string, create func(context.Context) (string, error)) (id string, replay bool, err error) {
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return "", false, err
	}
	defer conn.Release()
	lock := scope + "\n" + route + "\n" + key // a hash: a collision only makes two requests wait
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended($1, 21))`, lock); err != nil {
		return "", false, err
	}
	defer func() {
		if _, uerr := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtextextended($1, 21))`, lock); uerr != nil {
			conn.Conn().Close(context.WithoutCancel(ctx)) // the session's end releases the lock
		}
	}()
	err = conn.QueryRow(ctx, `SELECT record_id FROM idempotency_keys
		WHERE scope = $1 AND route = $2 AND key = $3 AND created_at > now() - $4::interval`, scope, route, key, IdempotencyKeyTTL).Scan(&id)
	if err == nil {
		return id, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return "", false, err
	}
	if id, err = create(ctx); err != nil {
		return "", false, err
	}
	if _, err := conn.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < now() - $1::interval`, IdempotencyKeyTTL); err != nil {
		return id, false, err
	}
	_, err = conn.Exec(ctx, `INSERT INTO idempotency_keys (scope, route, key, record_id) VALUES ($1, $2, $3, $4)
		ON CONFLICT (scope, route, key) DO UPDATE SET record_id = EXCLUDED.record_id, created_at = now()`,
		scope, route, key, id)
	return id, false, err
}
