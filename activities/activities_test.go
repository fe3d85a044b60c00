package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/parcours-rsa/parcours/activities"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
	"github.com/parcours-rsa/parcours/workflows"
)

func TestSyncParcoursAgainstPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	a := &activities.Activities{Store: db}
	a.Register(env)

	res, err := db.Intake(ctx, domain.System, domain.Intake{BeneficiaryID: "CAF-9", LastName: "Durand", FirstName: "Paul",
		BirthDate: domain.NewDate(1980, 1, 1), EnteredAt: domain.NewDate(2026, 1, 31)}, "departement")
	require.NoError(t, err)

	in := workflows.SyncInput{
		ParcoursID: res.ParcoursID, Version: 1, Status: domain.StatusAwaitingOrientation,
		Tasks:  []workflows.TaskState{{Kind: domain.TaskOrient, Cycle: 1, DueOn: domain.NewDate(2026, 2, 28), Status: domain.TaskOpen}},
		Events: []workflows.Event{{Seq: 1, Kind: workflows.EventEntered, OccurredOn: domain.NewDate(2026, 1, 31), At: time.Now(), Summary: "Entrée"}},
	}
	for range 3 { // at-least-once: the same activity three times
		_, err = env.ExecuteActivity(workflows.SyncParcoursActivity, in)
		require.NoError(t, err)
	}
	var tasks, events int
	require.NoError(t, db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM tasks), (SELECT count(*) FROM events)`).Scan(&tasks, &events))
	require.Equal(t, 1, tasks)
	require.Equal(t, 1, events)

	// A deleted parcours row is recreated from parcours_identity, with the
	// person PostgreSQL still has (issue 21, item 3: it used to fail the
	// workflow for good).
	require.NoError(t, pgtest.DeleteParcours(ctx, db.Pool, res.ParcoursID))
	in.Version = 2
	_, err = env.ExecuteActivity(workflows.SyncParcoursActivity, in)
	require.NoError(t, err)
	view, err := db.GetParcours(ctx, res.ParcoursID, postgres.Scope{})
	require.NoError(t, err)
	require.Equal(t, "Durand", view.LastName)
	require.Len(t, view.Tasks, 1)

	// A parcours PostgreSQL knows nothing of (a backup older than its
	// intake) is retried, never failed for good: the workflow waits for
	// the operator to restore it.
	in.ParcoursID = "0193e0a4-0000-7000-8000-000000000000"
	_, err = env.ExecuteActivity(workflows.SyncParcoursActivity, in)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.False(t, appErr.NonRetryable())
	require.Equal(t, "UnknownParcours", appErr.Type())
	require.Contains(t, appErr.Error(), "parcours resync "+in.ParcoursID)
}
