package temporal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	sdktemporal "go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/parcours-rsa/parcours/activities"
	"github.com/parcours-rsa/parcours/workflows"
)

// RegisterDigest adds the Digest workflow and its activity to a worker.
func RegisterDigest(w worker.Worker, d *activities.Digests) {
	w.RegisterWorkflowWithOptions(workflows.Digest, workflows.RegisterDigestOptions())
	d.Register(w)
}

// DigestSpec fires at hour:00 Europe/Paris, Monday to Friday (the workflow
// itself skips public holidays).
func DigestSpec(hour int) client.ScheduleSpec {
	return client.ScheduleSpec{
		Calendars: []client.ScheduleCalendarSpec{{
			Second:    []client.ScheduleRange{{Start: 0}},
			Minute:    []client.ScheduleRange{{Start: 0}},
			Hour:      []client.ScheduleRange{{Start: hour}},
			DayOfWeek: []client.ScheduleRange{{Start: 1, End: 5}},
		}},
		TimeZoneName: "Europe/Paris",
	}
}

// EnsureDigestSchedule creates the digest schedule, or brings an existing
// one to the configured hour: every start of the service may call it.
func EnsureDigestSchedule(ctx context.Context, c client.Client, hour int) error {
	sc := c.ScheduleClient()
	spec := DigestSpec(hour)
	_, err := sc.Create(ctx, client.ScheduleOptions{
		ID:   workflows.DigestScheduleID,
		Spec: spec,
		Action: &client.ScheduleWorkflowAction{
			ID: "digest", Workflow: workflows.DigestWorkflow, TaskQueue: workflows.TaskQueue,
			WorkflowRunTimeout: 20 * time.Hour,
		},
		// Down at the hour, the morning's digest still goes once the server
		// is back, but not yesterday's.
		CatchupWindow: 8 * time.Hour,
	})
	if err == nil {
		return nil
	}
	if !errors.Is(err, sdktemporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("create digest schedule: %w", err)
	}
	err = sc.GetHandle(ctx, workflows.DigestScheduleID).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			s := in.Description.Schedule
			s.Spec = &spec
			if s.State != nil && s.State.Paused {
				s.State.Paused, s.State.Note = false, "SMTP configuré : résumés quotidiens repris."
			}
			return &client.ScheduleUpdate{Schedule: &s}, nil
		},
	})
	if err != nil {
		return fmt.Errorf("update digest schedule: %w", err)
	}
	return nil
}

// PauseDigestSchedule pauses the digest schedule, if there is one: the
// service started without SMTP, so nobody would run the digests it starts.
// The next start with SMTP resumes it.
func PauseDigestSchedule(ctx context.Context, c client.Client) (paused bool, err error) {
	h := c.ScheduleClient().GetHandle(ctx, workflows.DigestScheduleID)
	d, err := h.Describe(ctx)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("describe digest schedule: %w", err)
	}
	if d.Schedule.State != nil && d.Schedule.State.Paused {
		return false, nil
	}
	if err := h.Pause(ctx, client.SchedulePauseOptions{Note: "SMTP_HOST absent : résumés quotidiens suspendus."}); err != nil {
		return false, fmt.Errorf("pause digest schedule: %w", err)
	}
	return true, nil
}
