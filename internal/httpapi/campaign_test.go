package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
)

// stockParcours opens a parcours and writes its stock deadline as the
// workflow does.
func stockParcours(t *testing.T, c pgtest.StockCase) string {
	t.Helper()
	ctx := context.Background()
	res, err := fixture.db.Intake(ctx, domain.System, domain.Intake{BeneficiaryID: beneficiary(t), LastName: "Stock", FirstName: "Alex",
		BirthDate: domain.NewDate(1979, 9, 9), EnteredAt: domain.NewDate(2024, 5, 2)}, "departement")
	require.NoError(t, err)
	c.ParcoursID = res.ParcoursID
	require.NoError(t, pgtest.WriteStock(ctx, fixture.db, c))
	return res.ParcoursID
}

func TestCampaignOverHTTP(t *testing.T) {
	// Not parallel: the counts are the package's only stock deadlines.
	late := stockParcours(t, pgtest.StockCase{Organism: "CCAS", ReferentID: "ref-1", Deadline: domain.DeadlineOverdue})
	stockParcours(t, pgtest.StockCase{Organism: "CCAS", ReferentID: "ref-1", Deadline: domain.DeadlinePending})
	stockParcours(t, pgtest.StockCase{Organism: "Mission locale", ReferentID: "ref-2", Deadline: domain.DeadlineMet, MetOn: domain.NewDate(2025, 2, 3)})

	r := call(t, "department", "GET", "/api/v1/campaign/stock", nil)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	require.EqualValues(t, 1, r.body["to_sign"])
	require.EqualValues(t, 1, r.body["overdue"])
	require.EqualValues(t, 1, r.body["signed"])
	require.EqualValues(t, 3, r.body["total"])
	rules := r.body["rules"].([]any)
	require.Len(t, rules, 1)
	require.Equal(t, "2027-01-01", rules[0].(map[string]any)["due_on"])
	require.Contains(t, rules[0].(map[string]any)["source"], "décret n° 2024-1244")
	require.Len(t, r.body["by_structure"], 2)
	require.Len(t, r.body["by_referent"], 2)
	first := r.body["by_structure"].([]any)[0].(map[string]any)
	require.Equal(t, "CCAS", first["id"])
	require.EqualValues(t, 1, first["overdue"])

	// The list: a filter, then keyset pages of one.
	r = call(t, "department", "GET", "/api/v1/campaign/stock/persons?status=overdue", nil)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	items := r.body["items"].([]any)
	require.Len(t, items, 1)
	it := items[0].(map[string]any)
	require.Equal(t, late, it["parcours_id"])
	require.Equal(t, "overdue", it["status"])
	require.Equal(t, "ref-1", it["referent_id"])
	require.Equal(t, "CCAS", it["structure"])
	require.Nil(t, r.body["next_cursor"])
	seen, cursor := 0, ""
	for {
		r = call(t, "supervisor", "GET", "/api/v1/campaign/stock/persons?limit=1&cursor="+cursor, nil)
		require.Equal(t, http.StatusOK, r.status, r.raw)
		seen += len(r.body["items"].([]any))
		next, _ := r.body["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	require.Equal(t, 3, seen)
	r = call(t, "department", "GET", "/api/v1/campaign/stock/persons?status=late", nil)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Equal(t, "status", r.errField())
	r = call(t, "department", "GET", "/api/v1/campaign/stock/persons?cursor=x", nil)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Equal(t, "cursor", r.errField())

	// The CSV of the filtered list.
	r = call(t, "department", "GET", "/api/v1/campaign/stock/persons.csv?referent_id=ref-1", nil)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	lines := strings.Split(strings.TrimSpace(r.raw), "\n")
	require.Len(t, lines, 3)
	require.Contains(t, r.raw, ";en retard;")

	// A référent's token is refused: the campaign is the managers' view.
	for _, path := range []string{"/api/v1/campaign/stock", "/api/v1/campaign/stock/persons", "/api/v1/campaign/stock/persons.csv"} {
		r = call(t, "referent:ref-1", "GET", path, nil)
		require.Equal(t, http.StatusForbidden, r.status, path)
		require.Equal(t, domain.EFORBIDDEN, r.errCode())
	}

	// Every read is in the audit log.
	var n int
	require.NoError(t, fixture.db.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM audit_log WHERE record_type = 'campaign' AND action IN ('list', 'export')`).Scan(&n))
	require.GreaterOrEqual(t, n, 5)
}
