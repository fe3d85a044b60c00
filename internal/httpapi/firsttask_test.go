package httpapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/workflows"
)

// An update delivered in a run's first workflow task (a command sent while
// no worker had yet taken the start: a worker down, a burst of starts) ran
// its handler as the handler was registered, before the run's flags were
// set: its write went through an ordinary activity instead of a local one,
// with no relance or hand-over rules. From revision 3 the flags are set
// first.
func TestUpdateInTheFirstTaskSeesTheRunsFlags(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	entered := today().AddDays(-3)
	pid := newParcours(t, entered)
	h := orientInFirstTask(ctx, t, pid, entered)
	var res workflows.UpdateResult
	require.NoError(t, h.Get(ctx, &res))
	require.Equal(t, domain.StatusAwaitingContract, res.Status)
	for _, e := range eventsOf(t, pid) {
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
			t.Errorf("activity %s scheduled: every write of a run of revision %d is a local activity", a.GetActivityType().GetName(), workflows.CurrentRevision)
		}
	}
	legal := 0
	for _, d := range items(call(t, "department", "GET", "/api/v1/parcours/"+pid, nil), "deadlines") {
		if d["kind"] == "contract" && d["basis"] == string(domain.BasisLegal) && d["status"] != string(domain.DeadlineMet) {
			legal++
		}
		if d["kind"] == "orientation" {
			require.Equal(t, string(domain.DeadlineMet), d["status"], "the orientation meets the deadlines the run begins with: %v", d)
		}
	}
	require.Equal(t, 1, legal, "one legal contract deadline")
	recordHistory(t, pid, "parcours_v11_update_in_first_task")
}

// The update waits for the run to begin, then is checked again against
// the state it will change: a late intake whose orientation limit passed
// is handed over to France Travail at its first task, and a département
// orientation sent before that task, accepted against the state not yet
// begun, is refused (D262-65-2 CASF).
func TestUpdateInTheFirstTaskIsCheckedAgainstTheBegunRun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	entered := today().AddDays(-8 * 7)
	pid := newParcours(t, entered)
	h := orientInFirstTask(ctx, t, pid, entered)
	err := h.Get(ctx, nil)
	require.Error(t, err, "handed over at the first task: the département's orientation is refused")
	require.Contains(t, err.Error(), "France Travail")
	r := call(t, "department", "GET", "/api/v1/parcours/"+pid, nil)
	require.Equal(t, "awaiting_orientation", r.body["status"], r.raw)
}

// orientInFirstTask replaces parcours pid's run by a new one (revision
// CurrentRevision) whose first workflow task holds an orientation: the
// start and the update arrive together (update-with-start).
func orientInFirstTask(ctx context.Context, t *testing.T, pid string, entered domain.Date) client.WorkflowUpdateHandle {
	t.Helper()
	wid := workflows.ParcoursWorkflowID(pid)
	require.NoError(t, fixture.tc.TerminateWorkflow(ctx, wid, "", "test: a run whose first task holds an update"))
	h, err := fixture.tc.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: fixture.tc.NewWithStartWorkflowOperation(
			client.StartWorkflowOptions{ID: wid, TaskQueue: workflows.TaskQueue, WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL},
			workflows.ParcoursWorkflow, workflows.ParcoursInput{Revision: workflows.CurrentRevision, ParcoursID: pid,
				Policy: domain.DefaultPolicy, EnteredOn: entered, ReceivedOn: entered}),
		UpdateOptions: client.UpdateWorkflowOptions{UpdateName: workflows.RecordOrientationUpdate,
			Args:         []any{domain.Orientation{Track: domain.TrackSocial, Organism: "CCAS", ReferentID: "ref-1", DecidedOn: today()}},
			WaitForStage: client.WorkflowUpdateStageCompleted},
	})
	require.NoError(t, err)
	return h
}
