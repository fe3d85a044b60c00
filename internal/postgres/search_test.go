package postgres_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/postgres"
)

// « lefevre » finds « Lefèvre » (case and accents aside, either order of
// the names, a further identifier too), and among 100,000 people the name
// search reads the trigram index.
func TestSearchIgnoresAccentsAndCase(t *testing.T) {
	b := setup(t)
	lea := b.importPerson(t, imported("D-100", "", "Lefèvre", "Léa"))
	noel := imported("D-101", "", "Œuvray-Dupré", "Noël")
	noel.PayerNumber = "7654321"
	require.True(t, b.importPerson(t, noel).Created)
	_, err := b.db.ImportPerson(b.ctx, importer, imported("D-555", "", "Lefèvre", "Léa"), "loi-2025", true)
	require.NoError(t, err)

	find := func(q string) []string {
		list, err := b.db.SearchParcours(b.ctx, postgres.Scope{}, q, 10)
		require.NoError(t, err)
		var names []string
		for _, s := range list {
			names = append(names, s.LastName+" "+s.FirstName)
		}
		return names
	}
	for _, q := range []string{"lefevre", "LEFEVRE", "Lefèvre", "lea lefevre", "lefevre lea", "  léa  ", "D-555", "D-100"} {
		require.Equal(t, []string{"Lefèvre Léa"}, find(q), q)
	}
	for _, q := range []string{"oeuvray", "OEUVRAY DUPRE", "noel"} {
		require.Equal(t, []string{"Œuvray-Dupré Noël"}, find(q), q)
	}
	require.Empty(t, find("lef%"), "LIKE wildcards are plain characters")
	require.Empty(t, find("_"))
	require.NotEmpty(t, lea.BeneficiaryID)

	// 100,000 people: the search reads the index.
	_, err = b.db.Pool.Exec(b.ctx, `
		INSERT INTO beneficiaries (id, external_id, last_name, first_name, birth_date)
		SELECT gen_random_uuid(), 'bulk-' || i, 'Nom' || i, 'Prénom' || (i % 1000), date '1980-01-01' + (i % 9000)
		FROM generate_series(1, 100000) i;
		INSERT INTO parcours (id, beneficiary_id, entered_on, received_on, policy, status)
		SELECT gen_random_uuid(), id, date '2026-01-01', date '2026-01-01', 'loi-2025', 'awaiting_orientation' FROM beneficiaries WHERE external_id LIKE 'bulk-%';
		ANALYZE beneficiaries; ANALYZE parcours;`)
	require.NoError(t, err)
	require.Equal(t, []string{"Lefèvre Léa"}, find("lefevre"))
	var plan []string
	rows, err := b.db.Pool.Query(b.ctx, `EXPLAIN SELECT id FROM beneficiaries WHERE search_name LIKE '%' || parcours_fold('lefevre') || '%'`)
	require.NoError(t, err)
	for rows.Next() {
		var line string
		require.NoError(t, rows.Scan(&line))
		plan = append(plan, line)
	}
	require.NoError(t, rows.Err())
	require.Contains(t, strings.Join(plan, "\n"), "beneficiaries_search_name")
}
