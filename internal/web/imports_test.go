package web_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
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

func (b *browser) upload(path, csrfToken, name string, data []byte, fields map[string]string) (int, string, string) {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	require.NoError(b.t, mw.WriteField("csrf", csrfToken))
	for k, v := range fields {
		require.NoError(b.t, mw.WriteField(k, v))
	}
	fw, err := mw.CreateFormFile("fichier", name)
	require.NoError(b.t, err)
	_, _ = fw.Write(data)
	require.NoError(b.t, mw.Close())
	res, err := b.client.Post(fx.server.URL+path, mw.FormDataContentType(), &body)
	require.NoError(b.t, err)
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(out), res.Header.Get("Location")
}

func TestImportPages(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	b.login("dep@cd.fr")
	status, page, _ := b.get("/imports")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, "Nouvel import")
	token := csrf(t, page)

	// A flux with one good and one bad household.
	day := domain.DateOf(time.Now()).AddDays(-1)
	g := importer.Synthetic(3, uint64(time.Now().UnixNano()%1_000_000), day)
	g.Households[1].State = "Z"
	var data bytes.Buffer
	require.NoError(t, importer.WriteFlux(&data, g))
	status, _, loc := b.upload("/imports", token, "RSABEI.xml", data.Bytes(), nil)
	require.Equal(t, http.StatusSeeOther, status)
	require.Regexp(t, `^/imports/[0-9a-f-]{36}$`, loc)

	var report string
	require.Eventually(t, func() bool {
		_, report, _ = b.get(loc)
		return strings.Contains(report, "terminé")
	}, 30*time.Second, 100*time.Millisecond)
	assert.Contains(t, report, "Lignes rejetées")
	assert.Contains(t, report, "état du dossier inconnu")
	assert.Regexp(t, `Créés[^<]*</th><td>2</td>`, report)
	status, csvBody, _ := b.get(loc + "/rejets.csv")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, csvBody, "ligne;motif du rejet")

	// A CSV missing a required column is refused with the names.
	status, _, loc = b.upload("/imports", token, "liste.csv", []byte("Nom;Prénom\nMartin;Léa\n"), nil)
	require.Equal(t, http.StatusSeeOther, status)
	_, report, _ = b.get(loc)
	assert.Contains(t, report, "refusé")
	assert.Contains(t, report, "colonnes manquantes")

	// A référent may not import.
	r := newBrowser(t)
	r.login("lea@cd.fr")
	status, _, _ = r.get("/imports")
	assert.Equal(t, http.StatusForbidden, status)
	_, page, _ = r.get("/echeances")
	assert.NotContains(t, page, `href="/imports"`)
}

func TestImportMappingPage(t *testing.T) {
	b := newBrowser(t)
	b.login("admin@cd.fr")
	status, page, _ := b.get("/imports/correspondance")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, "date debut droits - devoirs")
	form := url.Values{"csrf": {csrf(t, page)}}
	for _, f := range importer.FieldLabels {
		form.Set(f.Field, "")
	}
	form.Set("last_name", "Nom de famille")
	status, page, _ = b.post("/imports/correspondance", form)
	require.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, page, "obligatoire")

	form.Set("first_name", "Prénom usuel ; Prénom")
	form.Set("birth_date", "Né le")
	form.Set("entered_on", "Entrée D&D")
	form.Set("external_id", "Réf. dossier")
	status, page, _ = b.post("/imports/correspondance", form)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, page, "Correspondance enregistrée")

	// The next list uses it.
	_, page, _ = b.get("/imports")
	day := domain.DateOf(time.Now()).AddDays(-1)
	ref := fmt.Sprintf("WEB-%d", time.Now().UnixNano())
	list := fmt.Sprintf("Réf. dossier;Nom de famille;Prénom usuel;Né le;Entrée D&D\n%s;Martin;Léa;05/03/1982;%s\n", ref, day.French())
	status, _, loc := b.upload("/imports", csrf(t, page), "liste.csv", []byte(list), nil)
	require.Equal(t, http.StatusSeeOther, status)
	var report string
	require.Eventually(t, func() bool {
		_, report, _ = b.get(loc)
		return regexp.MustCompile(`terminé|refusé|interrompu`).MatchString(report)
	}, 30*time.Second, 100*time.Millisecond)
	assert.Regexp(t, `Créés[^<]*</th><td>1</td>`, report)

	// Back to the defaults for the other tests.
	_, page, _ = b.get("/imports/correspondance")
	status, _, _ = b.post("/imports/correspondance", url.Values{"csrf": {csrf(t, page)}, "reset": {"1"}})
	require.Equal(t, http.StatusOK, status)
}
