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

// startServer starts an embedded Temporal server (SQLite, in a temporary
// directory) and returns a client of it; both stop with the test.
func startServer(t *testing.T) client.Client {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	port, err := temporal.FreePort()
	require.NoError(t, err)
	srv, err := embedded.StartServer(embedded.ServerOptions{DataDir: t.TempDir(), Port: port, Logger: logger, LogLevel: slog.LevelError})
	require.NoError(t, err)
	t.Cleanup(srv.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := temporal.Dial(ctx, srv.Client(temporal.ClientOptions{Address: srv.Address(), Namespace: "default", Logger: logger}))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// startWorker runs the parcours workflow under laws; its read model is a
// no-op (these tests look at the workflow's state and history).
func startWorker(t *testing.T, c client.Client, laws domain.Catalogue) worker.Worker {
	t.Helper()
	w := worker.New(c, workflows.TaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.NewParcours(workflows.ParcoursOptions{Laws: laws}), workflows.RegisterOptions())
	w.RegisterActivityWithOptions(func(context.Context, workflows.SyncInput) error { return nil },
		activity.RegisterOptions{Name: workflows.SyncParcoursActivity})
	require.NoError(t, w.Start())
	return w
}

// startOriented starts parcours pid entered on entered, registers it as the
// service does (update-with-start), and records its social orientation
// decided and notified on oriented.
func startOriented(ctx context.Context, t *testing.T, c client.Client, pid string, entered, oriented domain.Date) {
	t.Helper()
	id := workflows.ParcoursWorkflowID(pid)
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue}, workflows.ParcoursWorkflow,
		workflows.ParcoursInput{Revision: workflows.CurrentRevision, ParcoursID: pid, Policy: "departement", EnteredOn: entered, ReceivedOn: entered})
	require.NoError(t, err)
	for _, u := range []client.UpdateWorkflowOptions{
		{WorkflowID: id, UpdateName: workflows.RegisterUpdate, WaitForStage: client.WorkflowUpdateStageCompleted},
		{WorkflowID: id, UpdateName: workflows.RecordOrientationUpdate, WaitForStage: client.WorkflowUpdateStageCompleted,
			Args: []any{domain.Orientation{Track: domain.TrackSocial, Organism: "CCAS", ReferentID: "ref-1", DecidedOn: oriented, NotifiedOn: oriented}}},
	} {
		h, err := c.UpdateWorkflow(ctx, u)
		require.NoError(t, err)
		require.NoError(t, h.Get(ctx, nil))
	}
}

// awaitContract waits until the parcours' legal contract deadline follows
// ruleSet and falls due on due.
func awaitContract(ctx context.Context, t *testing.T, c client.Client, id, ruleSet string, due domain.Date) {
	t.Helper()
	var last workflows.DeadlineState
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
			if d.Key() == "contract/legal" {
				last = d
			}
		}
		return last.RuleSet == ruleSet && last.DueOn == due
	}, time.Minute, 100*time.Millisecond, "the legal contract deadline follows %s, due on %s (last seen: %+v)", ruleSet, due, &last)
}

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
	c := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := startWorker(t, c, workflows.LawsOfV13)
	defer w.Stop()

	id := workflows.ParcoursWorkflowID("v13")
	startOriented(ctx, t, c, "v13", domain.NewDate(2026, 11, 2), domain.NewDate(2026, 11, 20))
	// The loop wakes after the update and hands the deadline to the decree.
	awaitContract(ctx, t, c, id, "decret-fictif-2026", domain.NewDate(2027, 3, 20))
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

// TestDeployedDecreeReachesASleepingParcours: a parcours runs under the
// service's rule sets, its contract due a month after its orientation's
// notification. A decree that takes over running deadlines came into force
// two days ago and is deployed late: the worker restarts with it. The
// parcours, asleep until a later deadline, learns of it from the
// rules_deployed signal (parcours admin regles); the new code replays the tasks that ran before the
// deployment as they ran (their version gate says no), then adopts the
// decree in the signal's task.
func TestDeployedDecreeReachesASleepingParcours(t *testing.T) {
	t.Parallel()
	c := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	today := domain.DateOf(time.Now())
	entered, oriented := today.AddDays(-10), today.AddDays(-5)
	decree := domain.RuleSet{
		Name: "decret-deploye", Basis: domain.BasisLegal, Label: "délai légal", Source: "décret fictif (essai)",
		InForceFrom: today.AddDays(-2), Transition: domain.TransitionRunning,
		Rules: []domain.Rule{{Kind: domain.DeadlineContract, Delay: domain.Delay{Months: 2}, From: domain.AnchorNotification, Source: "décret fictif"}},
	}
	before := startWorker(t, c, domain.Laws)
	id := workflows.ParcoursWorkflowID("deployed")
	startOriented(ctx, t, c, "deployed", entered, oriented)
	awaitContract(ctx, t, c, id, "loi-2025", oriented.AddMonths(1))
	before.Stop()

	after := startWorker(t, c, domain.Laws.With(decree))
	defer after.Stop()
	// parcours admin regles: every running parcours (visibility lists it
	// a moment after its start).
	require.Eventually(t, func() bool {
		n, err := temporal.AnnounceRules(ctx, c, nil)
		require.NoError(t, err)
		return n == 1
	}, time.Minute, 200*time.Millisecond, "the parcours is signalled")
	awaitContract(ctx, t, c, id, "decret-deploye", oriented.AddMonths(2))
}
