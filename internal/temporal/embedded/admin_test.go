package embedded

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdktemporal "go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/parcours-rsa/parcours/internal/temporal"
)

// brokenTask makes flaky's workflow task fail, as a bug does until its fix
// is deployed.
var brokenTask atomic.Bool

func flaky(ctx workflow.Context) error {
	if brokenTask.Load() {
		panic("défaut du code du workflow")
	}
	return workflow.Sleep(ctx, time.Hour)
}

// TestAdminTools: the operators' tools find a workflow whose task fails
// (by the server's mark, and by a scan), not a healthy one; a workflow
// whose fix is deployed recovers by itself; reset starts a new run from
// the last completed workflow task; terminate needs a reason.
func TestAdminTools(t *testing.T) {
	t.Parallel()
	const pid = "01a24c9e-a46e-720d-b15d-2c1d4eccd7e1"
	require.Equal(t, "parcours-"+pid, temporal.WorkflowID(pid), "a parcours' id names its workflow")
	require.Equal(t, "review-"+pid+"-1", temporal.WorkflowID("review-"+pid+"-1"), "a workflow's id is taken as it is")
	require.Equal(t, "parcours-"+pid, temporal.WorkflowID("parcours-"+pid))

	port, err := temporal.FreePort()
	require.NoError(t, err)
	srv, c, w := startWith(t, ServerOptions{DataDir: t.TempDir(), Port: port, Dynamic: map[string]any{
		"system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute": 2,
	}})
	defer srv.Stop()
	defer c.Close()
	defer w.Stop()
	fw := worker.New(c, "admin", worker.Options{})
	fw.RegisterWorkflow(flaky)
	require.NoError(t, fw.Start())
	defer fw.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "calm", TaskQueue: "timers"}, sleeper, time.Hour)
	require.NoError(t, err)
	waitTimerStarted(t, c, "calm")
	brokenTask.Store(true)
	_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "broken", TaskQueue: "admin", WorkflowTaskTimeout: time.Second}, flaky)
	require.NoError(t, err)

	var r temporal.WorkflowReport
	require.Eventually(t, func() bool {
		r, err = temporal.DescribeWorkflow(ctx, c, "broken")
		return err == nil && len(r.Problems) > 0 && r.TaskAttempt > 1
	}, 2*time.Minute, 200*time.Millisecond, "the server marks the failing workflow")
	require.Contains(t, r.Stuck(time.Now(), time.Hour), "échec répété")
	calm, err := temporal.DescribeWorkflow(ctx, c, "calm")
	require.NoError(t, err)
	require.Empty(t, calm.Stuck(time.Now(), time.Minute))

	ids := func(list []temporal.WorkflowReport) []string {
		var out []string
		for _, r := range list {
			out = append(out, r.WorkflowID)
		}
		return out
	}
	require.Eventually(t, func() bool {
		marked, err := temporal.StuckWorkflows(ctx, c, time.Hour, false, nil)
		return err == nil && len(marked) == 1 && marked[0].WorkflowID == "broken"
	}, time.Minute, 200*time.Millisecond, "the visibility store lists the marked workflow")
	scanned, err := temporal.StuckWorkflows(ctx, c, time.Hour, true, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"broken"}, ids(scanned))

	// The fix deployed: the next attempt of the task succeeds, no reset
	// needed.
	brokenTask.Store(false)
	require.Eventually(t, func() bool {
		r, err := temporal.DescribeWorkflow(ctx, c, "broken")
		return err == nil && r.TaskAttempt == 0 && r.Stuck(time.Now(), time.Minute) == ""
	}, 2*time.Minute, 200*time.Millisecond, "the workflow recovers")

	// Reset: a new run from the last completed workflow task.
	before, err := temporal.DescribeWorkflow(ctx, c, "calm")
	require.NoError(t, err)
	_, err = temporal.ResetWorkflow(ctx, c, "default", "calm", 0, " ")
	require.ErrorContains(t, err, "--raison")
	run, err := temporal.ResetWorkflow(ctx, c, "default", "calm", 0, "test de réinitialisation")
	require.NoError(t, err)
	require.NotEqual(t, before.RunID, run)
	after, err := temporal.DescribeWorkflow(ctx, c, "calm")
	require.NoError(t, err)
	require.Equal(t, run, after.RunID)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, after.Status)

	require.ErrorContains(t, temporal.TerminateWorkflow(ctx, c, "calm", ""), "--raison")
	require.NoError(t, temporal.TerminateWorkflow(ctx, c, "calm", "test d'arrêt"))
	after, err = temporal.DescribeWorkflow(ctx, c, "calm")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, after.Status)
}

func unreachableStore(context.Context) error { return errors.New("PostgreSQL injoignable") }

// writeReadModel retries a local activity that fails, as the read model's
// write does while PostgreSQL is down.
func writeReadModel(ctx workflow.Context) error {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: time.Second, ScheduleToCloseTimeout: time.Hour,
		RetryPolicy: &sdktemporal.RetryPolicy{InitialInterval: 100 * time.Millisecond, MaximumInterval: 200 * time.Millisecond},
	})
	return workflow.ExecuteLocalActivity(ctx, unreachableStore).Get(ctx, nil)
}

// TestAdminFindsAFailingLocalActivity: a workflow retrying a local
// activity past its workflow task's timeout keeps one task pending (the
// SDK extends it); the scan reports it once it is older than asked.
func TestAdminFindsAFailingLocalActivity(t *testing.T) {
	t.Parallel()
	port, err := temporal.FreePort()
	require.NoError(t, err)
	srv, c, w := startWith(t, ServerOptions{DataDir: t.TempDir(), Port: port})
	defer srv.Stop()
	defer c.Close()
	defer w.Stop()
	lw := worker.New(c, "local", worker.Options{})
	lw.RegisterWorkflow(writeReadModel)
	require.NoError(t, lw.Start())
	defer lw.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "read-model", TaskQueue: "local", WorkflowTaskTimeout: time.Second}, writeReadModel)
	require.NoError(t, err)

	require.Eventually(t, func() bool {
		r, err := temporal.DescribeWorkflow(ctx, c, "read-model")
		return err == nil && strings.Contains(r.Stuck(time.Now(), 3*time.Second), "en cours depuis")
	}, time.Minute, 200*time.Millisecond, "the pending task's age shows")
	stuck, err := temporal.StuckWorkflows(ctx, c, 3*time.Second, true, nil)
	require.NoError(t, err)
	require.Len(t, stuck, 1)
	require.Equal(t, "read-model", stuck[0].WorkflowID)
}
