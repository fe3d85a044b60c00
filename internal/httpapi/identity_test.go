package httpapi_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/importer"
)

func importCSV(t *testing.T, name, list string) map[string]any {
	t.Helper()
	r := call(t, "department", "POST", "/api/v1/imports?format=csv&name="+name, list)
	require.Equal(t, 202, r.status, r.raw)
	id := r.body["id"].(string)
	var run map[string]any
	require.Eventually(t, func() bool {
		run = call(t, "department", "GET", "/api/v1/imports/"+id, nil).body["import"].(map[string]any)
		return run["status"] != "running"
	}, 60*time.Second, 100*time.Millisecond)
	require.Equal(t, "done", run["status"], run)
	return run
}

// The same NIR with another first name waits in the list (counted in the
// report), the NIR masked; the département resolves it once.
func TestIdentityConflictsOverHTTP(t *testing.T) {
	t.Parallel()
	nir := importer.SyntheticNIR(uint64(time.Now().UnixNano()%1_000_000)+919, 0, 0)
	day := today().AddDays(-3).French()
	head := "NIR;Nom;Prénom;Date de naissance;Date d'entrée\n"
	first := importCSV(t, "marie.csv", head+fmt.Sprintf("%s;Lefèvre;Marie;05/03/1982;%s\n", nir, day))
	require.EqualValues(t, 1, first["created"])
	second := importCSV(t, "paul.csv", head+fmt.Sprintf("%s;Lefèvre;Paul;05/03/1982;%s\n", nir, day))
	require.EqualValues(t, 0, second["created"])
	require.EqualValues(t, 0, second["updated"])
	require.EqualValues(t, 1, second["info"].(map[string]any)["identity_review"])

	require.Equal(t, 403, call(t, "supervisor", "GET", "/api/v1/identity-conflicts", nil).status)
	require.Equal(t, 403, call(t, "referent:ref-1", "GET", "/api/v1/identity-conflicts", nil).status)
	var mine map[string]any
	cursor := ""
	for mine == nil {
		list := call(t, "department", "GET", "/api/v1/identity-conflicts?limit=50&cursor="+cursor, nil)
		require.Equal(t, 200, list.status, list.raw)
		require.NotContains(t, list.raw, nir, "the NIR is never given in full")
		for _, it := range items(list, "items") {
			c := it
			if c["import_id"] == second["id"] {
				mine = c
			}
		}
		next, _ := list.body["next_cursor"].(string)
		if mine == nil {
			require.NotEmpty(t, next, "the line is listed")
		}
		cursor = next
	}
	require.Equal(t, "first_name", mine["reason"])
	require.EqualValues(t, 2, mine["line"])
	require.Equal(t, "Paul", mine["incoming"].(map[string]any)["first_name"])
	require.Equal(t, "Marie", mine["existing"].(map[string]any)["first_name"])
	require.Equal(t, domain.MaskNIR(nir), mine["incoming"].(map[string]any)["nir_masked"])

	path := "/api/v1/identity-conflicts/" + mine["id"].(string) + "/resolve"
	require.Equal(t, "decision", call(t, "department", "POST", path, map[string]any{"decision": "peut-être"}).errField())
	require.Equal(t, 403, call(t, "supervisor", "POST", path, map[string]any{"decision": "same"}).status)
	res := call(t, "department", "POST", path, map[string]any{"decision": "different"})
	require.Equal(t, 200, res.status, res.raw)
	require.NotEqual(t, mine["beneficiary_id"], res.body["beneficiary_id"])
	require.NotEmpty(t, res.body["beneficiary_id"])
	require.Equal(t, 409, call(t, "department", "POST", path, map[string]any{"decision": "same"}).status)

	// Paul's next list goes to Paul: nothing waits, nothing changes.
	again := importCSV(t, "paul.csv", head+fmt.Sprintf("%s;Lefèvre;Paul;05/03/1982;%s\n", nir, day))
	require.Nil(t, again["info"].(map[string]any)["identity_review"])
	require.EqualValues(t, 1, again["unchanged"])
}
