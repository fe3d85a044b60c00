package temporal

import (
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/parcours-rsa/parcours/activities"
	"github.com/parcours-rsa/parcours/workflows"
)

// NewWorker is a worker of the service's task queue with every workflow and
// activity registered.
func NewWorker(c client.Client, store activities.Store) worker.Worker {
	w := worker.New(c, workflows.TaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.Parcours, workflows.RegisterOptions())
	w.RegisterWorkflowWithOptions(workflows.SuspensionReview, workflows.RegisterReviewOptions())
	(&activities.Activities{Store: store}).Register(w)
	return w
}

// FreePort is a TCP port free on 127.0.0.1 now (for tests and helpers).
func FreePort() (int, error) { return freePort("127.0.0.1") }
