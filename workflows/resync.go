package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// ResyncUpdate asks a Parcours or SuspensionReview workflow to write again
// everything it still holds to the read model, under a raised epoch, so that
// the write wins over what PostgreSQL has whatever its version: after a
// PostgreSQL restored from an older backup, rows deleted by hand, or a
// Temporal reset (docs/resync.md). Argument ResyncRequest, result
// ResyncResult.
//
// A new handler changes nothing for the runs that never receive it, and the
// write it makes is an ordinary SyncParcours, so no version gate: the only
// change to sync() is that the write carries the epoch (zero, and absent
// from the payload, until a first resync) and, while the epoch is not
// written yet, every record held.
const ResyncUpdate = "resync"

// EventResync is the timeline's mark of a resync.
const EventResync = "resync"

// ResyncRequest raises the workflow's epoch to at least Epoch.
type ResyncRequest struct {
	// Epoch: the operator's command gives the request's instant in Unix
	// milliseconds, above any epoch given before, also when a Temporal
	// reset brought back an older state of the workflow (and its epoch).
	// The workflow takes the greater of it and its own epoch plus one.
	Epoch int64 `json:"epoch"`
}

// ResyncResult is what a resync wrote.
type ResyncResult struct {
	Version int64         `json:"version"`
	Epoch   int64         `json:"epoch"`
	Status  domain.Status `json:"status,omitempty"`
	// Cases: the sanction cases opened so far (review-<id>-1 to -Cases):
	// their own workflows, those still running, are resynced next.
	Cases int `json:"cases,omitempty"`
}

func validateResync(_ workflow.Context, r ResyncRequest) error {
	if r.Epoch < 0 {
		return invalid("epoch", "L'époque d'une resynchronisation ne peut être négative.")
	}
	return nil
}

func nextEpoch(current, asked int64) int64 { return max(current+1, asked) }

// resync re-sends the parcours' whole state: status, orientation, contract,
// exit, every open deadline and task, the rows not yet forgotten, and a
// timeline event. It cannot send what the workflow forgot once written
// (closed deadlines and tasks, past orientations, contracts, actions, the
// timeline): the write is an upsert and never deletes those, and only the
// open deadlines and tasks it does not hold leave the read model.
func (p *parcoursImpl) resync(ctx workflow.Context, r ResyncRequest) (ResyncResult, error) {
	if err := workflow.Await(ctx, func() bool { return p.registered }); err != nil {
		return ResyncResult{}, err
	}
	p.s.Epoch = nextEpoch(p.s.Epoch, r.Epoch)
	now := workflow.Now(ctx)
	p.addEvent(now, EventResync, domain.DateIn(now, p.zone()),
		"Dossier réécrit depuis le moteur de suivi (resynchronisation) : les éléments antérieurs peuvent manquer à l'historique.", domain.Recorded{})
	if err := p.sync(ctx); err != nil {
		return ResyncResult{}, err
	}
	return ResyncResult{Version: p.s.Version, Epoch: p.s.SyncedEpoch, Status: p.s.Status, Cases: p.s.Cases}, nil
}

// resync re-sends the case's whole state (its row and every task); the
// steps already written are not sent again.
func (r *reviewImpl) resync(ctx workflow.Context, req ResyncRequest) (ResyncResult, error) {
	r.s.Epoch = nextEpoch(r.s.Epoch, req.Epoch)
	if err := r.sync(ctx); err != nil {
		return ResyncResult{}, err
	}
	return ResyncResult{Version: r.s.Version, Epoch: r.s.Epoch}, nil
}
