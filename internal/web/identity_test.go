package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/importer"
)

func (b *browser) importList(name, list string) string {
	b.t.Helper()
	_, page, _ := b.get("/imports")
	status, _, loc := b.upload("/imports", csrf(b.t, page), name, []byte(list), map[string]string{"format": "csv"})
	require.Equal(b.t, http.StatusSeeOther, status)
	var report string
	require.Eventually(b.t, func() bool {
		_, report, _ = b.get(loc)
		return regexp.MustCompile(`terminé|refusé|interrompu`).MatchString(report)
	}, 60*time.Second, 100*time.Millisecond)
	require.Contains(b.t, report, "terminé")
	return report
}

// The review list renders real lines in French, the NIR masked, and
// « Même personne » applies the line.
func TestIdentitiesPage(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	b.login("dep@cd.fr")
	nir := importer.SyntheticNIR(uint64(time.Now().UnixNano()%1_000_000)+313, 0, 0)
	day := domain.DateOf(time.Now()).AddDays(-2).French()
	head := "NIR;Nom;Prénom;Date de naissance;Date d'entrée\n"
	b.importList("marie.csv", head+fmt.Sprintf("%s;Lefèvre;Marie;05/03/1982;%s\n", nir, day))
	report := b.importList("paul.csv", head+fmt.Sprintf("%s;Lefèvre;Paulin;05/03/1982;%s\n", nir, day))
	assert.Regexp(t, `Identités à vérifier</a>[^<]*</th><td>1</td>`, report)

	status, page, _ := b.get("/imports/identites")
	require.Equal(t, http.StatusOK, status)
	for _, want := range []string{"Identités à vérifier", "en attente de décision", "Même NIR, autre prénom",
		"<strong>Lefèvre Paulin</strong>", "<strong>Lefèvre Marie</strong>", "né(e) le 05/03/1982", domain.MaskNIR(nir), "paul.csv</a>, ligne 2",
		"Même personne", "Personnes différentes"} {
		assert.Contains(t, page, want)
	}
	for _, never := range []string{nir, "%!", "<no value>", "first_name", ">same<", ">different<"} {
		assert.NotContains(t, page, never)
	}
	_, dash, _ := b.get("/tableau-de-bord")
	assert.Regexp(t, `\d+ identité\(s\) à vérifier`, dash)
	_, imports, _ := b.get("/imports")
	assert.Contains(t, imports, `href="/imports/identites"`)

	// Others may not see it.
	s := newBrowser(t)
	s.login("lea@cd.fr")
	status, _, _ = s.get("/imports/identites")
	assert.Equal(t, http.StatusForbidden, status)

	// « Même personne » on Paulin's line.
	row := ""
	for _, part := range strings.Split(page, "<tr>") {
		if strings.Contains(part, "Lefèvre Paulin") {
			row = part
		}
	}
	action := regexp.MustCompile(`action="(/imports/identites/[0-9a-f-]{36})"`).FindStringSubmatch(row)
	require.NotNil(t, action)
	token := csrf(t, page)
	status, _, loc := b.post(action[1], url.Values{"csrf": {token}, "decision": {domain.IdentitySame}})
	require.Equal(t, http.StatusSeeOther, status)
	_, page, _ = b.get(loc)
	assert.Contains(t, page, "Décision enregistrée : même personne")
	assert.NotContains(t, page, "Lefèvre Paulin")
	status, _, _ = b.post(action[1], url.Values{"csrf": {token}, "decision": {domain.IdentitySame}})
	assert.Equal(t, http.StatusConflict, status)

	_, results, _ := b.get("/recherche?q=" + url.QueryEscape("lefevre paulin"))
	assert.Contains(t, results, "Lefèvre")
	assert.Contains(t, results, "Paulin")
}
