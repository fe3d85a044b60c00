//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
)

// campaignCounts reads the campaign page's three counts: to sign, overdue, signed.
func campaignCounts(t *testing.T, ctx context.Context) [3]string {
	t.Helper()
	var out [3]string
	for i, id := range []string{"nb-a-signer", "nb-en-retard", "nb-signes"} {
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
		require.NoError(t, err)
		out[i] = strings.TrimSpace(text)
	}
	return out
}

// The 1 January 2027 campaign in a browser: the département and a
// supervisor open the page from the navigation, read their counts, filter
// the list and export it.
func TestBrowserCampaign2027(t *testing.T) {
	t.Parallel()
	url := pgtest.NewURL(t)
	s := newService(t, map[string]string{"DATABASE_URL": url, "PARCOURS_DATA_DIR": t.TempDir()})
	s.start()
	dep := s.token("--name", "Service RSA", "--role", "department")
	depPassword := s.account("--email", "rsa@cd14.fr", "--name", "Service RSA", "--role", "department")
	supPassword := s.account("--email", "chef@cd14.fr", "--name", "Cheffe Caen Nord", "--role", "supervisor", "--structure", "Caen Nord")
	s.account("--email", "lea@cd14.fr", "--name", "Léa Martin", "--role", "referent", "--referent", "ref-n", "--structure", "Caen Nord")
	s.account("--email", "marc@cd14.fr", "--name", "Marc Sud", "--role", "referent", "--referent", "ref-s", "--structure", "Caen Sud")

	// Five people of the stock, each registered through the API, their
	// stock deadline as the workflow writes it.
	ctx := context.Background()
	db, err := postgres.Open(ctx, url)
	require.NoError(t, err)
	defer db.Close()
	for i, c := range []struct {
		name string
		pgtest.StockCase
	}{
		{"Durand", pgtest.StockCase{Organism: "CCAS de Caen", ReferentID: "ref-n", Deadline: domain.DeadlineOverdue}},
		{"Petit", pgtest.StockCase{Organism: "CCAS de Caen", ReferentID: "ref-n", Deadline: domain.DeadlinePending}},
		{"Martin", pgtest.StockCase{Organism: "CCAS de Caen", ReferentID: "ref-n", Deadline: domain.DeadlineMet, MetOn: domain.NewDate(2025, 3, 4)}},
		{"Bernard", pgtest.StockCase{Organism: "Mission locale Sud", ReferentID: "ref-s", Deadline: domain.DeadlinePending}},
		{"Thomas", pgtest.StockCase{Deadline: domain.DeadlinePending}},
	} {
		body := intake("CAMP-"+c.name, domain.NewDate(2024, 4, 1+i))
		body["last_name"] = c.name
		status, p := s.call(dep, "POST", "/api/v1/parcours", body)
		require.Equal(t, 201, status, p)
		c.ParcoursID = p["id"].(string)
		require.NoError(t, pgtest.WriteStock(ctx, db, c.StockCase))
	}

	// The département: from the dashboard to the campaign, its counts.
	b := browserCtx(t)
	require.NoError(t, chromedp.Do(b, login(s.base, "rsa@cd14.fr", depPassword),
		chromedp.Click(chromedp.Search(`//nav//a[text()="Tableau de bord"]`)),
		chromedp.WaitVisible(chromedp.ID("campagne")),
	))
	dash, err := chromedp.Run(b, chromedp.Text(chromedp.ID("campagne")))
	require.NoError(t, err)
	require.Contains(t, dash, "3 contrat(s) à signer, 1 en retard, 1 signé(s)")
	require.NoError(t, chromedp.Do(b,
		chromedp.Click(chromedp.Search(`//a[text()="Voir la campagne"]`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[text()="Campagne du 1er janvier 2027"]`)),
		shot("campagne-2027.png"),
	))
	require.Equal(t, [3]string{"3", "1", "1"}, campaignCounts(t, b))
	page := mainText(t, b)
	for _, s := range []string{"Échéance : 1er janvier 2027.", "décret n° 2024-1244 ; décret n° 2025-816", "Léa Martin", "Marc Sud",
		"Département (sans référent)", "Mission locale Sud", "Durand Jeanne", "Thomas Jeanne", "5 personne(s)"} {
		require.Contains(t, page, s)
	}

	// Filter on the overdue: one line, the count and the CSV link follow.
	require.NoError(t, chromedp.Do(b,
		chromedp.SetValue(chromedp.ID("statut"), "overdue"),
		chromedp.Submit(chromedp.ID("statut")),
		chromedp.WaitVisible(chromedp.Search(`//a[text()="Réinitialiser les filtres"]`)),
	))
	page = mainText(t, b)
	require.Contains(t, page, "1 personne(s) correspondant aux filtres")
	require.Contains(t, page, "Durand Jeanne")
	require.NotContains(t, page, "Petit Jeanne")
	href, err := chromedp.Run(b, chromedp.AttributeValue(chromedp.ID("export-csv"), "href"))
	require.NoError(t, err)
	require.Equal(t, "/campagne-2027.csv?statut=overdue", href.Value)
	csv, err := chromedp.Run(b, chromedp.Evaluate[string](`fetch(document.getElementById("export-csv").href).then(r => r.text())`, chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	require.Len(t, lines, 2, csv)
	require.Contains(t, lines[1], "Durand;Jeanne;CAMP-Durand;Léa Martin;CCAS de Caen;01/01/2027;en retard;")

	// The reset brings every line back.
	require.NoError(t, chromedp.Do(b,
		chromedp.Click(chromedp.Search(`//a[text()="Réinitialiser les filtres"]`)),
		chromedp.WaitVisible(chromedp.Search(`//td/a[text()="Bernard Jeanne"]`)),
	))

	// The supervisor of Caen Nord: their référent's persons only.
	sup := browserCtx(t)
	require.NoError(t, chromedp.Do(sup, login(s.base, "chef@cd14.fr", supPassword),
		chromedp.Click(chromedp.Search(`//nav//a[text()="Campagne 2027"]`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[text()="Campagne du 1er janvier 2027"]`)),
	))
	require.Equal(t, [3]string{"1", "1", "1"}, campaignCounts(t, sup))
	page = mainText(t, sup)
	require.Contains(t, page, "Petit Jeanne")
	require.NotContains(t, page, "Bernard")
	require.NotContains(t, page, "Thomas")
	csv, err = chromedp.Run(sup, chromedp.Evaluate[string](`fetch(document.getElementById("export-csv").href).then(r => r.text())`, chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	require.Len(t, strings.Split(strings.TrimSpace(csv), "\n"), 4, csv)
	require.NotContains(t, csv, "Bernard")
	s.interrupt()
}
