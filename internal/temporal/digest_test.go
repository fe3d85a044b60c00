package temporal

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/workflows"
)

// TestDigestScheduleOnTheEmbeddedServer: the schedule is created at the
// first start and brought to the new hour at the next (one ID: never doubled).
func TestDigestScheduleOnTheEmbeddedServer(t *testing.T) {
	port, err := FreePort()
	require.NoError(t, err)
	srv, c, w := startAll(t, t.TempDir(), port)
	defer srv.Stop()
	defer c.Close()
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	require.NoError(t, EnsureDigestSchedule(ctx, c, 8))
	require.NoError(t, EnsureDigestSchedule(ctx, c, 9), "a second start updates the schedule")
	d, err := c.ScheduleClient().GetHandle(ctx, workflows.DigestScheduleID).Describe(ctx)
	require.NoError(t, err)
	cal := d.Schedule.Spec.Calendars
	require.Len(t, cal, 1)
	require.Equal(t, 9, cal[0].Hour[0].Start)
	require.Equal(t, "Europe/Paris", d.Schedule.Spec.TimeZoneName)
	require.Equal(t, 1, cal[0].DayOfWeek[0].Start)
	require.Equal(t, 5, cal[0].DayOfWeek[0].End)

	// Started without SMTP: paused, so that no digest starts with nobody to
	// run it; started with SMTP again: resumed.
	paused, err := PauseDigestSchedule(ctx, c)
	require.NoError(t, err)
	require.True(t, paused)
	d, err = c.ScheduleClient().GetHandle(ctx, workflows.DigestScheduleID).Describe(ctx)
	require.NoError(t, err)
	require.True(t, d.Schedule.State.Paused)
	paused, err = PauseDigestSchedule(ctx, c)
	require.NoError(t, err)
	require.False(t, paused, "already paused")
	require.NoError(t, EnsureDigestSchedule(ctx, c, 9))
	d, err = c.ScheduleClient().GetHandle(ctx, workflows.DigestScheduleID).Describe(ctx)
	require.NoError(t, err)
	require.False(t, d.Schedule.State.Paused)
	require.NoError(t, c.ScheduleClient().GetHandle(ctx, workflows.DigestScheduleID).Delete(ctx))
	paused, err = PauseDigestSchedule(ctx, c)
	require.NoError(t, err)
	require.False(t, paused, "no schedule: nothing to pause")
}
