package embedded

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"

	"github.com/parcours-rsa/parcours/internal/temporal"
)

// TestPostgresStore: the embedded server on PostgreSQL creates its two
// databases and their schemas, runs a workflow, keeps a timer across a
// restart, refuses a second server on the same databases and another
// shard count than the one it was created with.
func TestPostgresStore(t *testing.T) {
	t.Parallel()
	admin := pgtest.AdminURL(t)
	name := testDatabase(t, admin)
	port, err := temporal.FreePort()
	require.NoError(t, err)
	o := ServerOptions{DataDir: t.TempDir(), Port: port, Store: StorePostgres, PostgresURL: admin, Database: name, Shards: 2}

	srv, c, w := startWith(t, o)
	require.Equal(t, 2, srv.Shards())
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "deadline-pg", TaskQueue: "timers"}, sleeper, 2*time.Second)
	require.NoError(t, err)
	started := time.Now()

	// A second embedded server on the same databases is refused.
	other, err := temporal.FreePort()
	require.NoError(t, err)
	_, err = StartServer(ServerOptions{DataDir: t.TempDir(), Port: other, Store: StorePostgres, PostgresURL: admin, Database: name, Logger: testLogger()})
	require.ErrorContains(t, err, "un autre serveur Temporal embarqué")

	waitTimerStarted(t, c, "deadline-pg")
	w.Stop()
	c.Close()
	srv.Stop()

	// Another shard count: refused, saying how to keep it or reset.
	o.Shards = 4
	_, err = StartServer(ServerOptions{DataDir: o.DataDir, Port: port, Store: StorePostgres, PostgresURL: admin, Database: name, Shards: 4, Logger: testLogger()})
	var se *ShardsError
	require.ErrorAs(t, err, &se)
	require.Equal(t, [2]int32{4, 2}, [2]int32{se.Asked, se.Stored})
	require.ErrorContains(t, err, "PARCOURS_TEMPORAL_SHARDS=2")
	require.ErrorContains(t, err, "DROP DATABASE "+name+",")

	// Unset: the store's count; the timer set before the stop fires.
	o.Shards = 0
	srv, c, w = startWith(t, o)
	defer srv.Stop()
	defer c.Close()
	defer w.Stop()
	require.Equal(t, 2, srv.Shards())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var firedAt time.Time
	require.NoError(t, c.GetWorkflow(ctx, "deadline-pg", run.GetRunID()).Get(ctx, &firedAt))
	require.False(t, firedAt.Before(started.Add(2*time.Second)), "never early")
}

// TestShardCountIsFixed: on SQLite too, a store keeps the shard count it
// was created with.
func TestShardCountIsFixed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port, err := temporal.FreePort()
	require.NoError(t, err)
	o := ServerOptions{DataDir: dir, Port: port, Logger: testLogger(), LogLevel: slog.LevelError}
	srv, err := StartServer(o)
	require.NoError(t, err)
	require.Equal(t, DefaultShards, srv.Shards())
	srv.Stop()

	o.Shards = 8
	_, err = StartServer(o)
	var se *ShardsError
	require.ErrorAs(t, err, &se)
	require.ErrorContains(t, err, fmt.Sprintf("PARCOURS_TEMPORAL_SHARDS=%d", DefaultShards))
	require.ErrorContains(t, err, "temporal.db")

	o.Shards = DefaultShards
	srv, err = StartServer(o)
	require.NoError(t, err)
	srv.Stop()
}

func TestPostgresUnreachableIsAClearError(t *testing.T) {
	t.Parallel()
	pgPort, err := temporal.FreePort() // nothing listens there
	require.NoError(t, err)
	port, err := temporal.FreePort()
	require.NoError(t, err)
	_, err = StartServer(ServerOptions{DataDir: t.TempDir(), Port: port, Store: StorePostgres, Logger: testLogger(),
		PostgresURL: fmt.Sprintf("postgres://parcours:secret@127.0.0.1:%d/parcours?sslmode=disable", pgPort)})
	require.ErrorContains(t, err, fmt.Sprintf("PostgreSQL injoignable à 127.0.0.1:%d", pgPort))
}
