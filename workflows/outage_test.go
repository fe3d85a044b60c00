package workflows

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// The read model's write outlives a PostgreSQL outage of minutes: the
// first 8 attempts fail (over 3 minutes of backoff), the 9th writes, and
// the workflow runs on. Before ScheduleToCloseTimeout was set, the
// retries stopped after 30 s and the workflow failed.
func TestReadModelWriteOutlivesADatabaseOutage(t *testing.T) {
	t.Parallel()
	start := paris(2026, 11, 22, 10, 0)
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: ParcoursWorkflowID("p1")})
	env.RegisterWorkflowWithOptions(Parcours, RegisterOptions())
	var failed atomic.Int32
	var written atomic.Bool
	env.RegisterActivityWithOptions(func(ctx context.Context, in SyncInput) error {
		if activity.GetInfo(ctx).Attempt < 9 {
			failed.Add(1)
			return errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
		}
		written.Store(true)
		return nil
	}, activity.RegisterOptions{Name: SyncParcoursActivity})
	env.RegisterDelayedCallback(env.CancelWorkflow, 2*time.Hour)
	env.ExecuteWorkflow(Parcours, input("2026-09-01", ""))
	require.True(t, written.Load(), "written in the end")
	require.EqualValues(t, 8, failed.Load())
	var canceled *temporal.CanceledError
	require.ErrorAs(t, env.GetWorkflowError(), &canceled, "the workflow ran until cancelled, it did not fail")
}
