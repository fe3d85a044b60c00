package workflows

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// TestContinueAsNewLeavesOldFreeTextBehind: a run recorded before the free
// texts left the histories holds an action's name and structure in its
// state (as its inputs brought them); its continue-as-new carries neither,
// and names the action by its number in what remains.
func TestContinueAsNewLeavesOldFreeTextBehind(t *testing.T) {
	t.Parallel()
	start := paris(2026, 4, 1, 9, 0)
	tb := setup(t, start)
	d := domain.NewDate
	orient := domain.Orientation{Track: domain.TrackSocial, Organism: "CCAS", ReferentID: "ref-1", DecidedOn: d(2026, 4, 2)}
	contract := domain.Contract{Kind: domain.ContractCER, SignedOn: d(2026, 4, 3), StartsOn: d(2026, 4, 3), EndsOn: d(2026, 10, 2)}
	action := domain.Action{Name: "Cure « addictologie » CHU Zqw1", Kind: "health", Structure: "Clinique Zqw2", StartsOn: d(2026, 4, 4), PlannedEndOn: d(2026, 6, 30)}
	tb.script(start, []step{
		{at: paris(2026, 4, 2, 10, 0), send: func() *outcome { return tb.update(RecordOrientationUpdate, orient) }},
		{at: paris(2026, 4, 3, 10, 0), then: func(o *outcome) { o.ok(t) }, send: func() *outcome { return tb.update(RecordContractUpdate, contract) }},
		{at: paris(2026, 4, 4, 10, 0), then: func(o *outcome) { o.ok(t) }, send: func() *outcome { return tb.update(RecordActionUpdate, action) }},
		{at: paris(2026, 4, 5, 10, 1), then: func(o *outcome) {
			o.ok(t)
			tb.env.SetContinueAsNewSuggested(true)
		}},
	})
	tb.env.SetTestTimeout(time.Minute)
	tb.env.ExecuteWorkflow(Parcours, input("2026-04-01", ""))

	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, tb.env.GetWorkflowError(), &can)
	var next ParcoursInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.NotNil(t, next.State)
	b, err := json.Marshal(next)
	require.NoError(t, err)
	for _, secret := range []string{"Zqw1", "Zqw2"} {
		require.False(t, strings.Contains(string(b), secret), "%q crossed the continue-as-new: %s", secret, b)
	}
	require.Len(t, next.State.Actions, 1, "the action is still open")
	require.Equal(t, "health", next.State.Actions[0].Action.Kind)
	rule := ""
	for _, dl := range next.State.Deadlines {
		if dl.Kind == domain.DeadlineActionEnd {
			rule = dl.Rule
		}
	}
	require.Equal(t, "bilan de l'action n° 1 (1 mois après sa fin prévue le 30/06/2026)", rule)

	// The new run goes on: the action's outcome names it by its number.
	tb2 := setup(t, paris(2026, 4, 5, 10, 1))
	tb2.script(paris(2026, 4, 5, 10, 1), []step{
		{at: paris(2026, 4, 6, 10, 0), send: func() *outcome {
			return tb2.update(RecordActionOutcomeUpdate, OutcomeInput{Action: 1, Outcome: domain.ActionOutcome{EndedOn: d(2026, 4, 6), Category: domain.OutcomeDynamique, Detail: "health_cover_opened"}})
		}},
		{at: paris(2026, 4, 6, 10, 1), then: func(o *outcome) {
			o.ok(t)
			tb2.env.CancelWorkflow()
		}},
	})
	tb2.env.ExecuteWorkflow(Parcours, next)
	var ended string
	for _, e := range tb2.events() {
		if e.Kind == EventActionEnded {
			ended = e.Summary
		}
	}
	require.Equal(t, "Fin de l'action n° 1 le 06/04/2026 : Dynamique de parcours (Ouverture de droits à la couverture santé).", ended)
}

// TestWithoutFreeText: the cases a state carries lose their obligation too
// (a running case keeps the test environment from continuing as new).
func TestWithoutFreeText(t *testing.T) {
	t.Parallel()
	s := ParcoursState{
		CaseRows: []CaseRow{{Number: 1, Breach: domain.Breach{Kind: domain.BreachObligationsNotMet, Obligation: "Suivi psychiatrique Zqw3"}}},
		Deadlines: []DeadlineState{
			{Deadline: domain.Deadline{Kind: domain.DeadlineFollowUp3, Anchor: "action_end",
				Rule: "suivi post-accompagnement à 3 mois de la fin de l'action « Cure « CHU » » le 06/04/2026, à faire à partir du 06/07/2026"}, Cycle: 2},
			{Deadline: domain.Deadline{Kind: domain.DeadlineContract, Anchor: "contract", Rule: "délai « légal »"}, Cycle: 1},
		},
	}
	out := s.withoutFreeText()
	require.Empty(t, out.CaseRows[0].Breach.Obligation)
	require.Equal(t, "Suivi psychiatrique Zqw3", s.CaseRows[0].Breach.Obligation, "the run's own state is left as it is")
	require.Equal(t, "suivi post-accompagnement à 3 mois de la fin de l'action n° 2 le 06/04/2026, à faire à partir du 06/07/2026", out.Deadlines[0].Rule)
	require.Equal(t, "délai « légal »", out.Deadlines[1].Rule, "only the rules that quote an action")
}
