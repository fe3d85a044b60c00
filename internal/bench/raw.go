package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/parcours-rsa/parcours/internal/temporal"
)

// The raw rates of the same embedded Temporal server, for the import and
// the bursts to be read against: workflows that do nothing of their own,
// on a task queue of their own, run by a worker of this process with the
// service worker's settings (polls, sticky timeout).

const (
	rawTaskQueue   = "banc-brut"
	emptyWorkflow  = "BenchEmpty"
	sleepWorkflow  = "BenchSleep"
	rawIDPrefix    = "banc-brut-"
	rawWaitTimeout = 10 * time.Minute
)

// rawWorker runs the empty workflows and records when each sleeper woke.
type rawWorker struct {
	w     worker.Worker
	mu    sync.Mutex
	woken []time.Time
	count atomic.Int64
}

func startRawWorker(c client.Client) (*rawWorker, error) {
	rw := &rawWorker{}
	rw.w = worker.New(c, rawTaskQueue, worker.Options{
		WorkflowTaskPollerBehavior: worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{
			MaximumNumberOfPollers: temporal.WorkflowTaskPollers,
		}),
		StickyScheduleToStartTimeout: temporal.StickyScheduleToStartTimeout,
	})
	rw.w.RegisterWorkflowWithOptions(func(workflow.Context) error { return nil }, workflow.RegisterOptions{Name: emptyWorkflow})
	rw.w.RegisterWorkflowWithOptions(rw.sleeper, workflow.RegisterOptions{Name: sleepWorkflow})
	return rw, rw.w.Start()
}

func (rw *rawWorker) stop() { rw.w.Stop() }

// sleeper sleeps until the instant given, then records its waking by a
// local activity (as a parcours writes its read model by one).
func (rw *rawWorker) sleeper(ctx workflow.Context, until time.Time) error {
	if d := until.Sub(workflow.Now(ctx)); d > 0 {
		if err := workflow.Sleep(ctx, d); err != nil {
			return err
		}
	}
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
	return workflow.ExecuteLocalActivity(ctx, rw.woke).Get(ctx, nil)
}

// woke is the sleepers' local activity: the instant it runs.
func (rw *rawWorker) woke(context.Context) error {
	now := time.Now()
	rw.mu.Lock()
	rw.woken = append(rw.woken, now)
	rw.mu.Unlock()
	rw.count.Add(1)
	return nil
}

// rawStarts starts n empty workflows with callers goroutines, each
// starting one after another, and returns the starts per second until the
// last start returned (the server has recorded it and scheduled its first
// workflow task), and the seconds until every one of them had run and
// completed (waited for afterwards, so that nothing of theirs runs into
// the next measure).
func rawStarts(ctx context.Context, c client.Client, n, callers int, run string) (rate, completed float64, err error) {
	id := func(k int64) string { return fmt.Sprintf("%s%s-%d", rawIDPrefix, run, k) }
	each := func(do func(k int64) error) error { return callersDo(n, callers, do) }
	start := time.Now()
	if err := each(func(k int64) error {
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id(k), TaskQueue: rawTaskQueue}, emptyWorkflow)
		return err
	}); err != nil {
		return 0, 0, fmt.Errorf("démarrages bruts : %w", err)
	}
	took := time.Since(start)
	if err := each(func(k int64) error { return c.GetWorkflow(ctx, id(k), "").Get(ctx, nil) }); err != nil {
		return 0, 0, fmt.Errorf("fin des flux bruts : %w", err)
	}
	return float64(n) / took.Seconds(), time.Since(start).Seconds(), nil
}

// rawBurstResult is what the raw burst measured, in seconds after the
// instant.
type rawBurstResult struct {
	drained        bool
	last, p50, p99 float64
}

// rawBurst starts n sleepers (callers at once) that all sleep until one
// instant, a lead after their predicted starts, and measures when they
// woke.
func rawBurst(ctx context.Context, rw *rawWorker, c client.Client, n, callers int, startRate float64, lead time.Duration) (rawBurstResult, error) {
	var res rawBurstResult
	predicted := time.Duration(float64(n) / startRate * 2 * float64(time.Second))
	at := time.Now().Add(predicted + lead).Truncate(time.Second).Add(time.Second)
	rw.mu.Lock()
	rw.woken = rw.woken[:0]
	rw.mu.Unlock()
	rw.count.Store(0)
	err := callersDo(n, callers, func(k int64) error {
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("%ssommeil-%d", rawIDPrefix, k), TaskQueue: rawTaskQueue}, sleepWorkflow, at)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("rafale brute : %w", err)
	}
	if left := time.Until(at); left < 2*time.Second {
		return res, fmt.Errorf("les démarrages de la rafale brute ont fini %s avant l'instant commun : recommencez avec une avance plus grande", left.Round(time.Second))
	}
	deadline := at.Add(rawWaitTimeout)
	for rw.count.Load() < int64(n) && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	res.drained = rw.count.Load() >= int64(n)
	rw.mu.Lock()
	lateness := make([]float64, len(rw.woken))
	for i, t := range rw.woken {
		lateness[i] = t.Sub(at).Seconds()
	}
	rw.mu.Unlock()
	res.last, res.p50, res.p99 = spread(lateness)
	return res, nil
}

// spread is the largest value, the median and the 99th percentile
// (nearest rank) of xs.
func spread(xs []float64) (last, p50, p99 float64) {
	if len(xs) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := func(q float64) float64 {
		i := int(q*float64(len(s))+0.999999) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return s[len(s)-1], rank(0.5), rank(0.99)
}

// callersDo runs do(1) to do(n) from callers goroutines at once, each
// taking the next k; a caller stops at its first error, and the errors
// are joined.
func callersDo(n, callers int, do func(k int64) error) error {
	var next atomic.Int64
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := next.Add(1)
				if k > int64(n) {
					return
				}
				if err := do(k); err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
