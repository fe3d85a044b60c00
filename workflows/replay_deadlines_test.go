package workflows

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// Replay compares the commands a workflow gives, not a timer's duration nor
// an activity's input: a change to the date arithmetic of internal/domain
// would replay every recorded history without a fault and silently move the
// deadlines of running parcours. So each recorded history has, beside it, the
// dates it computed (<history>.deadlines.golden: every deadline the
// SyncParcours writes carried, every case's dates), and
// TestReplayedHistoriesComputeTheirDeadlines replays the history and
// compares.
//
// A new history gets its golden file with `make record-history` (it runs
// this test with PARCOURS_GOLDEN=missing, which writes the files missing and
// never overwrites one). A golden file is never edited: a difference is a
// change for running parcours, to put behind workflow.GetVersion.

// goldenSuffix: beside testdata/NAME.json, NAME.deadlines.golden (not
// .json: the replay tests read every testdata/*.json as a history).
const goldenSuffix = ".deadlines.golden"

// lawsFor is the catalogue a history was recorded under: the parcours_v13_*
// histories ran under fictional decrees (rules_test.go), every other one
// under the service's.
func lawsFor(history string) domain.Catalogue {
	if strings.HasPrefix(filepath.Base(history), "parcours_v13_") {
		return LawsOfV13
	}
	return domain.Laws
}

// goldenDeadlines is what a replay computed, in the order it was written.
type goldenDeadlines struct {
	Writes  []goldenWrite  `json:"writes,omitempty"`
	Reviews []goldenReview `json:"reviews,omitempty"`
}

// goldenWrite is one SyncParcours write's deadlines.
type goldenWrite struct {
	Version   int64            `json:"version"`
	Deadlines []goldenDeadline `json:"deadlines"`
}

type goldenDeadline struct {
	Kind     domain.DeadlineKind   `json:"kind"`
	Basis    domain.Basis          `json:"basis"`
	Cycle    int                   `json:"cycle"`
	RuleSet  string                `json:"rule_set"`
	DueOn    domain.Date           `json:"due_on"`
	AnchorOn domain.Date           `json:"anchor_on"`
	OpensOn  domain.Date           `json:"opens_on,omitempty"`
	Status   domain.DeadlineStatus `json:"status"`
	Rule     string                `json:"rule"`
}

// goldenReview is one SyncReview write's dates.
type goldenReview struct {
	Status          string       `json:"status"`
	ObservationEnds domain.Date  `json:"observation_ends_on,omitempty"`
	AppealDueOn     domain.Date  `json:"appeal_due_on,omitempty"`
	PaybackMonths   int          `json:"payback_months,omitempty"`
	Tasks           []goldenTask `json:"tasks,omitempty"`
}

type goldenTask struct {
	Kind  domain.TaskKind `json:"kind"`
	Cycle int             `json:"cycle"`
	DueOn domain.Date     `json:"due_on"`
}

func (g *goldenDeadlines) add(args []any) {
	switch in := first(args).(type) {
	case SyncInput:
		if len(in.Deadlines) == 0 {
			return
		}
		w := goldenWrite{Version: in.Version}
		for _, d := range in.Deadlines {
			w.Deadlines = append(w.Deadlines, goldenDeadline{Kind: d.Kind, Basis: d.Basis, Cycle: d.Cycle, RuleSet: d.RuleSet,
				DueOn: d.DueOn, AnchorOn: d.AnchorOn, OpensOn: d.OpensOn, Status: d.Status, Rule: d.Rule})
		}
		g.Writes = append(g.Writes, w)
	case SyncReviewInput:
		r := goldenReview{Status: in.State.Status, ObservationEnds: in.State.ObservationEnds, AppealDueOn: in.State.AppealDueOn,
			PaybackMonths: in.State.PaybackMonths}
		for _, t := range in.State.Tasks {
			r.Tasks = append(r.Tasks, goldenTask{Kind: t.Kind, Cycle: t.Cycle, DueOn: t.DueOn})
		}
		g.Reviews = append(g.Reviews, r)
	}
}

func first(args []any) any {
	if len(args) == 0 {
		return nil
	}
	return args[0]
}

// capture is a worker interceptor that keeps the input of every activity
// the replayed workflow schedules (the workflow code calls them in replay
// too; the SDK then takes their results from the history).
type capture struct {
	interceptor.WorkerInterceptorBase
	got goldenDeadlines
}

func (c *capture) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	in := &captureInbound{c: c}
	in.Next = next
	return in
}

type captureInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	c *capture
}

func (i *captureInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	out := &captureOutbound{c: i.c}
	out.Next = outbound
	return i.Next.Init(out)
}

type captureOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	c *capture
}

func (o *captureOutbound) ExecuteActivity(ctx workflow.Context, activity string, args ...any) workflow.Future {
	o.c.got.add(args)
	return o.Next.ExecuteActivity(ctx, activity, args...)
}

func (o *captureOutbound) ExecuteLocalActivity(ctx workflow.Context, activity string, args ...any) workflow.Future {
	o.c.got.add(args)
	return o.Next.ExecuteLocalActivity(ctx, activity, args...)
}

// replayDeadlines replays one history and returns the dates it computed.
func replayDeadlines(t *testing.T, history string) goldenDeadlines {
	t.Helper()
	return replayUnder(t, history, lawsFor(history))
}

// replayUnder replays a history with the workflow under a catalogue.
func replayUnder(t *testing.T, history string, laws domain.Catalogue) goldenDeadlines {
	t.Helper()
	c := &capture{}
	replayer, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{Interceptors: []interceptor.WorkerInterceptor{c}})
	require.NoError(t, err)
	replayer.RegisterWorkflowWithOptions(NewParcours(ParcoursOptions{Laws: laws}), RegisterOptions())
	replayer.RegisterWorkflowWithOptions(SuspensionReview, RegisterReviewOptions())
	logger := log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	require.NoError(t, replayer.ReplayWorkflowHistoryFromJSONFile(logger, history), history)
	return c.got
}

func TestReplayedHistoriesComputeTheirDeadlines(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	write := os.Getenv("PARCOURS_GOLDEN") == "missing"
	computed := 0 // a run continued as new may write no deadline
	for _, f := range files {
		got := replayDeadlines(t, f)
		computed += len(got.Writes) + len(got.Reviews)
		golden := strings.TrimSuffix(f, ".json") + goldenSuffix
		b, err := os.ReadFile(golden)
		if os.IsNotExist(err) && write {
			out, err := json.MarshalIndent(got, "", "  ")
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(golden, append(out, '\n'), 0o644))
			t.Logf("wrote %s", golden)
			continue
		}
		require.NoError(t, err, "%s has no golden file: run `make record-history` (PARCOURS_GOLDEN=missing go test -run TestReplayedHistoriesComputeTheirDeadlines ./workflows/)", f)
		var want goldenDeadlines
		require.NoError(t, json.Unmarshal(b, &want), golden)
		require.Equal(t, want, got, "%s: the dates this history computed when it was recorded differ from today's code: running parcours would change (put the change behind workflow.GetVersion, or fix internal/domain)", f)
	}
	require.Greater(t, computed, len(files), "the interceptor saw the writes")
}

// TestNewRuleSetLeavesOlderHistoriesAsTheyRan: deployed with decrees that
// take over running deadlines (in force since 1 December 2026, after some of
// these histories ran), the workflow replays every history recorded before
// them with the same commands and the same dates: a run adopts a set only
// behind its version gate, and none of them has it.
func TestNewRuleSetLeavesOlderHistoriesAsTheyRan(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/parcours_*.json")
	require.NoError(t, err)
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "parcours_v13_") {
			continue
		}
		b, err := os.ReadFile(strings.TrimSuffix(f, ".json") + goldenSuffix)
		require.NoError(t, err)
		var want goldenDeadlines
		require.NoError(t, json.Unmarshal(b, &want))
		require.Equal(t, want, replayUnder(t, f, LawsOfV13), f)
	}
}

// TestGoldenFilesHaveTheirHistory: no golden file without its history.
func TestGoldenFilesHaveTheirHistory(t *testing.T) {
	t.Parallel()
	goldens, err := filepath.Glob("testdata/*" + goldenSuffix)
	require.NoError(t, err)
	for _, g := range goldens {
		_, err := os.Stat(strings.TrimSuffix(g, goldenSuffix) + ".json")
		require.NoError(t, err, g)
	}
}
