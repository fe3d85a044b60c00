package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/parcours-rsa/parcours/internal/domain"
)

func runDigest(t *testing.T, at time.Time, args ...any) (DigestResult, []domain.Date) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(at)
	var days []domain.Date
	env.RegisterWorkflowWithOptions(Digest, RegisterDigestOptions())
	env.RegisterActivityWithOptions(func(_ context.Context, in DigestInput) (DigestResult, error) {
		days = append(days, in.Day)
		return DigestResult{Day: in.Day, Sent: 2}, nil
	}, activity.RegisterOptions{Name: DigestActivity})
	env.ExecuteWorkflow(DigestWorkflow, args...)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res DigestResult
	require.NoError(t, env.GetWorkflowResult(&res))
	return res, days
}

func TestDigestWorkflowSendsTheParisDay(t *testing.T) {
	t.Parallel()
	// 07:00 UTC on Tuesday 1 December 2026 is 08:00 in Paris.
	res, days := runDigest(t, time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC))
	require.Equal(t, []domain.Date{domain.NewDate(2026, 12, 1)}, days)
	require.Equal(t, 2, res.Sent)
	// 23:30 UTC on Monday 30 November is already Tuesday in Paris.
	_, days = runDigest(t, time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC))
	require.Equal(t, []domain.Date{domain.NewDate(2026, 12, 1)}, days)
}

func TestDigestWorkflowSkipsHolidays(t *testing.T) {
	t.Parallel()
	res, days := runDigest(t, time.Date(2026, 12, 25, 7, 0, 0, 0, time.UTC)) // Christmas, a Friday
	require.Empty(t, days)
	require.True(t, res.Holiday)
}

// A schedule made before DigestStart starts Digest with no argument (the
// Paris day, above); one of an end-to-end test's calendar names its zone.
func TestDigestWorkflowDayInTheStartsZone(t *testing.T) {
	t.Parallel()
	off := -10 * 3600
	// 07:00 UTC on Tuesday 1 December is 21:00 on Monday 30 November at UTC-10.
	_, days := runDigest(t, time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC), DigestStart{ZoneOffset: &off})
	require.Equal(t, []domain.Date{domain.NewDate(2026, 11, 30)}, days)
	_, days = runDigest(t, time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC), DigestStart{})
	require.Equal(t, []domain.Date{domain.NewDate(2026, 12, 1)}, days)
}
