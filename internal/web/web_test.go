package web_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/internal/testenv"
	"github.com/parcours-rsa/parcours/internal/web"
)

var fx struct {
	env       *testenv.Env
	server    *httptest.Server
	passwords map[string]string
}

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	env, err := testenv.Start(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer env.Close()
	fx.env, fx.passwords = env, map[string]string{}
	for _, a := range []app.NewAccount{
		{Email: "lea@cd.fr", Name: "Léa Référente", Role: domain.RoleReferent, ReferentID: "web-ref-1"},
		{Email: "paul@cd.fr", Name: "Paul Référent", Role: domain.RoleReferent, ReferentID: "web-ref-2"},
		{Email: "dep@cd.fr", Name: "Service RSA", Role: domain.RoleDepartment},
		{Email: "chef@cd.fr", Name: "Chef Nord", Role: domain.RoleSupervisor, Structure: "Nord"},
		{Email: "chef-sud@cd.fr", Name: "Chef Sud", Role: domain.RoleSupervisor, Structure: "Sud"},
		{Email: "zoe@cd.fr", Name: "Zoé Référente", Role: domain.RoleReferent, ReferentID: "web-ref-3", Structure: "Nord"},
		{Email: "yann@cd.fr", Name: "Yann Référent", Role: domain.RoleReferent, ReferentID: "web-ref-4", Structure: "Nord"},
		{Email: "admin@cd.fr", Name: "Admin", Role: domain.RoleAdmin},
	} {
		a.Password = "mot de passe " + a.Email
		if _, err := env.Service.CreateAccount(context.Background(), domain.System, a); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fx.passwords[a.Email] = a.Password
	}
	r := chi.NewRouter()
	if err := (&web.Handler{Service: env.Service, Logger: env.Logger}).Routes(r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fx.server = httptest.NewServer(r)
	defer fx.server.Close()
	return m.Run()
}

type browser struct {
	t      *testing.T
	client *http.Client
	base   string // the server; "": fx.server
}

func (b *browser) url(path string) string {
	if b.base != "" {
		return b.base + path
	}
	return fx.server.URL + path
}

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{t: t, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(path string) (int, string, string) {
	b.t.Helper()
	res, err := b.client.Get(b.url(path))
	require.NoError(b.t, err)
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body), res.Header.Get("Location")
}

func (b *browser) post(path string, form url.Values) (int, string, string) {
	b.t.Helper()
	res, err := b.client.PostForm(b.url(path), form)
	require.NoError(b.t, err)
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body), res.Header.Get("Location")
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrf(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	require.NotNil(t, m, "no CSRF field in the page")
	return m[1]
}

func (b *browser) login(email string) {
	b.t.Helper()
	_, page, _ := b.get("/connexion")
	status, _, loc := b.post("/connexion", url.Values{"csrf": {csrf(b.t, page)}, "email": {email}, "password": {fx.passwords[email]}})
	require.Equal(b.t, http.StatusSeeOther, status)
	require.Equal(b.t, "/echeances", loc)
}

// oriented registers a person entered 70 days ago and orients them, 60 days
// ago, to referent: the contract is overdue.
func oriented(t *testing.T, id, referent string) string {
	t.Helper()
	ctx := context.Background()
	svc := fx.env.Service
	admin := domain.Actor{ID: "test", Role: domain.RoleAdmin}
	today := domain.DateOf(time.Now())
	id = fmt.Sprintf("%s-%d", id, time.Now().UnixNano()) // unique across repeated runs
	v, _, err := svc.Intake(ctx, admin, domain.Intake{BeneficiaryID: id, LastName: "Nguyen", FirstName: "Maï", BirthDate: domain.NewDate(1991, 3, 3), EnteredAt: today.AddDays(-70)})
	require.NoError(t, err)
	if referent != "" {
		_, err = svc.RecordOrientation(ctx, admin, v.ID, domain.Orientation{Track: domain.TrackSocial, Organism: "CCAS", ReferentID: referent, DecidedOn: today.AddDays(-60)})
		require.NoError(t, err)
	}
	return v.ID
}

func TestLogin(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	status, _, loc := b.get("/echeances")
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/connexion", loc)

	_, page, _ := b.get("/connexion")
	require.Contains(t, page, `lang="fr"`)
	status, body, _ := b.post("/connexion", url.Values{"csrf": {csrf(t, page)}, "email": {"lea@cd.fr"}, "password": {"faux"}})
	require.Equal(t, http.StatusUnauthorized, status)
	require.Contains(t, body, "Identifiant ou mot de passe incorrect.")
	require.Contains(t, body, `value="lea@cd.fr"`, "what was typed is kept")
	status, _, _ = b.post("/connexion", url.Values{"csrf": {"forged"}, "email": {"lea@cd.fr"}, "password": {fx.passwords["lea@cd.fr"]}})
	require.Equal(t, http.StatusForbidden, status)

	b.login("lea@cd.fr")
	status, page, _ = b.get("/echeances")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, "Léa Référente")
	status, _, loc = b.post("/deconnexion", url.Values{"csrf": {csrf(t, page)}})
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/connexion", loc)
	_, _, loc = b.get("/echeances")
	require.Equal(t, "/connexion", loc, "the session is over")
}

func TestInboxDossierAndForms(t *testing.T) {
	t.Parallel()
	pid := oriented(t, "WEB-1", "web-ref-1")
	lea := newBrowser(t)
	lea.login("lea@cd.fr")
	status, page, _ := lea.get("/echeances")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, "/dossiers/"+pid)
	require.Contains(t, page, "Nguyen Maï")
	require.Contains(t, page, "Signer le contrat")
	require.Contains(t, page, "En retard", "the contract is overdue")

	status, page, _ = lea.get("/dossiers/" + pid)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, "engagement départemental (2 mois après l&#39;entrée en droits et devoirs le")
	token := csrf(t, page)

	// Another référent's dossier does not exist for Paul.
	paul := newBrowser(t)
	paul.login("paul@cd.fr")
	status, _, _ = paul.get("/dossiers/" + pid)
	require.Equal(t, http.StatusNotFound, status)

	today := domain.DateOf(time.Now())
	contract := url.Values{"csrf": {token}, "kind": {"cer"}, "signed_on": {today.String()}, "starts_on": {today.String()}, "ends_on": {today.AddDays(-1).String()}}
	forged := url.Values{}
	for k, v := range contract {
		forged[k] = v
	}
	forged.Set("csrf", "forged")
	status, body, _ := lea.post("/dossiers/"+pid+"/contrat", forged)
	require.Equal(t, http.StatusForbidden, status)
	require.Contains(t, body, "Formulaire expiré")

	status, body, _ = lea.post("/dossiers/"+pid+"/contrat", contract)
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body, `id="contrat-ends_on-err">Le contrat doit se terminer après son début`)
	require.Contains(t, body, `aria-invalid="true"`)
	require.Contains(t, body, `value="`+today.AddDays(-1).String()+`"`, "what was typed is kept")

	contract.Set("ends_on", today.AddMonths(6).String())
	status, _, loc := lea.post("/dossiers/"+pid+"/contrat", contract)
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/dossiers/"+pid+"?ok=contrat", loc)
	_, page, _ = lea.get(loc)
	require.Contains(t, page, "Enregistré.")
	require.Contains(t, page, "en accompagnement")
	require.Contains(t, page, "Léa Référente", "the timeline names who recorded the contract")
	_, page, _ = lea.get("/echeances")
	for _, row := range strings.Split(page, "<tr") {
		if strings.Contains(row, "/dossiers/"+pid) {
			require.NotContains(t, row, "Signer le contrat", "the task left the inbox")
		}
	}

	status, _, _ = lea.post("/dossiers/"+pid+"/inconnu", url.Values{"csrf": {token}})
	require.Equal(t, http.StatusNotFound, status)

	// Reads and writes through the web are in the audit log, by account.
	var reads, writes int
	require.NoError(t, fx.env.DB.Pool.QueryRow(context.Background(), `
		SELECT count(*) FILTER (WHERE action = 'read'), count(*) FILTER (WHERE action = 'update')
		FROM audit_log WHERE record_id = $1 AND actor LIKE 'account:%'`, pid).Scan(&reads, &writes))
	require.GreaterOrEqual(t, reads, 2)
	require.Equal(t, 1, writes)
}

func TestDepartmentOrientsFromTheDossier(t *testing.T) {
	t.Parallel()
	pid := oriented(t, "WEB-2", "")
	dep := newBrowser(t)
	dep.login("dep@cd.fr")
	_, page, _ := dep.get("/dossiers/" + pid + "?onglet=enregistrer")
	require.Contains(t, page, "Enregistrer l&#39;orientation")
	today := domain.DateOf(time.Now())
	status, body, _ := dep.post("/dossiers/"+pid+"/orientation", url.Values{"csrf": {csrf(t, page)}, "track": {"social"},
		"organism": {"CCAS"}, "referent_id": {"web-ref-2"}, "decided_on": {"31/02/2026"}})
	require.Equal(t, http.StatusBadRequest, status)
	require.True(t, strings.Contains(body, `id="orientation-decided_on-err">Date invalide`), "a date that does not parse is named")
	status, body, _ = dep.post("/dossiers/"+pid+"/orientation", url.Values{"csrf": {csrf(t, page)}, "track": {"social"},
		"organism": {"CCAS"}, "referent_id": {"web-ref-2"}, "decided_on": {today.String()}})
	require.Equal(t, http.StatusConflict, status, "70 days after the entry, the decision is France Travail's")
	require.Contains(t, body, "la décision revient à France Travail")
	status, _, _ = dep.post("/dossiers/"+pid+"/orientation", url.Values{"csrf": {csrf(t, page)}, "track": {"social"},
		"organism": {"CCAS"}, "referent_id": {"web-ref-2"}, "decided_on": {today.String()}, "decided_by": {"france_travail"}})
	require.Equal(t, http.StatusSeeOther, status)
	// No notification date given: the decision's stands in, said so; the
	// letter's receipt is recorded from the dossier (D5411-14-1 code du travail).
	_, page, _ = dep.get("/dossiers/" + pid)
	require.Contains(t, page, "notification non enregistrée (le mois du contrat court de la date de décision)")
	_, page, _ = dep.get("/dossiers/" + pid + "?onglet=enregistrer")
	require.Contains(t, page, "Notification de l&#39;orientation")
	status, _, _ = dep.post("/dossiers/"+pid+"/notification-orientation", url.Values{"csrf": {csrf(t, page)}, "notified_on": {today.String()}})
	require.Equal(t, http.StatusSeeOther, status)
	_, page, _ = dep.get("/dossiers/" + pid)
	require.Contains(t, page, "notifiée le "+today.French())
	require.NotContains(t, page, "%!")
	paul := newBrowser(t)
	paul.login("paul@cd.fr")
	_, page, _ = paul.get("/echeances")
	require.Contains(t, page, "/dossiers/"+pid, "the new référent has the contract task")
}

func TestSupervisorDashboardAndReassignment(t *testing.T) {
	t.Parallel()
	pid := oriented(t, "WEB-3", "web-ref-3")
	chef := newBrowser(t)
	chef.login("chef@cd.fr")
	status, page, _ := chef.get("/tableau-de-bord")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, "<td>Zoé Référente</td>", "names, not ids")
	require.NotContains(t, page, "(web-ref-3)")
	require.Contains(t, page, "Yann Référent — Nord", "the list offers the structure's référents")
	require.NotContains(t, page, "Léa Référente", "another structure's référent is not on this dashboard")
	require.Contains(t, page, "/dossiers/"+pid)
	require.Regexp(t, `<strong>\d+ tâche\(s\) en retard</strong>`, page)

	// The other structure's supervisor does not see the dossier.
	sud := newBrowser(t)
	sud.login("chef-sud@cd.fr")
	status, _, _ = sud.get("/dossiers/" + pid)
	require.Equal(t, http.StatusNotFound, status)

	// A référent has no dashboard.
	zoe := newBrowser(t)
	zoe.login("zoe@cd.fr")
	status, _, _ = zoe.get("/tableau-de-bord")
	require.Equal(t, http.StatusForbidden, status)

	// Reassign from the dashboard, within the structure: the tasks follow.
	// (Another structure's référent is refused: TestReassignmentScope.)
	// The form opens on the current référent, asks why and a confirmation,
	// and goes back to the dashboard (issue 23).
	_, page, _ = chef.get("/tableau-de-bord")
	require.Regexp(t, `<option value="web-ref-3" selected>Zoé Référente`, page)
	form := url.Values{"csrf": {csrf(t, page)}, "referent_id": {"web-ref-4"}, "on": {domain.DateOf(time.Now()).String()},
		"retour": {"/tableau-de-bord?jours=14"}}
	status, body, _ := chef.post("/dossiers/"+pid+"/referent", form)
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body, "Le motif du changement est obligatoire.")
	form.Set("reason", "Congé de Zoé")
	status, body, _ = chef.post("/dossiers/"+pid+"/referent", form)
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body, "Cochez la case pour confirmer le changement de référent.")
	form.Set("confirm", "oui")
	form.Set("retour", "https://ailleurs.example/")
	status, _, loc := chef.post("/dossiers/"+pid+"/referent", form)
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/dossiers/"+pid+"?ok=referent", loc, "never back to another site")
	form.Set("referent_id", "web-ref-3")
	form.Set("retour", "/tableau-de-bord?jours=14")
	status, _, loc = chef.post("/dossiers/"+pid+"/referent", form)
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/tableau-de-bord?jours=14", loc, "back where the form was")
	form.Set("referent_id", "web-ref-4")
	status, _, _ = chef.post("/dossiers/"+pid+"/referent", form)
	require.Equal(t, http.StatusSeeOther, status)
	yann := newBrowser(t)
	yann.login("yann@cd.fr")
	_, page, _ = yann.get("/echeances")
	require.Contains(t, page, "/dossiers/"+pid)
	_, page, _ = zoe.get("/echeances")
	require.NotContains(t, page, "/dossiers/"+pid)
}

// openCase reports a breach on a parcours of web-ref-1 and logs the
// département in: the case id and its browser.
func openCase(t *testing.T, id string) (rid string, dep *browser) {
	t.Helper()
	pid := oriented(t, id, "web-ref-1")
	admin := domain.Actor{ID: "test", Role: domain.RoleAdmin}
	_, rid, err := fx.env.Service.ReportBreach(context.Background(), admin, pid,
		domain.Breach{Kind: domain.BreachRefusalContract, Facts: "Aucune réponse.", ReportedOn: domain.DateOf(time.Now())})
	require.NoError(t, err)
	dep = newBrowser(t)
	dep.login("dep@cd.fr")
	return rid, dep
}

func TestReviewPages(t *testing.T) {
	t.Parallel()
	today := domain.DateOf(time.Now())
	rid, dep := openCase(t, "WEB-4")
	status, page, _ := dep.get("/examens?statut=reported")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, "/examens/"+rid)
	status, page, _ = dep.get("/examens/" + rid)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, "Aucune réponse.", "the facts, from PostgreSQL")
	status, _, loc := dep.post("/examens/"+rid+"/courrier", url.Values{"csrf": {csrf(t, page)}, "sent_on": {today.AddDays(-13).String()},
		"received_on": {today.AddDays(-11).String()}, "planned_kind": {"suspension"}, "planned_percent": {"30"}, "planned_months": {"1"}})
	require.Equal(t, http.StatusSeeOther, status)
	_, page, _ = dep.get(loc)
	require.Contains(t, page, "décision à prendre")

	decision := url.Values{"csrf": {csrf(t, page)}, "kind": {"suspension"}, "percent": {"60"}, "months": {"1"},
		"decided_on": {today.String()}, "effective_on": {today.String()}, "household_size": {"2"}, "monthly_amount_cents": {"64600"}}
	status, body, _ := dep.post("/examens/"+rid+"/decision", decision)
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body, `id="decision-percent-err">Pour un foyer de plus d&#39;une personne ou avec majoration, la sanction est plafonnée à 50 % (R262-68-6 CASF).`)
	require.Contains(t, body, `value="60"`, "what was typed is kept")
	decision.Set("percent", "50")
	status, _, loc = dep.post("/examens/"+rid+"/decision", decision)
	require.Equal(t, http.StatusSeeOther, status)
	_, page, _ = dep.get(loc)
	require.Contains(t, page, "sanction en cours")
	require.Contains(t, page, "notification non enregistrée : le délai de recours administratif préalable (2 mois, R262-88 CASF) n&#39;a pas commencé")
	require.Contains(t, page, "Enregistrer le recours", "an appeal is in time while the notification is not recorded")

	// The référent reads the case of their dossier but may not decide.
	lea := newBrowser(t)
	lea.login("lea@cd.fr")
	status, page, _ = lea.get("/examens/" + rid)
	require.Equal(t, http.StatusOK, status)
	require.NotContains(t, page, "Enregistrer la décision")
	paul := newBrowser(t)
	paul.login("paul@cd.fr")
	status, _, _ = paul.get("/examens/" + rid)
	require.Equal(t, http.StatusNotFound, status)
}

func TestSearchAndAuditLog(t *testing.T) {
	t.Parallel()
	pid := oriented(t, "WEB-5", "web-ref-1")
	dep := newBrowser(t)
	dep.login("dep@cd.fr")
	_, page, _ := dep.get("/recherche?q=nguyen")
	require.Contains(t, page, "/dossiers/"+pid, "case-insensitive search on names")
	_, page, _ = dep.get("/recherche?q=N")
	require.Contains(t, page, `id="q-err">Saisissez au moins 2 caractères.`)
	paul := newBrowser(t)
	paul.login("paul@cd.fr")
	_, page, _ = paul.get("/recherche?q=Nguyen")
	require.NotContains(t, page, "/dossiers/"+pid, "a référent finds only their own")

	status, _, _ := dep.get("/journal")
	require.Equal(t, http.StatusForbidden, status)
	admin := newBrowser(t)
	admin.login("admin@cd.fr")
	_, _, _ = dep.get("/dossiers/" + pid)
	status, page, _ = admin.get("/journal?dossier=" + pid + "&action=read")
	require.Equal(t, http.StatusOK, status)
	// A sentence per line (issue 23), naming the account and the person
	// whose dossier it was; reading the log is itself logged.
	require.Regexp(t, `Service RSA a consulté le dossier de \S+ Nguyen\.`, page)
	require.NotContains(t, page, "<code>{", "no JSON dump")
	clean(t, page, "read")
	_, page, _ = admin.get("/journal?action=search")
	require.Contains(t, page, "a cherché dans le journal d&#39;audit.")
	status, page, _ = admin.get("/journal?du=hier")
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, page, `id="du-err">Date invalide.`)
}

// TestAuditLogPages: the log reads from the newest, a page at a time,
// with a link to the older lines and back, filters kept.
func TestAuditLogPages(t *testing.T) {
	t.Parallel()
	pid := oriented(t, "WEB-AUDIT", "web-ref-1")
	dep := newBrowser(t)
	dep.login("dep@cd.fr")
	for range auditPageSizeForTest + 5 {
		status, _, _ := dep.get("/dossiers/" + pid)
		require.Equal(t, http.StatusOK, status)
	}
	admin := newBrowser(t)
	admin.login("admin@cd.fr")
	_, page, _ := admin.get("/journal?action=read&dossier=" + pid)
	require.Equal(t, auditPageSizeForTest, strings.Count(page, "a consulté le dossier de"))
	next := regexp.MustCompile(`<a href="(/journal\?[^"]+)" rel="next">Plus anciens</a>`).FindStringSubmatch(page)
	require.NotNil(t, next, "a link to the older lines")
	_, older, _ := admin.get(html.UnescapeString(next[1]))
	require.Equal(t, 5, strings.Count(older, "a consulté le dossier de"), "the rest, filters kept")
	require.Contains(t, older, ">Plus récents</a>")
	require.NotContains(t, older, `rel="next"`)
	require.Contains(t, page, `<th scope="col" aria-sort="descending"><a href="/journal?action=read&amp;dossier=`+pid+`&amp;tri=quand" class="sort">Quand`)

	// « Quand » sorts it the other way: the oldest first, a page at a time.
	_, page, _ = admin.get("/journal?action=read&dossier=" + pid + "&tri=quand")
	require.Contains(t, page, `aria-sort="ascending"`)
	require.Equal(t, auditPageSizeForTest, strings.Count(page, "a consulté le dossier de"))
	next = regexp.MustCompile(`<a href="(/journal\?[^"]+)" rel="next">Plus récents</a>`).FindStringSubmatch(page)
	require.NotNil(t, next)
	require.Contains(t, next[1], "apres=")
	_, newer, _ := admin.get(html.UnescapeString(next[1]))
	require.Equal(t, 5, strings.Count(newer, "a consulté le dossier de"), "the rest, filters and order kept")
	require.Contains(t, newer, ">Les plus anciens</a>")
	require.NotContains(t, newer, `rel="next"`)
}

func TestAccountAdministration(t *testing.T) {
	t.Parallel()
	admin := newBrowser(t)
	admin.login("admin@cd.fr")
	status, page, _ := admin.get("/comptes")
	require.Equal(t, http.StatusOK, status)
	token := csrf(t, page)
	status, body, _ := admin.post("/comptes", url.Values{"csrf": {token}, "email": {"nouveau@cd.fr"}, "name": {"Nouveau"}, "role": {"referent"}})
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body, `id="compte-referent-err">`)
	// The form names a référent of the list (migration 013: référents are records).
	dep := domain.Actor{ID: "test", Role: domain.RoleDepartment}
	nord, _, err := fx.env.Service.Structures(context.Background(), dep, postgres.DirectoryFilter{Q: "Nord", Limit: 1})
	require.NoError(t, err)
	ref, err := fx.env.Service.CreateReferent(context.Background(), dep, domain.Referent{Name: "Nouveau", StructureID: nord[0].ID})
	require.NoError(t, err)
	status, body, _ = admin.post("/comptes", url.Values{"csrf": {token}, "email": {"nouveau@cd.fr"}, "name": {"Nouveau"}, "role": {"referent"}, "referent": {ref.ID}})
	require.Equal(t, http.StatusCreated, status)
	m := regexp.MustCompile(`affiché une seule fois : <code>([^<]+)</code>`).FindStringSubmatch(body)
	require.NotNil(t, m)
	fx.passwords["nouveau@cd.fr"] = m[1]
	nouveau := newBrowser(t)
	nouveau.login("nouveau@cd.fr")

	var id string
	require.NoError(t, fx.env.DB.Pool.QueryRow(context.Background(), `SELECT id::text FROM accounts WHERE email = 'nouveau@cd.fr'`).Scan(&id))
	status, _, _ = admin.post("/comptes/"+id+"/desactiver", url.Values{"csrf": {token}})
	require.Equal(t, http.StatusBadRequest, status, "not confirmed: still active")
	status, _, _ = nouveau.get("/echeances")
	require.Equal(t, http.StatusOK, status)
	status, _, _ = admin.post("/comptes/"+id+"/desactiver", url.Values{"csrf": {token}, "confirm": {"oui"}})
	require.Equal(t, http.StatusSeeOther, status)
	_, page, _ = admin.get("/comptes")
	var own string
	require.NoError(t, fx.env.DB.Pool.QueryRow(context.Background(), `SELECT id::text FROM accounts WHERE email = 'admin@cd.fr'`).Scan(&own))
	require.NotContains(t, page, "/comptes/"+own+"/desactiver", "no button to disable one's own account")
	status, _, loc := nouveau.get("/echeances")
	require.Equal(t, "/connexion", loc, "a disabled account's sessions end at once (%d)", status)

	lea := newBrowser(t)
	lea.login("lea@cd.fr")
	status, _, _ = lea.get("/comptes")
	require.Equal(t, http.StatusForbidden, status)
}

func TestIndicatorsPage(t *testing.T) {
	t.Parallel()
	oriented(t, "WEB-6", "web-ref-1")
	dep := newBrowser(t)
	dep.login("dep@cd.fr")
	today := domain.DateOf(time.Now())
	status, page, _ := dep.get("/indicateurs?from=" + today.AddMonths(-6).String() + "&to=" + today.String())
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, "Orientés en 1 mois")
	require.Contains(t, page, "cohortes mûres")
	require.Contains(t, page, "<svg")
	require.Contains(t, page, "médiane ", "the median delay of the oriented")
	require.Regexp(t, `Chiffres calculés le \d\d/\d\d/\d{4} \d\d:\d\d:\d\d \(heure de Paris\)`, page, "when the figures were computed")
	clean(t, page)
	status, csvBody, _ := dep.get("/indicateurs.csv?from=" + today.AddMonths(-6).String() + "&to=" + today.String())
	require.Equal(t, http.StatusOK, status)
	require.True(t, strings.HasPrefix(csvBody, "indicateur;"))
}

func TestDigestOptOutAndSendings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	lea := newBrowser(t)
	lea.login("lea@cd.fr")
	status, page, _ := lea.get("/compte")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, `name="digest" value="oui" checked`)
	status, _, loc := lea.post("/compte", url.Values{"csrf": {csrf(t, page)}}) // box unticked
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/compte?enregistre=1", loc)
	var id string
	var out bool
	require.NoError(t, fx.env.DB.Pool.QueryRow(ctx, `SELECT id::text, digest_opt_out FROM accounts WHERE email = 'lea@cd.fr'`).Scan(&id, &out))
	require.True(t, out)
	_, page, _ = lea.get("/compte?enregistre=1")
	require.Contains(t, page, "Votre choix est enregistré.")
	require.NotContains(t, page, `value="oui" checked`)
	status, _, _ = lea.post("/compte", url.Values{"csrf": {csrf(t, page)}, "digest": {"oui"}})
	require.Equal(t, http.StatusSeeOther, status)
	require.NoError(t, fx.env.DB.Pool.QueryRow(ctx, `SELECT digest_opt_out FROM accounts WHERE id = $1`, id).Scan(&out))
	require.False(t, out)

	_, err := fx.env.DB.Pool.Exec(ctx, `INSERT INTO digest_sendings (account_id, day, status, overdue, due_soon, kinds) VALUES ($1, '2026-12-01', 'sent', 3, 2, '{"orient": 5}')`, id)
	require.NoError(t, err)
	admin := newBrowser(t)
	admin.login("admin@cd.fr")
	status, page, _ = admin.get("/comptes")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, "Récapitulatifs envoyés")
	require.Regexp(t, `<td>01/12/2026</td><td>[^<]+\(lea@cd.fr\)</td><td>3</td><td>2</td><td>envoyé</td>`, page)
}

// auditPageSizeForTest is the audit log's page size (internal/web/audit.go).
const auditPageSizeForTest = 50

// TestDossierSummary: the dossier says at its top what is due next, how
// late, with a link to its form; a deadline met late says by how much.
func TestDossierSummary(t *testing.T) {
	t.Parallel()
	pid := oriented(t, "WEB-SUM", "web-ref-1")
	dep := newBrowser(t)
	dep.login("dep@cd.fr")
	_, page, _ := dep.get("/dossiers/" + pid)
	require.Contains(t, page, `<h2 id="synthese">Synthèse</h2>`)
	require.Contains(t, page, "À faire ensuite : <strong>"+domain.TaskSignContract.French()+"</strong>")
	require.Regexp(t, `en retard de \d+ jours`, page)
	require.Contains(t, page, `<a href="#f-contrat">l'enregistrer</a>`)
	require.Contains(t, page, `id="f-contrat"`, "the link's target")
	// Tabs: Synthèse, Enregistrer, Historique, each a page of its own
	// (links, no script), the current one marked.
	require.Contains(t, page, `<a href="/dossiers/`+pid+`" aria-current="page">Synthèse</a>`)
	require.Regexp(t, `<a href="/dossiers/`+pid+`\?onglet=enregistrer">Enregistrer \(\d+ formulaires\)</a>`, page)
	require.Contains(t, page, `<a href="/dossiers/`+pid+`?onglet=historique">Historique</a>`)
	require.Contains(t, page, `<title>Nguyen Maï — Synthèse`)
	require.Contains(t, page, `id="echeances"`)
	require.NotContains(t, page, `id="f-action"`, "the other forms are on « Enregistrer »")
	require.NotContains(t, page, `id="historique"`)
	clean(t, page)
	_, record, _ := dep.get("/dossiers/" + pid + "?onglet=enregistrer")
	require.Contains(t, record, `aria-current="page">Enregistrer`)
	require.Contains(t, record, `id="f-action"`)
	require.Contains(t, record, `id="f-contrat"`)
	require.NotContains(t, record, `id="echeances"`)
	clean(t, record)
	_, history, _ := dep.get("/dossiers/" + pid + "?onglet=historique")
	require.Contains(t, history, `<h2 id="historique">Historique</h2>`)
	require.Contains(t, history, `<title>Nguyen Maï — Historique`)
	require.NotContains(t, history, `id="f-contrat"`)
	clean(t, history)
	// A refused form shows « Enregistrer », with its errors.
	status, refused, _ := dep.post("/dossiers/"+pid+"/action", url.Values{"csrf": {csrf(t, page)}, "name": {""}})
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, refused, `aria-current="page">Enregistrer`)

	today := domain.DateOf(time.Now())
	_, err := fx.env.Service.RecordContract(context.Background(), domain.Actor{ID: "test", Role: domain.RoleAdmin}, pid,
		domain.Contract{Kind: domain.ContractCER, SignedOn: today, StartsOn: today, EndsOn: today.AddMonths(6)})
	require.NoError(t, err)
	_, page, _ = dep.get("/dossiers/" + pid)
	require.Regexp(t, `tenue le `+regexp.QuoteMeta(today.French())+`, \d+ jours après l&#39;échéance`, page)
	clean(t, page)
	_, page, _ = dep.get("/dossiers/" + pid + "?onglet=historique")
	require.Regexp(t, `Délai dépassé : contrat dû le [^<]*\. Tenu depuis, le `+regexp.QuoteMeta(today.French())+`\.`, page,
		"the timeline's overdue line says it was met since")
	require.Regexp(t, `revient à France Travail \(D262-65-2 CASF\)\. Depuis, orientation enregistrée \(décidée le `, page,
		"the hand-over line says an orientation was recorded since")
	clean(t, page)
}

// TestInboxPagesFiltersAndCSV: « Mes échéances » counts the whole
// filtered list, shows it a page at a time, filters by kind, référent and
// lateness, and exports the list as CSV within the viewer's scope.
func TestInboxPagesFiltersAndCSV(t *testing.T) {
	t.Parallel()
	const n = inboxPageSizeForTest + 3
	for i := range n {
		oriented(t, fmt.Sprintf("WEB-INBOX-%d", i), "web-ref-4")
	}
	yann := newBrowser(t)
	yann.login("yann@cd.fr")
	_, page, _ := yann.get("/echeances?type=sign_contract")
	total := regexp.MustCompile(`<strong>(\d+)</strong> tâches, dont <strong>(\d+) en retard</strong>`).FindStringSubmatch(page)
	require.NotNil(t, total, "the counts of the whole list")
	count, _ := strconv.Atoi(total[1])
	require.GreaterOrEqual(t, count, n)
	require.Equal(t, inboxPageSizeForTest, strings.Count(page, `<td data-label="Tâche">Signer le contrat</td>`), "one page")
	clean(t, page, "sign_contract")
	next := regexp.MustCompile(`<a href="(/echeances\?[^"]+)" rel="next">Page suivante</a>`).FindStringSubmatch(page)
	require.NotNil(t, next)
	_, rest, _ := yann.get(html.UnescapeString(next[1]))
	require.Equal(t, count-inboxPageSizeForTest, strings.Count(rest, `<td data-label="Tâche">Signer le contrat</td>`), "the rest, nothing twice")
	require.Contains(t, rest, ">Première page</a>")

	_, page, _ = yann.get("/echeances?type=sign_contract&retard=3650")
	require.Contains(t, page, "<strong>0</strong> tâche, dont <strong>0 en retard</strong>")
	status, _, _ := yann.get("/echeances?type=inconnu")
	require.Equal(t, http.StatusBadRequest, status)

	status, body, _ := yann.get("/echeances.csv?type=sign_contract")
	require.Equal(t, http.StatusOK, status)
	require.True(t, strings.HasPrefix(body, "\ufeffé"+"chéance;tâche;nom;prénom;référent;état;dossier\n"), body[:60])
	require.Equal(t, count+1, strings.Count(body, "\n"), "a line per task, and the header")
	require.Contains(t, body, ";Signer le contrat;Nguyen;")
	require.NotContains(t, body, "sign_contract")

	// A name that a spreadsheet would read as a formula is defused.
	ctx := context.Background()
	admin := domain.Actor{ID: "test", Role: domain.RoleAdmin}
	today := domain.DateOf(time.Now())
	v, _, err := fx.env.Service.Intake(ctx, admin, domain.Intake{BeneficiaryID: fmt.Sprintf("WEB-CSV-%d", time.Now().UnixNano()),
		LastName: `=HYPERLINK("http://x.example/";"clic")`, FirstName: "+Maï", BirthDate: domain.NewDate(1990, 1, 1), EnteredAt: today.AddDays(-70)})
	require.NoError(t, err)
	_, err = fx.env.Service.RecordOrientation(ctx, admin, v.ID, domain.Orientation{Track: domain.TrackSocial, Organism: "CCAS", ReferentID: "web-ref-4", DecidedOn: today.AddDays(-60)})
	require.NoError(t, err)
	_, body, _ = yann.get("/echeances.csv?type=sign_contract")
	require.Contains(t, body, `;"'=HYPERLINK(""http://x.example/"";""clic"")";'+Maï;`)
	var exports int
	require.NoError(t, fx.env.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'export' AND record_type = 'tasks'`).Scan(&exports))
	require.GreaterOrEqual(t, exports, 2, "each export is audited as such")
}

// inboxPageSizeForTest is « Mes échéances »' page size (internal/web/inbox.go).
const inboxPageSizeForTest = 100

// TestFormErrorsSummaryAndRequiredFields: required fields say so; a
// refused form puts « Erreur : » in the title and a summary of its errors
// on top, each linked to its field (RGAA 11.10), what was typed kept.
func TestFormErrorsSummaryAndRequiredFields(t *testing.T) {
	t.Parallel()
	pid := oriented(t, "WEB-ERR", "web-ref-1")
	lea := newBrowser(t)
	lea.login("lea@cd.fr")
	_, page, _ := lea.get("/dossiers/" + pid)
	require.Contains(t, page, `<label for="contrat-signed_on">Signé le <span class="required">(obligatoire)</span></label>`)
	require.Contains(t, page, `<input id="contrat-signed_on" name="signed_on" type="date" value="" aria-required="true">`)
	require.NotContains(t, page, `<label for="contrat-assessment">Bilan du contrat précédent <span class="required">`)
	require.Contains(t, page, `<script src="/static/app.js" defer></script>`)
	require.NotContains(t, page, `id="erreurs"`)

	status, page, _ := lea.post("/dossiers/"+pid+"/contrat", url.Values{"csrf": {csrf(t, page)}, "kind": {"cer"}, "starts_on": {"2026-01-01"}})
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, page, "<title>Erreur : Nguyen Maï — Enregistrer — parcours</title>", "the refused form's tab")
	require.Contains(t, page, `<div class="error-summary" role="alert" tabindex="-1" id="erreurs">`)
	require.Contains(t, page, `<li><a href="#contrat-signed_on">La date de signature est obligatoire.</a></li>`)
	require.Contains(t, page, `id="contrat-signed_on-err">La date de signature est obligatoire.`)
	require.Contains(t, page, `value="2026-01-01"`, "what was typed is kept")
	clean(t, page)

	status, js, _ := lea.get("/static/app.js")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, js, `getElementById("erreurs")`)
}

// TestLegalPages: every page's footer links the accessibility statement,
// the legal notices and the personal-data page, readable without logging in.
func TestLegalPages(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	_, page, _ := b.get("/connexion")
	require.Contains(t, page, `<a href="/accessibilite">Accessibilité : non conforme</a>`)
	for path, want := range map[string]string{
		"/accessibilite":        "<strong>non conforme</strong> au référentiel général d'amélioration de l'accessibilité",
		"/donnees-personnelles": "responsable de traitement",
		"/mentions-legales":     "EUPL 1.2",
	} {
		status, page, _ := b.get(path)
		require.Equal(t, http.StatusOK, status, path)
		require.Contains(t, page, want, path)
		clean(t, page)
	}
}
