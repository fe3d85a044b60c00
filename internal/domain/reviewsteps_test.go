package domain_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
)

func TestReviewStep(t *testing.T) {
	d := domain.NewDate(2026, 12, 1)
	for _, c := range []struct {
		v    domain.ReviewView
		step int
	}{
		{domain.ReviewView{Status: "reported"}, 1},
		{domain.ReviewView{Status: "awaiting_receipt", NoticeSentOn: d}, 2},
		{domain.ReviewView{Status: "observation", NoticeSentOn: d, NoticeReceivedOn: d}, 3},
		{domain.ReviewView{Status: "awaiting_decision", NoticeSentOn: d, NoticeReceivedOn: d}, 4},
		{domain.ReviewView{Status: "sanction", NoticeReceivedOn: d, DecidedOn: d}, 5},
		{domain.ReviewView{Status: "sanction", NoticeReceivedOn: d, DecidedOn: d, DecisionNotifiedOn: d}, 6},
		{domain.ReviewView{Status: "closed_compliance", NoticeSentOn: d}, 2},
		{domain.ReviewView{Status: "closed_legitimate_reason"}, 1},
	} {
		require.Equal(t, c.step, domain.ReviewStep(c.v), c.v.Status)
		require.NotEmpty(t, domain.ReviewSteps[domain.ReviewStep(c.v)-1])
	}
	require.Len(t, domain.ReviewSteps, 6)
}

// TestReviewNextDueBoundaries: the observation period runs 10 days from
// the notice's receipt, the last day included (L262-37 III CASF, décret
// 2025-478): received on 1 December, observations until 11 December, a
// decision from 12 December; the appeal's window is 2 months from the
// decision's notification, its last day included (R262-88 CASF), month
// ends clamped (31 December + 2 months = 28 February).
func TestReviewNextDueBoundaries(t *testing.T) {
	received := domain.NewDate(2026, 12, 1)
	obs := domain.ReviewView{Status: "observation", NoticeReceivedOn: received}
	require.Equal(t, domain.NextDue{What: "fin du délai d'observation", On: domain.NewDate(2026, 12, 11)}, domain.ReviewNextDue(obs, received))
	obs.Status = "awaiting_decision"
	require.Equal(t, domain.NewDate(2026, 12, 12), domain.ReviewNextDue(obs, received).On)

	notified := domain.NewDate(2026, 12, 31)
	s := domain.ReviewView{Status: "sanction", DecidedOn: notified, DecisionNotifiedOn: notified,
		EffectiveOn: domain.NewDate(2027, 1, 1), Months: 4}
	last := domain.NewDate(2027, 2, 28)
	require.Equal(t, domain.NextDue{What: "fin du délai de recours", On: last}, domain.ReviewNextDue(s, last), "the last day of the window")
	require.Equal(t, domain.NextDue{What: "fin de la sanction", On: domain.NewDate(2027, 4, 30)}, domain.ReviewNextDue(s, last.AddDays(1)),
		"the day after: the sanction's last day")
	s.DecisionNotifiedOn = domain.Date{}
	require.True(t, domain.ReviewNextDue(s, last).On.IsZero(), "no window before the notification")

	// A notice received before décret 2025-478 keeps the period the case recorded.
	old := domain.ReviewView{Status: "observation", NoticeReceivedOn: domain.NewDate(2025, 5, 2), ObservationEndsOn: domain.NewDate(2025, 6, 2)}
	require.Equal(t, domain.NewDate(2025, 6, 2), domain.ReviewNextDue(old, domain.NewDate(2025, 5, 3)).On)
	require.Equal(t, domain.NextDue{}, domain.ReviewNextDue(domain.ReviewView{Status: "closed_compliance"}, received))

	// The dates the case recorded come first: the queue sorts on them and
	// the workflow follows them (review finding: the page showed one date,
	// the sort used another).
	recorded := domain.ReviewView{Status: "observation", NoticeReceivedOn: received, ObservationEndsOn: domain.NewDate(2026, 12, 14)}
	require.Equal(t, domain.NewDate(2026, 12, 14), domain.ReviewNextDue(recorded, received).On)
	s.DecisionNotifiedOn, s.AppealDueOn = notified, domain.NewDate(2027, 3, 1)
	require.Equal(t, domain.NextDue{What: "fin du délai de recours", On: domain.NewDate(2027, 3, 1)}, domain.ReviewNextDue(s, domain.NewDate(2027, 3, 1)))
}
