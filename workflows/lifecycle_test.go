package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// taskOf is the task of a kind and cycle as the read model last received it.
func (tb *testBundle) taskOf(kind domain.TaskKind, cycle int) TaskState {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var out TaskState
	for _, w := range tb.writes {
		for _, t := range w.Tasks {
			if t.Kind == kind && t.Cycle == cycle {
				out = t
			}
		}
	}
	return out
}

// deadlineOf is a deadline of a key and cycle as last written.
func (tb *testBundle) deadlineOf(key string, cycle int) DeadlineState {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var out DeadlineState
	for _, w := range tb.writes {
		for _, d := range w.Deadlines {
			if d.Key() == key && d.Cycle == cycle {
				out = d
			}
		}
	}
	return out
}

// script runs steps at given instants; each step may send one update, whose
// outcome the next step receives (updates finish after their instant).
type step struct {
	at   time.Time
	send func() *outcome
	then func(prev *outcome)
}

func (tb *testBundle) script(start time.Time, steps []step) {
	var prev *outcome
	for _, s := range steps {
		tb.at(start, s.at, func() {
			if s.then != nil {
				s.then(prev)
			}
			prev = nil
			if s.send != nil {
				prev = s.send()
			}
		})
	}
}

func d(y int, m time.Month, day int) domain.Date { return domain.NewDate(y, m, day) }

func TestRenewalReviewAndObstacles(t *testing.T) {
	t.Parallel()
	start := paris(2026, 1, 5, 9, 0)
	tb := setup(t, start)
	orient := domain.Orientation{Track: domain.TrackSocial, Organism: "CCAS", ReferentID: "ref-1", DecidedOn: d(2026, 1, 10)}
	first := domain.Contract{Kind: domain.ContractCER, SignedOn: d(2026, 1, 20), StartsOn: d(2026, 1, 31), EndsOn: d(2026, 3, 31)}
	renewal := domain.Contract{Kind: domain.ContractCER, SignedOn: d(2026, 4, 3), StartsOn: d(2026, 4, 3), EndsOn: d(2026, 10, 2)}
	withNote := renewal
	withNote.NoteID = "note-1"

	tb.script(start, []step{
		{at: paris(2026, 1, 10, 10, 0), send: func() *outcome { return tb.update(RecordOrientationUpdate, orient) }},
		{at: paris(2026, 1, 20, 10, 0), then: func(o *outcome) { o.ok(t) }, send: func() *outcome { return tb.update(RecordContractUpdate, first) }},
		{at: paris(2026, 1, 20, 10, 1), then: func(o *outcome) {
			o.ok(t)
			term := tb.deadlineOf("contract/contract_term", 2)
			require.Equal(t, "2026-03-31", term.DueOn.String())
			require.Equal(t, "2026-03-01", term.OpensOn.String(), "30 days before the end")
			review := tb.deadlineOf("review/legal", 1)
			require.Equal(t, "2026-07-31", review.DueOn.String(), "6 months after the start on 31/01 (L262-31)")
		}},
		{at: paris(2026, 2, 28, 23, 0), then: func(*outcome) {
			require.Empty(t, tb.taskOf(domain.TaskRenewContract, 2).Kind, "not open before its day")
		}},
		{at: paris(2026, 3, 1, 0, 1), then: func(*outcome) {
			renew := tb.taskOf(domain.TaskRenewContract, 2)
			require.Equal(t, domain.TaskOpen, renew.Status)
			require.Equal(t, "2026-03-31", renew.DueOn.String())
			require.Equal(t, "ref-1", renew.Assignee)
			require.True(t, renew.OverdueAt.IsZero())
		}},
		{at: paris(2026, 4, 1, 0, 1), then: func(*outcome) {
			require.Equal(t, domain.DeadlineOverdue, tb.deadlineOf("contract/contract_term", 2).Status, "the contract ended without renewal")
			require.False(t, tb.taskOf(domain.TaskRenewContract, 2).OverdueAt.IsZero())
		}},
		{at: paris(2026, 4, 2, 10, 0), send: func() *outcome {
			return tb.update(SetReviewExtensionUpdate, ReviewExtension{Extended: true, On: d(2026, 4, 2)})
		}},
		{at: paris(2026, 4, 2, 10, 1), then: func(o *outcome) {
			o.ok(t)
			require.Equal(t, "2027-01-31", tb.deadlineOf("review/legal", 1).DueOn.String(), "12 months with an obstacle")
		}, send: func() *outcome { return tb.update(RecordContractUpdate, renewal) }},
		{at: paris(2026, 4, 3, 10, 0), then: func(o *outcome) {
			require.Equal(t, "assessment", domain.ErrorField(o.rejected(t)), "a renewal needs the assessment")
		}, send: func() *outcome { return tb.update(RecordContractUpdate, withNote) }},
		{at: paris(2026, 4, 3, 10, 1), then: func(o *outcome) {
			o.ok(t)
			require.Equal(t, domain.DeadlineMet, tb.deadlineOf("contract/contract_term", 2).Status, "met late")
			require.Equal(t, domain.TaskDone, tb.taskOf(domain.TaskRenewContract, 2).Status)
			require.Equal(t, "2026-10-02", tb.deadlineOf("contract/contract_term", 3).DueOn.String())
			require.Equal(t, domain.DeadlineCancelled, tb.deadlineOf("review/legal", 1).Status, "the review clock restarts with the new contract")
			require.Equal(t, "2027-04-03", tb.deadlineOf("review/legal", 2).DueOn.String(), "12 months after the new start")
			require.Equal(t, domain.StatusInAccompaniment, tb.state(t).Status)
			tb.env.CancelWorkflow()
		}},
	})
	tb.env.ExecuteWorkflow(Parcours, input("2026-01-05", ""))
	kinds := map[string]int{}
	for _, e := range tb.events() {
		kinds[e.Kind]++
	}
	require.Equal(t, 1, kinds[EventContractRenewed])
	require.Equal(t, 1, kinds[EventReviewExtension])
}

func TestReorientationRestartsTheContractClockAndTasksFollowTheReferent(t *testing.T) {
	t.Parallel()
	start := paris(2026, 3, 2, 9, 0)
	tb := setup(t, start)
	orient := domain.Orientation{Track: domain.TrackProfessional, Organism: "France Travail", ReferentID: "ref-1", DecidedOn: d(2026, 3, 2)}
	request := domain.ReorientationRequest{RequestedOn: d(2026, 4, 1)}
	accept := domain.ReorientationDecision{Accept: true, Track: domain.TrackSocial, Organism: "CCAS", ReferentID: "ref-3", DecidedOn: d(2026, 4, 15)}

	tb.script(start, []step{
		{at: paris(2026, 3, 2, 10, 0), send: func() *outcome { return tb.update(RecordOrientationUpdate, orient) }},
		{at: paris(2026, 3, 5, 10, 0), then: func(o *outcome) { o.ok(t) }, send: func() *outcome {
			return tb.update(ReassignReferentUpdate, domain.Reassignment{ReferentID: "ref-2", On: d(2026, 3, 5)})
		}},
		{at: paris(2026, 3, 5, 10, 1), then: func(o *outcome) {
			o.ok(t)
			require.Equal(t, "ref-2", tb.taskOf(domain.TaskSignContract, 1).Assignee, "the task follows the new référent")
			require.Equal(t, "ref-2", tb.last().Orientation.ReferentID)
		}, send: func() *outcome { return tb.update(DecideReorientationUpdate, accept) }},
		{at: paris(2026, 3, 10, 10, 0), then: func(o *outcome) {
			require.Equal(t, domain.ECONFLICT, domain.ErrorCode(o.rejected(t)), "no request to decide")
		}, send: func() *outcome {
			return tb.update(RecordContractUpdate, domain.Contract{Kind: domain.ContractPPAE, SignedOn: d(2026, 3, 10), StartsOn: d(2026, 3, 10), EndsOn: d(2026, 9, 9)})
		}},
		{at: paris(2026, 4, 1, 10, 0), then: func(o *outcome) { o.ok(t) }, send: func() *outcome { return tb.update(RequestReorientationUpdate, request) }},
		{at: paris(2026, 4, 1, 10, 1), then: func(o *outcome) {
			o.ok(t)
			decide := tb.taskOf(domain.TaskDecideReorientation, 2)
			require.Equal(t, domain.TaskOpen, decide.Status)
			require.Empty(t, decide.Assignee, "the département decides")
		}, send: func() *outcome { return tb.update(RequestReorientationUpdate, request) }},
		{at: paris(2026, 4, 15, 10, 0), then: func(o *outcome) {
			require.Equal(t, domain.ECONFLICT, domain.ErrorCode(o.rejected(t)), "one request at a time")
		}, send: func() *outcome { return tb.update(DecideReorientationUpdate, accept) }},
		{at: paris(2026, 4, 15, 10, 1), then: func(o *outcome) {
			o.ok(t)
			w := tb.last()
			require.Equal(t, domain.StatusAwaitingContract, w.Status)
			require.Equal(t, "ref-3", w.Orientation.ReferentID)
			var rows []OrientationRow
			tb.mu.Lock()
			for _, x := range tb.writes {
				rows = append(rows, x.Orientations...)
			}
			tb.mu.Unlock()
			require.Len(t, rows, 2)
			require.True(t, rows[1].Within6Months, "decided 6 weeks after the first orientation")
			require.Equal(t, "2026-03-02", rows[1].PreviousOn.String())
			require.Equal(t, domain.DeadlineCancelled, tb.deadlineOf("contract/contract_term", 2).Status, "the old contract's clock stops")
			legal := tb.deadlineOf("contract/legal", 2)
			require.Equal(t, "2026-05-15", legal.DueOn.String(), "a new month from the new orientation")
			sign := tb.taskOf(domain.TaskSignContract, 2)
			require.Equal(t, "ref-3", sign.Assignee)
			require.Equal(t, domain.TaskDone, tb.taskOf(domain.TaskDecideReorientation, 2).Status)
		}},
		{at: paris(2026, 5, 16, 0, 1), then: func(*outcome) {
			require.Equal(t, domain.DeadlineOverdue, tb.deadlineOf("contract/legal", 2).Status)
			tb.env.CancelWorkflow()
		}},
	})
	tb.env.ExecuteWorkflow(Parcours, input("2026-03-02", ""))
}

func TestActionFollowUpsOutliveTheExit(t *testing.T) {
	t.Parallel()
	start := paris(2026, 1, 5, 9, 0)
	tb := setup(t, start)
	orient := domain.Orientation{Track: domain.TrackSocioProfessional, Organism: "Tremplin", ReferentID: "ref-1", DecidedOn: d(2026, 1, 6)}
	action := domain.Action{Name: "Atelier CV", Kind: "employment_support", Structure: "Tremplin", StartsOn: d(2026, 1, 12), PlannedEndOn: d(2026, 2, 28)}
	late := domain.Action{Name: "Permis B", Kind: "mobility", Structure: "Auto-école sociale", StartsOn: d(2026, 3, 10), PlannedEndOn: d(2026, 6, 30)}
	outcome1 := OutcomeInput{Action: 1, Outcome: domain.ActionOutcome{EndedOn: d(2026, 2, 27), Category: domain.OutcomeDynamique, Detail: "skills_assessment"}}
	before := OutcomeInput{Action: 2, Outcome: domain.ActionOutcome{EndedOn: d(2026, 3, 1), Category: domain.OutcomeAutres, Detail: "dropped_out"}}
	answer := func(months int, on domain.Date) FollowUpInput {
		return FollowUpInput{Action: 1, Months: months, Answer: domain.FollowUpAnswer{AnsweredOn: on, Situation: "employment", EmploymentKind: "cdd_6_months_plus"}}
	}
	var ref int

	tb.script(start, []step{
		{at: paris(2026, 1, 6, 10, 0), send: func() *outcome { return tb.update(RecordOrientationUpdate, orient) }},
		{at: paris(2026, 1, 10, 10, 0), then: func(o *outcome) { o.ok(t) }, send: func() *outcome { return tb.update(RecordActionUpdate, action) }},
		{at: paris(2026, 2, 28, 0, 1), then: func(o *outcome) {
			o.ok(t)
			ref = 1
			task := tb.taskOf(domain.TaskCloseAction, 1)
			require.Equal(t, domain.TaskOpen, task.Status, "the outcome task opens on the planned end")
			require.Equal(t, "2026-03-28", task.DueOn.String())
		}, send: func() *outcome { return tb.update(RecordActionOutcomeUpdate, outcome1) }},
		{at: paris(2026, 3, 2, 10, 0), then: func(o *outcome) {
			o.ok(t)
			require.Equal(t, domain.TaskDone, tb.taskOf(domain.TaskCloseAction, 1).Status)
			f3, f6 := tb.deadlineOf("follow_up_3/target", 1), tb.deadlineOf("follow_up_6/target", 1)
			require.Equal(t, "2026-05-27", f3.OpensOn.String())
			require.Equal(t, "2026-06-27", f3.DueOn.String())
			require.Equal(t, "2026-08-27", f6.OpensOn.String())
		}, send: func() *outcome { return tb.update(RecordActionUpdate, late) }},
		{at: paris(2026, 3, 2, 10, 1), then: func(o *outcome) { o.ok(t) }, send: func() *outcome { return tb.update(RecordActionOutcomeUpdate, before) }},
		{at: paris(2026, 3, 2, 10, 2), then: func(o *outcome) {
			require.Equal(t, domain.ECONFLICT, domain.ErrorCode(o.rejected(t)), "an outcome before the action started")
		}, send: func() *outcome { return tb.update(RecordFollowUpUpdate, answer(3, d(2026, 3, 2))) }},
		{at: paris(2026, 4, 10, 10, 0), then: func(o *outcome) {
			require.Equal(t, domain.ECONFLICT, domain.ErrorCode(o.rejected(t)), "not due yet")
		}, send: func() *outcome {
			return tb.update(RecordExitUpdate, domain.Exit{Reason: "moved", On: d(2026, 4, 10)})
		}},
		{at: paris(2026, 4, 10, 10, 1), then: func(o *outcome) {
			o.ok(t)
			w := tb.last()
			require.Equal(t, domain.StatusExited, w.Status)
			require.Equal(t, domain.TaskCancelled, tb.taskOf(domain.TaskSignContract, 1).Status)
			require.Equal(t, domain.DeadlineCancelled, tb.deadlineOf("contract/target", 1).Status)
			require.Equal(t, domain.DeadlinePending, tb.deadlineOf("follow_up_3/target", 1).Status, "follow-ups go on")
			require.False(t, tb.env.IsWorkflowCompleted())
		}, send: func() *outcome {
			return tb.update(RecordContractUpdate, domain.Contract{Kind: domain.ContractCER, SignedOn: d(2026, 4, 10), StartsOn: d(2026, 4, 10), EndsOn: d(2026, 10, 9)})
		}},
		{at: paris(2026, 5, 27, 0, 1), then: func(o *outcome) {
			require.Equal(t, domain.ECONFLICT, domain.ErrorCode(o.rejected(t)), "no contract after the exit")
			f := tb.taskOf(domain.TaskFollowUp3, 1)
			require.Equal(t, domain.TaskOpen, f.Status, "the 3-month follow-up opens after the exit")
			require.Equal(t, "ref-1", f.Assignee)
		}},
		{at: paris(2026, 6, 28, 0, 1), then: func(*outcome) {
			require.False(t, tb.taskOf(domain.TaskFollowUp3, 1).OverdueAt.IsZero(), "unanswered: overdue like any task")
		}, send: func() *outcome { return tb.update(RecordFollowUpUpdate, answer(3, d(2026, 6, 28))) }},
		{at: paris(2026, 8, 27, 9, 0), then: func(o *outcome) {
			o.ok(t)
			require.Equal(t, domain.TaskDone, tb.taskOf(domain.TaskFollowUp3, 1).Status)
			require.Equal(t, domain.TaskOpen, tb.taskOf(domain.TaskFollowUp6, 1).Status)
		}, send: func() *outcome { return tb.update(RecordFollowUpUpdate, answer(6, d(2026, 8, 27))) }},
	})
	tb.env.ExecuteWorkflow(Parcours, input("2026-01-05", ""))
	require.True(t, tb.env.IsWorkflowCompleted())
	require.NoError(t, tb.env.GetWorkflowError(), "the workflow ends after the last follow-up")
	require.Equal(t, 1, ref)
	var answered int
	for _, w := range tb.writes {
		for _, f := range w.FollowUps {
			if f.Answer != nil {
				answered++
			}
		}
	}
	require.Equal(t, 2, answered)
}

func TestDeathStopsEverythingAndFollowUpsCountFromMonthEnds(t *testing.T) {
	t.Parallel()
	start := paris(2026, 8, 1, 9, 0)
	tb := setup(t, start)
	orient := domain.Orientation{Track: domain.TrackSocial, Organism: "CCAS", ReferentID: "ref-1", DecidedOn: d(2026, 8, 1)}
	action := domain.Action{Name: "Atelier", Kind: "social_support", Structure: "CCAS", StartsOn: d(2026, 8, 3), PlannedEndOn: d(2026, 8, 31)}
	ended := OutcomeInput{Action: 1, Outcome: domain.ActionOutcome{EndedOn: d(2026, 8, 31), Category: domain.OutcomeDynamique, Detail: "referral_other_action"}}
	tb.script(start, []step{
		{at: paris(2026, 8, 1, 10, 0), send: func() *outcome { return tb.update(RecordOrientationUpdate, orient) }},
		{at: paris(2026, 8, 1, 10, 1), then: func(o *outcome) { o.ok(t) }, send: func() *outcome { return tb.update(RecordActionUpdate, action) }},
		{at: paris(2026, 9, 1, 10, 0), then: func(o *outcome) { o.ok(t) }, send: func() *outcome { return tb.update(RecordActionOutcomeUpdate, ended) }},
		{at: paris(2026, 9, 1, 10, 1), then: func(o *outcome) {
			o.ok(t)
			require.Equal(t, "2026-11-30", tb.deadlineOf("follow_up_3/target", 1).OpensOn.String(), "31/08 + 3 months")
			require.Equal(t, "2027-02-28", tb.deadlineOf("follow_up_6/target", 1).OpensOn.String(), "31/08 + 6 months")
		}, send: func() *outcome { return tb.update(RecordExitUpdate, domain.Exit{Reason: "death", On: d(2026, 9, 20)}) }},
	})
	tb.env.ExecuteWorkflow(Parcours, input("2026-08-01", ""))
	require.True(t, tb.env.IsWorkflowCompleted())
	require.NoError(t, tb.env.GetWorkflowError())
	require.Equal(t, domain.DeadlineCancelled, tb.deadlineOf("follow_up_3/target", 1).Status)
	var cancelled int
	for _, w := range tb.writes {
		for _, f := range w.FollowUps {
			if f.Cancelled {
				cancelled++
			}
		}
	}
	require.Equal(t, 2, cancelled)
}
