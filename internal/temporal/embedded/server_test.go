package embedded

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/parcours-rsa/parcours/internal/temporal"
)

// sleeper stands for a parcours deadline: a durable timer, then a result.
func sleeper(ctx workflow.Context, d time.Duration) (time.Time, error) {
	if err := workflow.Sleep(ctx, d); err != nil {
		return time.Time{}, err
	}
	return workflow.Now(ctx), nil
}

// waitTimerStarted waits until the workflow's history records its timer:
// stopping the server before would lose the timer with the task.
func waitTimerStarted(t *testing.T, c client.Client, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		it := c.GetWorkflowHistory(ctx, id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			require.NoError(t, err, "waiting for the timer of %s to be recorded", id)
			if e.GetEventType() == enums.EVENT_TYPE_TIMER_STARTED {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the timer of %s was not recorded within a minute", id)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

func startAll(t *testing.T, dir string, port int) (*Server, client.Client, worker.Worker) {
	t.Helper()
	return startWith(t, ServerOptions{DataDir: dir, Port: port})
}

// startWith starts a server on o, a client and a worker of sleeper.
func startWith(t *testing.T, o ServerOptions) (*Server, client.Client, worker.Worker) {
	t.Helper()
	logger := testLogger()
	o.Logger, o.LogLevel = logger, slog.LevelError
	srv, err := StartServer(o)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := temporal.Dial(ctx, srv.Client(temporal.ClientOptions{Address: srv.Address(), Namespace: "default", Logger: logger}))
	require.NoError(t, err)
	w := worker.New(c, "timers", worker.Options{})
	w.RegisterWorkflow(sleeper)
	require.NoError(t, w.Start())
	return srv, c, w
}

// TestTimerFiresAfterDowntime: a timer due while the whole process (server
// and worker) is stopped fires once it is back, from the same SQLite file.
func TestTimerFiresAfterDowntime(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port, err := temporal.FreePort()
	require.NoError(t, err)

	srv, c, w := startAll(t, dir, port)
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "deadline-1", TaskQueue: "timers"}, sleeper, 3*time.Second)
	require.NoError(t, err)
	started := time.Now()
	waitTimerStarted(t, c, "deadline-1")
	w.Stop()
	c.Close()
	srv.Stop()

	// The deadline passes while nothing runs: wall-clock time, not a sync.
	time.Sleep(time.Until(started.Add(4 * time.Second)))

	srv, c, w = startAll(t, dir, port)
	defer srv.Stop()
	defer c.Close()
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var firedAt time.Time
	require.NoError(t, c.GetWorkflow(ctx, "deadline-1", run.GetRunID()).Get(ctx, &firedAt))
	require.WithinDuration(t, started.Add(3*time.Second), firedAt, 8*time.Second)
	require.False(t, firedAt.Before(started.Add(3*time.Second)), "never early")
}

func TestPortTakenIsAClearError(t *testing.T) {
	t.Parallel()
	port, err := temporal.FreePort()
	require.NoError(t, err)
	srv, c, w := startAll(t, t.TempDir(), port)
	defer srv.Stop()
	defer c.Close()
	defer w.Stop()
	_, err = StartServer(ServerOptions{DataDir: t.TempDir(), Port: port})
	require.ErrorContains(t, err, "PARCOURS_TEMPORAL_PORT")
}
