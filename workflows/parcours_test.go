package workflows

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// testBundle runs one Parcours workflow in the time-skipping test
// environment and keeps every read-model write it makes.
type testBundle struct {
	env     *testsuite.TestWorkflowEnvironment
	mu      sync.Mutex
	writes  []SyncInput
	reviews []SyncReviewInput
	updates int
}

func setup(t *testing.T, start time.Time) *testBundle {
	t.Helper()
	return setupWith(t, start, Parcours)
}

// setupWith registers parcours (NewParcours' under other rule sets) as the
// Parcours workflow: start it by name (ParcoursWorkflow).
func setupWith(t *testing.T, start time.Time, parcours func(workflow.Context, ParcoursInput) error) *testBundle {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	tb := &testBundle{env: suite.NewTestWorkflowEnvironment()}
	tb.env.SetStartTime(start)
	tb.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: ParcoursWorkflowID("p1")})
	tb.env.RegisterWorkflowWithOptions(parcours, RegisterOptions())
	tb.env.RegisterActivityWithOptions(func(ctx context.Context, in SyncInput) error {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		tb.writes = append(tb.writes, in)
		return nil
	}, activity.RegisterOptions{Name: SyncParcoursActivity})
	tb.env.RegisterWorkflowWithOptions(SuspensionReview, RegisterReviewOptions())
	tb.env.RegisterActivityWithOptions(func(ctx context.Context, in SyncReviewInput) error {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		tb.reviews = append(tb.reviews, in)
		return nil
	}, activity.RegisterOptions{Name: SyncReviewActivity})
	return tb
}

func (tb *testBundle) state(t *testing.T) ParcoursState {
	t.Helper()
	v, err := tb.env.QueryWorkflow(StateQuery)
	require.NoError(t, err)
	var s ParcoursState
	require.NoError(t, v.Get(&s))
	return s
}

func (tb *testBundle) last() SyncInput {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return tb.writes[len(tb.writes)-1]
}

func (tb *testBundle) events() []Event {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var out []Event
	for _, w := range tb.writes {
		out = append(out, w.Events...)
	}
	return out
}

// at schedules fn at a wall-clock instant of virtual time.
func (tb *testBundle) at(start, when time.Time, fn func()) {
	tb.env.RegisterDelayedCallback(fn, when.Sub(start))
}

// outcome is the end of an update: its handler runs activities, so it is
// known only after the environment has moved on; check it in a later callback.
type outcome struct {
	done   bool
	err    error
	result any
}

// update sends an update; its rejection or result lands in the outcome.
func (tb *testBundle) update(name string, arg any) *outcome {
	out := &outcome{}
	tb.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
		OnAccept:   func() {},
		OnReject:   func(e error) { out.err, out.done = e, true },
		OnComplete: func(_ any, e error) { out.err, out.done = e, true },
	}, arg)
	return out
}

func (o *outcome) ok(t *testing.T) {
	t.Helper()
	require.True(t, o.done, "update still running")
	require.NoError(t, o.err)
}

func (o *outcome) rejected(t *testing.T) error {
	t.Helper()
	require.True(t, o.done, "update still running")
	require.Error(t, o.err)
	return DomainError(o.err)
}

type tlog struct{ t *testing.T }

func (l tlog) Write(b []byte) (int, error) { l.t.Log(string(b)); return len(b), nil }

func paris(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, domain.Paris)
}

// deadline is a deadline as the read model last received it (closed ones
// leave the workflow's state once written).
func (tb *testBundle) deadline(key string) DeadlineState {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var out DeadlineState
	for _, w := range tb.writes {
		for _, d := range w.Deadlines {
			if d.Key() == key {
				out = d
			}
		}
	}
	return out
}

// task is a task as the read model last received it.
func (tb *testBundle) task(kind domain.TaskKind) TaskState {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var out TaskState
	for _, w := range tb.writes {
		for _, t := range w.Tasks {
			if t.Kind == kind {
				out = t
			}
		}
	}
	return out
}

func input(entered, received string) ParcoursInput {
	e, _ := domain.ParseDate(entered)
	r, _ := domain.ParseDate(received)
	return ParcoursInput{ParcoursID: "p1", Policy: "departement", EnteredOn: e, ReceivedOn: r}
}

func TestOrientationDeadlineFiresAtMidnightParisTheNextDay(t *testing.T) {
	t.Parallel()
	start := paris(2026, 1, 12, 10, 0)
	tb := setup(t, start)

	tb.at(start, paris(2026, 2, 12, 23, 59), func() {
		require.Equal(t, domain.DeadlinePending, tb.deadline("orientation/target").Status, "due on 12/02: not overdue that day")
		require.True(t, tb.task(domain.TaskOrient).OverdueAt.IsZero())
	})
	tb.at(start, paris(2026, 2, 13, 0, 1), func() {
		d := tb.deadline("orientation/target")
		require.Equal(t, domain.DeadlineOverdue, d.Status)
		require.Equal(t, paris(2026, 2, 13, 0, 0).UTC(), d.OverdueAt.UTC(), "fired at 00:00 Paris on 13/02")
		require.Equal(t, domain.DeadlinePending, tb.deadline("orientation/legal").Status, "the legal 6 weeks run on")
		orient := tb.task(domain.TaskOrient)
		require.Equal(t, domain.TaskOpen, orient.Status)
		require.False(t, orient.OverdueAt.IsZero(), "the task is overdue")
		require.Equal(t, "2026-02-12", orient.DueOn.String())
		// The read model received the change.
		w := tb.last()
		require.Equal(t, domain.DeadlineOverdue, w.Deadlines[0].Status)
	})
	// The legal limit: 6 weeks after receipt on 15/01 is 26/02.
	tb.at(start, paris(2026, 2, 27, 0, 1), func() {
		require.Equal(t, domain.DeadlineOverdue, tb.deadline("orientation/legal").Status)
		// The contract target (2 months after entry) is still pending.
		require.Equal(t, domain.DeadlinePending, tb.deadline("contract/target").Status)
		tb.env.CancelWorkflow()
	})
	tb.env.ExecuteWorkflow(Parcours, input("2026-01-12", "2026-01-15"))
	require.True(t, tb.env.IsWorkflowCompleted())

	var overdue []string
	for _, e := range tb.events() {
		if e.Kind == EventDeadlineOverdue {
			overdue = append(overdue, e.OccurredOn.String())
		}
	}
	require.Equal(t, []string{"2026-02-13", "2026-02-27"}, overdue, "one event per deadline, on the day it became overdue")
}

func TestOrientationCancelsItsTimersAndStartsTheContractClock(t *testing.T) {
	t.Parallel()
	start := paris(2026, 1, 31, 9, 0)
	tb := setup(t, start)
	orientation := domain.Orientation{Track: domain.TrackSocial, Organism: "CCAS de Caen", ReferentID: "ref-42", DecidedOn: domain.NewDate(2026, 2, 10)}

	var first, again, signed *outcome
	tb.at(start, paris(2026, 2, 10, 14, 0), func() {
		first = tb.update(RecordOrientationUpdate, orientation)
	})
	tb.at(start, paris(2026, 2, 10, 14, 1), func() {
		first.ok(t)
		s := tb.state(t)
		require.Equal(t, domain.StatusAwaitingContract, s.Status)
		require.Equal(t, domain.DeadlineMet, tb.deadline("orientation/target").Status)
		require.Equal(t, domain.DeadlineMet, tb.deadline("orientation/legal").Status)
		require.Equal(t, domain.TaskDone, tb.task(domain.TaskOrient).Status)
		// Contract: target 2 months after entry on 31/01 = 31/03; law 1 month after 10/02 = 10/03.
		require.Equal(t, "2026-03-31", tb.deadline("contract/target").DueOn.String())
		legal := tb.deadline("contract/legal")
		require.Equal(t, "2026-03-10", legal.DueOn.String())
		require.Contains(t, legal.Rule, "1 mois après la décision d'orientation le 10/02/2026")
		sign := tb.task(domain.TaskSignContract)
		require.Equal(t, "ref-42", sign.Assignee)
		require.Equal(t, "2026-03-10", sign.DueOn.String(), "the task is due at the earliest deadline")
		// The same request again is answered without change.
		again = tb.update(RecordOrientationUpdate, orientation)
	})
	tb.at(start, paris(2026, 3, 5, 0, 0), func() {
		again.ok(t)
		require.Equal(t, domain.DeadlineMet, tb.deadline("orientation/target").Status, "the cancelled timer never fired")
	})
	tb.at(start, paris(2026, 3, 11, 0, 0).Add(30*time.Second), func() {
		require.Equal(t, domain.DeadlineOverdue, tb.deadline("contract/legal").Status)
		require.False(t, tb.task(domain.TaskSignContract).OverdueAt.IsZero())
		signed = tb.update(RecordContractUpdate, domain.Contract{
			Kind: domain.ContractEngagement, SignedOn: domain.NewDate(2026, 3, 11),
			StartsOn: domain.NewDate(2026, 3, 11), EndsOn: domain.NewDate(2026, 9, 10),
		})
	})
	tb.at(start, paris(2026, 3, 11, 0, 1), func() {
		signed.ok(t)
		s := tb.state(t)
		require.Equal(t, domain.StatusInAccompaniment, s.Status)
		require.Equal(t, domain.DeadlineMet, tb.deadline("contract/target").Status)
		require.Equal(t, domain.DeadlineMet, tb.deadline("contract/legal").Status, "met late: the overdue mark stays in the timeline")
		require.Equal(t, domain.TaskDone, tb.task(domain.TaskSignContract).Status)
	})
	tb.at(start, paris(2026, 6, 1, 0, 0), func() {
		require.Equal(t, domain.DeadlineMet, tb.deadline("contract/target").Status, "31/03 passed with the contract signed")
		tb.env.CancelWorkflow()
	})
	tb.env.ExecuteWorkflow(Parcours, input("2026-01-31", ""))

	kinds := map[string]int{}
	for _, e := range tb.events() {
		kinds[e.Kind]++
	}
	require.Equal(t, map[string]int{EventEntered: 1, EventOrientationRecord: 1, EventDeadlineOverdue: 1, EventContractSigned: 1}, kinds)
	for i, e := range tb.events() {
		require.Equal(t, i+1, e.Seq, "events are numbered without gaps")
	}
}

func TestIntakeWithPastDeadlinesIsOverdueAtOnce(t *testing.T) {
	t.Parallel()
	start := paris(2026, 11, 22, 10, 0)
	tb := setup(t, start)
	tb.at(start, start.Add(time.Second), func() {
		tb.env.CancelWorkflow()
	})
	tb.env.ExecuteWorkflow(Parcours, input("2026-09-01", ""))
	first := tb.writes[0]
	require.Positive(t, first.Version)
	statuses := map[string]domain.DeadlineStatus{}
	for _, d := range first.Deadlines {
		statuses[d.Key()] = d.Status
	}
	require.Equal(t, map[string]domain.DeadlineStatus{
		"orientation/target": domain.DeadlineOverdue, // 01/10
		"contract/target":    domain.DeadlineOverdue, // 01/11
		"orientation/legal":  domain.DeadlineOverdue, // 13/10
	}, statuses, "the very first write already has them overdue")
	var overdueOn []string
	for _, e := range first.Events {
		if e.Kind == EventDeadlineOverdue {
			overdueOn = append(overdueOn, e.OccurredOn.String())
		}
	}
	require.Equal(t, []string{"2026-10-02", "2026-10-14", "2026-11-02"}, overdueOn, "the timeline is chronological")
	// The 6 legal weeks passed too: the orientation decision went to France Travail.
	require.Len(t, first.Tasks, 2)
	require.Equal(t, domain.TaskOrient, first.Tasks[0].Kind)
	require.Equal(t, domain.TaskCancelled, first.Tasks[0].Status)
	require.Equal(t, "2026-10-01", first.Tasks[0].DueOn.String())
	require.Equal(t, domain.TaskAwaitFranceTravail, first.Tasks[1].Kind)
	require.Equal(t, domain.TaskOpen, first.Tasks[1].Status)
}

func TestUpdatesAreValidated(t *testing.T) {
	t.Parallel()
	start := paris(2026, 3, 2, 9, 0)
	tb := setup(t, start)
	contract := domain.Contract{Kind: domain.ContractCER, SignedOn: domain.NewDate(2026, 3, 2), StartsOn: domain.NewDate(2026, 3, 2), EndsOn: domain.NewDate(2026, 9, 1)}
	o := domain.Orientation{Track: domain.TrackProfessional, Organism: "France Travail", ReferentID: "ft-1", DecidedOn: domain.NewDate(2026, 3, 2)}
	early := o
	early.DecidedOn = domain.NewDate(2026, 2, 27)
	o2 := o
	o2.ReferentID = "ft-2"
	signedEarly := contract
	signedEarly.SignedOn = domain.NewDate(2026, 3, 1)
	other := contract
	other.EndsOn = domain.NewDate(2026, 12, 1)

	// Each update is sent one minute after the previous one, and its outcome
	// checked when the next one is sent.
	steps := []struct {
		name  string
		arg   any
		check func(*outcome)
	}{
		{RecordContractUpdate, contract, func(o *outcome) {
			require.Equal(t, domain.ECONFLICT, domain.ErrorCode(o.rejected(t)), "no contract before an orientation")
		}},
		{RecordOrientationUpdate, early, func(o *outcome) {
			err := o.rejected(t)
			require.Equal(t, domain.EINVALID, domain.ErrorCode(err))
			require.Equal(t, "decided_on", domain.ErrorField(err))
		}},
		{RecordOrientationUpdate, o, func(o *outcome) { o.ok(t) }},
		{RecordOrientationUpdate, o2, func(o *outcome) {
			require.Equal(t, domain.ECONFLICT, domain.ErrorCode(o.rejected(t)), "a second, different orientation is refused")
		}},
		{RecordContractUpdate, signedEarly, func(o *outcome) {
			require.Equal(t, "signed_on", domain.ErrorField(o.rejected(t)))
		}},
		{RecordContractUpdate, contract, func(o *outcome) { o.ok(t) }},
		{RecordContractUpdate, contract, func(o *outcome) { o.ok(t) }}, // the same contract again: no change
		{RecordContractUpdate, other, func(o *outcome) {
			err := o.rejected(t)
			require.Equal(t, domain.EINVALID, domain.ErrorCode(err))
			require.Equal(t, "assessment", domain.ErrorField(err), "a renewal needs the previous contract's assessment")
		}},
	}
	var prev *outcome
	for i := range len(steps) + 1 {
		tb.at(start, start.Add(time.Duration(i+1)*time.Minute), func() {
			if i > 0 {
				steps[i-1].check(prev)
			}
			if i == len(steps) {
				tb.env.CancelWorkflow()
				return
			}
			prev = tb.update(steps[i].name, steps[i].arg)
		})
	}
	tb.env.ExecuteWorkflow(Parcours, input("2026-03-02", ""))
	require.Equal(t, domain.StatusInAccompaniment, tb.last().Status)
}

func TestLawPolicyHasNoContractDeadlineBeforeOrientation(t *testing.T) {
	t.Parallel()
	start := paris(2028, 1, 31, 9, 0)
	tb := setup(t, start)
	tb.at(start, paris(2028, 3, 13, 23, 0), func() {
		s := tb.state(t)
		require.Len(t, s.Deadlines, 1)
		require.Equal(t, "2028-03-13", s.Deadlines[0].DueOn.String(), "6 weeks from 31/01/2028, through 29/02")
		require.Equal(t, domain.DeadlinePending, s.Deadlines[0].Status)
	})
	tb.at(start, paris(2028, 3, 14, 0, 1), func() {
		require.Equal(t, domain.DeadlineOverdue, tb.state(t).Deadlines[0].Status)
		tb.env.CancelWorkflow()
	})
	in := input("2028-01-31", "")
	in.Policy = "loi"
	tb.env.ExecuteWorkflow(Parcours, in)
}

func TestUnknownPolicyFailsTheWorkflow(t *testing.T) {
	t.Parallel()
	tb := setup(t, paris(2026, 1, 1, 0, 0))
	in := input("2026-01-01", "")
	in.Policy = "calvados"
	tb.env.ExecuteWorkflow(Parcours, in)
	require.Error(t, tb.env.GetWorkflowError())
}

func TestContinueAsNewCarriesTheWholeState(t *testing.T) {
	t.Parallel()
	start := paris(2026, 4, 1, 9, 0)
	tb := setup(t, start)
	o := domain.Orientation{Track: domain.TrackSocial, Organism: "CCAS", ReferentID: "ref-1", DecidedOn: domain.NewDate(2026, 4, 10)}
	var oriented *outcome
	tb.at(start, paris(2026, 4, 10, 10, 0), func() { oriented = tb.update(RecordOrientationUpdate, o) })
	tb.at(start, paris(2026, 4, 10, 10, 1), func() {
		oriented.ok(t)
		tb.env.SetContinueAsNewSuggested(true) // the server says the history is long
	})
	tb.env.ExecuteWorkflow(Parcours, input("2026-04-01", ""))

	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, tb.env.GetWorkflowError(), &can)
	var next ParcoursInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.NotNil(t, next.State)
	require.Empty(t, next.State.Unsynced, "every event was written before continuing")
	require.Equal(t, domain.StatusAwaitingContract, next.State.Status)

	// The new run picks up where the old one stopped: no second entry event,
	// and the contract deadlines fire on their dates.
	tb2 := setup(t, paris(2026, 4, 10, 10, 1))
	tb2.at(paris(2026, 4, 10, 10, 1), paris(2026, 5, 11, 0, 1), func() {
		require.Equal(t, domain.DeadlineOverdue, tb2.deadline("contract/legal").Status, "1 month after 10/04")
		require.Equal(t, domain.DeadlineMet, tb.deadline("orientation/target").Status)
		tb2.env.CancelWorkflow()
	})
	tb2.env.ExecuteWorkflow(Parcours, next)
	events := tb2.events()
	require.Len(t, events, 1)
	require.Equal(t, EventDeadlineOverdue, events[0].Kind)
	require.Equal(t, next.State.NextSeq, events[0].Seq, "numbering continues")
}

// TestUpdateDeliveredAgainAfterContinueAsNewIsAppliedOnce: the server may
// hand an update completed in a run's last task to the next run too
// (temporalio/temporal#6375); the new run answers it from the carried state.
func TestUpdateDeliveredAgainAfterContinueAsNewIsAppliedOnce(t *testing.T) {
	t.Parallel()
	start := paris(2026, 4, 1, 9, 0)
	tb := setup(t, start)
	o := domain.Orientation{Track: domain.TrackSocial, Organism: "CCAS", ReferentID: "ref-1", DecidedOn: domain.NewDate(2026, 4, 2)}
	action := domain.Action{Name: "Atelier CV", Kind: "employment_support", Structure: "CCAS", StartsOn: d(2026, 4, 3), PlannedEndOn: d(2026, 5, 29)}
	send := func(tb *testBundle, id, name string, arg any) *outcome {
		out := &outcome{}
		tb.env.UpdateWorkflow(name, id, &testsuite.TestUpdateCallback{
			OnAccept:   func() {},
			OnReject:   func(e error) { out.err, out.done = e, true },
			OnComplete: func(r any, e error) { out.err, out.done, out.result = e, true, r },
		}, arg)
		return out
	}
	var oriented, first *outcome
	tb.at(start, paris(2026, 4, 2, 10, 0), func() { oriented = send(tb, "u-orient", RecordOrientationUpdate, o) })
	tb.at(start, paris(2026, 4, 3, 10, 0), func() { oriented.ok(t); first = send(tb, "u-action", RecordActionUpdate, action) })
	tb.at(start, paris(2026, 4, 3, 10, 1), func() { first.ok(t); tb.env.SetContinueAsNewSuggested(true) })
	tb.env.ExecuteWorkflow(Parcours, input("2026-04-01", ""))
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, tb.env.GetWorkflowError(), &can)
	var next ParcoursInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.Len(t, next.State.Applied, 2, "both update IDs are carried")

	tb2 := setup(t, paris(2026, 4, 3, 10, 2))
	var again, other, reoriented *outcome
	tb2.at(paris(2026, 4, 3, 10, 2), paris(2026, 4, 3, 10, 3), func() {
		again = send(tb2, "u-action", RecordActionUpdate, action)
		reoriented = send(tb2, "u-orient", RecordOrientationUpdate, o) // would be refused: already oriented
	})
	tb2.at(paris(2026, 4, 3, 10, 2), paris(2026, 4, 3, 10, 4), func() {
		again.ok(t)
		reoriented.ok(t)
		other = send(tb2, "u-action-2", RecordActionUpdate, action)
	})
	tb2.at(paris(2026, 4, 3, 10, 2), paris(2026, 4, 3, 10, 5), func() {
		other.ok(t)
		s := tb2.state(t)
		require.Len(t, s.Actions, 2, "the repeated update added nothing; a new one did")
		require.Equal(t, first.result.(UpdateResult).Ref, again.result.(UpdateResult).Ref, "the first answer again")
		tb2.env.CancelWorkflow()
	})
	tb2.env.ExecuteWorkflow(Parcours, next)
}

// A parcours whose settings name a fixed zone (the bench's burst) counts its
// dates there: its deadline fires at that zone's midnight, and the
// service's own zone, domain.Paris, does not move (issue 24: no package
// state changed at run time).
func TestDeadlineFiresAtMidnightOfTheSettingsZone(t *testing.T) {
	t.Parallel()
	start := paris(2026, 1, 12, 10, 0)
	tb := setup(t, start)
	off := 10 * 3600 // 00:00 at UTC+10 is 15:00 the day before in Paris (winter)
	settings := domain.DefaultSettings()
	settings.ZoneOffset = &off
	in := input("2026-01-12", "2026-01-15")
	in.Settings = &settings
	tb.at(start, paris(2026, 2, 12, 14, 59), func() {
		require.Equal(t, domain.DeadlinePending, tb.deadline("orientation/target").Status, "not yet midnight at UTC+10")
	})
	tb.at(start, paris(2026, 2, 12, 15, 1), func() {
		d := tb.deadline("orientation/target")
		require.Equal(t, domain.DeadlineOverdue, d.Status, "midnight of 13/02 at UTC+10 has passed")
		require.Equal(t, time.Date(2026, 2, 12, 14, 0, 0, 0, time.UTC), d.OverdueAt.UTC())
		require.Equal(t, "Europe/Paris", domain.Paris.String())
		tb.env.CancelWorkflow()
	})
	tb.env.ExecuteWorkflow(Parcours, in)
	require.True(t, tb.env.IsWorkflowCompleted())
}
