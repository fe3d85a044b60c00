package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/workflows"
)

// twoYearParcours drives one parcours through two years of steps over the
// HTTP API (entry and orientation, four six-month contracts with their
// reviews, a refused re-orientation request, three actions with their
// outcomes and 3- and 6-month follow-ups, the exit), then reads its history
// from the server, over every run of a continue-as-new chain: events, and
// bytes as the server stores them (the protobuf size of each event).
//
// The dates are the last two years': each step is sent now, dated in the
// past, so timers that a real parcours would see fire one by one over two
// years (a follow-up's opening, a review's) fire together or not at all.
// The count is the history of these steps, not of two years of waiting.
// The SDK's time-skipping test environment keeps no history, and the
// embedded server has no clock to move: this is the history we can measure.
func twoYearParcours(ctx context.Context, r *rig, s *site) (events, size, runs int, err error) {
	now := domain.DateOf(time.Now())
	start := now.AddMonths(-24)
	call := func(token, path string, body any, want int) (map[string]any, error) {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.server.URL+path, bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != want {
			return nil, fmt.Errorf("POST %s : statut %d : %s", path, resp.StatusCode, raw)
		}
		var out map[string]any
		return out, json.Unmarshal(raw, &out)
	}
	v, err := call(s.department, "/api/v1/parcours", map[string]any{"beneficiary_id": fmt.Sprintf("BANC-2ANS-%d", time.Now().UnixNano()),
		"last_name": "Banc", "first_name": "Essai", "birth_date": "1990-05-04", "entered_at": start.String()}, http.StatusCreated)
	if err != nil {
		return 0, 0, 0, err
	}
	pid, _ := v["id"].(string)
	base := "/api/v1/parcours/" + pid
	type step struct {
		token, path string
		body        map[string]any
		want        int
	}
	steps := []step{{s.department, base + "/orientation", map[string]any{"track": "social", "organism": "CCAS", "referent_id": "ref-1",
		"decided_on": start.AddDays(5).String()}, http.StatusOK}}
	for i := range 4 {
		from := start.AddMonths(1 + 6*i)
		c := map[string]any{"kind": "cer", "signed_on": from.String(), "starts_on": from.String(), "ends_on": from.AddMonths(6).AddDays(-1).String()}
		if i > 0 {
			c["assessment"] = fmt.Sprintf("Bilan du contrat %d", i)
		}
		steps = append(steps, step{s.referent, base + "/contracts", c, http.StatusOK})
		if reviewed := from.AddMonths(6).AddDays(-5); !reviewed.After(now) {
			steps = append(steps, step{s.referent, base + "/reviews", map[string]any{"reviewed_on": reviewed.String(), "outcome": "continue"}, http.StatusOK})
		}
		if i == 1 {
			steps = append(steps,
				step{s.referent, base + "/reorientation-requests", map[string]any{"reason": "r", "requested_on": from.AddMonths(2).String()}, http.StatusOK},
				step{s.department, base + "/reorientation-decision", map[string]any{"accept": false, "decided_on": from.AddMonths(2).String(), "reason": "non"}, http.StatusOK})
		}
	}
	for a := 1; a <= 3; a++ {
		st := start.AddMonths(2 + 4*a)
		steps = append(steps,
			step{s.referent, base + "/actions", map[string]any{"name": fmt.Sprintf("Action %d", a), "kind": "training", "structure": "AFPA",
				"starts_on": st.String(), "planned_end_on": st.AddMonths(2).String()}, http.StatusCreated},
			step{s.referent, fmt.Sprintf("%s/actions/%d/outcome", base, a), map[string]any{"ended_on": st.AddMonths(2).String(),
				"category": "mise_en_parcours_professionnel", "detail": "short_or_part_time_contract"}, http.StatusOK})
		for _, m := range []int{3, 6} {
			steps = append(steps, step{s.referent, fmt.Sprintf("%s/actions/%d/follow-ups/%d", base, a, m),
				map[string]any{"answered_on": st.AddMonths(2 + m).String(), "situation": "training"}, http.StatusOK})
		}
	}
	steps = append(steps, step{s.department, base + "/exit", map[string]any{"reason": "end_of_rights", "on": now.String()}, http.StatusOK})
	for _, st := range steps {
		if _, err := call(st.token, st.path, st.body, st.want); err != nil {
			return 0, 0, 0, err
		}
	}
	// The exit answered; the workflow ends once its last write is done.
	run := r.tc.GetWorkflow(ctx, workflows.ParcoursWorkflowID(pid), "")
	if err := run.Get(ctx, nil); err != nil {
		return 0, 0, 0, fmt.Errorf("parcours de deux ans : %w", err)
	}
	// From the last run back to the first: each run's start names the run
	// it continues.
	for runID := ""; ; {
		iter := r.tc.GetWorkflowHistory(ctx, workflows.ParcoursWorkflowID(pid), runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		runs++
		runID = ""
		for iter.HasNext() {
			e, err := iter.Next()
			if err != nil {
				return 0, 0, 0, err
			}
			events++
			size += e.Size()
			if a := e.GetWorkflowExecutionStartedEventAttributes(); a != nil {
				runID = a.GetContinuedExecutionRunId()
			}
		}
		if runID == "" {
			break
		}
	}
	return events, size, runs, nil
}
