package workflows_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/temporal"
	"github.com/parcours-rsa/parcours/internal/temporal/embedded"
	"github.com/parcours-rsa/parcours/workflows"
)

// TestRecordRuleTakeover records parcours_v13_decret_fictif_takes_over for
// the replay tests (make record-history), on a real Temporal server, under
// the fictional decrees of workflows.LawsOfV13: a parcours oriented on 20
// November 2026 owes its contract by 20 December (2025 law); the fictional
// decree in force since 1 December 2026 takes that running deadline over
// (4 months: 20 March 2027), and the one of 1 March 2027 will take it over
// again (the parcours plans to wake then). A rules_deployed signal then
// wakes it: nothing more to change. The read model is a no-op here: the
// history is what matters. It records once, in December 2026 (before the
// 2025-law deadline passes), and never overwrites.
func TestRecordRuleTakeover(t *testing.T) {
	dir := os.Getenv("PARCOURS_RECORD_HISTORY")
	if dir == "" {
		t.Skip("records a history when PARCOURS_RECORD_HISTORY names a directory (make record-history)")
	}
	file := filepath.Join(dir, "parcours_v13_decret_fictif_takes_over.json")
	if _, err := os.Stat(file); err == nil {
		t.Skipf("%s exists: recorded histories are never overwritten", file)
	}
	today := domain.DateOf(time.Now())
	if today.Before(domain.NewDate(2026, 12, 1)) || today.After(domain.NewDate(2026, 12, 20)) {
		t.Skipf("the scenario's dates hold from 01/12/2026 to 20/12/2026, not on %s", today.French())
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	port, err := temporal.FreePort()
	require.NoError(t, err)
	srv, err := embedded.StartServer(embedded.ServerOptions{DataDir: t.TempDir(), Port: port, Logger: logger, LogLevel: slog.LevelError})
	require.NoError(t, err)
	defer srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := temporal.Dial(ctx, srv.Client(temporal.ClientOptions{Address: srv.Address(), Namespace: "default", Logger: logger}))
	require.NoError(t, err)
	defer c.Close()
	w := worker.New(c, workflows.TaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.NewParcours(workflows.LawsOfV13), workflows.RegisterOptions())
	w.RegisterActivityWithOptions(func(context.Context, workflows.SyncInput) error { return nil },
		activity.RegisterOptions{Name: workflows.SyncParcoursActivity})
	require.NoError(t, w.Start())
	defer w.Stop()

	id := workflows.ParcoursWorkflowID("v13")
	_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue}, workflows.ParcoursWorkflow,
		workflows.ParcoursInput{Revision: workflows.CurrentRevision, ParcoursID: "v13", Policy: "departement",
			EnteredOn: domain.NewDate(2026, 11, 2), ReceivedOn: domain.NewDate(2026, 11, 2)})
	require.NoError(t, err)
	// As the service does (update-with-start): registered first.
	reg, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: workflows.RegisterUpdate,
		WaitForStage: client.WorkflowUpdateStageCompleted})
	require.NoError(t, err)
	require.NoError(t, reg.Get(ctx, nil))
	orient := domain.Orientation{Track: domain.TrackSocial, Organism: "CCAS", ReferentID: "ref-1",
		DecidedOn: domain.NewDate(2026, 11, 20), NotifiedOn: domain.NewDate(2026, 11, 20)}
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: workflows.RecordOrientationUpdate,
		Args: []any{orient}, WaitForStage: client.WorkflowUpdateStageCompleted})
	require.NoError(t, err)
	require.NoError(t, h.Get(ctx, nil))

	// The loop wakes after the update and hands the deadline to the decree.
	require.Eventually(t, func() bool {
		v, err := c.QueryWorkflow(ctx, id, "", workflows.StateQuery)
		if err != nil {
			return false
		}
		var s workflows.ParcoursState
		if v.Get(&s) != nil {
			return false
		}
		for _, d := range s.Deadlines {
			if d.Key() == "contract/legal" && d.RuleSet == "decret-fictif-2026" {
				return d.DueOn == domain.NewDate(2027, 3, 20)
			}
		}
		return false
	}, time.Minute, 100*time.Millisecond, "the fictional decree of 2026 takes the contract deadline over")
	require.NoError(t, c.SignalWorkflow(ctx, id, "", workflows.RulesSignal, nil))

	// The signal's workflow task done, the history is complete.
	var hist *historypb.History
	require.Eventually(t, func() bool {
		hist = &historypb.History{}
		iter := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		signalled, done := false, false
		for iter.HasNext() {
			e, err := iter.Next()
			if err != nil {
				return false
			}
			hist.Events = append(hist.Events, e)
			signalled = signalled || e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
			// A task's commands are written with its completion.
			done = done || signalled && e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
		}
		return done
	}, time.Minute, 200*time.Millisecond, "the signal's workflow task completes")
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, b, 0o644))
}
