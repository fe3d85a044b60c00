package httpapi_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/workflows"
)

func post(t *testing.T, who, path string, body any) response {
	t.Helper()
	return call(t, who, "POST", path, body)
}

func newOriented(t *testing.T, entered domain.Date, track, referent string) string {
	t.Helper()
	r := post(t, "department", "/api/v1/parcours", intakeBody(beneficiary(t), entered.String()))
	require.Equal(t, 201, r.status, r.raw)
	pid := r.body["id"].(string)
	r = post(t, "department", "/api/v1/parcours/"+pid+"/orientation", map[string]any{
		"track": track, "organism": "CCAS", "referent_id": referent, "decided_on": entered.AddDays(5).String()})
	require.Equal(t, 200, r.status, r.raw)
	return pid
}

func items(r response, key string) []map[string]any {
	var out []map[string]any
	list, _ := r.body[key].([]any)
	for _, it := range list {
		out = append(out, it.(map[string]any))
	}
	return out
}

// history is the decoded text of every payload of every run of a parcours.
func history(t *testing.T, pid string) (text string, events, bytes, runs int) {
	t.Helper()
	return historyOf(t, workflows.ParcoursWorkflowID(pid))
}

// historyOf reads every run of a workflow.
func historyOf(t *testing.T, workflowID string) (text string, events, bytes, runs int) {
	t.Helper()
	ctx := context.Background()
	var sb strings.Builder
	desc, err := fixture.tc.DescribeWorkflowExecution(ctx, workflowID, "")
	require.NoError(t, err)
	runID := desc.GetWorkflowExecutionInfo().GetFirstRunId()
	for runID != "" {
		iter := fixture.tc.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		runs++
		runID = ""
		for iter.HasNext() {
			e, err := iter.Next()
			require.NoError(t, err)
			events++
			b, err := e.Marshal()
			require.NoError(t, err)
			bytes += len(b)
			sb.WriteString(e.String())
			if a := e.GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
				runID = a.GetNewExecutionRunId()
			}
		}
	}
	// Payload data are bytes: print them decoded too.
	raw := sb.String()
	for _, m := range regexp.MustCompile(`data:"((?:[^"\\]|\\.)*)"`).FindAllStringSubmatch(raw, -1) {
		sb.WriteString(m[1])
		if b, err := base64.StdEncoding.DecodeString(m[1]); err == nil {
			sb.Write(b)
		}
	}
	return sb.String(), events, bytes, runs
}

func TestLifecycleOverHTTP(t *testing.T) {
	t.Parallel()
	now := today()
	entered := now.AddMonths(-8)
	pid := newOriented(t, entered, "social", "ref-1")
	base := "/api/v1/parcours/" + pid
	signed := now.AddMonths(-7)

	r := post(t, "referent:ref-1", base+"/contracts", map[string]any{"kind": "cer", "signed_on": signed.String(), "starts_on": signed.String(), "ends_on": now.AddMonths(-1).String()})
	require.Equal(t, 200, r.status, r.raw)
	// The contract ended a month ago: its term and the 6-month review are overdue.
	overdue := map[string]bool{}
	for _, d := range items(r, "deadlines") {
		if d["status"] == "overdue" {
			overdue[fmt.Sprintf("%s/%s", d["kind"], d["basis"])] = true
		}
	}
	require.True(t, overdue["contract/contract_term"], r.raw)
	require.True(t, overdue["review/legal"])
	kinds := map[string]bool{}
	for _, task := range items(r, "tasks") {
		kinds[task["kind"].(string)] = task["overdue"].(bool)
	}
	require.Equal(t, true, kinds["renew_contract"], r.raw)
	require.Equal(t, true, kinds["review_social"])
	require.Equal(t, true, kinds["relance_1"], "the overdue contract brings relances (7 days to do each)")
	require.Contains(t, kinds, "relance_2")

	// Obstacles: the review moves to 12 months; the category stays in PostgreSQL.
	r = post(t, "referent:ref-1", base+"/obstacles", map[string]any{"categories": []string{"health", "health"}, "on": now.String()})
	require.Equal(t, 200, r.status, r.raw)
	require.Equal(t, []any{"health"}, r.body["obstacles"])
	require.Equal(t, 400, post(t, "referent:ref-1", base+"/obstacles", map[string]any{"categories": []string{"money"}, "on": now.String()}).status)

	// Renewal: the assessment is required, kept as a note, shown back.
	renew := map[string]any{"kind": "contrat_engagement", "signed_on": now.String(), "starts_on": now.String(), "ends_on": now.AddMonths(6).String()}
	r = post(t, "referent:ref-1", base+"/contracts", renew)
	require.Equal(t, 400, r.status, r.raw)
	require.Equal(t, "assessment", r.errField())
	renew["assessment"] = "Bilan : suivi psychiatrique régulier, recherche d'emploi engagée."
	r = post(t, "referent:ref-1", base+"/contracts", renew)
	require.Equal(t, 200, r.status, r.raw)
	contracts := items(r, "contracts")
	require.Len(t, contracts, 2)
	require.Equal(t, renew["assessment"], contracts[1]["assessment"])
	last := items(r, "events")[len(items(r, "events"))-1]
	require.Equal(t, "contract_renewed", last["kind"])
	require.Equal(t, "referent:ref-1", last["author"], "attributed to the account that recorded it")
	require.Equal(t, renew["assessment"], last["note"])
	renew["recorded_by"] = "someone else"
	r = post(t, "referent:ref-1", base+"/contracts", renew)
	require.Equal(t, 400, r.status, "clients cannot set the author")
	require.Equal(t, "recorded_by", r.errField())

	// Re-orientation: requested by the référent, decided by the département.
	r = post(t, "referent:ref-1", base+"/reorientation-requests", map[string]any{"reason": "Projet professionnel clarifié", "requested_on": now.String()})
	require.Equal(t, 200, r.status, r.raw)
	require.Equal(t, 409, post(t, "referent:ref-1", base+"/reorientation-requests", map[string]any{"reason": "encore", "requested_on": now.String()}).status)
	decision := map[string]any{"accept": true, "track": "professional", "organism": "France Travail", "referent_id": "ref-2", "decided_on": now.String(), "reason": "Accord"}
	require.Equal(t, 403, post(t, "referent:ref-1", base+"/reorientation-decision", decision).status)
	r = post(t, "department", base+"/reorientation-decision", decision)
	require.Equal(t, 200, r.status, r.raw)
	require.Equal(t, "awaiting_contract", r.body["status"])
	orientations := items(r, "orientations")
	require.Len(t, orientations, 2)
	require.Equal(t, false, orientations[1]["within_6_months"], "8 months after the first")
	require.Equal(t, "Accord", orientations[1]["reason"])
	require.Equal(t, 404, call(t, "referent:ref-1", "GET", base, nil).status, "no longer theirs")
	sign := false
	for _, task := range items(call(t, "referent:ref-2", "GET", "/api/v1/tasks", nil), "items") {
		if task["parcours_id"] == pid && task["kind"] == "sign_contract" && task["due_on"] == now.AddMonths(1).String() {
			sign = true
		}
	}
	require.True(t, sign, "a new month from the new orientation, in the new référent's inbox")

	// Reassignment by a supervisor; a référent may not.
	require.Equal(t, 403, post(t, "referent:ref-2", base+"/referent", map[string]any{"referent_id": "ref-1", "on": now.String()}).status)
	r = post(t, "supervisor", base+"/referent", map[string]any{"referent_id": "ref-1", "reason": "Congé", "on": now.String()})
	require.Equal(t, 200, r.status, r.raw)
	require.Equal(t, "ref-1", r.body["referent_id"])

	// Actions and their outcome; follow-ups fall due at once with past dates.
	action := map[string]any{"name": "Atelier CV", "kind": "employment_support", "structure": "Tremplin",
		"starts_on": entered.AddDays(10).String(), "planned_end_on": now.AddMonths(-7).String()}
	r = post(t, "referent:ref-1", base+"/actions", action)
	require.Equal(t, 201, r.status, r.raw)
	require.Len(t, items(r, "actions"), 1)
	bad := map[string]any{"name": "x", "kind": "yoga", "structure": "y", "starts_on": now.String(), "planned_end_on": now.String()}
	require.Equal(t, "kind", post(t, "referent:ref-1", base+"/actions", bad).errField())
	outcome := map[string]any{"ended_on": entered.AddDays(9).String(), "category": "dynamique_de_parcours", "detail": "skills_assessment"}
	require.Equal(t, 409, post(t, "referent:ref-1", base+"/actions/1/outcome", outcome).status, "before the action started")
	require.Equal(t, 404, post(t, "referent:ref-1", base+"/actions/9/outcome", outcome).status)
	require.Equal(t, "detail", post(t, "referent:ref-1", base+"/actions/1/outcome", map[string]any{"ended_on": now.String(), "category": "insertion_durable", "detail": "skills_assessment"}).errField())
	outcome["ended_on"] = now.AddMonths(-7).String()
	r = post(t, "referent:ref-1", base+"/actions/1/outcome", outcome)
	require.Equal(t, 200, r.status, r.raw)
	follow := items(r, "actions")[0]["follow_ups"].([]any)
	require.Len(t, follow, 2)
	open := map[string]bool{}
	for _, task := range items(r, "tasks") {
		open[task["kind"].(string)] = task["overdue"].(bool)
	}
	require.Equal(t, true, open["follow_up_3"], "opened 4 months ago, unanswered")
	require.Equal(t, false, open["follow_up_6"], "opened a month ago: due today, overdue from tomorrow")

	require.Equal(t, 404, post(t, "referent:ref-1", base+"/actions/1/follow-ups/5", map[string]any{"answered_on": now.String(), "situation": "training"}).status)
	require.Equal(t, "employment_kind", post(t, "referent:ref-1", base+"/actions/1/follow-ups/3", map[string]any{"answered_on": now.String(), "situation": "employment"}).errField())
	r = post(t, "referent:ref-1", base+"/actions/1/follow-ups/3", map[string]any{"answered_on": now.String(), "situation": "employment", "employment_kind": "cdi", "note": "Embauchée en CDI"})
	require.Equal(t, 200, r.status, r.raw)

	// Exit: clocks stop, the 6-month follow-up remains.
	r = post(t, "department", base+"/exit", map[string]any{"reason": "income_above_threshold", "on": now.AddDays(-1).String()})
	require.Equal(t, 200, r.status, r.raw)
	require.Equal(t, "exited", r.body["status"])
	require.Equal(t, "income_above_threshold", r.body["exit"].(map[string]any)["reason"])
	rest := items(r, "tasks")
	require.Len(t, rest, 1)
	require.Equal(t, "follow_up_6", rest[0]["kind"])
	require.Equal(t, 409, post(t, "referent:ref-1", base+"/contracts", map[string]any{"kind": "cer", "signed_on": now.String(), "starts_on": now.String(), "ends_on": now.AddMonths(6).String(), "assessment": "x"}).status)
	require.Equal(t, 409, post(t, "referent:ref-1", base+"/actions", action).status)
	recordHistory(t, pid, "parcours_v2_exited_follow_up_pending")
	r = post(t, "referent:ref-1", base+"/actions/1/follow-ups/6", map[string]any{"answered_on": now.String(), "situation": "employment", "employment_kind": "cdi"})
	require.Equal(t, 200, r.status, r.raw)
	require.Empty(t, items(r, "tasks"))
	require.Equal(t, 409, post(t, "department", base+"/exit", map[string]any{"reason": "moved", "on": now.String()}).status, "the parcours is over")

	// The person comes back: a new parcours linked to this one.
	id := r.body["beneficiary_id"].(string)
	again := post(t, "department", "/api/v1/parcours", intakeBody(id, now.String()))
	require.Equal(t, 201, again.status, again.raw)
	require.Equal(t, pid, again.body["previous_parcours_id"])
	require.Equal(t, 400, post(t, "department", "/api/v1/parcours", intakeBody(beneficiary(t), now.AddDays(1).String())).status)
	old := call(t, "department", "GET", base, nil)
	require.Equal(t, 200, old.status, "the history stays readable")
	require.Equal(t, "exited", old.body["status"])

	// Nothing but identifiers and dates in the histories.
	text, _, _, _ := history(t, pid)
	require.Contains(t, text, "record_follow_up", "the history was read")
	for _, secret := range []string{`"health"`, "psychiatrique", "Embauchée", "Projet professionnel", "Martin", "Congé"} {
		require.False(t, strings.Contains(text, secret), "%q reached the workflow history", secret)
	}
	recordHistory(t, pid, "parcours_v2_exited_after_follow_ups")
	recordHistory(t, pid, "parcours_v6_local_sync_exited_after_follow_ups")
	recordHistory(t, pid, "parcours_v7_one_version_marker_exited_after_follow_ups")
	recordHistory(t, pid, "parcours_v8_revision_exited_after_follow_ups")
}

func TestManyMessagesAcrossContinueAsNew(t *testing.T) {
	t.Parallel()
	now := today()
	pid := newOriented(t, now.AddMonths(-1), "socio_professional", "ref-1")
	const n = 60
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Go(func() {
			statuses[i] = post(t, "referent:ref-1", "/api/v1/parcours/"+pid+"/actions", map[string]any{
				"name": fmt.Sprintf("Action %02d", i), "kind": "training", "structure": "AFPA",
				"starts_on": now.String(), "planned_end_on": now.AddMonths(2).String()}).status
		})
	}
	wg.Wait()
	for i, s := range statuses {
		require.Equal(t, 201, s, "action %d", i)
	}
	v := call(t, "supervisor", "GET", "/api/v1/parcours/"+pid, nil)
	actions := items(v, "actions")
	require.Len(t, actions, n, "every update recorded once")
	seen := map[float64]bool{}
	for _, a := range actions {
		seen[a["number"].(float64)] = true
	}
	require.Len(t, seen, n, "numbers are distinct")
	events := items(v, "events")
	for i, e := range events {
		require.Equal(t, float64(i+1), e["seq"], "the timeline has no gap and no duplicate")
	}
	_, count, _, runs := history(t, pid)
	require.Greater(t, runs, 1, "the workflow continued as new (%d events)", count)
	t.Logf("%d updates: %d history events over %d runs", n, count, runs)
	recordHistory(t, pid, "parcours_v2_after_continue_as_new")
	recordHistory(t, pid, "parcours_v5_once_after_continue_as_new")
	recordHistory(t, pid, "parcours_v6_local_sync_after_continue_as_new")
	recordHistory(t, pid, "parcours_v11_after_continue_as_new")
}

// TestTwoYearParcoursHistory measures a two-year parcours: four contracts,
// a re-orientation, three actions with their follow-ups, an exit.
func TestTwoYearParcoursHistory(t *testing.T) {
	t.Parallel()
	now := today()
	start := now.AddMonths(-24)
	pid := newOriented(t, start, "social", "ref-1")
	base := "/api/v1/parcours/" + pid
	for i := range 4 {
		from := start.AddMonths(1 + 6*i)
		c := map[string]any{"kind": "cer", "signed_on": from.String(), "starts_on": from.String(), "ends_on": from.AddMonths(6).AddDays(-1).String()}
		if i > 0 {
			c["assessment"] = fmt.Sprintf("Bilan du contrat %d", i)
		}
		r := post(t, "referent:ref-1", base+"/contracts", c)
		require.Equal(t, 200, r.status, r.raw)
		if reviewed := from.AddMonths(6).AddDays(-5); !reviewed.After(now) {
			r = post(t, "referent:ref-1", base+"/reviews", map[string]any{"reviewed_on": reviewed.String(), "outcome": "continue"})
			require.Equal(t, 200, r.status, r.raw)
		}
		if i == 1 {
			require.Equal(t, 200, post(t, "referent:ref-1", base+"/reorientation-requests", map[string]any{"reason": "r", "requested_on": from.AddMonths(2).String()}).status)
			r := post(t, "department", base+"/reorientation-decision", map[string]any{"accept": false, "decided_on": from.AddMonths(2).String(), "reason": "non"})
			require.Equal(t, 200, r.status, r.raw)
		}
	}
	for a := 1; a <= 3; a++ {
		s := start.AddMonths(2 + 4*a)
		r := post(t, "referent:ref-1", base+"/actions", map[string]any{"name": fmt.Sprintf("Action %d", a), "kind": "training", "structure": "AFPA",
			"starts_on": s.String(), "planned_end_on": s.AddMonths(2).String()})
		require.Equal(t, 201, r.status, r.raw)
		r = post(t, "referent:ref-1", fmt.Sprintf("%s/actions/%d/outcome", base, a), map[string]any{"ended_on": s.AddMonths(2).String(), "category": "mise_en_parcours_professionnel", "detail": "short_or_part_time_contract"})
		require.Equal(t, 200, r.status, r.raw)
		for _, m := range []int{3, 6} {
			r = post(t, "referent:ref-1", fmt.Sprintf("%s/actions/%d/follow-ups/%d", base, a, m), map[string]any{"answered_on": s.AddMonths(2 + m).String(), "situation": "training"})
			require.Equal(t, 200, r.status, r.raw)
		}
	}
	r := post(t, "department", base+"/exit", map[string]any{"reason": "end_of_rights", "on": now.String()})
	require.Equal(t, 200, r.status, r.raw)
	_, events, bytes, runs := history(t, pid)
	// Temporal's hard limits are 51,200 events and 50 MB per run.
	require.Less(t, events, 2000)
	require.Less(t, bytes, 2<<20)
	fmt.Printf("two-year parcours: %d history events, %d bytes, %d run(s) (continue-as-new threshold %d in tests)\n", events, bytes, runs, canThreshold)
}
