package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/workflows"
)

// TestFreeTextStaysOutOfHistories records, through the API and the real
// workflows, every kind of free text a user types (an action's name and
// structure, the contract obligation a breach names, a reassignment's
// reason, a breach's facts): none reaches a workflow history (issue 20,
// item 7), and the API still shows each of them.
func TestFreeTextStaysOutOfHistories(t *testing.T) {
	t.Parallel()
	now := today()
	pid := newOriented(t, now.AddMonths(-3), "social", "ref-1")
	base := "/api/v1/parcours/" + pid
	const (
		name       = "Cure addictologie CHU Zqw1"
		structure  = "Clinique des Sables Zqw2"
		obligation = "Suivi psychiatrique hebdomadaire Zqw3"
		facts      = "Absent aux rendez-vous Zqw4"
		reason     = "Conflit avec la personne Zqw5"
	)
	signed := now.AddMonths(-2)
	r := post(t, "referent:ref-1", base+"/contracts", map[string]any{"kind": "cer", "signed_on": signed.String(), "starts_on": signed.String(), "ends_on": now.AddMonths(4).String()})
	require.Equal(t, 200, r.status, r.raw)

	r = post(t, "referent:ref-1", base+"/actions", map[string]any{"name": name, "kind": "health", "structure": structure,
		"starts_on": signed.String(), "planned_end_on": now.AddMonths(1).String()})
	require.Equal(t, 201, r.status, r.raw)
	r = post(t, "referent:ref-1", base+"/actions/1/outcome", map[string]any{"ended_on": now.String(), "category": "dynamique_de_parcours", "detail": "health_cover_opened"})
	require.Equal(t, 200, r.status, r.raw)
	actions := items(r, "actions")
	require.Len(t, actions, 1)
	require.Equal(t, name, actions[0]["name"], "the API still shows the name")
	require.Equal(t, structure, actions[0]["structure"])

	r = post(t, "referent:ref-1", base+"/breaches", map[string]any{"kind": "obligations_not_met", "obligation": obligation, "facts": facts, "reported_on": now.String()})
	require.Equal(t, 201, r.status, r.raw)
	rid := pid + "-1"
	review := call(t, "department", "GET", "/api/v1/reviews/"+rid, nil)
	require.Equal(t, 200, review.status, review.raw)
	require.Equal(t, obligation, review.body["obligation"], "the API still shows the obligation")
	require.Equal(t, facts, review.body["facts"])
	// A refused command leaves none of its texts behind.
	r = post(t, "referent:ref-1", base+"/breaches", map[string]any{"kind": "obligations_not_met", "obligation": "Refusée Zqw6", "facts": "Refusés Zqw6", "reported_on": now.String()})
	require.Equal(t, 409, r.status, "one case at a time")
	var left int
	require.NoError(t, fixture.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM notes WHERE body LIKE '%Zqw6%'`).Scan(&left))
	require.Zero(t, left, "the refused command's texts were removed")

	r = post(t, "supervisor", base+"/referent", map[string]any{"referent_id": "ref-2", "reason": reason, "on": now.String()})
	require.Equal(t, 200, r.status, r.raw)
	shown := false
	for _, e := range items(r, "events") {
		shown = shown || e["note"] == reason
	}
	require.True(t, shown, "the timeline shows the reason: %s", r.raw)

	for _, id := range []string{workflows.ParcoursWorkflowID(pid), workflows.ReviewWorkflowID(pid, 1)} {
		text, _, _, _ := historyOf(t, id)
		require.Contains(t, text, "parcours_id", "the history of %s was read", id)
		for _, secret := range []string{"Zqw1", "Zqw2", "Zqw3", "Zqw4", "Zqw5"} {
			require.False(t, strings.Contains(text, secret), "%q reached the history of %s", secret, id)
		}
	}
	recordHistory(t, pid, "parcours_v10_free_text_in_notes")
	recordWorkflowHistory(t, workflows.ReviewWorkflowID(pid, 1), "review_v4_obligation_in_notes")
}
