package embedded

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/parcours-rsa/parcours/internal/temporal"
)

// TestLeanVisibilityStillLists: the SQLite store has none of the
// visibility indexes nothing here queries, and listing workflows still
// answers, by an index kept (type, status) or by a scan (history length).
func TestLeanVisibilityStillLists(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port, err := temporal.FreePort()
	require.NoError(t, err)
	srv, c, w := startAll(t, dir, port)
	defer srv.Stop()
	defer c.Close()
	defer w.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "lean-1", TaskQueue: "timers"}, sleeper, 10*time.Millisecond)
	require.NoError(t, err)
	require.NoError(t, run.Get(ctx, nil))

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "temporal.db")+"?mode=ro")
	require.NoError(t, err)
	defer db.Close()
	var left []string
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'executions_visibility' AND name LIKE 'by_%'`)
	require.NoError(t, err)
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		left = append(left, name)
	}
	require.NoError(t, rows.Err())
	for _, name := range unqueriedIndexes {
		require.NotContains(t, left, name)
	}
	require.Contains(t, left, "by_workflow_type", "the indexes listing uses are kept")
	require.Contains(t, left, "by_temporal_namespace_division", "schedules list by it")

	for _, q := range []string{
		"WorkflowType = 'sleeper' AND ExecutionStatus = 'Completed'",
		"WorkflowId = 'lean-1' AND HistoryLength > 0", // no index on history_length any more
	} {
		require.Eventually(t, func() bool {
			list, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q})
			return err == nil && len(list.Executions) == 1 && list.Executions[0].Execution.WorkflowId == "lean-1"
		}, 20*time.Second, 200*time.Millisecond, q)
	}
}

// TestTaskQueuePartitions: a new store gets one partition per task queue,
// kept in the data directory; a store made before keeps Temporal's four.
func TestTaskQueuePartitions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "partitions")

	n, err := taskQueuePartitions(file, false)
	require.NoError(t, err)
	require.Equal(t, 4, n, "an existing store without the file: the default it ran with")
	require.NoFileExists(t, file)

	n, err = taskQueuePartitions(file, true)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	n, err = taskQueuePartitions(file, false)
	require.NoError(t, err)
	require.Equal(t, 1, n, "kept for the store's later starts")

	require.NoError(t, os.WriteFile(file, []byte("beaucoup\n"), 0o640))
	_, err = taskQueuePartitions(file, false)
	require.ErrorContains(t, err, "partitions")
}
