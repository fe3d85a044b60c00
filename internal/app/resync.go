package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/workflows"
)

// ResyncReport says what a resync of one parcours did.
type ResyncReport struct {
	ParcoursID string
	Result     workflows.ResyncResult
	Finished   bool // no running workflow: the read model keeps what it has
	Cases      int  // sanction cases resynced (those still running)
}

// ErrNoWorkflow: the parcours has no running workflow to resync.
var ErrNoWorkflow = errors.New("no running workflow")

// Resync asks the workflow of a parcours, then those of its running
// sanction cases, to write their whole state again under epoch (Unix
// milliseconds of the operator's command: docs/resync.md), and audits it.
// A parcours whose workflow has finished gives a report with Finished and
// ErrNoWorkflow.
func (s *Service) Resync(ctx context.Context, a domain.Actor, parcoursID string, epoch int64) (ResyncReport, error) {
	rep := ResyncReport{ParcoursID: parcoursID}
	if err := authorize(a, "resynchroniser les parcours", domain.RoleAdmin); err != nil {
		return rep, err
	}
	defer s.Caches.written() // a new or changed parcours: the counts kept are no longer right
	res, err := s.resyncOne(ctx, workflows.ParcoursWorkflowID(parcoursID), epoch)
	if err != nil {
		if errors.Is(err, ErrNoWorkflow) {
			rep.Finished = true
		}
		return rep, err
	}
	rep.Result = res
	for n := 1; n <= res.Cases; n++ {
		_, err := s.resyncOne(ctx, workflows.ReviewWorkflowID(parcoursID, n), epoch)
		switch {
		case errors.Is(err, ErrNoWorkflow): // a closed case: its row stays as written
		case err != nil:
			return rep, fmt.Errorf("dossier de sanction n° %d : %w", n, err)
		default:
			rep.Cases++
		}
	}
	return rep, s.DB.Audit(ctx, postgres.AuditEntry{Actor: a, Action: "resync", RecordType: "parcours", RecordID: parcoursID,
		Detail: map[string]any{"epoch": res.Epoch, "version": res.Version, "cases": rep.Cases}})
}

// resyncOne sends the resync update to one workflow and waits for its write.
func (s *Service) resyncOne(ctx context.Context, workflowID string, epoch int64) (workflows.ResyncResult, error) {
	var res workflows.ResyncResult
	h, err := s.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflowID, UpdateID: fmt.Sprintf("resync-%d", epoch), UpdateName: workflows.ResyncUpdate,
		Args: []any{workflows.ResyncRequest{Epoch: epoch}}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, &res)
	}
	var nf *serviceerror.NotFound
	switch {
	case err == nil:
		return res, nil
	case errors.As(err, &nf), strings.Contains(err.Error(), "workflow execution already completed"):
		return res, fmt.Errorf("%w (%s): %w", ErrNoWorkflow, workflowID, err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(ctx.Err(), context.DeadlineExceeded):
		return res, fmt.Errorf("le workflow %s n'a pas écrit à temps : un worker tourne-t-il, la base répond-elle ? (parcours admin workflow %s) : %w",
			workflowID, workflowID, err)
	default:
		return res, fmt.Errorf("le workflow %s n'a pas pu réécrire son état : %w", workflowID, err)
	}
}
