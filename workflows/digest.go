package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// The daily digest to staff (issue #9). A Temporal schedule (DigestScheduleID)
// starts the Digest workflow at the configured hour, Monday to Friday,
// Europe/Paris; the workflow skips public holidays and runs one activity
// that sends every digest of the day.
const (
	DigestWorkflow   = "Digest"
	DigestActivity   = "SendDigests" // DigestInput, DigestResult
	DigestScheduleID = "digest"
)

// DigestInput is the day whose digests are sent.
type DigestInput struct {
	Day domain.Date `json:"day"`
}

// DigestStart is what the schedule starts Digest with. ZoneOffset, when
// set, is the fixed zone the day is taken in instead of Europe/Paris
// (end-to-end tests only: PARCOURS_TEST_CALENDAR_OFFSET, as for the
// parcours, domain.Settings.ZoneOffset). A schedule made before it starts
// Digest with no argument: the zero value, Europe/Paris.
type DigestStart struct {
	ZoneOffset *int `json:"zone_offset,omitempty"`
}

// DigestResult counts the outcome of a day's digests.
type DigestResult struct {
	Day     domain.Date `json:"day"`
	Holiday bool        `json:"holiday,omitempty"`
	Sent    int         `json:"sent"`
	Empty   int         `json:"empty"`   // nothing to say: nothing sent
	Already int         `json:"already"` // sent (or possibly sent) by an earlier attempt
}

// Digest sends the digests of today (Europe/Paris). The activity is retried
// until it succeeds or the day is over; the digest_sendings table makes every
// retry send only what was not sent.
func Digest(ctx workflow.Context, in DigestStart) (DigestResult, error) {
	day := domain.DateIn(workflow.Now(ctx), domain.Settings{ZoneOffset: in.ZoneOffset}.Location())
	if !domain.WorkingDay(day) {
		return DigestResult{Day: day, Holiday: true}, nil
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Minute,
		HeartbeatTimeout:       2 * time.Minute,
		ScheduleToCloseTimeout: 12 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        30 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        30 * time.Minute,
			NonRetryableErrorTypes: []string{"InvalidInput"},
		},
	})
	var res DigestResult
	err := workflow.ExecuteActivity(actx, DigestActivity, DigestInput{Day: day}).Get(ctx, &res)
	return res, err
}

// RegisterDigestOptions registers Digest under its recorded name.
func RegisterDigestOptions() workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: DigestWorkflow}
}
