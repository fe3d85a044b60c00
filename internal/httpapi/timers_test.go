package httpapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/parcours-rsa/parcours/activities"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/workflows"
)

// refuseWrites makes PostgreSQL refuse the read model's writes of one
// parcours (its new events) for d from now: a trigger of the test's own.
func refuseWrites(t *testing.T, pid string, d time.Duration) {
	t.Helper()
	name := fmt.Sprintf("refuse_%d", seq.Add(1))
	until := time.Now().Add(d).UTC().Format(time.RFC3339Nano)
	ctx := context.Background()
	_, err := fixture.db.Pool.Exec(ctx, fmt.Sprintf(`
		CREATE FUNCTION %[1]s() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.parcours_id = '%[2]s'::uuid AND clock_timestamp() < '%[3]s'::timestamptz THEN
				RAISE EXCEPTION 'la base refuse l''écriture (test)';
			END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER %[1]s BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION %[1]s();`, name, pid, until))
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := fixture.db.Pool.Exec(ctx, fmt.Sprintf(`DROP TRIGGER %[1]s ON events; DROP FUNCTION %[1]s();`, name))
		require.NoError(t, err)
	})
}

// orientThroughTemporal sends an orientation straight to the workflow and
// waits, up to within, for its write to the read model.
func orientThroughTemporal(t *testing.T, pid string, within time.Duration) workflows.UpdateResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	h, err := fixture.tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.ParcoursWorkflowID(pid), UpdateName: workflows.RecordOrientationUpdate,
		Args:         []any{domain.Orientation{Track: domain.TrackSocial, Organism: "CCAS", ReferentID: "ref-1", DecidedOn: today()}},
		WaitForStage: client.WorkflowUpdateStageAccepted,
	})
	require.NoError(t, err)
	var res workflows.UpdateResult
	require.NoError(t, h.Get(ctx, &res), "written once PostgreSQL took it")
	return res
}

// eventsOf is the current run's history of a parcours.
func eventsOf(t *testing.T, pid string) []*historypb.HistoryEvent {
	t.Helper()
	return workflowEvents(t, workflows.ParcoursWorkflowID(pid))
}

// workflowEvents is the current run's history of a workflow.
func workflowEvents(t *testing.T, workflowID string) []*historypb.HistoryEvent {
	t.Helper()
	var out []*historypb.HistoryEvent
	iter := fixture.tc.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		e, err := iter.Next()
		require.NoError(t, err)
		out = append(out, e)
	}
	return out
}

func newParcours(t *testing.T, entered domain.Date) string {
	t.Helper()
	r := post(t, "department", "/api/v1/parcours", intakeBody(beneficiary(t), entered.String()))
	require.Equal(t, 201, r.status, r.raw)
	return r.body["id"].(string)
}

// A write of the read model refused for 20 s is retried, past the
// workflow-task timeout, through a timer of the workflow, then written.
// Its history is recorded for the replay tests (make record-history).
func TestReadModelWriteFailedThenRetried(t *testing.T) {
	t.Parallel()
	pid := newParcours(t, today().AddDays(-3))
	refuseWrites(t, pid, 20*time.Second)
	res := orientThroughTemporal(t, pid, 2*time.Minute)
	require.Equal(t, domain.StatusAwaitingContract, res.Status)
	require.Equal(t, "awaiting_contract", call(t, "department", "GET", "/api/v1/parcours/"+pid, nil).body["status"])
	timers := 0
	for _, e := range eventsOf(t, pid) {
		if e.GetTimerStartedEventAttributes() != nil {
			timers++
		}
		require.Nil(t, e.GetActivityTaskScheduledEventAttributes(), "a local activity to the end")
	}
	require.Positive(t, timers, "a retry after the workflow-task timeout waits on a timer")
	recordHistory(t, pid, "parcours_v11_write_failed_then_retried")
}

// fallbackLimit is the local activity's limit of the worker of
// TestReadModelWriteFallsBackToAnActivity, instead of the service's 2
// minutes (workflows.ParcoursOptions.SyncLocalLimit: an option of the
// worker, not in the history). At 20 s the local activity's last attempt
// (15 s after the first: backoffs of 1, 2, 4 and 8 s) comes after the
// workflow-task timeout (10 s), as with the service's limit.
const fallbackLimit = 20 * time.Second

// A write refused longer than the local activity's limit goes on as an
// ordinary activity, then is written: the history stays small. A run of
// revision 2 (open at the upgrade) asks the gate "timers-sync-fallback" at
// that point. The runs are on a queue of the test's own, whose worker has
// the limit fallbackLimit. Both histories are recorded for the replay
// tests (make record-history).
func TestReadModelWriteFallsBackToAnActivity(t *testing.T) {
	t.Parallel()
	queue := fmt.Sprintf("timers-fallback-%d", seq.Add(1))
	w := parcoursWorker(queue, sdkworker.Options{}, workflows.ParcoursOptions{SyncLocalLimit: fallbackLimit})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop) // after the subtests
	for _, revision := range []int{workflows.CurrentRevision, 2} {
		t.Run(fmt.Sprintf("revision %d", revision), func(t *testing.T) {
			t.Parallel()
			entered := today().AddDays(-3)
			pid := newParcours(t, entered)
			name := "parcours_v11_sync_fallback"
			if revision < 3 {
				startRevision2(t, pid, entered, queue)
				name = "parcours_v11_sync_fallback_gate"
			} else {
				restart(t, pid, workflows.ParcoursInput{Revision: revision, ParcoursID: pid, Policy: domain.DefaultPolicy, EnteredOn: entered}, queue)
			}
			refuseWrites(t, pid, fallbackLimit+20*time.Second)
			res := orientThroughTemporal(t, pid, 5*time.Minute)
			require.Equal(t, domain.StatusAwaitingContract, res.Status)
			require.Equal(t, "awaiting_contract", call(t, "department", "GET", "/api/v1/parcours/"+pid, nil).body["status"])
			events := eventsOf(t, pid)
			activities := 0
			for _, e := range events {
				if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == workflows.SyncParcoursActivity {
					activities++
				}
			}
			require.Equal(t, 1, activities, "the write went on as an ordinary activity")
			require.Less(t, len(events), 90, "the history stays small")
			if revision < 3 {
				require.Contains(t, versionMarkers(events), "timers-sync-fallback")
			}
			t.Logf("%d events", len(events))
			recordHistory(t, pid, name)
		})
	}
}

// startRevision2 replaces the run an intake started by a run of revision 2
// (as a process of the code before revision 3 would start it), on queue,
// and waits for its first write.
func startRevision2(t *testing.T, pid string, entered domain.Date, queue string) {
	t.Helper()
	restart(t, pid, workflows.ParcoursInput{Revision: 2, ParcoursID: pid, Policy: domain.DefaultPolicy, EnteredOn: entered}, queue)
}

// restart replaces parcours pid's run by one started with in on queue, and
// waits for its first write.
func restart(t *testing.T, pid string, in workflows.ParcoursInput, queue string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wid := workflows.ParcoursWorkflowID(pid)
	require.NoError(t, fixture.tc.TerminateWorkflow(ctx, wid, "", "test: another run replaces it"))
	_, err := fixture.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wid, TaskQueue: queue}, workflows.ParcoursWorkflow, in)
	require.NoError(t, err)
	h, err := fixture.tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: wid, UpdateName: workflows.RegisterUpdate, WaitForStage: client.WorkflowUpdateStageCompleted})
	require.NoError(t, err)
	require.NoError(t, h.Get(ctx, nil))
}

// timersIn counts a history's timers started, fired and cancelled.
func timersIn(events []*historypb.HistoryEvent) (started, fired, cancelled int) {
	for _, e := range events {
		switch {
		case e.GetTimerStartedEventAttributes() != nil:
			started++
		case e.GetTimerFiredEventAttributes() != nil:
			fired++
		case e.GetTimerCanceledEventAttributes() != nil:
			cancelled++
		}
	}
	return started, fired, cancelled
}

// Relances, a breach, and its case through notice, hearing and decision:
// the hearing ends the case's wait for the end of the observation period,
// and cancels its timer. Both histories are recorded for the replay tests
// (make record-history).
func TestRelancesBreachHearingDecisionHistories(t *testing.T) {
	t.Parallel()
	now := today()
	pid := newOriented(t, now.AddMonths(-3), "professional", "ref-1")
	base := "/api/v1/parcours/" + pid
	for i, sent := range []domain.Date{now.AddDays(-12), now.AddDays(-11)} {
		r := post(t, "referent:ref-1", base+"/relances", map[string]any{"number": i + 1, "sent_on": sent.String(), "channel": "letter"})
		require.Equal(t, 200, r.status, r.raw)
	}
	r := post(t, "referent:ref-1", base+"/breaches", map[string]any{"kind": "refusal_contract", "facts": "Aucun contact.", "reported_on": now.AddDays(-10).String()})
	require.Equal(t, 201, r.status, r.raw)
	rid := pid + "-1"
	noticeReceived(t, rid, now.AddDays(-7), "suspension") // observations until now+3
	// The case waits for the end of the observation period on a timer
	// before the hearing comes (on a loaded machine both could otherwise
	// reach the case in one task, and no timer would ever start).
	require.Eventually(t, func() bool {
		started, _, _ := timersIn(workflowEvents(t, workflows.ReviewWorkflowID(pid, 1)))
		return started >= 1
	}, time.Minute, 200*time.Millisecond, "the observation period's timer started")
	r = post(t, "department", "/api/v1/reviews/"+rid+"/hearing", map[string]any{"on": now.AddDays(-5).String()})
	require.Equal(t, 200, r.status, r.raw)
	r = post(t, "department", "/api/v1/reviews/"+rid+"/decision", suspension(now.AddDays(-5), now.AddDays(-5), domain.Date{}))
	require.Equal(t, 200, r.status, r.raw)
	require.Eventually(t, func() bool {
		return call(t, "department", "GET", "/api/v1/reviews/"+rid, nil).body["status"] == "sanction"
	}, time.Minute, 200*time.Millisecond, "the case's decision in the read model")
	_, fired, cancelled := timersIn(workflowEvents(t, workflows.ReviewWorkflowID(pid, 1)))
	require.Equal(t, 1, cancelled, "the hearing cancelled the timer of the observation period")
	require.Zero(t, fired)
	recordHistory(t, pid, "parcours_v11_relances_breach_hearing_decision")
	recordWorkflowHistory(t, workflows.ReviewWorkflowID(pid, 1), "review_v5_notice_hearing_decision")
}

// A social-track parcours whose contract's review is recorded. Its history
// is recorded for the replay tests (make record-history).
func TestSocialReviewHistory(t *testing.T) {
	t.Parallel()
	now := today()
	entered := now.AddMonths(-8)
	pid := newOriented(t, entered, "social", "ref-1")
	base := "/api/v1/parcours/" + pid
	from := entered.AddMonths(1)
	r := post(t, "referent:ref-1", base+"/contracts", map[string]any{"kind": "cer", "signed_on": from.String(), "starts_on": from.String(),
		"ends_on": from.AddMonths(6).AddDays(-1).String()})
	require.Equal(t, 200, r.status, r.raw)
	r = post(t, "referent:ref-1", base+"/reviews", map[string]any{"reviewed_on": from.AddMonths(6).AddDays(-5).String(), "outcome": "continue"})
	require.Equal(t, 200, r.status, r.raw)
	recordHistory(t, pid, "parcours_v11_social_review")
}

// A deadline whose timer fired, on the real server: the orientation task
// turns overdue when it does, and make record-history keeps the history.
func TestDeadlineTimerFiredHistory(t *testing.T) {
	t.Parallel()
	// A calendar whose midnight is 20 s away (domain.Settings.ZoneOffset,
	// as the bench's burst): a run started in it fires its orientation
	// target's timer then, whatever the hour in Paris.
	at := time.Now().Add(20 * time.Second).Truncate(time.Second)
	off, _, entered, ok := domain.MidnightAt(at, 1, nil)
	require.True(t, ok)
	pid := newParcours(t, entered)
	settings := domain.DefaultSettings()
	settings.ZoneOffset = &off
	restart(t, pid, workflows.ParcoursInput{Revision: workflows.CurrentRevision, ParcoursID: pid, Policy: domain.DefaultPolicy,
		EnteredOn: entered, ReceivedOn: entered, Settings: &settings}, workflows.TaskQueue)
	_, fired, _ := timersIn(eventsOf(t, pid))
	require.Zero(t, fired, "nothing fired before the zone's midnight")
	require.Eventually(t, func() bool {
		_, fired, _ := timersIn(eventsOf(t, pid))
		return fired == 1
	}, 3*time.Minute, time.Second, "the timer fires at the zone's midnight")
	require.Eventually(t, func() bool {
		for _, task := range items(call(t, "department", "GET", "/api/v1/parcours/"+pid, nil), "tasks") {
			if at2, err := time.Parse(time.RFC3339, fmt.Sprint(task["overdue_at"])); task["kind"] == "orient" && err == nil && at2.Equal(at) {
				return true
			}
		}
		return false
	}, time.Minute, time.Second, "the orientation task written overdue from the zone's midnight")
	recordHistory(t, pid, "parcours_v11_deadline_timer_fired")
}

// versionMarkers are the change ids of a history's version markers.
func versionMarkers(events []*historypb.HistoryEvent) []string {
	var out []string
	for _, e := range events {
		if a := e.GetMarkerRecordedEventAttributes(); a != nil && a.GetMarkerName() == "Version" {
			for _, p := range a.GetDetails()["change-id"].GetPayloads() {
				out = append(out, strings.Trim(string(p.GetData()), `"`))
			}
		}
	}
	return out
}

// A run started with revision 2 (as a process of the code before revision 3
// starts it during a rolling deploy) asks the gate at its first wait, run
// live: it records timers-cancel-w0 and cancels its timers from there. Its
// history is recorded for the replay tests (make record-history).
func TestRevision2RunCancelsFromItsFirstLiveWait(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	entered := today().AddDays(-3)
	pid := newParcours(t, entered)
	wid := workflows.ParcoursWorkflowID(pid)
	startRevision2(t, pid, entered, workflows.TaskQueue)
	orientThroughTemporal(t, pid, time.Minute)
	uctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	h, err := fixture.tc.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{
		WorkflowID: wid, UpdateName: workflows.ReassignReferentUpdate, WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []any{domain.Reassignment{ReferentID: "ref-2", On: today()}},
	})
	require.NoError(t, err)
	require.NoError(t, h.Get(uctx, nil))
	events := eventsOf(t, pid)
	require.Contains(t, versionMarkers(events), "timers-cancel-w0")
	_, fired, cancelled := timersIn(events)
	require.Equal(t, 2, cancelled, "the orientation and the reassignment each cancelled the wait's timer")
	require.Zero(t, fired)
	recordHistory(t, pid, "parcours_v11_revision_2_cancel_gate")
}

// beforeRevision3 makes a worker run the waits as the code before revision
// 3 did: the gate "timers-cancel-w<n>" is not asked (no marker, the
// workflow keeps AwaitWithTimeout), as if the code had no such call.
type beforeRevision3 struct {
	interceptor.WorkerInterceptorBase
}

func (*beforeRevision3) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &beforeRevision3Inbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}}
}

type beforeRevision3Inbound struct {
	interceptor.WorkflowInboundInterceptorBase
}

func (i *beforeRevision3Inbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&beforeRevision3Outbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}})
}

type beforeRevision3Outbound struct {
	interceptor.WorkflowOutboundInterceptorBase
}

func (o *beforeRevision3Outbound) GetVersion(ctx workflow.Context, changeID string, minSupported, maxSupported workflow.Version) workflow.Version {
	if strings.HasPrefix(changeID, "timers-cancel-w") {
		return workflow.DefaultVersion
	}
	return o.Next.GetVersion(ctx, changeID, minSupported, maxSupported)
}

// parcoursWorker is a worker of its own queue with Parcours (of options
// parcours) and the activities registered.
func parcoursWorker(queue string, opts sdkworker.Options, parcours workflows.ParcoursOptions) sdkworker.Worker {
	w := sdkworker.New(fixture.tc, queue, opts)
	w.RegisterWorkflowWithOptions(workflows.NewParcours(parcours), workflows.RegisterOptions())
	(&activities.Activities{Store: fixture.db}).Register(w)
	return w
}

// A run open at the upgrade switches at its first wait run live: a worker
// runs it as the code before revision 3 (its two waits leave their timers
// running), stops; a worker of today's code replays those waits as they
// were, records "timers-cancel-w2" at the next one and cancels its timers
// from there. Its history is recorded for the replay tests (make
// record-history): the switch in the middle of a run replays.
func TestRunningRunSwitchesAtItsFirstLiveWait(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	entered := today().AddDays(-3)
	pid := newParcours(t, entered)
	wid := workflows.ParcoursWorkflowID(pid)
	queue := fmt.Sprintf("timers-switch-%d", seq.Add(1))
	before := parcoursWorker(queue, sdkworker.Options{Interceptors: []interceptor.WorkerInterceptor{&beforeRevision3{}}}, workflows.ParcoursOptions{})
	require.NoError(t, before.Start())
	// Registered (first write done, the loop waits), then oriented: two
	// waits run as before.
	startRevision2(t, pid, entered, queue)
	orientThroughTemporal(t, pid, time.Minute)
	before.Stop()
	sdkworker.PurgeStickyWorkflowCache()
	_, _, cancelled := timersIn(eventsOf(t, pid))
	require.Zero(t, cancelled, "the code before left the wait's timer running")

	current := parcoursWorker(queue, sdkworker.Options{}, workflows.ParcoursOptions{})
	require.NoError(t, current.Start())
	defer current.Stop()
	for _, referent := range []string{"ref-2", "ref-1"} {
		uctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		h, err := fixture.tc.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{
			WorkflowID: wid, UpdateName: workflows.ReassignReferentUpdate, WaitForStage: client.WorkflowUpdateStageCompleted,
			Args: []any{domain.Reassignment{ReferentID: referent, On: today()}},
		})
		require.NoError(t, err)
		require.NoError(t, h.Get(uctx, nil))
		cancel()
	}
	events := eventsOf(t, pid)
	var gates []string
	for _, m := range versionMarkers(events) {
		if strings.HasPrefix(m, "timers-cancel-w") {
			gates = append(gates, m)
		}
	}
	require.Equal(t, []string{"timers-cancel-w2"}, gates, "one marker, at the first wait run live")
	_, _, cancelled = timersIn(events)
	require.Equal(t, 1, cancelled, "the wait run live is cancelled by the second reassignment")
	recordHistory(t, pid, "parcours_v11_switch_at_a_later_wait")
}
