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
	"github.com/xuri/excelize/v2"

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
	status, body, _ := b.post("/imports/correspondance", url.Values{"csrf": {csrf(t, page)}, "reset": {"1"}})
	require.Equal(t, http.StatusBadRequest, status, "a reset not confirmed does nothing")
	require.Contains(t, body, "Cochez « Je confirme »")
	status, _, _ = b.post("/imports/correspondance", url.Values{"csrf": {csrf(t, page)}, "reset": {"1"}, "confirm": {"oui"}})
	require.Equal(t, http.StatusOK, status)
}

// reportOf waits for an import's report.
func (b *browser) reportOf(loc string) string {
	b.t.Helper()
	var report string
	require.Eventually(b.t, func() bool {
		_, report, _ = b.get(loc)
		return regexp.MustCompile(`terminé|refusé|interrompu`).MatchString(report)
	}, 60*time.Second, 100*time.Millisecond)
	return report
}

func noTemplateLeak(t *testing.T, page string) {
	t.Helper()
	assert.NotContains(t, page, "%!")
	assert.NotContains(t, page, "<no value>")
}

// A workbook (named sheet, starred headers, serial dates, a reprise
// situation) goes through the preview, then the import.
func TestImportWorkbookWithPreview(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	b.login("dep@cd.fr")
	_, page, _ := b.get("/imports")
	assert.Contains(t, page, "modele-reprise.xlsx")
	assert.Contains(t, page, "Prévisualiser")
	token := csrf(t, page)

	ref := fmt.Sprintf("XL-%d", time.Now().UnixNano())
	entered := float64(domain.DateOf(time.Now()).AddDays(-20).Time().Sub(time.Date(1899, 12, 30, 0, 0, 0, 0, domain.Paris)).Hours() / 24)
	f := excelize.NewFile()
	require.NoError(t, f.SetSheetName("Sheet1", "Lisez-moi"))
	_, err := f.NewSheet("Suivis")
	require.NoError(t, err)
	rows := [][]any{
		{"Identifiant *", "Nom *", " Prénom * ", "Date de naissance", "Date d'entrée en droits et devoirs*", "Téléphone", "Parcours d'orientation", "Date de la décision d'orientation", "Structure d'accompagnement"},
		{ref + "-1", "Lefèvre", "Hélène", 30387.0, entered, "06 12 34 56 78", "social", entered, "CCAS"},
		{ref + "-2", "Martin", "Paul", "05/03/1982", entered, "12"},
	}
	for i, r := range rows {
		require.NoError(t, f.SetSheetRow("Suivis", fmt.Sprintf("A%d", i+1), &r))
	}
	buf, err := f.WriteToBuffer()
	require.NoError(t, err)

	status, page, _ := b.upload("/imports", token, "reprise.xlsx", buf.Bytes(), map[string]string{"action": "preview", "feuille": "Suivis"})
	require.Equal(t, http.StatusOK, status, page)
	noTemplateLeak(t, page)
	assert.Contains(t, page, "Rien n'est encore écrit")
	assert.Regexp(t, `en attente de contrat</th><td>1</td>`, page)
	assert.Regexp(t, `en attente d&#39;orientation</th><td>1</td>`, page)
	assert.Contains(t, page, "Lefèvre")
	assert.Contains(t, page, "numéro de téléphone mal formé")
	assert.NotContains(t, page, "&#34;12&#34;", "the report never repeats the refused number")

	// Nothing written yet: cancel forgets the file.
	action := regexp.MustCompile(`action="(/imports/apercu/[0-9a-f]{32})"`).FindStringSubmatch(page)
	require.NotNil(t, action)
	status, _, loc := b.post(action[1], url.Values{"csrf": {csrf(t, page)}, "action": {"cancel"}})
	require.Equal(t, http.StatusSeeOther, status)
	assert.Equal(t, "/imports", loc)
	status, _, _ = b.post(action[1], url.Values{"csrf": {csrf(t, page)}, "action": {"import"}})
	assert.Equal(t, http.StatusNotFound, status, "a cancelled preview cannot be imported")

	// Again, then « Importer »; another user cannot use the preview.
	_, page, _ = b.upload("/imports", token, "reprise.xlsx", buf.Bytes(), map[string]string{"action": "preview", "feuille": "suivis"})
	action = regexp.MustCompile(`action="(/imports/apercu/[0-9a-f]{32})"`).FindStringSubmatch(page)
	require.NotNil(t, action)
	other := newBrowser(t)
	other.login("admin@cd.fr")
	_, otherPage, _ := other.get("/imports")
	status, _, _ = other.post(action[1], url.Values{"csrf": {csrf(t, otherPage)}, "action": {"import"}})
	assert.Equal(t, http.StatusNotFound, status, "a preview is its uploader's")
	status, _, loc = b.post(action[1], url.Values{"csrf": {csrf(t, page)}, "action": {"import"}})
	require.Equal(t, http.StatusSeeOther, status)
	report := b.reportOf(loc)
	noTemplateLeak(t, report)
	assert.Contains(t, report, "Classeur Excel (feuille « Suivis »)")
	assert.Regexp(t, `Créés[^<]*</th><td>2</td>`, report)
	assert.Regexp(t, `avertissement[^<]*</th><td>1</td>`, report)
	assert.Contains(t, report, "<td>avertissement</td>")
	status, csvBody, _ := b.get(loc + "/rejets.csv")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, csvBody, ";avertissement")
}

// A CSV with the problems of real files: a column missing (refused, every
// name, the mapping linked), then malformed optional values, an invalid
// byte, a cut last line, no entry date.
func TestImportCSVWithProblems(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	b.login("dep@cd.fr")
	_, page, _ := b.get("/imports")
	token := csrf(t, page)

	status, _, loc := b.upload("/imports", token, "liste.csv", []byte("Date de naissance;Ville\n01/01/1980;Valence\n"), map[string]string{"action": "import"})
	require.Equal(t, http.StatusSeeOther, status)
	report := b.reportOf(loc)
	assert.Contains(t, report, "refusé")
	for _, want := range []string{"« Nom »", "« Prénom »", "identification", `href="/imports/correspondance"`} {
		assert.Contains(t, report, want)
	}

	ref := fmt.Sprintf("PB-%d", time.Now().UnixNano())
	list := "Identifiant*;Nom *;Prénom *;Date de naissance;Téléphone;Adresse électronique\n" +
		ref + "-1;Martin;Léa;05/03/1982;06 12;lea.exemple.fr\n" +
		ref + "-2;Mar\x81tin;Jean;01/01/1990;;\n" +
		ref + "-3;Petit;Jean;01/01/199"
	status, page, _ = b.upload("/imports", token, "liste.csv", []byte(list), map[string]string{"action": "preview"})
	require.Equal(t, http.StatusOK, status, page)
	noTemplateLeak(t, page)
	assert.Contains(t, page, "Date d&#39;entrée en droits et devoirs » est absente")
	assert.Contains(t, page, "coupée")
	assert.Contains(t, page, "0x81")

	status, _, loc = b.upload("/imports", token, "liste.csv", []byte(list), map[string]string{"action": "import"})
	require.Equal(t, http.StatusSeeOther, status)
	report = b.reportOf(loc)
	noTemplateLeak(t, report)
	assert.Regexp(t, `Créés[^<]*</th><td>1</td>`, report)
	assert.Regexp(t, `Rejetés</th><td>2</td>`, report)
	assert.Contains(t, report, "colonne 2 « Nom * »")
	assert.Contains(t, report, "la dernière ligne du fichier est coupée")
	assert.Contains(t, report, "adresse électronique")
	assert.NotContains(t, report, "\u0081")
}

func TestImportTemplateAndGuide(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	b.login("dep@cd.fr")
	status, body, _ := b.get("/imports/modele-reprise.csv")
	require.Equal(t, http.StatusOK, status)
	assert.True(t, strings.HasPrefix(body, "\uFEFFIdentifiant du bénéficiaire"))
	assert.Contains(t, body, "Nom *;Prénom *")
	assert.Contains(t, body, "Type de contrat")
	status, body, _ = b.get("/imports/modele-reprise.xlsx")
	require.Equal(t, http.StatusOK, status)
	f, err := excelize.OpenReader(strings.NewReader(body))
	require.NoError(t, err)
	rows, err := f.GetRows("Reprise")
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, importer.TemplateHeader(), rows[0])

	status, page, _ := b.get("/imports/guide")
	require.Equal(t, http.StatusOK, status)
	noTemplateLeak(t, page)
	for _, want := range []string{"Accompagné au 01/01/2025", "contrat d&#39;engagement", "obligatoire dans certains cas", "socio-professionnel"} {
		assert.Contains(t, page, want)
	}
}
