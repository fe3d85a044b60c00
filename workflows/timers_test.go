package workflows

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// firings counts the timers that fire, by the instant they fire (virtual
// time, Paris).
func (tb *testBundle) firings() func() map[string]int {
	fired := map[string]int{}
	tb.env.SetOnTimerFiredListener(func(string) {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		fired[tb.env.Now().In(domain.Paris).Format("2006-01-02 15:04")]++
	})
	return func() map[string]int {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		out := map[string]int{}
		for k, v := range fired {
			out[k] = v
		}
		return out
	}
}

// A parcours that receives updates while it waits for its next deadline
// has one timer running, not one per update: the wait that an update ends
// cancels its timer (issue 21, item 1). Before, a parcours given 6 updates
// before a deadline had 7 timers fire at that midnight, and the orientation's
// own timer fired on 13/02 although the orientation was recorded.
func TestUpdatesBeforeADeadlineLeaveOneTimer(t *testing.T) {
	t.Parallel()
	for _, revision := range []int{0, CurrentRevision} {
		t.Run(fmt.Sprintf("revision %d", revision), func(t *testing.T) {
			t.Parallel()
			start := paris(2026, 1, 12, 10, 0)
			tb := setup(t, start)
			fired := tb.firings()
			steps := []step{{at: paris(2026, 1, 20, 10, 0), send: func() *outcome {
				return tb.update(RecordOrientationUpdate, orientedOn(d(2026, 1, 20)))
			}}}
			for i := range 6 {
				steps = append(steps, step{at: paris(2026, 1, 21+i, 10, 0), then: func(o *outcome) { o.ok(t) }, send: func() *outcome {
					return tb.update(ReassignReferentUpdate, domain.Reassignment{ReferentID: fmt.Sprintf("ref-%d", 2+i%2), On: d(2026, 1, 21+i)})
				}})
			}
			steps = append(steps, step{at: paris(2026, 2, 21, 0, 1), then: func(o *outcome) {
				o.ok(t)
				// 1 month after the orientation on 20/01.
				require.Equal(t, domain.DeadlineOverdue, tb.deadline("contract/legal").Status)
				require.Equal(t, "ref-3", tb.task(domain.TaskSignContract).Assignee)
				tb.env.CancelWorkflow()
			}})
			tb.script(start, steps)
			in := input("2026-01-12", "2026-01-15")
			in.Revision = revision
			tb.env.ExecuteWorkflow(Parcours, in)
			require.Equal(t, map[string]int{"2026-02-21 00:00": 1}, fired(),
				"one timer fires, at the contract's deadline; the ones the updates ended were cancelled")
		})
	}
}

// A sanction case whose observation period a hearing ends leaves no timer
// behind for the period's end.
func TestHearingCancelsTheObservationTimer(t *testing.T) {
	t.Parallel()
	start := paris(2026, 12, 1, 9, 0)
	tb := setup(t, start)
	fired := tb.firings()
	c := domain.Contract{Kind: domain.ContractCER, SignedOn: d(2026, 12, 2), StartsOn: d(2026, 12, 2), EndsOn: d(2027, 6, 1)}
	notice := domain.Notice{SentOn: d(2027, 1, 5), ReceivedOn: d(2027, 1, 7), PlannedKind: domain.SanctionSuspension, PlannedPercent: 30, PlannedMonths: 1}
	var ends domain.Date
	tb.script(start, []step{
		{at: paris(2026, 12, 1, 10, 0), send: func() *outcome { return tb.update(RecordOrientationUpdate, orientedOn(d(2026, 12, 1))) }},
		{at: paris(2026, 12, 2, 10, 0), then: func(o *outcome) { o.ok(t) }, send: func() *outcome { return tb.update(RecordContractUpdate, c) }},
		{at: paris(2027, 1, 4, 10, 0), then: func(o *outcome) { o.ok(t) }, send: func() *outcome {
			return tb.update(ReportBreachUpdate, domain.Breach{Kind: domain.BreachObligationsNotMet, ReportedOn: d(2027, 1, 4)})
		}},
		{at: paris(2027, 1, 5, 10, 0), then: func(o *outcome) { o.ok(t) }, send: func() *outcome { return tb.updateCase(1, SendNoticeUpdate, notice) }},
		{at: paris(2027, 1, 8, 10, 0), then: func(o *outcome) {
			o.ok(t)
			r := tb.lastReview(1)
			require.Equal(t, ReviewObservation, r.State.Status)
			ends = r.State.ObservationEnds
		}, send: func() *outcome {
			return tb.updateCase(1, RecordHearingUpdate, domain.Hearing{On: d(2027, 1, 8)})
		}},
		{at: paris(2027, 1, 9, 10, 0), then: func(o *outcome) {
			o.ok(t)
			require.Equal(t, ReviewAwaitingDecision, tb.lastReview(1).State.Status)
		}},
		{at: paris(2027, 2, 1, 10, 0), then: func(*outcome) { tb.env.CancelWorkflow() }},
	})
	tb.env.ExecuteWorkflow(Parcours, input("2026-12-01", ""))
	require.False(t, ends.IsZero())
	require.Zero(t, fired()[ends.AddDays(1).Time().In(domain.Paris).Format("2006-01-02 15:04")],
		"the observation's timer was cancelled by the hearing: %v", fired())
}
