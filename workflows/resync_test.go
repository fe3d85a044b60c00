package workflows

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// The resync update writes everything the workflow holds under a raised
// epoch, and the writes after it carry that epoch (issue 21, item 3).
func TestResyncSendsTheWholeStateUnderANewEpoch(t *testing.T) {
	t.Parallel()
	start := paris(2026, 1, 31, 9, 0)
	tb := setup(t, start)
	orientation := domain.Orientation{Track: domain.TrackSocial, Organism: "CCAS de Caen", ReferentID: "ref-42", DecidedOn: domain.NewDate(2026, 2, 10)}

	var oriented, first, second *outcome
	var before int
	tb.at(start, paris(2026, 2, 10, 14, 0), func() {
		oriented = tb.update(RecordOrientationUpdate, orientation)
	})
	tb.at(start, paris(2026, 2, 11, 9, 0), func() {
		oriented.ok(t)
		w := tb.last()
		require.Zero(t, w.Epoch, "no epoch before a resync")
		require.False(t, w.Full)
		tb.mu.Lock()
		before = len(tb.writes)
		tb.mu.Unlock()
		first = tb.resync(1_000)
	})
	tb.at(start, paris(2026, 2, 11, 9, 1), func() {
		first.ok(t)
		require.Equal(t, int64(1_000), first.result.(ResyncResult).Epoch)
		tb.mu.Lock()
		require.Len(t, tb.writes, before+1, "one write")
		tb.mu.Unlock()
		w := tb.last()
		require.True(t, w.Full)
		require.Equal(t, int64(1_000), w.Epoch)
		require.Equal(t, domain.StatusAwaitingContract, w.Status)
		require.Equal(t, "ref-42", w.Orientation.ReferentID)
		s := tb.state(t)
		require.Equal(t, s.Version, w.Version)
		// Every open deadline and task the workflow holds, nothing else.
		require.Len(t, w.Deadlines, len(s.Deadlines))
		require.Len(t, w.Tasks, len(s.Tasks))
		var keys []string
		for _, d := range w.Deadlines {
			require.True(t, open(d.Status), d.Key())
			keys = append(keys, d.Key())
		}
		require.Contains(t, keys, "contract/legal")
		require.Equal(t, domain.TaskSignContract, w.Tasks[len(w.Tasks)-1].Kind)
		require.Len(t, w.Events, 1)
		require.Equal(t, EventResync, w.Events[0].Kind)
		// A lower epoch asked again: the workflow's own goes up by one.
		second = tb.resync(5)
	})
	// The contract's legal month passes on 11/03: an ordinary write, of
	// the new epoch, with the changes only.
	tb.at(start, paris(2026, 3, 11, 0, 1), func() {
		second.ok(t)
		require.Equal(t, int64(1_001), second.result.(ResyncResult).Epoch)
		w := tb.last()
		require.False(t, w.Full)
		require.Equal(t, int64(1_001), w.Epoch)
		require.Equal(t, domain.DeadlineOverdue, tb.deadline("contract/legal").Status)
		require.Equal(t, w.Epoch, tb.state(t).SyncedEpoch)
		tb.env.CancelWorkflow()
	})
	tb.env.ExecuteWorkflow(Parcours, input("2026-01-31", "2026-01-31"))
	require.True(t, tb.env.IsWorkflowCompleted())
}

// resync sends the resync update; its result lands in the outcome.
func (tb *testBundle) resync(epoch int64) *outcome {
	out := &outcome{}
	tb.env.UpdateWorkflow(ResyncUpdate, "", &testsuite.TestUpdateCallback{
		OnAccept:   func() {},
		OnReject:   func(e error) { out.err, out.done = e, true },
		OnComplete: func(r any, e error) { out.err, out.done, out.result = e, true, r },
	}, ResyncRequest{Epoch: epoch})
	return out
}

// A running case's resync writes its whole state (row and tasks) under the
// new epoch; the parcours' resync tells how many cases to resync.
func TestResyncOfARunningCase(t *testing.T) {
	t.Parallel()
	start := paris(2026, 7, 1, 9, 0)
	tb := setup(t, start)
	c := domain.Contract{Kind: domain.ContractCER, SignedOn: d(2026, 7, 3), StartsOn: d(2026, 7, 3), EndsOn: d(2027, 1, 2)}
	breach := domain.Breach{Kind: domain.BreachObligationsNotMet, ReportedOn: d(2026, 8, 3)}
	var writes int
	tb.script(start, []step{
		{at: paris(2026, 7, 2, 10, 0), send: func() *outcome { return tb.update(RecordOrientationUpdate, orientedOn(d(2026, 7, 2))) }},
		{at: paris(2026, 7, 3, 10, 0), then: func(o *outcome) { o.ok(t) }, send: func() *outcome { return tb.update(RecordContractUpdate, c) }},
		{at: paris(2026, 8, 3, 10, 0), then: func(o *outcome) { o.ok(t) }, send: func() *outcome { return tb.update(ReportBreachUpdate, breach) }},
		{at: paris(2026, 8, 4, 10, 0), then: func(o *outcome) {
			o.ok(t)
			require.Equal(t, ReviewReported, tb.lastReview(1).State.Status)
		}, send: func() *outcome { return tb.resync(2_000) }},
		{at: paris(2026, 8, 4, 10, 1), then: func(o *outcome) {
			o.ok(t)
			require.Equal(t, 1, o.result.(ResyncResult).Cases)
			tb.mu.Lock()
			writes = len(tb.reviews)
			tb.mu.Unlock()
		}, send: func() *outcome { return tb.resyncCase(1, 2_000) }},
		{at: paris(2026, 8, 4, 10, 2), then: func(o *outcome) {
			o.ok(t)
			tb.mu.Lock()
			require.Len(t, tb.reviews, writes+1, "one write of the case")
			tb.mu.Unlock()
			r := tb.lastReview(1)
			require.Equal(t, int64(2_000), r.State.Epoch)
			require.Equal(t, ReviewReported, r.State.Status)
			require.Len(t, r.State.Tasks, 1)
			require.Equal(t, TaskSendNotice, r.State.Tasks[0].Kind)
			require.Empty(t, r.Steps, "the steps already written are not sent again")
			tb.env.CancelWorkflow()
		}},
	})
	tb.env.ExecuteWorkflow(Parcours, input("2026-07-01", ""))
}

// resyncCase sends the resync update to case n of parcours p1.
func (tb *testBundle) resyncCase(n int, epoch int64) *outcome {
	out := &outcome{}
	err := tb.env.UpdateWorkflowByID(ReviewWorkflowID("p1", n), ResyncUpdate, fmt.Sprintf("resync-case-%d", n), &testsuite.TestUpdateCallback{
		OnAccept:   func() {},
		OnReject:   func(e error) { out.err, out.done = e, true },
		OnComplete: func(r any, e error) { out.err, out.done, out.result = e, true, r },
	}, ResyncRequest{Epoch: epoch})
	if err != nil {
		out.err, out.done = err, true
	}
	return out
}

func TestParcoursIDOf(t *testing.T) {
	id, ok := ParcoursIDOf(ParcoursWorkflowID("01a2"))
	require.True(t, ok)
	require.Equal(t, "01a2", id)
	_, ok = ParcoursIDOf(ReviewWorkflowID("01a2", 1))
	require.False(t, ok, "a case's workflow")
	_, ok = ParcoursIDOf("digest")
	require.False(t, ok)
}
