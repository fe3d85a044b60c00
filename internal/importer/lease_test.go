package importer_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/importer"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
)

// Two serve instances share a database: the sweeper of one never marks the
// other's running import while its process renews the lease, and marks it
// interrupted soon after the process dies (short settings: a 1 s lease, a
// sweep every 100 ms).
func TestImportLeaseAcrossInstances(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url := pgtest.NewURL(t)
	open := func() *postgres.DB {
		db, err := postgres.Open(ctx, url)
		require.NoError(t, err)
		t.Cleanup(db.Pool.Close)
		return db
	}
	a, b := open(), open()
	status := func(id string) string {
		r, err := b.GetImport(ctx, id)
		require.NoError(t, err)
		return r.Status
	}

	// Instance A runs an import and writes its progress, as the importer
	// does twice a second.
	run := postgres.ImportRun{Kind: "csv", FileName: "liste.csv", SHA256: "x", Actor: "token:a", Status: "running",
		Info: map[string]any{}, Owner: "a:1", Lease: time.Second}
	id, err := a.CreateImport(ctx, run)
	require.NoError(t, err)
	run.ID = id
	alive, die := context.WithCancel(ctx)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		for alive.Err() == nil {
			run.Processed++
			_ = a.ImportProgress(alive, run, nil, 0)
			select {
			case <-alive.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()

	// Instance B starts (its start used to mark every import running for
	// more than 5 s) and sweeps.
	_, err = b.Pool.Exec(ctx, `UPDATE imports SET started_at = now() - interval '10 minutes' WHERE id = $1`, id)
	require.NoError(t, err)
	n, err := b.AbandonImports(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "a live instance's import is not abandoned")
	go importer.SweepLoop(ctx, b, 100*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.Never(t, func() bool { return status(id) != "running" }, 3*time.Second, 100*time.Millisecond)

	// A dies: B marks its import interrupted once the lease expires.
	die()
	<-renewed
	stopped := time.Now()
	require.Eventually(t, func() bool { return status(id) == "failed" }, 30*time.Second, 50*time.Millisecond)
	require.GreaterOrEqual(t, time.Since(stopped), 500*time.Millisecond, "not before the lease ends")
	r, err := b.GetImport(ctx, id)
	require.NoError(t, err)
	require.Contains(t, r.Message, "Import interrompu")
	require.NotNil(t, r.FinishedAt)

	// A late progress write of the dead process does not revive it.
	require.NoError(t, a.ImportProgress(ctx, run, nil, 0))
	require.Equal(t, "failed", status(id))
}
