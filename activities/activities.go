// Package activities holds the Temporal activities of the service. They are
// at-least-once: every write is an upsert keyed by business identifiers, so
// a retry changes nothing.
package activities

import (
	"context"
	"errors"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/workflows"
)

// Store is what the activities need from the database.
type Store interface {
	ApplySync(ctx context.Context, in workflows.SyncInput) error
	ApplyReview(ctx context.Context, in workflows.SyncReviewInput) error
}

// Activities carries the activities' dependencies.
type Activities struct {
	Store Store
}

// Register registers every activity under the name the workflows call.
func (a *Activities) Register(r worker.ActivityRegistry) {
	r.RegisterActivityWithOptions(a.SyncParcours, activity.RegisterOptions{Name: workflows.SyncParcoursActivity})
	r.RegisterActivityWithOptions(a.SyncReview, activity.RegisterOptions{Name: workflows.SyncReviewActivity})
}

// SyncReview writes a sanction case to the read model.
func (a *Activities) SyncReview(ctx context.Context, in workflows.SyncReviewInput) error {
	if in.ReviewID == "" || in.ParcoursID == "" {
		return temporal.NewNonRetryableApplicationError("review id missing", "InvalidInput", nil)
	}
	return a.Store.ApplyReview(ctx, in)
}

// SyncParcours writes a parcours' state and new events to the read model.
func (a *Activities) SyncParcours(ctx context.Context, in workflows.SyncInput) error {
	if in.ParcoursID == "" {
		return temporal.NewNonRetryableApplicationError("parcours id missing", "InvalidInput", nil)
	}
	err := a.Store.ApplySync(ctx, in)
	if errors.Is(err, postgres.ErrUnknownParcours) {
		// A deleted row is recreated from parcours_identity (ApplySync);
		// none left (a backup older than the intake): the write is retried,
		// never failed for good, so that the workflow survives until an
		// operator restores the person's rows (docs/resync.md).
		activity.GetLogger(ctx).Error("read model: parcours row missing and not recreatable; restore it, then run parcours resync",
			"parcoursID", in.ParcoursID, "error", err)
		return temporal.NewApplicationError(
			"le parcours "+in.ParcoursID+" n'est plus dans la base et ne peut être recréé : restaurez le bénéficiaire et son parcours, puis lancez parcours resync "+in.ParcoursID,
			"UnknownParcours", err)
	}
	return err
}
