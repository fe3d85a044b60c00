package temporal

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/parcours-rsa/parcours/workflows"
)

// AnnounceRules sends the rules_deployed signal to every running parcours
// (docs/rule-changes.md): once the workers run a catalogue with a new rule
// set, each parcours plans the day it takes its deadlines over, or adopts it
// at once when that day has passed. A parcours that ends meanwhile is
// skipped. progress, when set, is told how many were signalled so far;
// the count is returned.
func AnnounceRules(ctx context.Context, c client.Client, progress func(int)) (int, error) {
	query := fmt.Sprintf(`WorkflowType = %q AND ExecutionStatus = "Running"`, workflows.ParcoursWorkflow)
	var token []byte
	sent := 0
	for {
		page, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 1000, NextPageToken: token})
		if err != nil {
			return sent, fmt.Errorf("liste des parcours : %w", err)
		}
		for _, e := range page.GetExecutions() {
			err := c.SignalWorkflow(ctx, e.GetExecution().GetWorkflowId(), "", workflows.RulesSignal, nil)
			var gone *serviceerror.NotFound
			switch {
			case errors.As(err, &gone):
				continue
			case err != nil:
				return sent, fmt.Errorf("signal au parcours %s : %w", e.GetExecution().GetWorkflowId(), err)
			}
			sent++
			if progress != nil && sent%1000 == 0 {
				progress(sent)
			}
		}
		if token = page.GetNextPageToken(); len(token) == 0 {
			return sent, nil
		}
	}
}
