package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
)

// stockPerson opens a parcours named lastName and writes its stock
// deadline as the workflow does.
func stockPerson(t *testing.T, lastName string, c pgtest.StockCase) string {
	t.Helper()
	ctx := context.Background()
	res, err := fx.env.DB.Intake(ctx, domain.System, domain.Intake{BeneficiaryID: fmt.Sprintf("%s-%d", lastName, time.Now().UnixNano()),
		LastName: lastName, FirstName: "Camille", BirthDate: domain.NewDate(1980, 2, 2), EnteredAt: domain.NewDate(2024, 3, 1)}, "departement")
	require.NoError(t, err)
	c.ParcoursID = res.ParcoursID
	require.NoError(t, pgtest.WriteStock(ctx, fx.env.DB, c))
	return res.ParcoursID
}

var tags = regexp.MustCompile(`<[^>]*>`)

// requireFrench fails on a template's traces and on internal codes in the
// text a user reads.
func requireFrench(t *testing.T, page string) {
	t.Helper()
	require.NotContains(t, page, "%!")
	require.NotContains(t, page, "<no value>")
	text := tags.ReplaceAllString(page, " ")
	for _, code := range []string{"pending", "overdue", "stock", "stock_contract", "sign_contract", "stock-2027", "aucun"} {
		require.NotRegexp(t, `\b`+regexp.QuoteMeta(code)+`\b`, text, "internal code %q visible", code)
	}
}

func count(t *testing.T, page, id string) string {
	t.Helper()
	m := regexp.MustCompile(`id="` + id + `">(\d+)<`).FindStringSubmatch(page)
	require.NotNil(t, m, "no count %s", id)
	return m[1]
}

func TestCampaignPage(t *testing.T) {
	// Not parallel: the counts are the package's only stock deadlines.
	pending, met, overdue := domain.DeadlinePending, domain.DeadlineMet, domain.DeadlineOverdue
	late := stockPerson(t, "Retardataire", pgtest.StockCase{Organism: "CCAS Nord", ReferentID: "web-ref-3", Deadline: overdue})
	stockPerson(t, "Attente", pgtest.StockCase{Organism: "CCAS Nord", ReferentID: "web-ref-3", Deadline: pending})
	stockPerson(t, "Signataire", pgtest.StockCase{Organism: "CCAS Nord", ReferentID: "web-ref-3", Deadline: met, MetOn: domain.NewDate(2025, 4, 2)})
	stockPerson(t, "Ailleurs", pgtest.StockCase{Organism: "Mission locale", ReferentID: "web-ref-1", Deadline: pending})
	stockPerson(t, "Orphelin", pgtest.StockCase{Deadline: pending})

	dep := newBrowser(t)
	dep.login("dep@cd.fr")
	status, page, _ := dep.get("/campagne-2027")
	require.Equal(t, http.StatusOK, status)
	requireFrench(t, page)
	require.Equal(t, "3", count(t, page, "nb-a-signer"))
	require.Equal(t, "1", count(t, page, "nb-en-retard"))
	require.Equal(t, "1", count(t, page, "nb-signes"))
	require.Contains(t, page, "Échéance : 1er janvier 2027.")
	require.Contains(t, page, "décret n° 2024-1244 ; décret n° 2025-816")
	for _, s := range []string{"Zoé Référente", "Léa Référente", "Département (sans référent)", "CCAS Nord", "Mission locale",
		"Retardataire Camille", "Orphelin Camille", "signé le 02/04/2025", `href="/dossiers/` + late + `"`, `<span id="nb-filtre">5</span> personne(s).`, "Campagne 2027</a>"} {
		require.Contains(t, page, s)
	}

	// Filters: the overdue ones of CCAS Nord; the count follows, a reset shows.
	_, page, _ = dep.get("/campagne-2027?statut=overdue&structure=CCAS+Nord")
	requireFrench(t, page)
	require.Contains(t, page, `<span id="nb-filtre">1</span> personne(s) correspondant aux filtres`)
	require.Contains(t, page, "Retardataire Camille")
	require.NotContains(t, page, "Attente Camille")
	require.Contains(t, page, "Réinitialiser les filtres")
	require.Regexp(t, `<td>\d+ jour\(s\)</td>|<td>—</td>`, page)
	_, page, _ = dep.get("/campagne-2027?referent=aucun")
	require.Contains(t, page, "Orphelin Camille")
	require.NotContains(t, page, "Attente Camille")
	require.Contains(t, page, `href="/campagne-2027.csv?referent=aucun"`)

	// The CSV export of the filtered list, audited.
	res, err := dep.client.Get(fx.server.URL + "/campagne-2027.csv?statut=pending")
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "text/csv; charset=utf-8", res.Header.Get("Content-Type"))
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	body := string(raw)
	lines := strings.Split(strings.TrimSpace(body), "\n")
	require.Len(t, lines, 4, body)
	require.Contains(t, lines[0], "nom;prénom;identifiant;référent;structure;échéance;statut")
	require.Contains(t, body, "Attente;Camille;")
	require.Contains(t, body, ";01/01/2027;à signer;")
	var exports int
	require.NoError(t, fx.env.DB.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM audit_log WHERE action = 'export' AND record_type = 'campaign' AND role = 'department'`).Scan(&exports))
	require.Positive(t, exports)

	// The dashboard carries the counts and the link.
	_, page, _ = dep.get("/tableau-de-bord")
	require.Contains(t, page, "<strong>3 contrat(s) à signer</strong>, 1 en retard, 1 signé(s)")
	require.Contains(t, page, `<a href="/campagne-2027">Voir la campagne</a>`)

	// A supervisor sees their structure's référents' persons only.
	chef := newBrowser(t)
	chef.login("chef@cd.fr")
	status, page, _ = chef.get("/campagne-2027")
	require.Equal(t, http.StatusOK, status)
	requireFrench(t, page)
	require.Equal(t, "1", count(t, page, "nb-a-signer"))
	require.Equal(t, "1", count(t, page, "nb-en-retard"))
	require.Equal(t, "1", count(t, page, "nb-signes"))
	require.NotContains(t, page, "Ailleurs Camille")
	require.NotContains(t, page, "Orphelin Camille")
	require.NotContains(t, page, "Léa Référente")
	_, csv, _ := chef.get("/campagne-2027.csv")
	require.Contains(t, csv, "Retardataire;Camille")
	require.NotContains(t, csv, "Ailleurs")
	_, page, _ = chef.get("/campagne-2027?structure=Mission+locale")
	require.Contains(t, page, "Personne ne correspond à ces filtres.")

	// Pages of 50: the next page holds the rest, then the first again.
	for i := range 50 {
		stockPerson(t, fmt.Sprintf("Suivant%02d", i), pgtest.StockCase{Organism: "CCAS Nord", ReferentID: "web-ref-3", Deadline: pending})
	}
	_, page, _ = dep.get("/campagne-2027?statut=pending")
	require.Contains(t, page, `<span id="nb-filtre">53</span> personne(s)`)
	require.Equal(t, 50, strings.Count(page, `<td><a href="/dossiers/`))
	next := regexp.MustCompile(`<a href="(/campagne-2027\?[^"]+)#liste" rel="next">Page suivante</a>`).FindStringSubmatch(page)
	require.NotNil(t, next, "no next page")
	_, page, _ = dep.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	require.Equal(t, 3, strings.Count(page, `<td><a href="/dossiers/`))
	require.Contains(t, page, "Attente Camille", "the oldest come last")
	require.Contains(t, page, "Première page")
	require.NotContains(t, page, "Page suivante")

	// A référent has no campaign page; a bad filter starts over.
	zoe := newBrowser(t)
	zoe.login("zoe@cd.fr")
	status, page, _ = zoe.get("/campagne-2027")
	require.Equal(t, http.StatusForbidden, status)
	require.NotContains(t, page, `href="/campagne-2027"`)
	status, _, loc := dep.get("/campagne-2027?statut=nimporte")
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/campagne-2027", loc)
}
