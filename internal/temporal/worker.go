package temporal

import (
	"fmt"
	mrand "math/rand/v2"
	"net"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/parcours-rsa/parcours/activities"
	"github.com/parcours-rsa/parcours/workflows"
)

// WorkflowCacheSize is how many workflows a process keeps in memory between
// their tasks (the SDK's default is 10,000). A parcours waits months on its
// timers: evicted, it costs nothing, and its next task replays its short
// history. The SDK keeps one cache per process, shared by every worker in
// it, made with the size set when the first worker starts.
const WorkflowCacheSize = 1000

var configured sync.Once

// ConfigureProcess sets what the SDK keeps per process (the workflow cache
// of WorkflowCacheSize); once per process, whoever calls it first. The
// embedded server runs SDK workers of its own (schedules, batches...),
// started before the service's: the size must be set before the server
// starts, or the cache keeps the SDK's 10,000. It was, until this: after a
// burst of 3,000 deadlines the cache held all 3,300 parcours of a trial
// (temporal_sticky_cache_size), each with its coroutine and handlers.
// embedded.StartServer, NewWorker and StartDigests call it first.
func ConfigureProcess() {
	configured.Do(func() { worker.SetStickyWorkflowCacheSize(WorkflowCacheSize) })
}

// WorkflowTaskPollers is how many polls for workflow tasks a worker may
// keep open (the SDK's default is a fixed 2). The SDK scales them between
// 1 and this from what the server says of the queue's backlog: few under a
// light load, so that several workers share it, and up to 32 when
// thousands of deadlines fall due at one instant (they fall at midnight)
// and their workflow tasks wait for a poll each. A burst of 2,000 timers
// took 23.3, 18.9 and 17.3 s with 2, 8 and 32 fixed polls, and with the
// sticky timeout below 12.1 s with 8, 10.2 s with 32, 9.7 s scaled (trials
// of make bench at 1,000 people, one run each).
const WorkflowTaskPollers = 32

// StickyScheduleToStartTimeout is how long a workflow task waits in this
// worker's own queue (the queue of the workflows it ran last) before the
// server gives it to any worker (the SDK's default is 5 s). In a burst of
// deadlines most of those workflows are no longer in the cache, and their
// tasks queue up: at 5 s, 1,564 of 2,000 timed out, were scheduled again in
// the common queue, and the burst drained in 24.0 s instead of 12.1 s
// (trials at 1,000 people). The price: after a kill -9, the workflows that
// had a task in flight wait up to this long before another process takes
// them over.
const StickyScheduleToStartTimeout = time.Minute

// NewWorker is a worker of the service's task queue with every workflow and
// activity registered; parcours are the parcours workflow's options (the
// zero value: its defaults).
func NewWorker(c client.Client, store activities.Store, parcours workflows.ParcoursOptions) worker.Worker {
	ConfigureProcess()
	w := worker.New(c, workflows.TaskQueue, worker.Options{
		WorkflowTaskPollerBehavior: worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{
			MaximumNumberOfPollers: WorkflowTaskPollers,
		}),
		StickyScheduleToStartTimeout: StickyScheduleToStartTimeout,
	})
	w.RegisterWorkflowWithOptions(workflows.NewParcours(parcours), workflows.RegisterOptions())
	w.RegisterWorkflowWithOptions(workflows.SuspensionReview, workflows.RegisterReviewOptions())
	(&activities.Activities{Store: store}).Register(w)
	return w
}

// FreePort is a TCP port free on 127.0.0.1 now (for tests and helpers).
func FreePort() (int, error) { return FreePortOn("127.0.0.1") }

// FreePortOn finds a port free now on ip, below the kernel's ephemeral range
// (32768-60999 on Linux): a port the kernel hands out with ":0" is also the
// kind it gives to outgoing connections, which may take it before the
// server binds it. Between two processes picking the same port at once,
// the bind check still decides.
func FreePortOn(ip string) (int, error) {
	for range 64 {
		port := 20000 + mrand.IntN(12000)
		if l, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(port))); err == nil {
			l.Close()
			return port, nil
		}
	}
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
