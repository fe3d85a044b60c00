package embedded

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/parcours-rsa/parcours/activities"
	"github.com/parcours-rsa/parcours/workflows"

	"github.com/parcours-rsa/parcours/internal/temporal"
)

// TestDigestScheduleOnTheEmbeddedServer: the schedule is created at the
// first start and brought to the new hour at the next (one ID: never doubled).
func TestDigestScheduleOnTheEmbeddedServer(t *testing.T) {
	port, err := temporal.FreePort()
	require.NoError(t, err)
	srv, c, w := startAll(t, t.TempDir(), port)
	defer srv.Stop()
	defer c.Close()
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	require.NoError(t, temporal.EnsureDigestSchedule(ctx, c, 8, workflows.DigestStart{}))
	require.NoError(t, temporal.EnsureDigestSchedule(ctx, c, 9, workflows.DigestStart{}), "a second start updates the schedule")
	d, err := c.ScheduleClient().GetHandle(ctx, workflows.DigestScheduleID).Describe(ctx)
	require.NoError(t, err)
	cal := d.Schedule.Spec.Calendars
	require.Len(t, cal, 1)
	require.Equal(t, 9, cal[0].Hour[0].Start)
	require.Equal(t, "Europe/Paris", d.Schedule.Spec.TimeZoneName)
	require.Equal(t, 1, cal[0].DayOfWeek[0].Start)
	require.Equal(t, 5, cal[0].DayOfWeek[0].End)

	// A schedule made before the digests had their queue, then paused by
	// a process without SMTP, as they did: a start with SMTP moves its
	// digests to their queue and resumes it.
	h := c.ScheduleClient().GetHandle(ctx, workflows.DigestScheduleID)
	require.NoError(t, h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := in.Description.Schedule
		s.Action.(*client.ScheduleWorkflowAction).TaskQueue = workflows.TaskQueue
		return &client.ScheduleUpdate{Schedule: &s}, nil
	}}))
	require.NoError(t, h.Pause(ctx, client.SchedulePauseOptions{Note: "SMTP_HOST absent"}))
	dw, err := temporal.StartDigests(ctx, c, &activities.Digests{}, 9, workflows.DigestStart{})
	require.NoError(t, err)
	defer dw.Stop()
	d, err = h.Describe(ctx)
	require.NoError(t, err)
	require.False(t, d.Schedule.State.Paused)
	require.Equal(t, temporal.DigestTaskQueue, d.Schedule.Action.(*client.ScheduleWorkflowAction).TaskQueue)

	// Its digests go to their own queue, polled by the processes with
	// SMTP only (StartDigests): the service's queue, which every worker
	// polls, with or without SMTP, never gets one.
	require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))
	require.Eventually(t, func() bool {
		d, err := h.Describe(ctx)
		return err == nil && len(d.Info.RecentActions) > 0
	}, 30*time.Second, 100*time.Millisecond, "the triggered digest started")
	d, err = h.Describe(ctx)
	require.NoError(t, err)
	run := d.Info.RecentActions[0].StartWorkflowResult
	desc, err := c.DescribeWorkflowExecution(ctx, run.WorkflowID, run.FirstExecutionRunID)
	require.NoError(t, err)
	require.Equal(t, temporal.DigestTaskQueue, desc.GetExecutionConfig().GetTaskQueue().GetName())
}
