package workflows

import (
	"context"
	"errors"
	"fmt"
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
// retries stopped after 30 s and the workflow failed. (Since revision 3
// the attempts past DefaultSyncLocalLimit are an ordinary activity's, whose
// attempts count from 1 again: the attempts are counted here.)
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
		if failed.Load() < 8 {
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

// A PostgreSQL outage of 3 days keeps the history small: the local
// activity retries for DefaultSyncLocalLimit, then the write goes on as an
// ordinary activity, whose retries are the server's and add no event
// (issue 21, item 2). Each retry of a local activity after its backoff is
// a timer, a marker and a workflow task (about 6 events): before, the 3
// days took about 4,300 of them (26,000 events, half of Temporal's limit of
// 51,200), and a few days more terminated the workflow.
func TestMultiDayOutageKeepsTheHistorySmall(t *testing.T) {
	t.Parallel()
	for _, revision := range []int{0, CurrentRevision} {
		t.Run(fmt.Sprintf("revision %d", revision), func(t *testing.T) {
			t.Parallel()
			start := paris(2026, 11, 22, 10, 0)
			outage := 3 * 24 * time.Hour
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestWorkflowEnvironment()
			env.SetStartTime(start)
			env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: ParcoursWorkflowID("p1")})
			env.RegisterWorkflowWithOptions(Parcours, RegisterOptions())
			var local, ordinary, timers atomic.Int32
			var writtenAt atomic.Int64
			env.SetOnTimerScheduledListener(func(string, time.Duration) { timers.Add(1) })
			env.RegisterActivityWithOptions(func(ctx context.Context, in SyncInput) error {
				if activity.GetInfo(ctx).IsLocalActivity {
					local.Add(1)
				} else {
					ordinary.Add(1)
				}
				if now := env.Now(); now.Before(start.Add(outage)) {
					return errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
				}
				writtenAt.CompareAndSwap(0, env.Now().Unix())
				return nil
			}, activity.RegisterOptions{Name: SyncParcoursActivity})
			env.RegisterDelayedCallback(env.CancelWorkflow, outage+time.Hour)
			in := input("2026-09-01", "")
			in.Revision = revision
			env.ExecuteWorkflow(Parcours, in)

			var canceled *temporal.CanceledError
			require.ErrorAs(t, env.GetWorkflowError(), &canceled, "the workflow ran until cancelled, it did not fail")
			require.NotZero(t, writtenAt.Load(), "written once the database is back")
			require.WithinDuration(t, start.Add(outage), time.Unix(writtenAt.Load(), 0), 2*time.Minute,
				"written within a retry interval of the database's return")
			t.Logf("local attempts %d, timers %d, ordinary attempts %d", local.Load(), timers.Load(), ordinary.Load())
			require.LessOrEqual(t, local.Load(), int32(8), "the local activity gave up after DefaultSyncLocalLimit")
			require.Greater(t, ordinary.Load(), int32(4000), "the ordinary activity retried about once a minute")
			// Timers: the local activity's backoffs (in the test environment
			// each retry is one) and none else: every deadline had passed at
			// the intake.
			require.LessOrEqual(t, timers.Load(), int32(8), "no timer per retry once the write is an ordinary activity")
		})
	}
}
