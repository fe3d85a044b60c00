package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/letters"
	"github.com/parcours-rsa/parcours/internal/letters/lettertest"
)

func TestLetterPages(t *testing.T) {
	t.Parallel()
	today := domain.DateOf(time.Now())
	rid, dep := openCase(t, "WEB-L")
	status, page, _ := dep.get("/courriers")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, "Références imprimées")
	head := url.Values{"csrf": {csrf(t, page)}, "departement": {"Département du Gers"}, "address": {"81 route de Pessan\n32000 Auch"},
		"city": {""}, "signatory_name": {"Anne Sarrat"}, "signatory_title": {"Pour le Président du conseil départemental"}}
	status, body, _ := dep.post("/courriers/en-tete", head)
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body, "La ville de signature")
	head.Set("city", "Auch")
	status, _, loc := dep.post("/courriers/en-tete", head)
	require.Equal(t, http.StatusSeeOther, status)
	_, page, _ = dep.get(loc)
	require.Contains(t, page, "En-tête enregistré.")
	status, body, _ = dep.post("/courriers/modeles/convocation", url.Values{"csrf": {csrf(t, page)}, "body": {"Venez le {{.Jour}}."}})
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body, "champs possibles")

	// From the case page: produce the notice, download it, record its sending.
	_, page, _ = dep.get("/examens/" + rid)
	require.Contains(t, page, "Préparer le courrier d&#39;information (PDF)")
	status, body, _ = dep.post("/examens/"+rid+"/produire/notice", url.Values{"csrf": {csrf(t, page)}, "address": {""}, "planned_kind": {"suspension"},
		"planned_percent": {"30"}, "planned_months": {"1"}})
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body, `id="produire-notice-address-err"`)
	status, _, loc = dep.post("/examens/"+rid+"/produire/notice", url.Values{"csrf": {csrf(t, page)}, "address": {"4 rue Gambetta\n32000 Auch"}, "planned_kind": {"suspension"},
		"planned_percent": {"30"}, "planned_months": {"1"}})
	require.Equal(t, http.StatusSeeOther, status)
	_, page, _ = dep.get(loc)
	require.Contains(t, page, "brouillon")
	link := regexp.MustCompile(`href="(/examens/[^"]+/courriers/([^/"]+)/pdf)"`).FindStringSubmatch(page)
	require.NotNil(t, link, page)
	status, pdf, _ := dep.get(link[1])
	require.Equal(t, http.StatusOK, status)
	text, err := lettertest.Flat([]byte(pdf))
	require.NoError(t, err)
	require.Contains(t, text, "Maï Nguyen")
	require.Contains(t, text, "4 rue Gambetta")
	require.Contains(t, text, "Fait à Auch")
	require.Contains(t, page, letters.Hash([]byte(pdf))[:16], "the page shows the hash of what it serves")

	// One form records a letter's sending: the draft is among its choices.
	require.Equal(t, 1, strings.Count(page, `action="/examens/`+rid+`/envoi"`))
	require.Contains(t, page, `<option value="`+link[2]+`">n° `)
	status, _, loc = dep.post("/examens/"+rid+"/courriers/"+link[2]+"/envoi", url.Values{"csrf": {csrf(t, page)}, "mode": {"recommande_ar"}, "sent_on": {today.String()}})
	require.Equal(t, http.StatusSeeOther, status)
	_, page, _ = dep.get(loc)
	require.Contains(t, page, "courrier envoyé, réception à enregistrer")
	require.Contains(t, page, "Réception du courrier n°")
	require.Contains(t, page, "name=\"address\" rows=\"3\">4 rue Gambetta\n32000 Auch</textarea>", "the convocation form offers the address typed before")
	status, _, loc = dep.post("/examens/"+rid+"/courriers/"+link[2]+"/reception", url.Values{"csrf": {csrf(t, page)}, "received_on": {today.String()}})
	require.Equal(t, http.StatusSeeOther, status)
	_, page, _ = dep.get(loc)
	require.Contains(t, page, "délai d&#39;observation")
	require.Contains(t, page, "observations jusqu'au "+today.AddDays(10).French())

	// A convocation produced, sent through the case's one sending form.
	status, _, loc = dep.post("/examens/"+rid+"/produire/convocation", url.Values{"csrf": {csrf(t, page)}, "address": {"4 rue Gambetta\n32000 Auch"},
		"appointment_on": {today.AddDays(5).String()}, "appointment_at": {"14:30"}, "place": {"Hôtel du Département"}})
	require.Equal(t, http.StatusSeeOther, status)
	_, page, _ = dep.get(loc)
	convocation := regexp.MustCompile(`<option value="([^"]+)" selected>n° [^<]*Convocation`).FindStringSubmatch(page)
	require.NotNil(t, convocation, "the one letter to send is chosen")
	status, body, _ = dep.post("/examens/"+rid+"/envoi", url.Values{"csrf": {csrf(t, page)}, "courrier": {convocation[1]}, "sent_on": {today.String()}})
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body, `id="envoi-mode-err">Choisissez le mode d&#39;envoi.`)
	status, _, loc = dep.post("/examens/"+rid+"/envoi", url.Values{"csrf": {csrf(t, page)}, "courrier": {convocation[1]}, "mode": {"remise_main"}, "sent_on": {today.String()}})
	require.Equal(t, http.StatusSeeOther, status)
	_, page, _ = dep.get(loc)
	require.Contains(t, page, "envoyé le "+today.French()+" (")
	require.NotContains(t, page, `/envoi"`, "nothing left to send")

	// A référent sees the case, not the letter forms.
	lea := newBrowser(t)
	lea.login("lea@cd.fr")
	_, page, _ = lea.get("/examens/" + rid)
	require.NotContains(t, page, "Produire")
	status, _, _ = lea.get("/courriers")
	require.Equal(t, http.StatusForbidden, status)
}
