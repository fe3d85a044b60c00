package temporal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	sdktemporal "go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/parcours-rsa/parcours/activities"
	"github.com/parcours-rsa/parcours/workflows"
)

// DigestTaskQueue is the task queue of the staff digests (the Digest
// workflow and its activity). Only the processes configured with SMTP poll
// it (StartDigests): a worker started without SMTP, beside a serve with
// it, never receives a digest it could not send.
const DigestTaskQueue = workflows.TaskQueue + "-digests"

// RegisterDigest adds the Digest workflow and its activity to a worker.
func RegisterDigest(w worker.Worker, d *activities.Digests) {
	w.RegisterWorkflowWithOptions(workflows.Digest, workflows.RegisterDigestOptions())
	d.Register(w)
}

// StartDigests makes this process one of those that send the staff
// digests: a worker of DigestTaskQueue, and the schedule created or brought
// to hour. Every process configured with SMTP calls it, with the same
// settings: they all own the schedule, and each digest runs once, on one
// of them. A process without SMTP does not call it, and touches neither the
// schedule nor the digests (it used to pause the schedule, stopping the
// digests of the processes that had SMTP). Stop the returned worker at the
// end.
func StartDigests(ctx context.Context, c client.Client, d *activities.Digests, hour int, start workflows.DigestStart) (worker.Worker, error) {
	ConfigureProcess()
	w := worker.New(c, DigestTaskQueue, worker.Options{})
	RegisterDigest(w, d)
	if err := EnsureDigestSchedule(ctx, c, hour, start); err != nil {
		return nil, err
	}
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("digest worker: %w", err)
	}
	return w, nil
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
// start is the Digest workflow's argument.
func EnsureDigestSchedule(ctx context.Context, c client.Client, hour int, start workflows.DigestStart) error {
	sc := c.ScheduleClient()
	spec := DigestSpec(hour)
	action := &client.ScheduleWorkflowAction{
		ID: "digest", Workflow: workflows.DigestWorkflow, TaskQueue: DigestTaskQueue, Args: []any{start},
		WorkflowRunTimeout: 20 * time.Hour,
	}
	_, err := sc.Create(ctx, client.ScheduleOptions{
		ID:     workflows.DigestScheduleID,
		Spec:   spec,
		Action: action,
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
			s.Spec, s.Action = &spec, action // a schedule made before: its digests on the service's queue
			if s.State != nil && s.State.Paused {
				// Paused by a process without SMTP, before StartDigests.
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
