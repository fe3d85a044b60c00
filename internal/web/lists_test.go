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

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/domain"
)

// person registers a beneficiary entered 70 days ago and, with a
// référent, orients them 60 days ago (the contract is overdue).
func person(t *testing.T, last, first, referent string) string {
	t.Helper()
	ctx := context.Background()
	admin := domain.Actor{ID: "test", Role: domain.RoleAdmin}
	today := domain.DateOf(time.Now())
	v, _, err := fx.env.Service.Intake(ctx, admin, domain.Intake{BeneficiaryID: fmt.Sprintf("WEB-P-%d", time.Now().UnixNano()),
		LastName: last, FirstName: first, BirthDate: domain.NewDate(1990, 1, 1), EnteredAt: today.AddDays(-70)})
	require.NoError(t, err)
	if referent != "" {
		_, err = fx.env.Service.RecordOrientation(ctx, admin, v.ID, domain.Orientation{Track: domain.TrackSocial, Organism: "CCAS",
			ReferentID: referent, DecidedOn: today.AddDays(-60)})
		require.NoError(t, err)
	}
	return v.ID
}

// newReferent creates a référent account of its own (a list no other test
// adds to) and logs it in.
func newReferent(t *testing.T) (*browser, string) {
	t.Helper()
	n := time.Now().UnixNano()
	ref, email := fmt.Sprintf("web-ref-sort-%d", n), fmt.Sprintf("tri-%d@cd.fr", n)
	_, err := fx.env.Service.CreateAccount(context.Background(), domain.System, app.NewAccount{Email: email, Name: "Tess Tri",
		Role: domain.RoleReferent, ReferentID: ref, Password: "mot de passe " + email})
	require.NoError(t, err)
	b := newBrowser(t)
	_, page, _ := b.get("/connexion")
	status, _, _ := b.post("/connexion", url.Values{"csrf": {csrf(t, page)}, "email": {email}, "password": {"mot de passe " + email}})
	require.Equal(t, http.StatusSeeOther, status)
	return b, ref
}

var rowName = regexp.MustCompile(`<a href="/dossiers/[^"]+">([^<]+)</a>`)

func names(page string) []string {
	var out []string
	for _, m := range rowName.FindAllStringSubmatch(page, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

var nextLink = regexp.MustCompile(`<a href="([^"]+)" rel="next">Page suivante</a>`)

// TestInboxSortsOnItsColumns: the column headers sort « Mes échéances »
// (aria-sort on the sorted one, the link's name says what a click does),
// the order is the folded names' (accents and case), the filters and the
// sort are kept in the pages' links and the CSV export, which follows it.
func TestInboxSortsOnItsColumns(t *testing.T) {
	t.Parallel()
	b, ref := newReferent(t)
	for _, n := range [][2]string{{"Zola", "Émile"}, {"Éluard", "Paul"}, {"abadie", "Jean"}, {"Camus", "Albert"}, {"Bernard", "Claude"}} {
		person(t, n[0], n[1], ref)
	}
	status, page, _ := b.get("/echeances?type=sign_contract&tri=beneficiaire")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, []string{"abadie Jean", "Bernard Claude", "Camus Albert", "Éluard Paul", "Zola Émile"}, names(page))
	require.Contains(t, page, `<th scope="col" aria-sort="ascending"><a href="/echeances?ordre=desc&amp;tri=beneficiaire&amp;type=sign_contract" class="sort">Bénéficiaire<span class="sr-only"> : trier par ordre décroissant</span> <span aria-hidden="true">▲</span></a></th>`)
	require.Contains(t, page, `<a href="/echeances?tri=echeance&amp;type=sign_contract" class="sort">Échéance<span class="sr-only"> : trier par ordre croissant</span></a>`)
	require.Equal(t, 1, strings.Count(page, "aria-sort="), "one sorted column")
	require.Contains(t, page, `href="/echeances.csv?tri=beneficiaire&amp;type=sign_contract"`, "the export follows the sort and the filters")
	require.Contains(t, page, `<input type="hidden" name="tri" value="beneficiaire">`, "the filter form keeps the sort")
	require.Contains(t, page, "Lignes 1–5 sur 5")
	clean(t, page, "sign_contract", "beneficiaire")

	_, page, _ = b.get("/echeances?type=sign_contract&tri=beneficiaire&ordre=desc")
	require.Equal(t, []string{"Zola Émile", "Éluard Paul", "Camus Albert", "Bernard Claude", "abadie Jean"}, names(page))
	require.Contains(t, page, `aria-sort="descending"`)
	_, body, _ := b.get("/echeances.csv?type=sign_contract&tri=beneficiaire&ordre=desc")
	lines := strings.Split(strings.TrimSpace(body), "\n")
	require.Len(t, lines, 6)
	require.Contains(t, lines[1], ";Zola;Émile;")
	require.Contains(t, lines[5], ";abadie;Jean;")

	for _, col := range []string{"echeance", "tache", "referent"} {
		for _, order := range []string{"", "desc"} {
			status, page, _ = b.get("/echeances?type=sign_contract&tri=" + col + "&ordre=" + order)
			require.Equal(t, http.StatusOK, status, col)
			require.Len(t, names(page), 5, col)
			clean(t, page, "sign_contract")
		}
	}
	status, page, _ = b.get("/echeances?tri=nir")
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, page, "Tri inconnu")
	status, _, _ = b.get("/echeances?tri=beneficiaire&apres=pas-un-curseur")
	require.Equal(t, http.StatusBadRequest, status)
}

// TestSearchPagesAndSort: search results come a page at a time with their
// count, in the order of the column chosen, every result once.
func TestSearchPagesAndSort(t *testing.T) {
	t.Parallel()
	const n, size = 57, 50
	tag := fmt.Sprintf("Trix%d", time.Now().UnixNano()%1000000)
	for i := range n {
		person(t, fmt.Sprintf("%s%02d", tag, i), "Ana", "web-ref-1")
	}
	dep := newBrowser(t)
	dep.login("dep@cd.fr")
	status, page, _ := dep.get("/recherche?q=" + tag + "&tri=beneficiaire&ordre=desc")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, fmt.Sprintf("<strong>%d</strong> résultats.", n))
	require.Contains(t, page, fmt.Sprintf("Lignes 1–%d sur %d", size, n))
	first := names(page)
	require.Len(t, first, size)
	require.Equal(t, fmt.Sprintf("%s%02d Ana", tag, n-1), first[0])
	clean(t, page, "in_accompaniment", "awaiting_contract")
	next := nextLink.FindStringSubmatch(page)
	require.NotNil(t, next)
	_, rest, _ := dep.get(html.UnescapeString(next[1]))
	require.Contains(t, rest, fmt.Sprintf("Lignes %d–%d sur %d", size+1, n, n))
	require.Contains(t, rest, ">Première page</a>")
	require.Nil(t, nextLink.FindStringSubmatch(rest), "the last page")
	all := append(first, names(rest)...)
	require.Len(t, all, n)
	for i := range all {
		require.Equal(t, fmt.Sprintf("%s%02d Ana", tag, n-1-i), all[i], "every result once, in order")
	}
	// The default order (latest first) pages too.
	_, page, _ = dep.get("/recherche?q=" + tag)
	next = nextLink.FindStringSubmatch(page)
	require.NotNil(t, next)
	_, rest, _ = dep.get(html.UnescapeString(next[1]))
	seen := map[string]bool{}
	for _, name := range append(names(page), names(rest)...) {
		require.False(t, seen[name], name)
		seen[name] = true
	}
	require.Len(t, seen, n)
	for _, col := range []string{"identifiant", "entree", "etat", "referent"} {
		status, page, _ = dep.get("/recherche?q=" + tag + "&tri=" + col)
		require.Equal(t, http.StatusOK, status, col)
		require.Len(t, names(page), size, col)
	}
}

// TestDashboardListPages: the dashboard's list shows a page with its
// range, sortable, the reassignment coming back to the same page.
func TestDashboardListPages(t *testing.T) {
	t.Parallel()
	oriented(t, "WEB-DASH", "web-ref-3")
	chef := newBrowser(t)
	chef.login("chef@cd.fr")
	status, page, _ := chef.get("/tableau-de-bord?jours=30&tri=beneficiaire")
	require.Equal(t, http.StatusOK, status)
	require.Regexp(t, `Lignes 1–\d+ sur \d+`, page)
	require.Contains(t, page, `aria-sort="ascending"`)
	require.Contains(t, page, `name="retour" value="/tableau-de-bord?jours=30&amp;tri=beneficiaire"`)
	clean(t, page, "sign_contract")
}

// TestCaseStepsQueueAndOneSendingForm: a case page shows the procedure's
// steps (« Étape 1 sur 6 », the step, the next one) and one form for a
// letter's sending, which records a notice produced outside the service
// as the « courrier » form did; the queue's rows show the person, the
// step and the next date due, sortable on it.
func TestCaseStepsQueueAndOneSendingForm(t *testing.T) {
	t.Parallel()
	today := domain.DateOf(time.Now())
	rid, dep := openCase(t, "WEB-STEPS")
	status, page, _ := dep.get("/examens/" + rid)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, `<h2 id="etape-titre"><span class="stepper-state">Étape 1 sur 6</span> Signalement</h2>`)
	require.Contains(t, page, `<li class="current" aria-current="step"><span class="sr-only">Signalement : en cours</span></li>`)
	require.Contains(t, page, `<strong>Étape suivante :</strong> Notification du courrier d&#39;information`)
	require.Equal(t, 1, strings.Count(page, `action="/examens/`+rid+`/envoi"`), "one sending form")
	require.NotContains(t, page, `action="/examens/`+rid+`/courrier"`)
	require.Contains(t, page, `<option value="hors-service" selected>Courrier d&#39;information produit hors du service</option>`, "the one letter to send, chosen")
	clean(t, page, "reported")

	form := url.Values{"csrf": {csrf(t, page)}, "courrier": {""}, "sent_on": {today.AddDays(-13).String()}, "received_on": {today.AddDays(-11).String()},
		"planned_kind": {"suspension"}, "planned_percent": {"30"}, "planned_months": {"1"}}
	status, body, _ := dep.post("/examens/"+rid+"/envoi", form)
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body, `id="envoi-courrier-err">Choisissez le courrier envoyé.`)
	form.Set("courrier", "hors-service")
	status, _, loc := dep.post("/examens/"+rid+"/envoi", form)
	require.Equal(t, http.StatusSeeOther, status)
	_, page, _ = dep.get(loc)
	require.Contains(t, page, `<span class="stepper-state">Étape 4 sur 6</span> Décision</h2>`)
	require.Contains(t, page, "décision possible depuis le <strong>"+today.French()+"</strong>",
		"received 11 days ago: the 10 days of observations ended yesterday")
	require.NotContains(t, page, `/envoi"`, "nothing left to send")
	clean(t, page)

	status, page, _ = dep.get("/examens?statut=awaiting_decision&tri=echeance&ordre=desc")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, `/examens/`+rid+`">Nguyen Maï</a>`)
	require.Contains(t, page, "Étape 4 sur 6 : décision à prendre")
	require.Contains(t, page, "décision possible depuis le <strong>"+today.French()+"</strong>")
	require.Contains(t, page, `aria-sort="descending"`)
	require.Regexp(t, `Lignes 1–\d+ sur \d+`, page)
	clean(t, page, "awaiting_decision")
	for _, col := range []string{"personne", "signale", "referent", "etape", "echeance"} {
		status, page, _ = dep.get("/examens?tri=" + col)
		require.Equal(t, http.StatusOK, status, col)
		clean(t, page)
	}
	status, _, _ = dep.get("/examens?statut=inconnu")
	require.Equal(t, http.StatusBadRequest, status)
}

// TestInboxFiltersOnStructureAndTrack: « Mes échéances » filters on the
// structure of the parcours' référent and on the type of parcours, in its
// counts, its rows and its CSV link (issue 23).
func TestInboxFiltersOnStructureAndTrack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	structure := fmt.Sprintf("CCAS filtre %d", time.Now().UnixNano())
	st, err := fx.env.DB.CreateStructure(ctx, domain.Structure{Name: structure, Kind: domain.StructureKinds[0]})
	require.NoError(t, err)
	ref, err := fx.env.DB.CreateReferent(ctx, domain.Referent{Name: "Inès Filtreuse", StructureID: st.ID})
	require.NoError(t, err)
	admin := domain.Actor{ID: "test", Role: domain.RoleAdmin}
	today := domain.DateOf(time.Now())
	for i, track := range []domain.Track{domain.TrackSocial, domain.TrackProfessional} {
		v, _, err := fx.env.Service.Intake(ctx, admin, domain.Intake{BeneficiaryID: fmt.Sprintf("WEB-FILTRE-%d-%d", i, time.Now().UnixNano()),
			LastName: "Filtre", FirstName: "Inès", BirthDate: domain.NewDate(1990, 1, 1), EnteredAt: today.AddDays(-20)})
		require.NoError(t, err)
		_, err = fx.env.Service.RecordOrientation(ctx, admin, v.ID, domain.Orientation{Track: track, Organism: "CCAS", ReferentID: ref.ID, DecidedOn: today.AddDays(-10)})
		require.NoError(t, err)
	}
	dep := newBrowser(t)
	dep.login("dep@cd.fr")
	q := url.Values{"structure": {structure}}
	_, page, _ := dep.get("/echeances?" + q.Encode())
	require.Contains(t, page, "<strong>2</strong> tâches")
	require.Contains(t, page, `<label for="structure">Structure</label>`)
	require.Contains(t, page, ">"+structure+"</option>")
	require.Contains(t, page, `<label for="parcours">Type de parcours</label>`)
	clean(t, page)
	q.Set("parcours", string(domain.TrackProfessional))
	_, page, _ = dep.get("/echeances?" + q.Encode())
	require.Contains(t, page, "<strong>1</strong> tâche,")
	require.Contains(t, page, `<option value="professional" selected>`)
	require.Contains(t, page, html.EscapeString("/echeances.csv?"), "the CSV keeps the filters")
	csvLink := regexp.MustCompile(`href="(/echeances\.csv\?[^"]+)"`).FindStringSubmatch(page)
	require.NotNil(t, csvLink)
	link := html.UnescapeString(csvLink[1])
	require.Contains(t, link, "parcours=professional")
	_, body, _ := dep.get(link)
	require.Equal(t, 2, strings.Count(body, "\n"), "the header and the one task: %s", body)
	status, _, _ := dep.get("/echeances?parcours=inconnu")
	require.Equal(t, http.StatusBadRequest, status)
}

// TestWorkloadSortsOnItsColumns: « Charge par référent » sorts on each of
// its columns, apart from the task list below it (issue 23: every list
// sortable on its columns).
func TestWorkloadSortsOnItsColumns(t *testing.T) {
	t.Parallel()
	chef := newBrowser(t)
	chef.login("chef@cd.fr")
	status, page, _ := chef.get("/tableau-de-bord?charge=retard&charge-ordre=desc&tri=beneficiaire")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, `<th scope="col" aria-sort="descending"><a href="/tableau-de-bord?charge=retard&amp;tri=beneficiaire" class="sort">En retard`)
	require.Contains(t, page, `<input type="hidden" name="tri" value="beneficiaire"><input type="hidden" name="charge" value="retard"><input type="hidden" name="charge-ordre" value="desc">`,
		"the filter form keeps both sorts")
	clean(t, page)
}
