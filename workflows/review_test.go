package workflows

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// updateCase sends an update to case n of parcours p1.
func (tb *testBundle) updateCase(n int, name string, arg any) *outcome {
	out := &outcome{}
	tb.mu.Lock()
	tb.updates++
	id := fmt.Sprintf("case-update-%d", tb.updates)
	tb.mu.Unlock()
	err := tb.env.UpdateWorkflowByID(ReviewWorkflowID("p1", n), name, id, &testsuite.TestUpdateCallback{
		OnAccept:   func() {},
		OnReject:   func(e error) { out.err, out.done = e, true },
		OnComplete: func(_ any, e error) { out.err, out.done = e, true },
	}, arg)
	if err != nil {
		out.err, out.done = err, true
	}
	return out
}

// lastReview is case n as last written.
func (tb *testBundle) lastReview(n int) SyncReviewInput {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var out SyncReviewInput
	for _, r := range tb.reviews {
		if r.Number == n {
			out = r
		}
	}
	return out
}

func (tb *testBundle) eventKinds() map[string]int {
	kinds := map[string]int{}
	for _, e := range tb.events() {
		kinds[e.Kind]++
	}
	return kinds
}

func orientedOn(on domain.Date) domain.Orientation {
	return domain.Orientation{Track: domain.TrackProfessional, Organism: "France Travail", ReferentID: "ref-1", DecidedOn: on}
}

func TestRelancesThenSanctionThenRemobilisation(t *testing.T) {
	t.Parallel()
	start := paris(2026, 7, 1, 9, 0)
	tb := setup(t, start)
	breach := domain.Breach{Kind: domain.BreachRefusalContract, ReportedOn: d(2026, 9, 3), Recorded: domain.Recorded{NoteID: "n-facts"}}
	notice := domain.Notice{SentOn: d(2026, 9, 4), ReceivedOn: d(2026, 9, 7), PlannedKind: domain.SanctionSuspension, PlannedPercent: 50, PlannedMonths: 2}
	decision := domain.Decision{Kind: domain.SanctionSuspension, Percent: 50, Months: 2, DecidedOn: d(2026, 9, 20), EffectiveOn: d(2026, 10, 1),
		HouseholdSize: 1, MonthlyCents: 64_600}
	tooLong := decision
	tooLong.Months, tooLong.DecidedOn = 3, d(2026, 9, 18)
	contract := domain.Contract{Kind: domain.ContractEngagement, SignedOn: d(2026, 10, 20), StartsOn: d(2026, 10, 20), EndsOn: d(2027, 4, 19)}

	tb.script(start, []step{
		{at: paris(2026, 7, 2, 10, 0), send: func() *outcome { return tb.update(RecordOrientationUpdate, orientedOn(d(2026, 7, 2))) }},
		{at: paris(2026, 8, 3, 0, 1), then: func(o *outcome) {
			o.ok(t)
			require.Equal(t, domain.DeadlineOverdue, tb.deadlineOf("contract/legal", 1).Status, "1 month after 02/07")
			r1 := tb.taskOf(domain.TaskRelance1, 1)
			require.Equal(t, domain.TaskOpen, r1.Status, "the first relance at once")
			require.Equal(t, "2026-08-10", r1.DueOn.String())
			require.Equal(t, "ref-1", r1.Assignee)
			require.Contains(t, tb.deadlineOf("relance_2/target", 1).Rule, "2e relance 15 jours après le dépassement du contrat dû le 02/08/2026")
			require.Empty(t, tb.taskOf(domain.TaskRelance2, 1).Kind, "the second waits 15 days")
		}, send: func() *outcome {
			return tb.update(RecordRelanceUpdate, domain.Relance{Number: 1, SentOn: d(2026, 8, 3), Channel: "letter"})
		}},
		{at: paris(2026, 8, 18, 0, 1), then: func(o *outcome) {
			o.ok(t)
			require.Equal(t, domain.TaskDone, tb.taskOf(domain.TaskRelance1, 1).Status)
			require.Equal(t, domain.TaskOpen, tb.taskOf(domain.TaskRelance2, 1).Status)
		}},
		{at: paris(2026, 9, 2, 0, 1), then: func(*outcome) {
			require.Equal(t, domain.TaskOpen, tb.taskOf(domain.TaskProposeBreach, 1).Status, "30 days after: proposal to report")
		}, send: func() *outcome {
			return tb.update(ReportBreachUpdate, domain.Breach{Kind: domain.BreachObligationsNotMet, Obligation: "atelier", ReportedOn: d(2026, 9, 2)})
		}},
		{at: paris(2026, 9, 3, 9, 0), then: func(o *outcome) {
			require.Equal(t, domain.ECONFLICT, domain.ErrorCode(o.rejected(t)), "no current contract: no contractual obligation")
		}, send: func() *outcome { return tb.update(ReportBreachUpdate, breach) }},
		{at: paris(2026, 9, 3, 9, 1), then: func(o *outcome) {
			o.ok(t)
			require.Equal(t, 1, tb.state(t).OpenCase)
			require.Equal(t, domain.TaskDone, tb.taskOf(domain.TaskProposeBreach, 1).Status)
			require.Equal(t, domain.TaskCancelled, tb.taskOf(domain.TaskRelance2, 1).Status)
			r := tb.lastReview(1)
			require.Equal(t, ReviewReported, r.State.Status)
			require.False(t, r.Repeat)
		}, send: func() *outcome { return tb.updateCase(1, DecideReviewUpdate, decision) }},
		{at: paris(2026, 9, 4, 9, 0), then: func(o *outcome) {
			require.Equal(t, domain.ECONFLICT, domain.ErrorCode(DomainError(o.rejected(t))), "no sanction before the notice")
		}, send: func() *outcome { return tb.updateCase(1, SendNoticeUpdate, notice) }},
		{at: paris(2026, 9, 10, 9, 0), then: func(o *outcome) {
			o.ok(t)
			r := tb.lastReview(1)
			require.Equal(t, ReviewObservation, r.State.Status)
			require.Equal(t, "2026-09-17", r.State.ObservationEnds.String(), "10 days from the receipt (décret 2025-478)")
		}, send: func() *outcome { return tb.updateCase(1, DecideReviewUpdate, decision) }},
		{at: paris(2026, 9, 18, 0, 1), then: func(o *outcome) {
			require.Equal(t, domain.ECONFLICT, domain.ErrorCode(DomainError(o.rejected(t))), "not during the observation period")
			require.Equal(t, ReviewAwaitingDecision, tb.lastReview(1).State.Status)
		}, send: func() *outcome { return tb.updateCase(1, DecideReviewUpdate, tooLong) }},
		{at: paris(2026, 9, 20, 9, 0), then: func(o *outcome) {
			err := DomainError(o.rejected(t))
			require.Equal(t, "months", domain.ErrorField(err))
			require.Contains(t, domain.ErrorMessage(err), "R262-68")
			require.Nil(t, tb.lastReview(1).State.Decision, "nothing recorded")
		}, send: func() *outcome { return tb.updateCase(1, DecideReviewUpdate, decision) }},
		{at: paris(2026, 9, 20, 9, 1), then: func(o *outcome) {
			o.ok(t)
			r := tb.lastReview(1)
			require.Equal(t, ReviewSanction, r.State.Status)
			require.True(t, r.State.AppealDueOn.IsZero(), "the RAPO window runs from the notification (R262-88), not recorded yet")
		}, send: func() *outcome { return tb.update(RecordContractUpdate, contract) }},
		{at: paris(2026, 10, 20, 10, 0), then: func(o *outcome) {
			o.ok(t)
			r := tb.lastReview(1)
			require.Equal(t, ReviewRemobilised, r.State.Status, "the contract signed during the sanction ends it")
			require.Equal(t, 1, r.State.PaybackMonths, "one month of sanction begun on 01/10")
			require.Equal(t, int64(32_300), r.State.PaybackCents)
			s := tb.state(t)
			require.Zero(t, s.OpenCase)
			require.Len(t, s.Sanctions, 1)
		}},
		{at: paris(2026, 11, 25, 0, 0), then: func(*outcome) {
			require.Equal(t, ReviewRemobilised, tb.lastReview(1).State.Status)
			tb.env.CancelWorkflow()
		}},
	})
	tb.env.ExecuteWorkflow(Parcours, input("2026-07-01", ""))
	kinds := tb.eventKinds()
	require.Equal(t, 1, kinds[EventRelance])
	require.Equal(t, 1, kinds[EventBreachReported])
	require.GreaterOrEqual(t, kinds[EventReviewStep], 4, "the case's steps are in the parcours timeline")
}

func TestLegitimateReasonAndComplianceCloseWithoutSanction(t *testing.T) {
	t.Parallel()
	start := paris(2026, 7, 1, 9, 0)
	tb := setup(t, start)
	c := domain.Contract{Kind: domain.ContractCER, SignedOn: d(2026, 7, 3), StartsOn: d(2026, 7, 3), EndsOn: d(2027, 1, 2)}
	breach := func(on domain.Date) domain.Breach {
		return domain.Breach{Kind: domain.BreachObligationsNotMet, Obligation: "rendez-vous mensuels", ReportedOn: on}
	}
	tb.script(start, []step{
		{at: paris(2026, 7, 2, 10, 0), send: func() *outcome { return tb.update(RecordOrientationUpdate, orientedOn(d(2026, 7, 2))) }},
		{at: paris(2026, 7, 3, 10, 0), then: func(o *outcome) { o.ok(t) }, send: func() *outcome { return tb.update(RecordContractUpdate, c) }},
		{at: paris(2026, 8, 3, 10, 0), then: func(o *outcome) { o.ok(t) }, send: func() *outcome { return tb.update(ReportBreachUpdate, breach(d(2026, 8, 3))) }},
		{at: paris(2026, 8, 3, 10, 1), then: func(o *outcome) { o.ok(t) }, send: func() *outcome { return tb.update(ReportBreachUpdate, breach(d(2026, 8, 3))) }},
		{at: paris(2026, 8, 4, 10, 0), then: func(o *outcome) {
			require.Equal(t, domain.ECONFLICT, domain.ErrorCode(o.rejected(t)), "one case at a time")
		}, send: func() *outcome {
			return tb.updateCase(1, RecordLegitimateReasonUpdate, domain.LegitimateReason{Reason: "health", On: d(2026, 8, 4)})
		}},
		{at: paris(2026, 8, 4, 10, 1), then: func(o *outcome) {
			o.ok(t)
			require.Equal(t, ReviewClosedLegitimate, tb.lastReview(1).State.Status)
			require.Zero(t, tb.state(t).OpenCase, "the case is closed for the parcours")
		}, send: func() *outcome { return tb.update(ReportBreachUpdate, breach(d(2026, 9, 1))) }},
		{at: paris(2026, 9, 1, 10, 0), then: func(o *outcome) { o.ok(t) }, send: func() *outcome {
			return tb.updateCase(2, SendNoticeUpdate, domain.Notice{SentOn: d(2026, 9, 1), ReceivedOn: d(2026, 9, 3), PlannedKind: domain.SanctionSuspension, PlannedPercent: 30, PlannedMonths: 1})
		}},
		{at: paris(2026, 9, 5, 10, 0), then: func(o *outcome) { o.ok(t) }, send: func() *outcome {
			return tb.updateCase(2, RecordComplianceUpdate, domain.Compliance{On: d(2026, 9, 5), How: "obligation_met"})
		}},
		{at: paris(2026, 9, 5, 10, 1), then: func(o *outcome) {
			o.ok(t)
			r := tb.lastReview(2)
			require.Equal(t, ReviewClosedCompliance, r.State.Status, "compliance during the observation period")
			require.Nil(t, r.State.Decision)
			tb.env.CancelWorkflow()
		}},
	})
	tb.env.ExecuteWorkflow(Parcours, input("2026-07-01", ""))
}

func TestRepeatAllowsSuppressionAndRadiationPath(t *testing.T) {
	t.Parallel()
	start := paris(2026, 6, 1, 9, 0)
	tb := setup(t, start)
	c := domain.Contract{Kind: domain.ContractCER, SignedOn: d(2026, 6, 3), StartsOn: d(2026, 6, 3), EndsOn: d(2027, 6, 2)}
	b := func(on domain.Date) domain.Breach {
		return domain.Breach{Kind: domain.BreachObligationsNotMet, Obligation: "recherche d'emploi", ReportedOn: on}
	}
	notice := func(on domain.Date) domain.Notice {
		return domain.Notice{SentOn: on, ReceivedOn: on, PlannedKind: domain.SanctionSuspension, PlannedPercent: 100, PlannedMonths: 4}
	}
	first := domain.Decision{Kind: domain.SanctionSuspension, Percent: 30, Months: 1, DecidedOn: d(2026, 6, 20), EffectiveOn: d(2026, 7, 1), HouseholdSize: 1, MonthlyCents: 60_000}
	suppression := domain.Decision{Kind: domain.SanctionSuppression, Percent: 100, Months: 4, DecidedOn: d(2026, 9, 20), EffectiveOn: d(2026, 10, 1),
		HouseholdSize: 1, MonthlyCents: 60_000, EPOpinionOn: d(2026, 9, 15)}
	tb.script(start, []step{
		{at: paris(2026, 6, 2, 10, 0), send: func() *outcome { return tb.update(RecordOrientationUpdate, orientedOn(d(2026, 6, 2))) }},
		{at: paris(2026, 6, 3, 10, 0), then: func(o *outcome) { o.ok(t) }, send: func() *outcome { return tb.update(RecordContractUpdate, c) }},
		{at: paris(2026, 6, 5, 10, 0), then: func(o *outcome) { o.ok(t) }, send: func() *outcome { return tb.update(ReportBreachUpdate, b(d(2026, 6, 5))) }},
		{at: paris(2026, 6, 6, 10, 0), then: func(o *outcome) { o.ok(t) }, send: func() *outcome { return tb.updateCase(1, SendNoticeUpdate, notice(d(2026, 6, 6))) }},
		{at: paris(2026, 6, 20, 10, 0), then: func(o *outcome) { o.ok(t) }, send: func() *outcome { return tb.updateCase(1, DecideReviewUpdate, first) }},
		{at: paris(2026, 8, 1, 0, 1), then: func(o *outcome) {
			o.ok(t)
			require.Equal(t, ReviewSanctionEnded, tb.lastReview(1).State.Status, "one month from 01/07")
			require.Zero(t, tb.state(t).OpenCase)
		}, send: func() *outcome { return tb.update(ReportBreachUpdate, b(d(2026, 9, 1))) }},
		{at: paris(2026, 9, 1, 10, 0), then: func(o *outcome) {
			o.ok(t)
			require.True(t, tb.lastReview(2).Repeat, "a sanction within 24 months")
		}, send: func() *outcome { return tb.updateCase(2, SendNoticeUpdate, notice(d(2026, 9, 1))) }},
		{at: paris(2026, 9, 20, 10, 0), then: func(o *outcome) { o.ok(t) }, send: func() *outcome { return tb.updateCase(2, DecideReviewUpdate, suppression) }},
		{at: paris(2027, 2, 1, 0, 1), then: func(o *outcome) {
			o.ok(t)
			r := tb.lastReview(2)
			require.Equal(t, ReviewRadiationProposed, r.State.Status, "after a 4-month total suppression")
			var open bool
			for _, task := range r.State.Tasks {
				open = open || (task.Kind == TaskDecideRadiation && task.Status == domain.TaskOpen)
			}
			require.True(t, open)
		}, send: func() *outcome {
			return tb.updateCase(2, DecideRadiationUpdate, domain.RadiationDecision{Step: "rsa_right", Decided: true, DecidedOn: d(2027, 2, 1)})
		}},
		{at: paris(2027, 2, 2, 10, 0), then: func(o *outcome) {
			require.Equal(t, domain.ECONFLICT, domain.ErrorCode(DomainError(o.rejected(t))), "France Travail first")
		}, send: func() *outcome {
			return tb.updateCase(2, DecideRadiationUpdate, domain.RadiationDecision{Step: "france_travail", Decided: true, DecidedOn: d(2027, 2, 2)})
		}},
		{at: paris(2027, 2, 3, 10, 0), then: func(o *outcome) { o.ok(t) }, send: func() *outcome {
			return tb.updateCase(2, DecideRadiationUpdate, domain.RadiationDecision{Step: "rsa_right", Decided: true, DecidedOn: d(2027, 2, 3)})
		}},
		{at: paris(2027, 2, 3, 10, 1), then: func(o *outcome) {
			o.ok(t)
			require.Equal(t, ReviewRadiated, tb.lastReview(2).State.Status)
			tb.env.CancelWorkflow()
		}},
	})
	tb.env.ExecuteWorkflow(Parcours, input("2026-06-01", ""))
}

// A notice sent by registered letter whose acknowledgment comes back later:
// until its receipt is recorded, the observation period has not begun and
// nothing can be decided; then it runs 10 days from the receipt, across
// the end of a 31-day month.
func TestNoticeReceiptRecordedLaterStartsTheObservation(t *testing.T) {
	t.Parallel()
	start := paris(2026, 12, 1, 9, 0)
	tb := setup(t, start)
	c := domain.Contract{Kind: domain.ContractCER, SignedOn: d(2026, 12, 2), StartsOn: d(2026, 12, 2), EndsOn: d(2027, 6, 1)}
	letter := &domain.LetterRef{ID: "l-1", Number: "2027-000001", SHA256: "ab12"}
	notice := domain.Notice{SentOn: d(2027, 1, 5), Mode: "recommande_ar", PlannedKind: domain.SanctionSuspension, PlannedPercent: 30, PlannedMonths: 1, Letter: letter}
	decision := domain.Decision{Kind: domain.SanctionSuspension, Percent: 30, Months: 1, DecidedOn: d(2027, 2, 2), EffectiveOn: d(2027, 3, 1),
		HouseholdSize: 1, MonthlyCents: 64_600}
	taskStatus := func(kind domain.TaskKind) string {
		for _, tk := range tb.lastReview(1).State.Tasks {
			if tk.Kind == kind {
				return string(tk.Status)
			}
		}
		return ""
	}
	tb.script(start, []step{
		{at: paris(2026, 12, 1, 10, 0), send: func() *outcome { return tb.update(RecordOrientationUpdate, orientedOn(d(2026, 12, 1))) }},
		{at: paris(2026, 12, 2, 10, 0), then: func(o *outcome) { o.ok(t) }, send: func() *outcome { return tb.update(RecordContractUpdate, c) }},
		{at: paris(2027, 1, 4, 10, 0), then: func(o *outcome) { o.ok(t) }, send: func() *outcome {
			return tb.update(ReportBreachUpdate, domain.Breach{Kind: domain.BreachObligationsNotMet, Obligation: "ateliers", ReportedOn: d(2027, 1, 4)})
		}},
		{at: paris(2027, 1, 5, 10, 0), then: func(o *outcome) { o.ok(t) }, send: func() *outcome { return tb.updateCase(1, SendNoticeUpdate, notice) }},
		{at: paris(2027, 1, 20, 10, 0), then: func(o *outcome) {
			o.ok(t)
			r := tb.lastReview(1)
			require.Equal(t, ReviewAwaitingReceipt, r.State.Status)
			require.True(t, r.State.ObservationEnds.IsZero(), "no period without a receipt date")
			require.Equal(t, "2027-000001", r.State.Notice.Letter.Number, "the notice names its stored letter")
			require.Equal(t, string(domain.TaskOpen), taskStatus(TaskRecordReceipt))
			require.Equal(t, string(domain.TaskDone), taskStatus(TaskSendNotice))
		}, send: func() *outcome { return tb.updateCase(1, DecideReviewUpdate, decision) }},
		{at: paris(2027, 1, 25, 10, 0), then: func(o *outcome) {
			err := DomainError(o.rejected(t))
			require.Equal(t, domain.ECONFLICT, domain.ErrorCode(err))
			require.Contains(t, domain.ErrorMessage(err), "réception")
		}, send: func() *outcome {
			return tb.updateCase(1, RecordNoticeReceiptUpdate, domain.NoticeReceipt{ReceivedOn: d(2027, 1, 4)})
		}},
		{at: paris(2027, 1, 25, 10, 1), then: func(o *outcome) {
			require.Equal(t, "received_on", domain.ErrorField(DomainError(o.rejected(t))), "received before it was sent")
		}, send: func() *outcome {
			return tb.updateCase(1, RecordNoticeReceiptUpdate, domain.NoticeReceipt{ReceivedOn: d(2027, 1, 22)})
		}},
		{at: paris(2027, 1, 25, 10, 2), then: func(o *outcome) {
			o.ok(t)
			r := tb.lastReview(1)
			require.Equal(t, ReviewObservation, r.State.Status)
			require.Equal(t, "2027-02-01", r.State.ObservationEnds.String(), "10 days from 22/01, across 31 January")
			require.Equal(t, string(domain.TaskDone), taskStatus(TaskRecordReceipt))
		}, send: func() *outcome {
			return tb.updateCase(1, RecordNoticeReceiptUpdate, domain.NoticeReceipt{ReceivedOn: d(2027, 1, 23)})
		}},
		{at: paris(2027, 1, 26, 10, 0), then: func(o *outcome) {
			require.Equal(t, domain.ECONFLICT, domain.ErrorCode(DomainError(o.rejected(t))), "the receipt is recorded once")
		}},
		{at: paris(2027, 2, 1, 23, 0), then: func(*outcome) {
			require.Equal(t, ReviewObservation, tb.lastReview(1).State.Status, "the last day of the period")
		}},
		{at: paris(2027, 2, 2, 9, 0), then: func(*outcome) {
			require.Equal(t, ReviewAwaitingDecision, tb.lastReview(1).State.Status)
		}, send: func() *outcome { return tb.updateCase(1, DecideReviewUpdate, decision) }},
		{at: paris(2027, 2, 2, 9, 1), then: func(o *outcome) {
			o.ok(t)
			r := tb.lastReview(1)
			require.Equal(t, ReviewSanction, r.State.Status)
			require.True(t, r.State.AppealDueOn.IsZero(), "until notified, the RAPO window has not started (R262-88)")
		}, send: func() *outcome {
			return tb.updateCase(1, RecordDecisionNotifiedUpdate, domain.DecisionNotice{NotifiedOn: d(2027, 2, 1)})
		}},
		{at: paris(2027, 2, 6, 9, 0), then: func(o *outcome) {
			require.Equal(t, "notified_on", domain.ErrorField(DomainError(o.rejected(t))), "not notified before it was decided")
		}, send: func() *outcome {
			return tb.updateCase(1, RecordDecisionNotifiedUpdate, domain.DecisionNotice{NotifiedOn: d(2027, 2, 5)})
		}},
		{at: paris(2027, 2, 6, 9, 1), then: func(o *outcome) {
			o.ok(t)
			r := tb.lastReview(1)
			require.Equal(t, "2027-04-05", r.State.AppealDueOn.String(), "two months from the notification")
			require.Equal(t, "2027-02-05", r.State.NotifiedOn.String())
		}},
		{at: paris(2027, 4, 4, 9, 0), send: func() *outcome {
			return tb.updateCase(1, RecordAppealUpdate, domain.Appeal{FiledOn: d(2027, 4, 4)})
		}},
		{at: paris(2027, 4, 4, 10, 0), then: func(o *outcome) {
			o.ok(t)
			require.NotNil(t, tb.lastReview(1).State.Appeal, "filed after two months from the decision, within two from the notification")
			tb.env.CancelWorkflow()
		}},
	})
	tb.env.ExecuteWorkflow(Parcours, input("2026-12-01", ""))
}
