package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/workflows"
)

func notes(t *testing.T, pid string) int {
	t.Helper()
	var n int
	require.NoError(t, fixture.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM notes WHERE parcours_id = $1`, pid).Scan(&n))
	return n
}

func TestEscalationOverHTTP(t *testing.T) {
	t.Parallel()
	now := today()
	pid := newOriented(t, now.AddMonths(-3), "professional", "ref-1")
	base := "/api/v1/parcours/" + pid

	// The legal contract limit passed two months ago: relances are due.
	r := call(t, "referent:ref-1", "GET", base, nil)
	kinds := map[string]bool{}
	for _, task := range items(r, "tasks") {
		kinds[task["kind"].(string)] = true
	}
	require.True(t, kinds["relance_1"] && kinds["relance_2"] && kinds["propose_breach"], r.raw)
	require.Equal(t, "number", post(t, "referent:ref-1", base+"/relances", map[string]any{"number": 3, "sent_on": now.String(), "channel": "letter"}).errField())
	require.Equal(t, "channel", post(t, "referent:ref-1", base+"/relances", map[string]any{"number": 1, "sent_on": now.String(), "channel": "pigeon"}).errField())
	require.Equal(t, 200, post(t, "referent:ref-1", base+"/relances", map[string]any{"number": 1, "sent_on": now.String(), "channel": "letter"}).status)

	// A breach of the contract's obligations needs a contract.
	r = post(t, "referent:ref-1", base+"/breaches", map[string]any{"kind": "obligations_not_met", "obligation": "ateliers", "facts": "absent", "reported_on": now.String()})
	require.Equal(t, 409, r.status, r.raw)
	facts := "Trois convocations sans réponse ; aucun contact malgré deux relances (dossier XQZ-SECRET)."
	r = post(t, "referent:ref-1", base+"/breaches", map[string]any{"kind": "refusal_contract", "facts": facts, "reported_on": now.String()})
	require.Equal(t, 201, r.status, r.raw)
	rid := pid + "-1"
	require.Len(t, items(r, "reviews"), 1)
	require.Equal(t, 409, post(t, "referent:ref-1", base+"/breaches", map[string]any{"kind": "refusal_contract", "facts": "x", "reported_on": now.String()}).status, "one case at a time")

	// The département's queue; the référent sees their own case, others do not.
	q := call(t, "department", "GET", "/api/v1/reviews?status=reported&limit=1000", nil)
	require.Equal(t, 200, q.status)
	found := false
	for _, it := range items(q, "items") {
		found = found || it["id"] == rid
	}
	require.True(t, found)
	require.Equal(t, 200, call(t, "referent:ref-1", "GET", "/api/v1/reviews/"+rid, nil).status)
	require.Equal(t, 404, call(t, "referent:ref-2", "GET", "/api/v1/reviews/"+rid, nil).status)
	require.Equal(t, 400, call(t, "department", "GET", "/api/v1/reviews?parcours_id=nope", nil).status)

	decision := map[string]any{"kind": "suspension", "percent": 30, "months": 2, "decided_on": now.String(), "effective_on": now.String(),
		"household_size": 1, "monthly_amount_cents": 64600}
	require.Equal(t, 403, post(t, "referent:ref-1", "/api/v1/reviews/"+rid+"/decision", decision).status)
	require.Equal(t, 409, post(t, "department", "/api/v1/reviews/"+rid+"/decision", decision).status, "not before the notice")

	// The notice was received 12 days ago: the 10-day observation period is over.
	notice := map[string]any{"sent_on": now.AddDays(-14).String(), "received_on": now.AddDays(-12).String(),
		"planned_kind": "suspension", "planned_percent": 30, "planned_months": 2}
	r = post(t, "department", "/api/v1/reviews/"+rid+"/notice", notice)
	require.Equal(t, 200, r.status, r.raw)
	require.Equal(t, "awaiting_decision", r.body["status"])
	require.Equal(t, now.AddDays(-2).String(), r.body["observation_ends_on"])

	// Outside the scale: refused with the rule, nothing recorded.
	before := notes(t, pid)
	bad := map[string]any{"kind": "suspension", "percent": 29, "months": 2, "decided_on": now.String(), "effective_on": now.String(),
		"household_size": 1, "monthly_amount_cents": 64600, "reason": "motif"}
	r = post(t, "department", "/api/v1/reviews/"+rid+"/decision", bad)
	require.Equal(t, 400, r.status, r.raw)
	require.Equal(t, "percent", r.errField())
	require.Contains(t, r.raw, "R262-68")
	bad["percent"], bad["household_size"] = 60, 3
	r = post(t, "department", "/api/v1/reviews/"+rid+"/decision", bad)
	require.Contains(t, r.raw, "R262-68-6")
	bad["percent"], bad["household_size"], bad["months"] = 30, 1, 3
	require.Equal(t, "months", post(t, "department", "/api/v1/reviews/"+rid+"/decision", bad).errField())
	bad["months"], bad["kind"] = 1, "suppression"
	require.Equal(t, "kind", post(t, "department", "/api/v1/reviews/"+rid+"/decision", bad).errField(), "no suppression on a first breach")
	require.Equal(t, before, notes(t, pid), "a refused decision leaves no note behind")
	got := call(t, "department", "GET", "/api/v1/reviews/"+rid, nil)
	require.Equal(t, "awaiting_decision", got.body["status"])
	require.Nil(t, got.body["decided_on"])

	r = post(t, "department", "/api/v1/reviews/"+rid+"/decision", decision)
	require.Equal(t, 200, r.status, r.raw)
	require.Equal(t, "sanction", r.body["status"])
	require.Nil(t, r.body["appeal_due_on"], "the RAPO window runs from the notification (R262-88)")
	require.Contains(t, r.body["appeal_window"], "notification non enregistrée")

	// RAPO, then remobilisation: the sanction ends and one month is paid back.
	require.Equal(t, 200, post(t, "department", "/api/v1/reviews/"+rid+"/appeal", map[string]any{"filed_on": now.String(), "note": "courrier"}).status)
	r = post(t, "department", "/api/v1/reviews/"+rid+"/appeal-decision", map[string]any{"decided_on": now.String(), "outcome": "upheld", "reason": "Faits établis"})
	require.Equal(t, 200, r.status, r.raw)
	r = post(t, "referent:ref-1", base+"/contracts", map[string]any{"kind": "ppae", "signed_on": now.String(), "starts_on": now.String(), "ends_on": now.AddMonths(6).String()})
	require.Equal(t, 200, r.status, r.raw)
	// The parcours tells the review of the contract by a signal: the review
	// writes it a moment after the contract's answer (seen late once with
	// the end-to-end tests running beside).
	require.Eventually(t, func() bool {
		got = call(t, "department", "GET", "/api/v1/reviews/"+rid, nil)
		return got.body["status"] == "remobilised"
	}, 10*time.Second, 50*time.Millisecond, "the review learns of the contract")
	require.Equal(t, float64(19380), got.body["payback_cents"], "one month begun × 30 % × 646,00 €")
	steps := items(got, "steps")
	require.GreaterOrEqual(t, len(steps), 5)
	require.Equal(t, "reported", steps[0]["kind"])
	require.Equal(t, facts, got.body["facts"], "the facts are shown back from PostgreSQL")

	// The case is part of the parcours' timeline; the facts are not in any history.
	r = call(t, "department", "GET", base, nil)
	var reported, stepEvents int
	for _, e := range items(r, "events") {
		switch e["kind"] {
		case "breach_reported":
			reported++
		case "review_step":
			stepEvents++
		}
	}
	require.Equal(t, 1, reported)
	require.GreaterOrEqual(t, stepEvents, 4)
	recordHistory(t, pid, "parcours_v3_sanction_remobilised")
	recordWorkflowHistory(t, workflows.ReviewWorkflowID(pid, 1), "review_v1_sanction_appeal_remobilised")
	text, _, _, _ := history(t, pid)
	require.False(t, strings.Contains(text, "XQZ-SECRET"), "the facts reached the parcours history")
	text, _, _, _ = historyOf(t, workflows.ReviewWorkflowID(pid, 1))
	require.True(t, strings.Contains(text, "decide_appeal") && strings.Contains(text, "compliance"), "the case's history was read")
	require.False(t, strings.Contains(text, "XQZ-SECRET") || strings.Contains(text, "Faits établis"), "free text reached the case's history")
}
