package workflows

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// decretFictif is a decree that does not exist: from 1 March 2027 the
// contract is due 3 months after the orientation's notification (instead of
// 1), and the new delay takes over the contract deadlines still running
// that day.
var decretFictif = domain.RuleSet{
	Name:        "decret-fictif-2027",
	Basis:       domain.BasisLegal,
	Label:       "délai légal",
	Source:      "décret fictif n° 2027-1 (essai)",
	InForceFrom: domain.NewDate(2027, 3, 1),
	Transition:  domain.TransitionRunning,
	Rules: []domain.Rule{
		{Kind: domain.DeadlineContract, Delay: domain.Delay{Months: 3}, From: domain.AnchorNotification, Source: "décret fictif n° 2027-1"},
	},
}

// fictionalLaws is the service's catalogue and the fictional decree.
var fictionalLaws = domain.Laws.With(decretFictif)

// decretFictif2026 is another decree that does not exist, in force since
// 1 December 2026 (before parcours_v13_* was recorded): 4 months for the
// contract, taking over the deadlines still running that day.
var decretFictif2026 = domain.RuleSet{
	Name:        "decret-fictif-2026",
	Basis:       domain.BasisLegal,
	Label:       "délai légal",
	Source:      "décret fictif n° 2026-1 (essai)",
	InForceFrom: domain.NewDate(2026, 12, 1),
	Transition:  domain.TransitionRunning,
	Rules: []domain.Rule{
		{Kind: domain.DeadlineContract, Delay: domain.Delay{Months: 4}, From: domain.AnchorNotification, Source: "décret fictif n° 2026-1"},
	},
}

// LawsOfV13 are the rule sets the parcours_v13_* histories were recorded
// under (exported for the recording test, package workflows_test).
var LawsOfV13 = domain.Laws.With(decretFictif2026, decretFictif)

// eventsOf are the events of a kind the read model received.
func (tb *testBundle) eventsOf(kind string) []Event {
	var out []Event
	for _, e := range tb.events() {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// TestNewRuleSetTakesOverTheRunningContractDeadline: a parcours oriented on
// 20 February 2027 owes its contract by 20 March (1 month, 2025 law). The
// fictional decree in force on 1 March gives 3 months to the deadlines still
// running: at 00:00 Paris on 1 March the parcours wakes up and the contract
// is due on 20 May, and says which text it follows. Not a minute before.
func TestNewRuleSetTakesOverTheRunningContractDeadline(t *testing.T) {
	t.Parallel()
	start := paris(2027, 1, 18, 10, 0)
	tb := setupWith(t, start, NewParcours(ParcoursOptions{Laws: fictionalLaws}))
	orient := domain.Orientation{Track: domain.TrackSocial, Organism: "CCAS", ReferentID: "ref-1",
		DecidedOn: d(2027, 2, 20), NotifiedOn: d(2027, 2, 20)}
	tb.script(start, []step{
		{at: paris(2027, 2, 20, 10, 0), send: func() *outcome { return tb.update(RecordOrientationUpdate, orient) }},
		{at: paris(2027, 2, 28, 23, 59), then: func(o *outcome) {
			o.ok(t)
			c := tb.deadline("contract/legal")
			require.Equal(t, "loi-2025", c.RuleSet, "the day before the decree")
			require.Equal(t, "2027-03-20", c.DueOn.String())
			require.Empty(t, tb.eventsOf(EventRuleChanged))
		}},
		{at: paris(2027, 3, 1, 0, 1), then: func(*outcome) {
			c := tb.deadline("contract/legal")
			require.Equal(t, "decret-fictif-2027", c.RuleSet)
			require.Equal(t, "2027-05-20", c.DueOn.String(), "3 months from the notification")
			require.Equal(t, domain.DeadlinePending, c.Status)
			require.Equal(t, "contrat dû le 20/05/2027 — délai légal, décret fictif n° 2027-1 (3 mois après la notification de l'orientation le 20/02/2027 ; règle en vigueur le 01/03/2027, appliquée aux délais en cours)", c.Explain())
			changed := tb.eventsOf(EventRuleChanged)
			require.Len(t, changed, 1)
			require.Equal(t, paris(2027, 3, 1, 0, 0), changed[0].At.In(domain.Paris), "at the effective date")
			require.Equal(t, "2027-03-01", changed[0].OccurredOn.String())
			require.Contains(t, changed[0].Summary, "au lieu du 20/03/2027")
			require.Contains(t, changed[0].Summary, "décret fictif n° 2027-1 (essai)")
			// The target and the orientation's legal limit keep their rules.
			require.Equal(t, "engagement-departemental", tb.deadline("contract/target").RuleSet)
			require.Equal(t, "loi-2025", tb.deadline("orientation/legal").RuleSet)
			tb.env.CancelWorkflow()
		}},
	})
	tb.env.ExecuteWorkflow(ParcoursWorkflow, input("2027-01-18", "2027-01-18"))
	tb.requireCancelled(t)
}

// TestPassedDeadlineKeepsTheRuleOfItsTime: oriented on 20 January 2027, the
// contract was due on 20 February and passed; the decree of 1 March leaves
// it as it was (due date, rule, overdue since 21 February). A RulesSignal
// wakes the parcours: nothing to take over.
func TestPassedDeadlineKeepsTheRuleOfItsTime(t *testing.T) {
	t.Parallel()
	start := paris(2027, 1, 18, 10, 0)
	tb := setupWith(t, start, NewParcours(ParcoursOptions{Laws: fictionalLaws}))
	orient := domain.Orientation{Track: domain.TrackSocial, Organism: "CCAS", ReferentID: "ref-1",
		DecidedOn: d(2027, 1, 20), NotifiedOn: d(2027, 1, 20)}
	var before DeadlineState
	tb.script(start, []step{
		{at: paris(2027, 1, 20, 10, 0), send: func() *outcome { return tb.update(RecordOrientationUpdate, orient) }},
		{at: paris(2027, 2, 25, 10, 0), then: func(o *outcome) {
			o.ok(t)
			before = tb.deadline("contract/legal")
			require.Equal(t, domain.DeadlineOverdue, before.Status)
			require.Equal(t, "2027-02-20", before.DueOn.String())
			tb.env.SignalWorkflow(RulesSignal, nil)
		}},
		{at: paris(2027, 3, 2, 10, 0), then: func(*outcome) {
			after := tb.deadline("contract/legal")
			require.Equal(t, before, after, "passed before the decree: as it was")
			require.Equal(t, "loi-2025", after.RuleSet)
			require.Empty(t, tb.eventsOf(EventRuleChanged))
			require.Equal(t, domain.DeadlineOverdue, tb.state(t).Deadlines[slicesIndex(tb.state(t).Deadlines, "contract/legal")].Status)
			tb.env.CancelWorkflow()
		}},
	})
	tb.env.ExecuteWorkflow(ParcoursWorkflow, input("2027-01-18", "2027-01-18"))
	tb.requireCancelled(t)
}

// requireCancelled: the run went to its end (a test's last step cancels it).
func (tb *testBundle) requireCancelled(t *testing.T) {
	t.Helper()
	require.True(t, tb.env.IsWorkflowCompleted())
	var cancelled *temporal.CanceledError
	require.ErrorAs(t, tb.env.GetWorkflowError(), &cancelled)
}

func slicesIndex(ds []DeadlineState, key string) int {
	for i, d := range ds {
		if d.Key() == key && strings.Contains(d.RuleSet, "loi") {
			return i
		}
	}
	return -1
}
