package temporal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/parcours-rsa/parcours/workflows"
)

// The operators' tools on workflows (parcours admin): what `temporal
// workflow describe | list | reset | terminate` do, named by parcours and
// through the service's own client (its address, namespace and TLS).

// WorkflowID is the workflow an operator names: a parcours' id (a UUID),
// or else a workflow's own id, as Temporal lists it (parcours-…, review-…,
// the digests'), taken as it is.
func WorkflowID(name string) string {
	if _, err := uuid.Parse(name); err == nil {
		return workflows.ParcoursWorkflowID(name)
	}
	return name
}

// WorkflowReport is what an operator reads of a workflow: no payload (no
// personal data, and nothing of the parcours' state), only its engine.
type WorkflowReport struct {
	WorkflowID, RunID, Type string
	Status                  enumspb.WorkflowExecutionStatus
	Started                 time.Time
	HistoryLength           int64
	HistorySize             int64
	// TaskAttempt is the attempt of the pending workflow task (0: none);
	// TaskSince when it was first scheduled. A task pending for long is a
	// workflow stuck: failing (attempt > 1, a panic or a non-deterministic
	// change) or retrying a local activity (the read model's write while
	// PostgreSQL is unreachable).
	TaskAttempt int32
	TaskSince   time.Time
	Activities  []PendingActivity
	Problems    []string // TemporalReportedProblems, set by the server after repeated workflow task failures
}

// PendingActivity is an activity that has not ended yet.
type PendingActivity struct {
	Type        string
	Attempt     int32
	LastFailure string
}

// Stuck says why the workflow needs an operator, or "".
func (r WorkflowReport) Stuck(now time.Time, after time.Duration) string {
	var why []string
	if len(r.Problems) > 0 {
		why = append(why, "tâche de workflow en échec répété ("+strings.Join(r.Problems, ", ")+")")
	}
	if r.TaskAttempt > 1 {
		why = append(why, fmt.Sprintf("tâche de workflow à sa tentative %d", r.TaskAttempt))
	}
	if r.TaskAttempt > 0 && !r.TaskSince.IsZero() && now.Sub(r.TaskSince) > after {
		why = append(why, fmt.Sprintf("tâche de workflow en cours depuis %s (activité locale qui échoue, par exemple la base injoignable)",
			now.Sub(r.TaskSince).Round(time.Second)))
	}
	for _, a := range r.Activities {
		if a.Attempt > 1 {
			why = append(why, fmt.Sprintf("activité %s à sa tentative %d (%s)", a.Type, a.Attempt, a.LastFailure))
		}
	}
	return strings.Join(why, " ; ")
}

// DescribeWorkflow reports on the current run of a workflow.
func DescribeWorkflow(ctx context.Context, c client.Client, workflowID string) (WorkflowReport, error) {
	d, err := c.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return WorkflowReport{}, fmt.Errorf("workflow %s : %w", workflowID, err)
	}
	info := d.GetWorkflowExecutionInfo()
	r := WorkflowReport{
		WorkflowID: info.GetExecution().GetWorkflowId(), RunID: info.GetExecution().GetRunId(), Type: info.GetType().GetName(),
		Status: info.GetStatus(), Started: info.GetStartTime().AsTime(),
		HistoryLength: info.GetHistoryLength(), HistorySize: info.GetHistorySizeBytes(),
	}
	if t := d.GetPendingWorkflowTask(); t != nil {
		r.TaskAttempt, r.TaskSince = t.GetAttempt(), t.GetOriginalScheduledTime().AsTime()
	}
	for _, a := range d.GetPendingActivities() {
		r.Activities = append(r.Activities, PendingActivity{Type: a.GetActivityType().GetName(), Attempt: a.GetAttempt(), LastFailure: a.GetLastFailure().GetMessage()})
	}
	if p := info.GetSearchAttributes().GetIndexedFields()["TemporalReportedProblems"]; p != nil {
		var problems []string
		if err := converter.GetDefaultDataConverter().FromPayload(p, &problems); err == nil {
			r.Problems = problems
		}
	}
	return r, nil
}

// StuckWorkflows lists the running workflows that need an operator: those
// the server marked for repeated workflow task failures (a query of its
// visibility store) and, with scan, every running one whose workflow task
// has been pending for more than after or whose activities retry (one
// describe each: about a minute per 10,000 workflows). progress, when set,
// is told how many were scanned.
func StuckWorkflows(ctx context.Context, c client.Client, after time.Duration, scan bool, progress func(int)) ([]WorkflowReport, error) {
	query := `ExecutionStatus = "Running" AND TemporalReportedProblems IS NOT NULL`
	if scan {
		query = `ExecutionStatus = "Running"`
	}
	var stuck []WorkflowReport
	var token []byte
	seen := 0
	for {
		page, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 1000, NextPageToken: token})
		if err != nil {
			return stuck, fmt.Errorf("liste des workflows : %w", err)
		}
		for _, e := range page.GetExecutions() {
			r, err := DescribeWorkflow(ctx, c, e.GetExecution().GetWorkflowId())
			if err != nil {
				return stuck, err
			}
			seen++
			if r.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && (!scan || r.Stuck(time.Now(), after) != "") {
				stuck = append(stuck, r)
			}
			if progress != nil && seen%1000 == 0 {
				progress(seen)
			}
		}
		if token = page.GetNextPageToken(); len(token) == 0 {
			return stuck, nil
		}
	}
}

// ResetWorkflow resets a workflow's current run to the end of a workflow
// task: eventID (a WorkflowTaskCompleted event of its history), or 0 for
// the last completed one, the usual reset once a fix for a failing
// workflow task is deployed. The server starts a new run from that point
// and reapplies the signals and updates received after it: nothing an
// operator or a référent recorded is lost. Activities after the point run
// again; the read model's writes are idempotent (their version guard).
func ResetWorkflow(ctx context.Context, c client.Client, namespace, workflowID string, eventID int64, reason string) (runID string, err error) {
	if strings.TrimSpace(reason) == "" {
		return "", errors.New("indiquez la raison (--raison) : elle reste dans l'historique du workflow")
	}
	d, err := c.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return "", fmt.Errorf("workflow %s : %w", workflowID, err)
	}
	run := d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	if eventID == 0 {
		it := c.GetWorkflowHistory(ctx, workflowID, run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				return "", fmt.Errorf("historique de %s : %w", workflowID, err)
			}
			if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
				eventID = e.GetEventId()
			}
		}
		if eventID == 0 {
			return "", fmt.Errorf("workflow %s : aucune tâche de workflow terminée où revenir", workflowID)
		}
	}
	res, err := c.ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{
		Namespace:                 namespace,
		WorkflowExecution:         &commonpb.WorkflowExecution{WorkflowId: workflowID, RunId: run},
		Reason:                    reason,
		WorkflowTaskFinishEventId: eventID,
		RequestId:                 uuid.NewString(),
	})
	if err != nil {
		return "", fmt.Errorf("réinitialiser %s à l'événement %d : %w", workflowID, eventID, err)
	}
	return res.GetRunId(), nil
}

// TerminateWorkflow ends a workflow's current run at once: its timers and
// pending work are dropped, and the read model keeps the parcours as the
// workflow last wrote it. Prefer ResetWorkflow.
func TerminateWorkflow(ctx context.Context, c client.Client, workflowID, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return errors.New("indiquez la raison (--raison) : elle reste dans l'historique du workflow")
	}
	if err := c.TerminateWorkflow(ctx, workflowID, "", reason); err != nil {
		return fmt.Errorf("arrêter %s : %w", workflowID, err)
	}
	return nil
}
