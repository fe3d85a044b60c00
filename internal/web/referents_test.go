package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// clean fails on what a page must never show: template slips and codes.
func clean(t *testing.T, page string, codes ...string) {
	t.Helper()
	require.NotContains(t, page, "%!")
	require.NotContains(t, page, "<no value>")
	for _, c := range codes {
		require.NotContains(t, page, ">"+c+"<", "a raw code or id shown as text")
	}
}

// A supervisor gives parcours only to their structure's active référents;
// an attacker posting another structure's id, a made-up id or a
// deactivated référent's id is refused in French, and nothing changes.
func TestReassignmentScope(t *testing.T) {
	t.Parallel()
	pid := oriented(t, "WEB-SCOPE", "web-ref-3")
	chef := newBrowser(t)
	chef.login("chef@cd.fr")
	status, page, _ := chef.get("/dossiers/" + pid + "?onglet=enregistrer")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, `name="referent_id"`)
	require.Contains(t, page, ">Yann Référent — Nord</option>")
	require.NotContains(t, page, "Léa Référente —", "another structure's référent is not offered")
	token := csrf(t, page)
	today := domain.DateOf(time.Now()).String()
	for _, c := range []struct{ id, want string }{
		{"web-ref-1", "qu'à un référent de votre structure (« Nord »)"},
		{"ref-ghost", "Référent inconnu : choisissez le référent dans la liste."},
		{"", "L'identifiant du nouveau référent est obligatoire"},
	} {
		status, body, _ := chef.post("/dossiers/"+pid+"/referent", url.Values{"csrf": {token}, "referent_id": {c.id}, "on": {today}, "reason": {"Renfort"}, "confirm": {"oui"}})
		require.NotEqual(t, http.StatusSeeOther, status, c.id)
		require.Contains(t, html.UnescapeString(body), c.want, c.id)
		clean(t, body)
	}
	// A deactivated référent, even of the structure.
	ctx := context.Background()
	svc := fx.env.Service
	dep := domain.Actor{ID: "test", Role: domain.RoleDepartment}
	yann, err := svc.Referent(ctx, dep, "web-ref-4")
	require.NoError(t, err)
	gone, err := svc.CreateReferent(ctx, dep, domain.Referent{Name: "Gaston Parti", StructureID: yann.StructureID})
	require.NoError(t, err)
	gone.Active = false
	_, err = svc.UpdateReferent(ctx, dep, gone.ID, gone)
	require.NoError(t, err)
	status, body, _ := chef.post("/dossiers/"+pid+"/referent", url.Values{"csrf": {token}, "referent_id": {gone.ID}, "on": {today}, "reason": {"Renfort"}, "confirm": {"oui"}})
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body, "Le référent « Gaston Parti » est désactivé")
	v, err := svc.Get(ctx, dep, pid)
	require.NoError(t, err)
	require.Equal(t, "web-ref-3", v.ReferentID, "nothing changed")

	// The département may give it to any active référent.
	depB := newBrowser(t)
	depB.login("dep@cd.fr")
	_, page, _ = depB.get("/dossiers/" + pid + "?onglet=enregistrer")
	require.Contains(t, page, ">Léa Référente — ")
	status, _, _ = depB.post("/dossiers/"+pid+"/referent", url.Values{"csrf": {csrf(t, page)}, "referent_id": {"web-ref-1"}, "on": {today}, "reason": {"Renfort"}, "confirm": {"true"}})
	require.Equal(t, http.StatusSeeOther, status)
	_, page, _ = depB.get("/dossiers/" + pid)
	require.Contains(t, page, "référent Léa Référente")
	clean(t, page, "web-ref-1", "web-ref-3")
	require.NotRegexp(t, `[^"]web-ref-[0-9]`, stripAttributes(page), "no id outside attributes")
	_, page, _ = depB.get("/dossiers/" + pid + "?onglet=historique")
	require.Contains(t, page, "Référent changé le")
	require.Contains(t, page, "Léa Référente remplace Zoé Référente.", "the timeline names them")
	clean(t, page, "web-ref-1", "web-ref-3")
	require.NotRegexp(t, `[^"]web-ref-[0-9]`, stripAttributes(page), "no id outside attributes")
}

var attribute = regexp.MustCompile(`(value|href|action|id|for)="[^"]*"`)

func stripAttributes(page string) string { return attribute.ReplaceAllString(page, "") }

// The administration pages: create, search, page, edit, deactivate; the
// lists in the forms; names on the search results, the inbox and the
// accounts page.
func TestStructureAndReferentPages(t *testing.T) {
	t.Parallel()
	dep := newBrowser(t)
	dep.login("dep@cd.fr")
	status, page, _ := dep.get("/structures")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, "Nouvelle structure")
	require.Contains(t, page, ">mission locale</option>")
	token := csrf(t, page)
	suffix := fmt.Sprint(time.Now().UnixNano())
	name := "Mission locale de Falaise " + suffix
	status, _, loc := dep.post("/structures", url.Values{"csrf": {token}, "name": {name}, "kind": {"mission_locale"}, "address": {"Place Guillaume"}})
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/structures?enregistre=1", loc)
	status, body, _ := dep.post("/structures", url.Values{"csrf": {token}, "name": {strings.ToUpper(name)}, "kind": {"mission_locale"}})
	require.Equal(t, http.StatusConflict, status)
	require.Contains(t, html.UnescapeString(body), "Une structure s'appelle déjà")
	status, body, _ = dep.post("/structures", url.Values{"csrf": {token}, "name": {"Sans type " + suffix}})
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body, `id="structure-kind-err"`)
	_, page, _ = dep.get("/structures?q=" + url.QueryEscape(suffix))
	require.Contains(t, page, name)
	require.Contains(t, page, "<td>mission locale</td>")
	clean(t, page, "mission_locale")
	sid := regexp.MustCompile(`href="/structures/(str-[a-z2-7]+)"`).FindStringSubmatch(page)[1]

	// Référents: 60 in the new structure, two pages of 50.
	ctx := context.Background()
	for i := range 60 {
		_, err := fx.env.Service.CreateReferent(ctx, domain.Actor{ID: "test", Role: domain.RoleDepartment},
			domain.Referent{Name: fmt.Sprintf("Agent %02d", i), StructureID: sid})
		require.NoError(t, err)
	}
	status, page, _ = dep.get("/referents?structure=" + sid)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, 50, strings.Count(page, "<td>"+name+"</td>"))
	next := regexp.MustCompile(`apres=(ref-[a-z2-7]+)`).FindStringSubmatch(page)
	require.NotNil(t, next, "a next page link")
	_, page2, _ := dep.get("/referents?structure=" + sid + "&apres=" + next[1])
	require.Equal(t, 10, strings.Count(page2, "<td>"+name+"</td>"))
	require.NotContains(t, page2, "apres=")

	status, _, _ = dep.post("/referents", url.Values{"csrf": {token}, "name": {"Camille Leroy"}, "email": {"camille." + suffix + "@falaise.fr"}, "structure_id": {sid}})
	require.Equal(t, http.StatusSeeOther, status)
	status, body, _ = dep.post("/referents", url.Values{"csrf": {token}, "name": {"Sans structure"}})
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body, "Choisissez la structure du référent.")
	_, page, _ = dep.get("/referents?q=" + url.QueryEscape("camille."+suffix))
	require.Contains(t, page, "Camille Leroy")
	require.Contains(t, page, "<td>actif</td>")
	rid := regexp.MustCompile(`href="/referents/(ref-[a-z2-7]+)"`).FindStringSubmatch(page)[1]
	_, page, _ = dep.get("/referents/" + rid)
	require.Contains(t, page, "Modifier « Camille Leroy »")
	require.Contains(t, page, `value="Camille Leroy"`)
	status, _, _ = dep.post("/referents/"+rid, url.Values{"csrf": {token}, "name": {"Camille Leroy"}, "structure_id": {sid}})
	require.Equal(t, http.StatusSeeOther, status, "unchecked: deactivated")
	_, page, _ = dep.get("/referents?q=" + url.QueryEscape("Camille Leroy"))
	require.Contains(t, page, "<td>désactivé</td>")
	clean(t, page)

	// A supervisor reads their structure's référents, without the forms;
	// a référent has no such page.
	chef := newBrowser(t)
	chef.login("chef@cd.fr")
	_, page, _ = chef.get("/referents")
	require.Contains(t, page, "Zoé Référente")
	require.NotContains(t, page, "Agent 0", "another structure's")
	require.NotContains(t, page, "Nouveau référent")
	lea := newBrowser(t)
	lea.login("lea@cd.fr")
	status, page, _ = lea.get("/referents")
	require.Equal(t, http.StatusForbidden, status)
	status, _, _ = lea.post("/structures", url.Values{"csrf": {csrf(t, page)}, "name": {"X"}, "kind": {"ccas"}})
	require.Equal(t, http.StatusForbidden, status)

	// The orientation form chooses the organism and the référent.
	pid := oriented(t, "WEB-NAMES", "")
	_, page, _ = dep.get("/dossiers/" + pid + "?onglet=enregistrer")
	require.Contains(t, page, `<select id="orientation-organism" name="organism"`)
	require.Contains(t, page, `<option value="`+name+`">`+name+`</option>`)
	require.Contains(t, page, `<select id="orientation-referent_id" name="referent_id"`)
	require.Contains(t, page, ">Agent 00 — "+name+"</option>")
	require.NotContains(t, page, ">Camille Leroy — ", "a deactivated référent is not offered")
	agent := regexp.MustCompile(`<option value="(ref-[a-z2-7]+)">Agent 00 — `).FindStringSubmatch(page)[1]
	status, _, _ = dep.post("/dossiers/"+pid+"/orientation", url.Values{"csrf": {csrf(t, page)}, "track": {"social"},
		"organism": {name}, "referent_id": {agent}, "decided_on": {domain.DateOf(time.Now()).String()}, "decided_by": {"france_travail"}})
	require.Equal(t, http.StatusSeeOther, status)
	_, page, _ = dep.get("/dossiers/" + pid)
	require.Contains(t, page, "référent Agent 00")
	require.NotContains(t, stripAttributes(page), agent)
	clean(t, page)
	_, page, _ = dep.get("/dossiers/" + pid + "?onglet=historique")
	require.Contains(t, page, "organisme référent "+name+", référent Agent 00.")
	require.NotContains(t, stripAttributes(page), agent)
	clean(t, page)

	// Names on the search results, the inbox and the accounts page.
	v, err := fx.env.Service.Get(ctx, domain.Actor{ID: "test", Role: domain.RoleDepartment}, pid)
	require.NoError(t, err)
	_, page, _ = dep.get("/recherche?q=" + url.QueryEscape(v.BeneficiaryID))
	require.Contains(t, page, `<td data-label="Référent">Agent 00</td>`)
	require.NotContains(t, stripAttributes(page), agent)
	_, page, _ = dep.get("/echeances")
	require.Contains(t, page, `class="sort">Référent<span class="sr-only"> : trier par ordre croissant</span></a></th>`)
	require.NotContains(t, stripAttributes(page), "web-ref-")
	clean(t, page)
	admin := newBrowser(t)
	admin.login("admin@cd.fr")
	_, page, _ = admin.get("/comptes")
	require.Contains(t, page, "<td>Zoé Référente</td>")
	require.Contains(t, page, `<select id="compte-referent" name="referent"`)
	require.Contains(t, page, `<select id="compte-structure" name="structure"`)
	require.NotContains(t, stripAttributes(page), "web-ref-")
	clean(t, page)
	status, body, _ = admin.post("/comptes", url.Values{"csrf": {csrf(t, page)}, "email": {"x" + suffix + "@cd.fr"}, "name": {"X"}, "role": {"referent"}, "referent": {"ref-ghost"}})
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body, "Référent inconnu : choisissez le référent dans la liste.")
	status, body, _ = admin.post("/comptes", url.Values{"csrf": {csrf(t, page)}, "email": {"camille" + suffix + "@cd.fr"}, "name": {"Camille"}, "role": {"supervisor"}, "structure": {name}})
	require.Equal(t, http.StatusCreated, status, body)
}
