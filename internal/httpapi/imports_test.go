package httpapi_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/parcours-rsa/parcours/internal/importer"
)

func TestImportOverHTTP(t *testing.T) {
	t.Parallel()
	day := today().AddDays(-1)
	g := importer.Synthetic(4, uint64(time.Now().UnixNano()%1_000_000)+7, day)
	g.Households[3].Persons[0].BirthDate = day.AddDays(2)
	var data bytes.Buffer
	require.NoError(t, importer.WriteFlux(&data, g))

	require.Equal(t, 403, call(t, "referent:ref-1", "POST", "/api/v1/imports?name=f.xml", data.String()).status)
	require.Equal(t, "format", call(t, "department", "POST", "/api/v1/imports?format=xls", data.String()).errField())

	r := call(t, "department", "POST", "/api/v1/imports?name=RSABEI.xml", data.String())
	require.Equal(t, 202, r.status, r.raw)
	id := r.body["id"].(string)
	var rep response
	require.Eventually(t, func() bool {
		rep = call(t, "department", "GET", "/api/v1/imports/"+id, nil)
		return rep.body["import"].(map[string]any)["status"] != "running"
	}, 30*time.Second, 100*time.Millisecond)
	run := rep.body["import"].(map[string]any)
	require.Equal(t, "done", run["status"], rep.raw)
	require.EqualValues(t, 3, run["created"])
	require.EqualValues(t, 1, run["rejected"])
	rejects := rep.body["rejects"].([]any)
	require.Len(t, rejects, 1)
	require.Contains(t, rejects[0].(map[string]any)["reason"], "naissance")

	csv := call(t, "department", "GET", "/api/v1/imports/"+id+"/rejects.csv", nil)
	require.Equal(t, 200, csv.status)
	require.True(t, strings.HasPrefix(strings.TrimPrefix(csv.raw, "\uFEFF"), "ligne;motif du rejet"))

	// A truncated file is refused at once, and says so.
	r = call(t, "department", "POST", "/api/v1/imports?format=flux", data.String()[:data.Len()/2])
	require.Equal(t, 202, r.status)
	require.Equal(t, "refused", r.body["status"])
	require.Contains(t, r.body["message"], "tronqué")

	list := call(t, "department", "GET", "/api/v1/imports", nil)
	require.Equal(t, 200, list.status)
	require.NotEmpty(t, items(list, "items"))
}

func TestImportMappingOverHTTP(t *testing.T) {
	t.Parallel()
	m := call(t, "department", "GET", "/api/v1/import-mapping", nil)
	require.Equal(t, 200, m.status)
	require.Contains(t, fmt.Sprint(m.body["entered_on"]), "date debut droits - devoirs")
	bad := call(t, "department", "PUT", "/api/v1/import-mapping", map[string]any{"last_name": []string{"Nom"}})
	require.Equal(t, 400, bad.status)
	require.Equal(t, 403, call(t, "supervisor", "GET", "/api/v1/import-mapping", nil).status)
}

// ?dry_run=true says what the import would do and writes nothing.
func TestImportDryRunOverHTTP(t *testing.T) {
	t.Parallel()
	ref := fmt.Sprintf("DRY-%d", time.Now().UnixNano())
	day := today().AddDays(-1).French()
	list := "Identifiant;Nom *;Prénom *;Date de naissance;Date d'entrée;Téléphone;Type de parcours;Date d'orientation;Structure référente\n" +
		ref + "-1;Martin;Léa;05/03/1982;" + day + ";12;social;" + day + ";CCAS\n" +
		ref + "-2;Petit;Jean;31/02/1990;" + day + ";;;;\n" +
		ref + "-3;Moreau;Inès;01/01/1990;" + day + ";;;;\n" +
		ref + "-4;Dur"
	r := call(t, "department", "POST", "/api/v1/imports?dry_run=true&name=liste.csv", list)
	require.Equal(t, 200, r.status, r.raw)
	require.EqualValues(t, 4, r.body["total"])
	require.EqualValues(t, 2, r.body["rejected"], r.raw)
	require.EqualValues(t, 1, r.body["warned"])
	counts := map[string]float64{}
	for _, c := range r.body["counts"].([]any) {
		c := c.(map[string]any)
		counts[c["label"].(string)] = c["count"].(float64)
	}
	require.Equal(t, map[string]float64{"en attente d'orientation": 1, "en attente de contrat": 1, "en accompagnement": 0}, counts)
	report := fmt.Sprint(r.body["report"])
	require.Contains(t, report, "téléphone")
	require.Contains(t, report, "coupée")
	require.Contains(t, report, "date de naissance")

	var n int
	require.NoError(t, fixture.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM beneficiaries WHERE external_id LIKE $1`, ref+"%").Scan(&n))
	require.Zero(t, n, "a dry run writes nothing")

	// Missing columns: refused with every name.
	r = call(t, "department", "POST", "/api/v1/imports?dry_run=true", "Ville\nValence\n")
	require.Equal(t, 400, r.status)
	require.Contains(t, r.raw, "Nom")
	require.Contains(t, r.raw, "identification")
	require.Equal(t, 403, call(t, "referent:ref-1", "POST", "/api/v1/imports?dry_run=true", list).status)
}

// A workbook's named sheet, previewed over the API.
func TestImportWorkbookDryRunOverHTTP(t *testing.T) {
	t.Parallel()
	f := excelize.NewFile()
	require.NoError(t, f.SetSheetName("Sheet1", "Notes"))
	_, err := f.NewSheet("Suivis")
	require.NoError(t, err)
	day := today().AddDays(-3)
	rows := [][]any{{"Identifiant *", "Nom *", "Prénom *", "Date de naissance", "Date d'entrée en droits et devoirs"},
		{fmt.Sprintf("WB-%d", time.Now().UnixNano()), "Martin", "Léa", 30387.0, day.French()}}
	for i, r := range rows {
		require.NoError(t, f.SetSheetRow("Suivis", fmt.Sprintf("A%d", i+1), &r))
	}
	buf, err := f.WriteToBuffer()
	require.NoError(t, err)
	r := call(t, "department", "POST", "/api/v1/imports?dry_run=true&feuille=Suivis", buf.String())
	require.Equal(t, 200, r.status, r.raw)
	require.Equal(t, "xlsx", r.body["format"])
	require.EqualValues(t, 1, r.body["total"])
	require.EqualValues(t, 0, r.body["rejected"], r.raw)
	require.Equal(t, "Suivis", r.body["info"].(map[string]any)["sheet"])
	r = call(t, "department", "POST", "/api/v1/imports?dry_run=true&feuille=Absente", buf.String())
	require.Equal(t, 400, r.status)
	require.Contains(t, r.raw, "Notes, Suivis")
}
