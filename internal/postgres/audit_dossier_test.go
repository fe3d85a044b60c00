package postgres_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// The audit log's « dossier » filter finds every line that touched the
// dossier: its own reads and writes, its sanction cases and their letters,
// and the lists it appeared in. Before, only the lines whose record_id was
// the parcours' id were found, so a person's right of access missed who
// read their sanction case or saw them in a list.
func TestAuditDossierFilterFindsCasesLettersAndLists(t *testing.T) {
	tb := setup(t)
	p, err := tb.db.Intake(tb.ctx, domain.System, intake("CAF-AUD-1"), "departement")
	require.NoError(t, err)
	other := intake("CAF-AUD-2")
	other.NIR = ""
	q, err := tb.db.Intake(tb.ctx, domain.System, other, "departement")
	require.NoError(t, err)
	review := p.ParcoursID + "-1"
	_, err = tb.db.Pool.Exec(tb.ctx, `INSERT INTO reviews (id, parcours_id, number, status, breach_kind, reported_on, repeat, state, version)
		VALUES ($1, $2, 1, 'reported', 'no_contract', '2026-11-02', false, '{}', 1)`, review, p.ParcoursID)
	require.NoError(t, err)
	actor := domain.Actor{ID: "token:7", Role: domain.RoleDepartment}
	for _, e := range []postgres.AuditEntry{
		{Action: "read", RecordType: "parcours", RecordID: p.ParcoursID},
		{Action: "read", RecordType: "review", RecordID: review},
		{Action: "list", RecordType: "letters", RecordID: review},
		{Action: "list", RecordType: "tasks", Detail: map[string]any{"ids": []string{q.ParcoursID, p.ParcoursID}}},
		{Action: "read", RecordType: "parcours", RecordID: q.ParcoursID},
		{Action: "list", RecordType: "tasks", Detail: map[string]any{"ids": []string{q.ParcoursID}}},
	} {
		e.Actor = actor
		require.NoError(t, tb.db.Audit(tb.ctx, e))
	}
	found, err := tb.db.SearchAudit(tb.ctx, postgres.AuditFilter{RecordID: p.ParcoursID, Actor: "token:7", Limit: 50})
	require.NoError(t, err)
	var got []string
	for _, r := range found {
		got = append(got, r.Action+" "+r.RecordType)
	}
	require.Equal(t, []string{"list tasks", "list letters", "read review", "read parcours"}, got, "newest first, the other person's lines left out")
	require.Equal(t, "Léa Martin", found[2].Subject, "the case's line names the person")
	require.Equal(t, "Léa Martin", found[3].Subject)
	// A filter that is not a parcours id still matches record ids as before.
	found, err = tb.db.SearchAudit(tb.ctx, postgres.AuditFilter{RecordID: review, Limit: 50})
	require.NoError(t, err)
	require.Len(t, found, 2)
}
