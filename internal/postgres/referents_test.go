package postgres_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// The upgrade to 013 on a database whose référent ids and free-text
// structures are in use: each id gets a record, each organism and
// supervisor structure a structure, and the scopes keep their parcours.
func TestMigration013KeepsIdsInUse(t *testing.T) {
	tb := setup(t)
	require.NoError(t, tb.db.Migrate(tb.ctx, 12))
	exec := func(sql string, args ...any) {
		t.Helper()
		_, err := tb.db.Pool.Exec(tb.ctx, sql, args...)
		require.NoError(t, err)
	}
	ben, p1, p2 := uuid.New(), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	exec(`INSERT INTO beneficiaries (id, external_id, last_name, first_name, birth_date) VALUES ($1, 'CAF-1', 'Martin', 'Léa', '1990-01-01')`, ben)
	exec(`INSERT INTO parcours (id, beneficiary_id, entered_on, received_on, policy, status, organism, referent_id, closed_at)
	      VALUES ($1, $2, '2026-01-01', '2026-01-01', 'departement', 'oriented', 'CCAS de Caen', 'ref-42', now())`, p1, ben)
	exec(`INSERT INTO parcours (id, beneficiary_id, entered_on, received_on, policy, status, organism, referent_id)
	      VALUES ($1, $2, '2026-02-01', '2026-02-01', 'departement', 'oriented', 'Mission locale de Bayeux', 'ref-9')`, p2, ben)
	exec(`INSERT INTO orientations (parcours_id, seq, track, organism, referent_id, decided_on) VALUES ($1, 1, 'social', ' ccas de caen ', 'ref-42', '2026-01-10')`, p1)
	exec(`INSERT INTO tasks (parcours_id, kind, cycle, due_on, status, assignee) VALUES ($1, 'contract', 1, '2026-03-01', 'open', 'ref-7')`, p2)
	exec(`INSERT INTO accounts (id, email, name, role, structure) VALUES ($1, 'chef@caen.fr', 'Chef', 'supervisor', 'CCAS DE CAEN')`, uuid.New())
	exec(`INSERT INTO accounts (id, email, name, role, referent_id, structure) VALUES ($1, 'lea@ml.fr', 'Léa Dupont', 'referent', 'ref-9', 'Mission locale de Bayeux')`, uuid.New())
	exec(`INSERT INTO api_tokens (name, role, referent_id, token_hash) VALUES ('outil', 'referent', 'ref-tok', '\x01')`)
	exec(`INSERT INTO accounts (id, email, name, role, referent_id, disabled_at) VALUES ($1, 'parti@ml.fr', 'Parti', 'referent', 'ref-old', now())`, uuid.New())

	require.NoError(t, tb.db.Migrate(tb.ctx, 13))

	var structures int
	require.NoError(t, tb.db.Pool.QueryRow(tb.ctx, `SELECT count(*) FROM structures`).Scan(&structures))
	require.Equal(t, 3, structures, "CCAS de Caen once whatever its spelling, the mission locale, and « Structure à préciser »")
	get := func(id string) domain.Referent {
		t.Helper()
		r, err := tb.db.GetReferent(tb.ctx, id)
		require.NoError(t, err, id)
		return r
	}
	r42 := get("ref-42")
	require.Equal(t, "Référent ref-42", r42.Name)
	require.Equal(t, "CCAS de Caen", r42.StructureName)
	require.True(t, r42.Active)
	r9 := get("ref-9")
	require.Equal(t, "Léa Dupont", r9.Name)
	require.Equal(t, "lea@ml.fr", r9.Email)
	require.Equal(t, "Mission locale de Bayeux", r9.StructureName)
	require.NotEmpty(t, r9.AccountID)
	require.Equal(t, postgres.UnspecifiedStructure, get("ref-7").StructureName)
	require.Equal(t, postgres.UnspecifiedStructure, get("ref-tok").StructureName)
	require.False(t, get("ref-old").Active, "its account is disabled")

	caen, _, err := tb.db.ListStructures(tb.ctx, postgres.DirectoryFilter{Q: "caen", Limit: 10})
	require.NoError(t, err)
	require.Len(t, caen, 1)
	require.Equal(t, domain.StructureCCAS, caen[0].Kind)
	ml, _, err := tb.db.ListStructures(tb.ctx, postgres.DirectoryFilter{Q: "mission", Limit: 10})
	require.NoError(t, err)
	require.Equal(t, domain.StructureMissionLocale, ml[0].Kind)

	// The supervisor's structure is the record's spelling; the scope follows référents.
	// (The store reads accounts as the latest schema has them.)
	require.NoError(t, tb.db.Migrate(tb.ctx, postgres.LatestVersion()))
	sup, err := tb.db.AccountByEmail(tb.ctx, "chef@caen.fr")
	require.NoError(t, err)
	require.Equal(t, "CCAS de Caen", sup.Structure)
	list, _, err := tb.db.ListParcours(tb.ctx, postgres.ParcoursFilter{Scope: postgres.Scope{Structure: "CCAS de Caen"}, Limit: 10})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, p1.String(), list[0].ID)

	// A rename reaches the accounts that name the structure.
	st := caen[0]
	st.Name = "CCAS de la ville de Caen"
	require.NoError(t, tb.db.UpdateStructure(tb.ctx, st))
	sup, err = tb.db.AccountByEmail(tb.ctx, "chef@caen.fr")
	require.NoError(t, err)
	require.Equal(t, "CCAS de la ville de Caen", sup.Structure)

	require.NoError(t, tb.db.Migrate(tb.ctx, 12), "the down migration")
	require.NoError(t, tb.db.Migrate(tb.ctx, 13), "and up again")
}

func TestStructuresAndReferents(t *testing.T) {
	tb := setup(t)
	ccas, err := tb.db.CreateStructure(tb.ctx, domain.Structure{Name: "CCAS de Lisieux", Kind: domain.StructureCCAS, Address: "1 rue Henry Chéron"})
	require.NoError(t, err)
	require.Regexp(t, `^str-[a-z2-7]{13}$`, ccas.ID)
	_, err = tb.db.CreateStructure(tb.ctx, domain.Structure{Name: "ccas de lisieux", Kind: domain.StructureCCAS})
	require.Equal(t, domain.ECONFLICT, domain.ErrorCode(err), "homonym")
	require.Contains(t, domain.ErrorMessage(err), "Une structure s'appelle déjà")

	r, err := tb.db.CreateReferent(tb.ctx, domain.Referent{Name: "Jeanne Petit", Email: "jeanne@lisieux.fr", StructureID: ccas.ID})
	require.NoError(t, err)
	require.Regexp(t, `^ref-[a-z2-7]{13}$`, r.ID, "an opaque id, never the name")
	require.NotContains(t, r.ID, "jeanne")
	require.Equal(t, "CCAS de Lisieux", r.StructureName)
	_, err = tb.db.CreateReferent(tb.ctx, domain.Referent{Name: "Autre", Email: "jeanne@lisieux.fr", StructureID: ccas.ID})
	require.Equal(t, domain.ECONFLICT, domain.ErrorCode(err))
	_, err = tb.db.CreateReferent(tb.ctx, domain.Referent{Name: "Autre", StructureID: "str-ghost"})
	require.Equal(t, domain.EINVALID, domain.ErrorCode(err))

	r.Active = false
	require.NoError(t, tb.db.UpdateReferent(tb.ctx, r))
	got, err := tb.db.GetReferent(tb.ctx, r.ID)
	require.NoError(t, err)
	require.False(t, got.Active)
	active, _, err := tb.db.ListReferents(tb.ctx, postgres.DirectoryFilter{ActiveOnly: true, Limit: 10})
	require.NoError(t, err)
	require.Empty(t, active)

	names, err := tb.db.ReferentNames(tb.ctx, []string{r.ID, "ref-ghost"})
	require.NoError(t, err)
	require.Equal(t, "Jeanne Petit", names.Of(r.ID))
	require.Equal(t, "référent inconnu", names.Of("ref-ghost"))
	require.Equal(t, "non désigné", names.Of(""))
}

// Keyset pages and search over 250 référents: every one once, in name order.
func TestListReferentsPages(t *testing.T) {
	tb := setup(t)
	st, err := tb.db.CreateStructure(tb.ctx, domain.Structure{Name: "Mission locale", Kind: domain.StructureMissionLocale})
	require.NoError(t, err)
	for i := range 250 {
		_, err := tb.db.CreateReferent(tb.ctx, domain.Referent{Name: fmt.Sprintf("Référent %03d", i%125), StructureID: st.ID})
		require.NoError(t, err)
	}
	seen, cursor, pages := map[string]bool{}, "", 0
	last := ""
	for {
		list, next, err := tb.db.ListReferents(tb.ctx, postgres.DirectoryFilter{Cursor: cursor, Limit: 40})
		require.NoError(t, err)
		for _, r := range list {
			require.False(t, seen[r.ID], "twice: %s", r.ID)
			seen[r.ID] = true
			require.GreaterOrEqual(t, r.Name, last)
			last = r.Name
		}
		pages++
		if next == "" {
			break
		}
		cursor = next
	}
	require.Len(t, seen, 250)
	require.Equal(t, 7, pages)
	found, _, err := tb.db.ListReferents(tb.ctx, postgres.DirectoryFilter{Q: "référent 007", Limit: 40})
	require.NoError(t, err)
	require.Len(t, found, 2)
}

func TestResolveReferent(t *testing.T) {
	tb := setup(t)
	resolve := func(ref domain.ReferentRef) (domain.ReferentResolution, error) {
		return tb.db.ResolveReferent(tb.ctx, ref)
	}
	// Absent: the structure and the référent are created.
	res, err := resolve(domain.ReferentRef{StructureName: " Mission  locale du Bessin ", StructureKind: domain.StructureMissionLocale, ReferentName: "Paul Durand", ReferentEmail: "Paul@ml.fr"})
	require.NoError(t, err)
	require.True(t, res.CreatedStructure)
	require.True(t, res.CreatedReferent)
	require.Equal(t, "Mission locale du Bessin", res.StructureName)
	paul := res.ReferentID
	require.Regexp(t, `^ref-`, paul)

	// Found again by e-mail, by name, by id: nothing created.
	for _, ref := range []domain.ReferentRef{
		{StructureName: "mission locale du bessin", ReferentEmail: "paul@ml.fr"},
		{StructureName: "Mission locale du Bessin", ReferentName: "paul durand"},
		{ReferentID: paul},
		{ReferentName: "Paul Durand"},
	} {
		res, err := resolve(ref)
		require.NoError(t, err, "%+v", ref)
		require.Equal(t, paul, res.ReferentID)
		require.False(t, res.CreatedReferent || res.CreatedStructure, "%+v", ref)
	}

	// Never moves a référent to another structure.
	_, err = resolve(domain.ReferentRef{StructureName: "CCAS de Bayeux", StructureKind: domain.StructureCCAS, ReferentEmail: "paul@ml.fr", ReferentName: "Paul Durand"})
	require.Equal(t, domain.EINVALID, domain.ErrorCode(err))
	require.Contains(t, domain.ErrorMessage(err), "un fichier ne change pas la structure d'un référent")
	got, err := tb.db.GetReferent(tb.ctx, paul)
	require.NoError(t, err)
	require.Equal(t, "Mission locale du Bessin", got.StructureName)

	// Homonyms are refused rather than doubled.
	_, err = resolve(domain.ReferentRef{StructureName: "Mission locale du Bessin", ReferentName: "Paul Durand", ReferentEmail: "p.durand@autre.fr"})
	require.Equal(t, domain.EINVALID, domain.ErrorCode(err))
	require.Contains(t, domain.ErrorMessage(err), "existe déjà dans la structure « Mission locale du Bessin »")
	st, _, err := tb.db.ListStructures(tb.ctx, postgres.DirectoryFilter{Q: "bessin", Limit: 5})
	require.NoError(t, err)
	_, err = tb.db.CreateReferent(tb.ctx, domain.Referent{Name: "Paul Durand", StructureID: st[0].ID})
	require.NoError(t, err, "the admin page may record a homonym")
	_, err = resolve(domain.ReferentRef{StructureName: "Mission locale du Bessin", ReferentName: "Paul Durand"})
	require.Contains(t, domain.ErrorMessage(err), "Plusieurs référents s'appellent « Paul Durand »")

	// What cannot be created is said.
	_, err = resolve(domain.ReferentRef{ReferentName: "Inconnue Sans Structure"})
	require.Contains(t, domain.ErrorMessage(err), "doit nommer sa structure")
	_, err = resolve(domain.ReferentRef{ReferentID: "ref-ghost"})
	require.Contains(t, domain.ErrorMessage(err), "Référent inconnu")
	_, err = resolve(domain.ReferentRef{StructureID: "str-ghost"})
	require.Contains(t, domain.ErrorMessage(err), "Structure inconnue")
	res, err = resolve(domain.ReferentRef{StructureName: "Mission locale du Bessin"})
	require.NoError(t, err)
	require.Empty(t, res.ReferentID, "a line may name only its structure")
}

// Lines imported side by side naming the same new référent make one.
func TestResolveReferentConcurrent(t *testing.T) {
	tb := setup(t)
	var wg sync.WaitGroup
	ids := make([]string, 8)
	errs := make([]error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := tb.db.ResolveReferent(tb.ctx, domain.ReferentRef{StructureName: "CCAS de Vire", ReferentName: "Anne Roy", ReferentEmail: "anne@vire.fr"})
			ids[i], errs[i] = res.ReferentID, err
		}()
	}
	wg.Wait()
	for i := range 8 {
		require.NoError(t, errs[i])
		require.Equal(t, ids[0], ids[i])
	}
}
