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
		// The intake writes the row before it starts the workflow: a missing
		// row is a bug or a wiped database, not something a retry mends.
		return temporal.NewNonRetryableApplicationError(err.Error(), "InvalidInput", err)
	}
	return err
}
