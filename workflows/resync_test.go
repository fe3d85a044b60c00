package workflows

import (
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
