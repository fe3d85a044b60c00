package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/httpapi"
	"github.com/parcours-rsa/parcours/workflows"
)

// historyResult is the history of the two-year parcours.
type historyResult struct {
	events, bytes, runs int
	skipping, skipBytes int           // time-skipping bookkeeping events, not counted in events and bytes
	skips               int           // fast-forwards
	timers              int           // timers fired
	span                time.Duration // first event to last, in server time
}

// twoYearParcours lives one parcours through two years of steps on the
// embedded server, in server time: entry and orientation, four six-month
// contracts with their reviews, a refused re-orientation request, three
// actions with their outcomes and 3- and 6-month follow-ups, the exit.
//
// Between two steps the bench fast-forwards the execution to the next
// step's day with the server's time skipping (UpdateWorkflowExecutionOptions
// with a TimeSkippingConfig, then PollWorkflowExecutionTimeSkipping): the
// server moves the execution's clock, every timer the workflow armed fires
// at its own instant in between, and workflow.Now is that clock. Each step
// is then sent over the HTTP API of an app.Service whose clock (NowFunc) is
// the execution's, so that its dates are "today". The SDK's time-skipping
// test environment keeps no history; this is a real one.
//
// It returns the events and bytes (protobuf size of each event) of every
// run of the continue-as-new chain, without the events time skipping itself
// adds (options updated, skipping transitioned), counted apart.
func twoYearParcours(ctx context.Context, r *rig, s *site) (historyResult, error) {
	var res historyResult
	var skewNanos atomic.Int64 // the execution's clock minus the real one
	now := func() time.Time { return time.Now().Add(time.Duration(skewNanos.Load())) }
	svc := &app.Service{DB: r.db, Temporal: r.tc, Policy: r.svc.Policy, Logger: r.o.Logger, NowFunc: now}
	api := httptest.NewServer((&httpapi.Handler{Service: svc, Logger: r.o.Logger}).Routes())
	defer api.Close()
	call := func(token, path string, body any, want int) (map[string]any, error) {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, api.URL+path, bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := api.Client().Do(req)
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
	start := domain.DateOf(now())
	v, err := call(s.department, "/api/v1/parcours", map[string]any{"beneficiary_id": fmt.Sprintf("BANC-2ANS-%d", time.Now().UnixNano()),
		"last_name": "Banc", "first_name": "Essai", "birth_date": "1990-05-04", "entered_at": start.String()}, http.StatusCreated)
	if err != nil {
		return res, err
	}
	pid, _ := v["id"].(string)
	wid := workflows.ParcoursWorkflowID(pid)
	base := "/api/v1/parcours/" + pid
	type step struct {
		on          domain.Date
		token, path string
		body        map[string]any
		want        int
	}
	orientedOn := start.AddDays(5)
	steps := []step{{orientedOn, s.department, base + "/orientation", map[string]any{"track": "social", "organism": "CCAS", "referent_id": "ref-1",
		"decided_on": orientedOn.String()}, http.StatusOK}}
	for i := range 4 {
		from := start.AddMonths(1 + 6*i)
		c := map[string]any{"kind": "cer", "signed_on": from.String(), "starts_on": from.String(), "ends_on": from.AddMonths(6).AddDays(-1).String()}
		if i > 0 {
			c["assessment"] = fmt.Sprintf("Bilan du contrat %d", i)
		}
		steps = append(steps, step{from, s.referent, base + "/contracts", c, http.StatusOK})
		if reviewed := from.AddMonths(6).AddDays(-5); reviewed.Before(start.AddMonths(24)) {
			steps = append(steps, step{reviewed, s.referent, base + "/reviews", map[string]any{"reviewed_on": reviewed.String(), "outcome": "continue"}, http.StatusOK})
		}
		if i == 1 {
			on := from.AddMonths(2)
			steps = append(steps,
				step{on, s.referent, base + "/reorientation-requests", map[string]any{"reason": "r", "requested_on": on.String()}, http.StatusOK},
				step{on.AddDays(1), s.department, base + "/reorientation-decision", map[string]any{"accept": false, "decided_on": on.AddDays(1).String(), "reason": "non"}, http.StatusOK})
		}
	}
	for a := 1; a <= 3; a++ {
		st := start.AddMonths(2 + 4*a).AddDays(2)
		end := st.AddMonths(2)
		steps = append(steps,
			step{st, s.referent, base + "/actions", map[string]any{"name": fmt.Sprintf("Action %d", a), "kind": "training", "structure": "AFPA",
				"starts_on": st.String(), "planned_end_on": end.String()}, http.StatusCreated},
			step{end, s.referent, fmt.Sprintf("%s/actions/%d/outcome", base, a), map[string]any{"ended_on": end.String(),
				"category": "mise_en_parcours_professionnel", "detail": "short_or_part_time_contract"}, http.StatusOK})
		for _, m := range []int{3, 6} {
			on := end.AddMonths(m).AddDays(3)
			steps = append(steps, step{on, s.referent, fmt.Sprintf("%s/actions/%d/follow-ups/%d", base, a, m),
				map[string]any{"answered_on": on.String(), "situation": "training"}, http.StatusOK})
		}
	}
	exit := start.AddMonths(24)
	steps = append(steps, step{exit, s.department, base + "/exit", map[string]any{"reason": "end_of_rights", "on": exit.String()}, http.StatusOK})
	slices.SortStableFunc(steps, func(x, y step) int {
		switch {
		case x.on.Before(y.on):
			return -1
		case y.on.Before(x.on):
			return 1
		}
		return 0
	})
	for i, st := range steps {
		// Noon of the step's day, in the execution's clock.
		at := st.on.Time().Add(12 * time.Hour)
		if d := at.Sub(now()); d > 0 {
			target, err := fastForward(ctx, r, wid, fmt.Sprintf("etape-%d", i), d)
			if err != nil {
				if d, derr := r.tc.DescribeWorkflowExecution(ctx, wid, ""); derr == nil {
					err = fmt.Errorf("%w (exécution %s, %d événements, étape %s)", err, d.GetWorkflowExecutionInfo().GetStatus(), d.GetWorkflowExecutionInfo().GetHistoryLength(), st.path[len(base):])
				}
				return res, fmt.Errorf("avance du temps avant l'étape %d : %w", i+1, err)
			}
			skewNanos.Store(int64(time.Until(target)))
			res.skips++
		}
		if _, err := call(st.token, st.path, st.body, st.want); err != nil {
			return res, err
		}
	}
	// The exit answered; the workflow ends once its last write is done.
	if err := r.tc.GetWorkflow(ctx, wid, "").Get(ctx, nil); err != nil {
		return res, fmt.Errorf("fin du parcours : %w", err)
	}
	// From the last run back to the first: each run's start names the run
	// it continues.
	var first, last time.Time // the earliest and latest events
	for runID := ""; ; {
		iter := r.tc.GetWorkflowHistory(ctx, wid, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		res.runs++
		runID = ""
		for iter.HasNext() {
			e, err := iter.Next()
			if err != nil {
				return res, err
			}
			switch e.GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIME_SKIPPING_TRANSITIONED:
				res.skipping++
				res.skipBytes += e.Size()
				continue
			}
			res.events++
			res.bytes += e.Size()
			if e.GetEventType() == enumspb.EVENT_TYPE_TIMER_FIRED {
				res.timers++
			}
			if t := e.GetEventTime().AsTime(); first.IsZero() || t.Before(first) {
				first = t
			}
			if t := e.GetEventTime().AsTime(); t.After(last) {
				last = t
			}
			if a := e.GetWorkflowExecutionStartedEventAttributes(); a != nil {
				runID = a.GetContinuedExecutionRunId()
			}
		}
		if runID == "" {
			break
		}
	}
	res.span = last.Sub(first)
	return res, nil
}

// fastForward moves the execution's clock d ahead and waits until it got
// there; it returns the instant reached, in the execution's clock.
func fastForward(ctx context.Context, r *rig, wid, id string, d time.Duration) (time.Time, error) {
	exec := &commonpb.WorkflowExecution{WorkflowId: wid}
	if _, err := r.tc.WorkflowService().UpdateWorkflowExecutionOptions(ctx, &workflowservice.UpdateWorkflowExecutionOptionsRequest{
		Namespace: "default", WorkflowExecution: exec,
		WorkflowExecutionOptions: &workflowpb.WorkflowExecutionOptions{TimeSkippingConfig: &commonpb.TimeSkippingConfig{Enabled: true,
			FastForwardConfig: &commonpb.FastForwardConfig{Id: id, Duration: durationpb.New(d)}}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"time_skipping_config"}},
	}); err != nil {
		return time.Time{}, err
	}
	for attempt := 0; attempt < 20; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		resp, err := r.tc.WorkflowService().PollWorkflowExecutionTimeSkipping(pctx, &workflowservice.PollWorkflowExecutionTimeSkippingRequest{
			Namespace: "default", WorkflowExecution: exec, FastForwardId: id})
		cancel()
		if err != nil && ctx.Err() != nil {
			return time.Time{}, err
		}
		if err == nil && resp.GetFastForwardInfo().GetHasCompleted() {
			return resp.GetFastForwardInfo().GetTargetTime().AsTime(), nil
		}
	}
	return time.Time{}, fmt.Errorf("avance %s de %s : pas terminée", id, d)
}
