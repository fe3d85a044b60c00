package httpapi_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIndicatorsOverHTTP(t *testing.T) {
	t.Parallel()
	now := today()
	newOriented(t, now.AddMonths(-4), "social", "ref-1")
	from, to := now.AddMonths(-5).String(), now.String()
	r := call(t, "department", "GET", "/api/v1/indicators?from="+from+"&to="+to, nil)
	require.Equal(t, 200, r.status, r.raw)
	items := items(r, "indicators")
	require.GreaterOrEqual(t, len(items), 15)
	byKey := map[string]map[string]any{}
	for _, it := range items {
		byKey[it["key"].(string)] = it
		require.NotEmpty(t, it["definition"])
	}
	require.GreaterOrEqual(t, byKey["new_entrants"]["value"].(float64), 1.0)
	require.Contains(t, byKey, "oriented_1_month")
	require.NotNil(t, byKey["oriented_1_month"]["mature_cohort"])

	require.Equal(t, "from", call(t, "department", "GET", "/api/v1/indicators?from=2026-02-30&to="+to, nil).errField())
	require.Equal(t, "to", call(t, "department", "GET", "/api/v1/indicators?from="+to+"&to="+from, nil).errField())

	req := call(t, "department", "GET", "/api/v1/indicators.csv?from="+from+"&to="+to, nil)
	require.Equal(t, 200, req.status)
	lines := strings.Split(strings.TrimSpace(req.raw), "\n")
	require.Equal(t, "indicateur;libellé;détail;valeur;cohorte mûre;part;médiane (jours);définition", lines[0])
	require.True(t, strings.HasPrefix(lines[1], "beneficiaries;Bénéficiaires en droits et devoirs;;"))

	// A référent's figures are their own.
	mine := call(t, "referent:ref-2", "GET", "/api/v1/indicators?from="+from+"&to="+to+"&referent_id=ref-1", nil)
	require.Equal(t, 200, mine.status)
	require.Equal(t, "ref-2", mine.body["referent_id"], "the scope is forced")
}
