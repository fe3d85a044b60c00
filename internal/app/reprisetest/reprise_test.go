// Package reprisetest tests the reprise de l'existant through the service:
// reprise lines imported into PostgreSQL and the parcours workflows, on the
// embedded Temporal server; then later lines, the stock command's query.
package reprisetest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/internal/testenv"
	"github.com/parcours-rsa/parcours/workflows"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, nil, func(e *testenv.Env) error { env = e; return nil }))
}

var dept = domain.Actor{ID: "test:reprise", Name: "Reprise", Role: domain.RoleDepartment}

func person(id string, entered domain.Date, r *domain.Reprise) domain.ImportedPerson {
	return domain.ImportedPerson{ExternalID: id, LastName: "Reprise", FirstName: id, BirthDate: domain.NewDate(1980, 5, 31),
		Subject: true, EnteredOn: entered, ReceivedOn: entered, Reprise: r}
}

func imported(t *testing.T, p domain.ImportedPerson) (app.ImportOutcome, domain.ParcoursView) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := env.Service.ImportPerson(ctx, dept, p)
	require.NoError(t, err)
	return out, view(t, p.ExternalID)
}

func view(t *testing.T, externalID string) domain.ParcoursView {
	t.Helper()
	var id string
	require.NoError(t, env.DB.Pool.QueryRow(context.Background(), `
		SELECT p.id::text FROM parcours p JOIN beneficiaries b ON b.id = p.beneficiary_id
		WHERE b.external_id = $1 ORDER BY p.created_at DESC LIMIT 1`, externalID).Scan(&id))
	v, err := env.DB.GetParcours(context.Background(), id, postgres.Scope{})
	require.NoError(t, err)
	return v
}

func openTasks(v domain.ParcoursView) map[domain.TaskKind]domain.TaskView {
	out := map[domain.TaskKind]domain.TaskView{}
	for _, t := range v.Tasks {
		if t.Status == domain.TaskOpen {
			out[t.Kind] = t
		}
	}
	return out
}

func overdue(v domain.ParcoursView) []string {
	var out []string
	for _, d := range v.Deadlines {
		if d.Status == domain.DeadlineOverdue {
			out = append(out, d.Explanation)
		}
	}
	return out
}

func TestRepriseImport(t *testing.T) {
	t.Parallel()
	today := domain.DateOf(time.Now())
	day := func(n int) domain.Date { return today.AddDays(n) }

	// Oriented, under contract: in accompaniment, nothing overdue, no task.
	a := &domain.Reprise{
		Orientation: &domain.RepriseOrientation{Track: domain.TrackProfessional, Organism: "France Travail", ReferentID: "ref-a", DecidedOn: day(-180)},
		Contract:    &domain.RepriseContract{Kind: domain.ContractEngagement, SignedOn: day(-170), StartsOn: day(-170), EndsOn: day(120)},
	}
	require.Equal(t, domain.Foreseen{Status: domain.StatusInAccompaniment}, env.Service.Foresee(person("rep-a", day(-200), a)), "the preview")
	out, v := imported(t, person("rep-a", day(-200), a))
	require.Equal(t, app.ImportCreated, out.Kind)
	require.Equal(t, domain.StatusInAccompaniment, v.Status)
	require.Empty(t, overdue(v))
	require.Empty(t, openTasks(v))
	require.Equal(t, "ref-a", v.ReferentID)
	stored, err := env.DB.ParcoursReprise(context.Background(), v.ID)
	require.NoError(t, err)
	require.Equal(t, a, stored, "parcours.reprise keeps the line's situation")

	// Oriented 10 days ago without contract: the contract month runs.
	b := &domain.Reprise{Orientation: &domain.RepriseOrientation{Track: domain.TrackSocial, Organism: "CCAS", ReferentID: "ref-b", DecidedOn: day(-10)}}
	_, vb := imported(t, person("rep-b", day(-20), b))
	require.Equal(t, domain.StatusAwaitingContract, vb.Status)
	require.Empty(t, overdue(vb))
	sign := openTasks(vb)[domain.TaskSignContract]
	require.NotNil(t, sign.Assignee)
	require.Equal(t, "ref-b", *sign.Assignee)
	require.False(t, sign.Overdue)

	// Received 96 days ago, no orientation: handed over to France Travail
	// on the day after the 6 weeks, not today.
	require.Equal(t, domain.Foreseen{Status: domain.StatusAwaitingOrientation, Overdue: true, HandedOver: true},
		env.Service.Foresee(person("rep-c", day(-96), &domain.Reprise{})))
	_, vc := imported(t, person("rep-c", day(-96), &domain.Reprise{}))
	require.Equal(t, domain.StatusAwaitingOrientation, vc.Status)
	require.Contains(t, openTasks(vc), domain.TaskAwaitFranceTravail)
	handed := false
	for _, e := range vc.Events {
		if e.Kind == workflows.EventHandedOver {
			handed = true
			require.Equal(t, day(-96).AddDays(43), e.OccurredOn)
		}
	}
	require.True(t, handed)

	// Accompanied since 2024 with a CER signed on 31/12/2024: the stock
	// contract is due, its task goes to the référent.
	d := &domain.Reprise{
		Orientation: &domain.RepriseOrientation{Track: domain.TrackSocioProfessional, Organism: "Mission locale", ReferentID: "ref-d", DecidedOn: domain.NewDate(2024, 9, 30)},
		Contract:    &domain.RepriseContract{Kind: domain.ContractCER, SignedOn: domain.NewDate(2024, 12, 31), StartsOn: domain.NewDate(2024, 12, 31), EndsOn: day(365)},
	}
	_, vd := imported(t, person("rep-d", domain.NewDate(2024, 6, 30), d))
	require.Equal(t, domain.StatusInAccompaniment, vd.Status)
	var stock *domain.DeadlineView
	for i := range vd.Deadlines {
		if vd.Deadlines[i].Basis == domain.BasisStock {
			stock = &vd.Deadlines[i]
		}
	}
	require.NotNil(t, stock)
	require.Equal(t, "2027-01-01", stock.DueOn.String())
	require.Equal(t, domain.StockRuleSet, stock.RuleSet)
	require.Contains(t, stock.Explanation, "contrat dû le 01/01/2027 — délai légal (stock : personnes accompagnées au 01/01/2025, décret 2024-1244)")
	st := openTasks(vd)[domain.TaskStockContract]
	require.NotNil(t, st.Assignee)
	require.Equal(t, "ref-d", *st.Assignee)

	// The stock command's query skips it (it has its deadline), as it skips
	// the parcours whose 2025 contract met it; marking it again changes nothing.
	found := false
	for after := ""; ; {
		page, err := env.DB.StockCandidates(context.Background(), after, 100)
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		for _, c := range page {
			after = c.ID
			found = found || c.ID == vd.ID
			require.NotEqual(t, v.ID, c.ID, "a 2025 contract met the stock deadline at the start")
		}
	}
	require.False(t, found, "the deadline is there already")
	changed, err := env.Service.MarkStock(context.Background(), dept, vd.ID, false)
	require.NoError(t, err)
	require.False(t, changed)

	// The same line again changes nothing.
	out, again := imported(t, person("rep-a", day(-200), a))
	require.Equal(t, app.ImportUnchanged, out.Kind)
	require.Empty(t, out.Changes)
	require.Equal(t, len(v.Events), len(again.Events))

	// A later line: new référent, new contract; applied and said.
	later := *a
	o := *a.Orientation
	o.ReferentID = "ref-a2"
	later.Orientation = &o
	later.Contract = &domain.RepriseContract{Kind: domain.ContractEngagement, SignedOn: day(-1), StartsOn: day(-1), EndsOn: day(364)}
	out, va := imported(t, person("rep-a", day(-200), &later))
	require.Equal(t, app.ImportUpdated, out.Kind)
	require.Len(t, out.Changes, 2, out.Changes)
	require.Contains(t, out.Changes[0], "Nouveau référent")
	require.Contains(t, out.Changes[1], "Nouveau contrat (contrat d'engagement) signé le "+day(-1).French())
	require.Equal(t, "ref-a2", va.ReferentID)
	require.Equal(t, day(-1), va.Contract.SignedOn)
	out, _ = imported(t, person("rep-a", day(-200), &later))
	require.Equal(t, app.ImportUnchanged, out.Kind, "and the same later line again changes nothing")

	// A new orientation of a parcours already oriented is not applied.
	nb := &domain.Reprise{Orientation: &domain.RepriseOrientation{Track: domain.TrackProfessional, Organism: "France Travail", ReferentID: "ref-b", DecidedOn: day(-2)}}
	out, _ = imported(t, person("rep-b", day(-20), nb))
	require.Empty(t, out.Changes)
	require.Len(t, out.Unapplied, 1)
	require.Contains(t, out.Unapplied[0], "une réorientation se décide dans le dossier")

	// A contract without orientation is refused, in French.
	_, err = env.Service.ImportPerson(context.Background(), dept, person("rep-e", day(-30), &domain.Reprise{Contract: a.Contract}))
	require.Equal(t, domain.EINVALID, domain.ErrorCode(err))
	require.Contains(t, domain.ErrorMessage(err), "Un contrat suppose une orientation")
}

// TestLaterLineOrientsAndMarksStock: a person imported awaiting orientation;
// a later line gives the orientation and the stock mark: both applied, and
// said.
func TestLaterLineOrientsAndMarksStock(t *testing.T) {
	t.Parallel()
	today := domain.DateOf(time.Now())
	entered := today.AddDays(-10)
	out, v := imported(t, person("rep-f", entered, &domain.Reprise{}))
	require.Equal(t, app.ImportCreated, out.Kind)
	require.Equal(t, domain.StatusAwaitingOrientation, v.Status)

	later := &domain.Reprise{Stock: true,
		Orientation: &domain.RepriseOrientation{Track: domain.TrackSocial, Organism: "CCAS", ReferentID: "ref-f", DecidedOn: today.AddDays(-1)}}
	out, v = imported(t, person("rep-f", entered, later))
	require.Equal(t, app.ImportUpdated, out.Kind)
	require.Empty(t, out.Unapplied)
	require.Len(t, out.Changes, 2, out.Changes)
	require.Contains(t, out.Changes[0], "Orientation enregistrée : parcours social")
	require.Contains(t, out.Changes[1], "accompagnée au 01/01/2025")
	require.Equal(t, domain.StatusAwaitingContract, v.Status)
	tasks := openTasks(v)
	require.Contains(t, tasks, domain.TaskSignContract)
	require.NotContains(t, tasks, domain.TaskStockContract, "the sign_contract task carries the stock deadline")
	require.Equal(t, "2027-01-01", tasks[domain.TaskSignContract].DueOn.String(), "the earliest of its deadlines")

	// An orientation without référent for a parcours awaiting one: not
	// applied, with the reason.
	_, _ = imported(t, person("rep-g", entered, &domain.Reprise{}))
	noRef := &domain.Reprise{Orientation: &domain.RepriseOrientation{Track: domain.TrackSocial, Organism: "CCAS", DecidedOn: today.AddDays(-1)}}
	out, _ = imported(t, person("rep-g", entered, noRef))
	require.Len(t, out.Unapplied, 1)
	require.Contains(t, out.Unapplied[0], "Non appliqué — orientation du")
}

// TestReconcileStartsFromTheReprise: a parcours written by an import whose
// process died before starting its workflow is started by reconciliation
// from the situation kept in parcours.reprise.
func TestReconcileStartsFromTheReprise(t *testing.T) {
	t.Parallel()
	today := domain.DateOf(time.Now())
	r := &domain.Reprise{
		Orientation: &domain.RepriseOrientation{Track: domain.TrackProfessional, Organism: "France Travail", ReferentID: "ref-h", DecidedOn: today.AddDays(-60)},
		Contract:    &domain.RepriseContract{Kind: domain.ContractEngagement, SignedOn: today.AddDays(-50), StartsOn: today.AddDays(-50), EndsOn: today.AddDays(300)},
	}
	p := person("rep-h", today.AddDays(-90), r)
	res, err := env.DB.ImportPerson(context.Background(), dept, p, domain.PolicyDepartement.Name, true)
	require.NoError(t, err)
	require.True(t, res.Parcours.Created)
	require.Equal(t, r, res.Parcours.Start.Reprise)
	list, err := env.DB.ListUnstarted(context.Background(), time.Now().Add(time.Hour), 500)
	require.NoError(t, err)
	var mine *postgres.Unstarted
	for i := range list {
		if list[i].ID == res.Parcours.ParcoursID {
			mine = &list[i]
		}
	}
	require.NotNil(t, mine)
	require.Equal(t, r, mine.Reprise)
	require.NoError(t, env.Service.Start(context.Background(), *mine))
	v := view(t, "rep-h")
	require.Equal(t, domain.StatusInAccompaniment, v.Status)
	require.Empty(t, overdue(v))
}

// TestMarkStockAllOnOlderRuns: a parcours of 2024 started by the previous
// version (revision 1) has no stock deadline; `parcours stock`
// (MarkStockAll) adds it, once.
func TestMarkStockAllOnOlderRuns(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	in := domain.Intake{BeneficiaryID: "rep-old", LastName: "Ancien", FirstName: "Parcours", BirthDate: domain.NewDate(1970, 1, 31),
		EnteredAt: domain.NewDate(2024, 11, 30), ReceivedOn: domain.NewDate(2024, 11, 30)}
	res, err := env.DB.Intake(ctx, dept, in, domain.PolicyDepartement.Name)
	require.NoError(t, err)
	id := res.ParcoursID
	h, err := env.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: env.Temporal.NewWithStartWorkflowOperation(
			client.StartWorkflowOptions{ID: workflows.ParcoursWorkflowID(id), TaskQueue: workflows.TaskQueue,
				WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING},
			workflows.ParcoursWorkflow, workflows.ParcoursInput{Revision: 1, ParcoursID: id, Policy: domain.PolicyDepartement.Name,
				EnteredOn: in.EnteredAt, ReceivedOn: in.ReceivedOn}),
		UpdateOptions: client.UpdateWorkflowOptions{UpdateName: workflows.RegisterUpdate, WaitForStage: client.WorkflowUpdateStageCompleted},
	})
	require.NoError(t, err)
	require.NoError(t, h.Get(ctx, nil))
	require.NoError(t, env.DB.MarkStarted(ctx, id))
	v := view(t, "rep-old")
	for _, d := range v.Deadlines {
		require.NotEqual(t, domain.BasisStock, d.Basis, "a revision-1 run does not compute it")
	}

	var progress int
	rep, err := env.Service.MarkStockAll(ctx, dept, func(app.StockReport) { progress++ })
	require.NoError(t, err)
	require.GreaterOrEqual(t, rep.Added, 1)
	require.Zero(t, rep.Refused, rep.Refusals)
	v = view(t, "rep-old")
	var stock *domain.DeadlineView
	for i := range v.Deadlines {
		if v.Deadlines[i].Basis == domain.BasisStock {
			stock = &v.Deadlines[i]
		}
	}
	require.NotNil(t, stock)
	require.Equal(t, "2027-01-01", stock.DueOn.String())
	task := openTasks(v)[domain.TaskStockContract]
	require.Equal(t, domain.TaskStockContract, task.Kind)
	require.Nil(t, task.Assignee, "not oriented: the département's")
	events := len(v.Events)

	rep, err = env.Service.MarkStockAll(ctx, dept, nil)
	require.NoError(t, err)
	require.Zero(t, rep.Added, "running it again changes nothing")
	require.Len(t, view(t, "rep-old").Events, events)
}

// TestRepriseFindsItsReferents: the « Référent unique » column may give a
// référent's id, e-mail or name; the structure is found or created by name;
// a name makes one référent however many lines give it; an unknown old id
// is kept as the référent's id; a référent (by e-mail) of another structure
// is refused.
func TestRepriseFindsItsReferents(t *testing.T) {
	ctx := context.Background()
	stamp := time.Now().UnixNano()
	structure := fmt.Sprintf("CCAS de Caen %d", stamp)
	name := fmt.Sprintf("Agnès Martin %d", stamp)
	today := domain.DateOf(time.Now())
	line := func(id, referent, organism string) domain.ImportedPerson {
		return person(fmt.Sprintf("%s-%d", id, stamp), today.AddDays(-30), &domain.Reprise{Orientation: &domain.RepriseOrientation{
			Track: domain.TrackSocial, Organism: organism, ReferentID: referent, DecidedOn: today.AddDays(-5)}})
	}
	_, byName := imported(t, line("RF-1", name, structure))
	require.NotEmpty(t, byName.ReferentID)
	require.NotEqual(t, name, byName.ReferentID, "a new référent gets an opaque id, never its name")
	r, err := env.DB.GetReferent(ctx, byName.ReferentID)
	require.NoError(t, err)
	require.Equal(t, name, r.Name)
	require.Equal(t, structure, r.StructureName)

	_, again := imported(t, line("RF-2", "  "+name+" ", structure))
	require.Equal(t, byName.ReferentID, again.ReferentID, "the same name: the same référent")

	email := fmt.Sprintf("agnes.%d@cd14.fr", stamp)
	_, err = env.DB.Pool.Exec(ctx, `UPDATE referents SET email = $1 WHERE id = $2`, email, byName.ReferentID)
	require.NoError(t, err)
	_, byEmail := imported(t, line("RF-3", strings.ToUpper(email), structure))
	require.Equal(t, byName.ReferentID, byEmail.ReferentID, "found by e-mail")
	_, byID := imported(t, line("RF-4", byName.ReferentID, structure))
	require.Equal(t, byName.ReferentID, byID.ReferentID, "found by id")

	oldID := fmt.Sprintf("ref-%d", stamp%100000)
	_, old := imported(t, line("RF-5", oldID, structure))
	require.Equal(t, oldID, old.ReferentID, "an old tool's id is kept")

	_, err = env.Service.ImportPerson(ctx, dept, line("RF-6", email, "Mission locale "+structure))
	require.Error(t, err, "a file never moves a référent to another structure")
	require.Equal(t, domain.EINVALID, domain.ErrorCode(err))
}
