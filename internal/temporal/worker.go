package temporal

import (
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/parcours-rsa/parcours/activities"
	"github.com/parcours-rsa/parcours/workflows"
)

// WorkflowCacheSize is how many workflows a process keeps in memory between
// their tasks (the SDK's default is 10,000). A parcours waits months on its
// timers: evicted, it costs nothing, and its next task replays its short
// history. Lowering it from the default took make bench's RSS with 10,000
// open parcours from 1.26 to 1.11 GiB (one loaded machine): most of the
// memory is elsewhere (the embedded server's caches), still to profile.
const WorkflowCacheSize = 1000

// NewWorker is a worker of the service's task queue with every workflow and
// activity registered.
func NewWorker(c client.Client, store activities.Store) worker.Worker {
	worker.SetStickyWorkflowCacheSize(WorkflowCacheSize)
	w := worker.New(c, workflows.TaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.Parcours, workflows.RegisterOptions())
	w.RegisterWorkflowWithOptions(workflows.SuspensionReview, workflows.RegisterReviewOptions())
	(&activities.Activities{Store: store}).Register(w)
	return w
}

// FreePort is a TCP port free on 127.0.0.1 now (for tests and helpers).
func FreePort() (int, error) { return freePort("127.0.0.1") }
