package httpapi_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/workflows"
)

// TestRepriseStockThenContract: a person accompanied since 2024 under an old
// CER comes in through a reprise line (revision 2): the stock contract is
// due, its task goes to the référent; a contract signed today meets it.
// Its history is recorded for the replay tests (make record-history).
func TestRepriseStockThenContract(t *testing.T) {
	t.Parallel()
	svc := &app.Service{DB: fixture.db, Temporal: fixture.tc, Policy: domain.PolicyDepartement, Logger: slog.New(slog.DiscardHandler)}
	id := beneficiary(t)
	r := &domain.Reprise{
		Orientation: &domain.RepriseOrientation{Track: domain.TrackSocial, Organism: "CCAS", ReferentID: "ref-1", DecidedOn: domain.NewDate(2024, 9, 30)},
		Contract:    &domain.RepriseContract{Kind: domain.ContractCER, SignedOn: domain.NewDate(2024, 12, 31), StartsOn: domain.NewDate(2024, 12, 31), EndsOn: today().AddMonths(12)},
		Obstacles:   []string{"housing"},
		Stock:       true,
	}
	out, err := svc.ImportPerson(context.Background(), domain.Actor{ID: "test:reprise", Role: domain.RoleDepartment},
		domain.ImportedPerson{ExternalID: id, LastName: "Reprise", FirstName: "Stock", BirthDate: domain.NewDate(1985, 1, 31),
			Subject: true, EnteredOn: domain.NewDate(2024, 6, 30), ReceivedOn: domain.NewDate(2024, 6, 30), Reprise: r})
	require.NoError(t, err)
	require.Equal(t, app.ImportCreated, out.Kind)
	var pid string
	require.NoError(t, fixture.db.Pool.QueryRow(context.Background(), `
		SELECT p.id::text FROM parcours p JOIN beneficiaries b ON b.id = p.beneficiary_id WHERE b.external_id = $1`, id).Scan(&pid))

	mine := call(t, "referent:ref-1", "GET", "/api/v1/tasks?limit=1000", nil)
	require.Equal(t, 200, mine.status, mine.raw)
	found := false
	for _, it := range mine.body["items"].([]any) {
		task := it.(map[string]any)
		if task["parcours_id"] == pid && task["kind"] == string(domain.TaskStockContract) {
			found = true
		}
	}
	require.True(t, found, "the stock contract task is the référent's")

	contract := map[string]any{"kind": "contrat_engagement", "signed_on": today().String(), "starts_on": today().String(),
		"ends_on": today().AddMonths(6).String(), "assessment": "Bilan du CER de 2024."}
	res := call(t, "referent:ref-1", "POST", "/api/v1/parcours/"+pid+"/contracts", contract)
	require.Equal(t, 200, res.status, res.raw)
	met := false
	for _, d := range res.body["deadlines"].([]any) {
		dl := d.(map[string]any)
		if dl["basis"] == string(domain.BasisStock) {
			require.Equal(t, "met", dl["status"])
			met = true
		}
	}
	require.True(t, met)
	recordHistory(t, pid, "parcours_v9_reprise_stock_then_contract")
}

// TestMarkStockOnRevision1Run: a parcours of 2024 started by the previous
// version (revision 1) receives mark_stock (the `parcours stock` command):
// the stock deadline appears, behind the "stock" version marker. Its
// history is recorded for the replay tests (make record-history).
func TestMarkStockOnRevision1Run(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc := &app.Service{DB: fixture.db, Temporal: fixture.tc, Policy: domain.PolicyDepartement, Logger: slog.New(slog.DiscardHandler)}
	in := domain.Intake{BeneficiaryID: beneficiary(t), LastName: "Ancien", FirstName: "Parcours", BirthDate: domain.NewDate(1970, 1, 31),
		EnteredAt: domain.NewDate(2024, 11, 30), ReceivedOn: domain.NewDate(2024, 11, 30)}
	res, err := fixture.db.Intake(ctx, domain.Actor{ID: "test:stock", Role: domain.RoleDepartment}, in, domain.PolicyDepartement.Name)
	require.NoError(t, err)
	pid := res.ParcoursID
	h, err := fixture.tc.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: fixture.tc.NewWithStartWorkflowOperation(
			client.StartWorkflowOptions{ID: workflows.ParcoursWorkflowID(pid), TaskQueue: workflows.TaskQueue,
				WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING},
			workflows.ParcoursWorkflow, workflows.ParcoursInput{Revision: 1, ParcoursID: pid, Policy: domain.PolicyDepartement.Name,
				EnteredOn: in.EnteredAt, ReceivedOn: in.ReceivedOn}),
		UpdateOptions: client.UpdateWorkflowOptions{UpdateName: workflows.RegisterUpdate, WaitForStage: client.WorkflowUpdateStageCompleted},
	})
	require.NoError(t, err)
	require.NoError(t, h.Get(ctx, nil))
	require.NoError(t, fixture.db.MarkStarted(ctx, pid))

	changed, err := svc.MarkStock(ctx, domain.Actor{ID: "test:stock", Role: domain.RoleDepartment}, pid, false)
	require.NoError(t, err)
	require.True(t, changed)
	r := call(t, "department", "GET", "/api/v1/parcours/"+pid, nil)
	require.Equal(t, 200, r.status, r.raw)
	found := false
	for _, d := range r.body["deadlines"].([]any) {
		dl := d.(map[string]any)
		if dl["basis"] == string(domain.BasisStock) {
			found = true
			require.Equal(t, "2027-01-01", dl["due_on"])
			require.Contains(t, dl["explanation"], "décret 2024-1244")
		}
	}
	require.True(t, found)
	recordHistory(t, pid, "parcours_v9_mark_stock_revision_1")
}
