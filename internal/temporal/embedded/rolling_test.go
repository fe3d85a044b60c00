package embedded

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/parcours-rsa/parcours/internal/temporal"
)

// The same workflow type before and after a release: the new code changes
// what it does behind workflow.GetVersion (the house rule) and handles an
// update the old code does not know.
const rollingType = "rolling"

func rollingOld(ctx workflow.Context) (string, error) {
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, nil)
	return "old", nil
}

func rollingNew(ctx workflow.Context) (string, error) {
	if err := workflow.SetUpdateHandler(ctx, "new_command", func(workflow.Context) (string, error) { return "done", nil }); err != nil {
		return "", err
	}
	v := workflow.GetVersion(ctx, "rolling-change", workflow.DefaultVersion, 1)
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, nil)
	if v == 1 {
		if err := workflow.Sleep(ctx, time.Millisecond); err != nil {
			return "", err
		}
		return "new", nil
	}
	return "old", nil
}

// TestRollingDeployRule: what old and new workers side by side do, on a
// real server, and so the deploy rule (docs/engine-operations.md): an
// update the old code does not know is refused to its sender, the workflow
// untouched (deploy the workers before the serves that send it); and an
// old worker runs its old behaviour on a workflow the new code began,
// without any error (a release that changes workflow code is deployed by
// stopping every old worker before the first new one starts).
func TestRollingDeployRule(t *testing.T) {
	t.Parallel()
	port, err := temporal.FreePort()
	require.NoError(t, err)
	srv, c, w := startWith(t, ServerOptions{DataDir: t.TempDir(), Port: port})
	defer srv.Stop()
	defer c.Close()
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := func(code any) worker.Worker {
		w := worker.New(c, "rolling", worker.Options{})
		w.RegisterWorkflowWithOptions(code, workflow.RegisterOptions{Name: rollingType})
		require.NoError(t, w.Start())
		return w
	}

	// An old worker alone: an update of the new release is refused.
	old := start(rollingOld)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "rolling-old", TaskQueue: "rolling", WorkflowTaskTimeout: time.Second}, rollingType)
	require.NoError(t, err)
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: "rolling-old", UpdateName: "new_command", WaitForStage: client.WorkflowUpdateStageCompleted})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	require.ErrorContains(t, err, "new_command")
	r, err := temporal.DescribeWorkflow(ctx, c, "rolling-old")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, r.Status)
	require.NoError(t, c.SignalWorkflow(ctx, "rolling-old", "", "go", nil))
	var out string
	require.NoError(t, run.Get(ctx, &out))
	old.Stop()

	// A new worker starts a workflow (its history has the new version's
	// marker), then an old worker takes its next task: it does not fail,
	// it runs the old code's behaviour (the Go SDK skips a version marker
	// its code does not ask for). A rolling deploy of a release that
	// changes a workflow would apply the old rules to parcours the new
	// code had already moved on.
	neu := start(rollingNew)
	run, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "rolling-new", TaskQueue: "rolling", WorkflowTaskTimeout: time.Second}, rollingType)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		r, err := temporal.DescribeWorkflow(ctx, c, "rolling-new")
		return err == nil && r.HistoryLength >= 4 && r.TaskAttempt == 0
	}, time.Minute, 100*time.Millisecond, "the new worker ran the first task")
	neu.Stop()
	old = start(rollingOld)
	defer old.Stop()
	require.NoError(t, c.SignalWorkflow(ctx, "rolling-new", "", "go", nil))
	require.NoError(t, run.Get(ctx, &out))
	require.Equal(t, "old", out, "the old worker ran the old behaviour")
}
