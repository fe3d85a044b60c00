package workflows

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// TestHandOverToFranceTravail: received on 31 July 2026 (a 31-day month),
// the 6 weeks end on 11 September; the hand-over happens at 00:00 Paris on
// the 12th, not before; then only France Travail's orientation is taken.
func TestHandOverToFranceTravail(t *testing.T) {
	t.Parallel()
	start := paris(2026, 7, 31, 9, 0)
	tb := setup(t, start)
	dep := domain.Orientation{Track: domain.TrackSocial, Organism: "CCAS", ReferentID: "ref-1", DecidedOn: d(2026, 9, 14)}
	ft := domain.Orientation{Track: domain.TrackProfessional, Organism: "France Travail", ReferentID: "ft-7", DecidedOn: d(2026, 9, 14),
		DecidedBy: domain.DecidedByFranceTravail}
	in := input("2026-07-31", "2026-07-31")
	in.Policy = "loi"
	tb.script(start, []step{
		{at: paris(2026, 9, 11, 23, 59), then: func(*outcome) {
			require.Equal(t, "2026-09-11", tb.deadline("orientation/legal").DueOn.String())
			require.False(t, tb.state(t).HandedOver, "the last day of the 6 weeks is the département's")
			require.Equal(t, domain.TaskOpen, tb.task(domain.TaskOrient).Status)
		}},
		{at: paris(2026, 9, 12, 0, 1), then: func(*outcome) {
			s := tb.state(t)
			require.True(t, s.HandedOver)
			require.Equal(t, domain.TaskCancelled, tb.task(domain.TaskOrient).Status, "the département's orient task closes")
			await := tb.task(domain.TaskAwaitFranceTravail)
			require.Equal(t, domain.TaskOpen, await.Status)
			require.Empty(t, await.Assignee, "for the managers")
		}, send: func() *outcome { return tb.update(RecordOrientationUpdate, dep) }},
		{at: paris(2026, 9, 14, 10, 0), then: func(o *outcome) {
			require.Equal(t, domain.ECONFLICT, domain.ErrorCode(o.rejected(t)), "the département no longer decides")
		}, send: func() *outcome { return tb.update(RecordOrientationUpdate, ft) }},
		{at: paris(2026, 9, 14, 10, 1), then: func(o *outcome) {
			o.ok(t)
			require.Equal(t, domain.TaskDone, tb.task(domain.TaskAwaitFranceTravail).Status)
			require.Equal(t, domain.StatusAwaitingContract, tb.last().Status)
			require.Equal(t, "ft-7", tb.last().Orientation.ReferentID)
			tb.env.CancelWorkflow()
		}},
	})
	tb.env.ExecuteWorkflow(Parcours, in)
	kinds := tb.eventKinds()
	require.Equal(t, 1, kinds[EventHandedOver])
}

// TestNoHandOverUnderThe2012Law: information received in 2024 follows the
// old law (2 months, no hand-over).
func TestNoHandOverUnderThe2012Law(t *testing.T) {
	t.Parallel()
	start := paris(2024, 10, 1, 9, 0)
	tb := setup(t, start)
	in := input("2024-10-01", "2024-10-01")
	in.Policy = "loi"
	tb.at(start, paris(2024, 12, 5, 0, 0), func() {
		require.Equal(t, domain.DeadlineOverdue, tb.deadline("orientation/legal").Status)
		require.False(t, tb.state(t).HandedOver)
		tb.env.CancelWorkflow()
	})
	tb.env.ExecuteWorkflow(Parcours, in)
}

// TestTimelyDecisionRecordedLate: a département orientation decided within
// the 6 weeks but recorded after them still stands.
func TestTimelyDecisionRecordedLate(t *testing.T) {
	t.Parallel()
	start := paris(2026, 7, 31, 9, 0)
	tb := setup(t, start)
	in := input("2026-07-31", "2026-07-31")
	in.Policy = "loi"
	timely := domain.Orientation{Track: domain.TrackSocial, Organism: "CCAS", ReferentID: "ref-1", DecidedOn: d(2026, 9, 11)}
	tb.script(start, []step{
		{at: paris(2026, 9, 20, 10, 0), send: func() *outcome {
			require.True(t, tb.state(t).HandedOver)
			return tb.update(RecordOrientationUpdate, timely)
		}},
		{at: paris(2026, 9, 20, 10, 1), then: func(o *outcome) {
			o.ok(t)
			require.Equal(t, domain.TaskDone, tb.task(domain.TaskAwaitFranceTravail).Status)
			tb.env.CancelWorkflow()
		}},
	})
	tb.env.ExecuteWorkflow(Parcours, in)
}
