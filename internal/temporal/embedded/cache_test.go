package embedded

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/parcours-rsa/parcours/internal/metrics"

	"github.com/parcours-rsa/parcours/internal/temporal"
)

// waiters counts the waiter workflows that ran their first task.
var waiters atomic.Int64

// waiter stands for a parcours between two deadlines: it waits, in the cache.
func waiter(ctx workflow.Context) error {
	if !workflow.IsReplaying(ctx) {
		waiters.Add(1)
	}
	workflow.GetSignalChannel(ctx, "never").Receive(ctx, nil)
	return nil
}

// TestWorkflowCacheIsBounded: beside the embedded server, whose own SDK
// workers start first, the process keeps at most WorkflowCacheSize
// workflows in memory. Before the size was set before the server started
// (an init, now temporal.ConfigureProcess, which StartServer calls), the
// cache kept the SDK's 10,000: every parcours woken by a burst stayed in
// memory.
func TestWorkflowCacheIsBounded(t *testing.T) {
	t.Parallel()
	logger := testLogger()
	port, err := temporal.FreePort()
	require.NoError(t, err)
	srv, err := StartServer(ServerOptions{DataDir: t.TempDir(), Port: port, Logger: logger})
	require.NoError(t, err)
	defer srv.Stop()
	reg := metrics.New(nil, logger)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := temporal.Dial(ctx, srv.Client(temporal.ClientOptions{Address: srv.Address(), Namespace: "default", Logger: logger, Metrics: reg.Temporal()}))
	require.NoError(t, err)
	defer c.Close()
	w := worker.New(c, "cache", worker.Options{})
	w.RegisterWorkflow(waiter)
	require.NoError(t, w.Start())
	defer w.Stop()

	n := temporal.WorkflowCacheSize + 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	ids := make(chan int, n)
	for i := range n {
		ids <- i
	}
	close(ids)
	for range 16 {
		wg.Go(func() {
			for i := range ids {
				_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("waiter-%d", i), TaskQueue: "cache"}, waiter)
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return waiters.Load() >= int64(n) }, 2*time.Minute, 100*time.Millisecond)

	size := -1.0
	fams, err := reg.Registry.Gather()
	require.NoError(t, err)
	for _, f := range fams {
		if f.GetName() == "temporal_sticky_cache_size" {
			for _, m := range f.GetMetric() {
				size = max(size, m.GetGauge().GetValue())
			}
		}
	}
	require.GreaterOrEqual(t, size, 0.0, "no temporal_sticky_cache_size gauge")
	require.LessOrEqual(t, size, float64(temporal.WorkflowCacheSize), "workflows kept in memory after %d ran", n)
}
