//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
)

// axeSource is axe-core, installed by `make test` (scripts/deps.sh chromium).
func axeSource(t *testing.T) string {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join("..", "..", ".cache", "axe-core-*", "node_modules", "axe-core", "axe.min.js"))
	if len(matches) == 0 {
		t.Fatal("axe-core is missing: `make test` installs it (scripts/deps.sh chromium)")
	}
	b, err := os.ReadFile(matches[len(matches)-1])
	require.NoError(t, err)
	return string(b)
}

// pageCheck is what every page must pass, at a width: no Go template
// residue nor raw code, no horizontal overflow, no axe-core violation.
type pageCheck struct {
	html     string
	overflow bool
	axe      []string // "rule: help (n nodes)"
}

// rawCodes are internal codes that must never be shown as text.
var rawCodes = regexp.MustCompile(`>\s*(sign_contract|employment_support|socio_professional|job_search|awaiting_contract|in_accompaniment|obligations_not_met|refusal_contract|department|referent|supervisor|closed_compliance)\s*<`)

func checkPage(t *testing.T, ctx context.Context, axe, url string, width int64) pageCheck {
	t.Helper()
	var c pageCheck
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(url), chromedp.WaitReady("main")), url)
	var err error
	c.html, err = chromedp.Run(ctx, chromedp.OuterHTML("html"))
	require.NoError(t, err, url)
	overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	require.NoError(t, err, url)
	c.overflow = overflow
	_, err = chromedp.Run(ctx, chromedp.Evaluate[*runtime.RemoteObject](axe))
	require.NoError(t, err, url)
	result, err := chromedp.Run(ctx, chromedp.Evaluate[[]map[string]any](`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
		.then(r => r.violations.map(v => ({id: v.id, help: v.help, nodes: v.nodes.length, target: v.nodes[0].target.join(" ")})))`,
		chromedp.EvalAwaitPromise))
	require.NoError(t, err, url)
	for _, v := range result {
		c.axe = append(c.axe, fmt.Sprintf("%v: %v (%v nodes, first %v)", v["id"], v["help"], v["nodes"], v["target"]))
	}
	return c
}

// pictured are the pages whose picture (the visible part, desktop and
// tablet widths) docs/screenshots keeps: one daily page per role, the
// dossier's tabs and a sanction case.
var pictured = map[string]string{
	"lea /echeances": "referent-echeances", "lea /dossiers/{some}": "referent-dossier",
	"lea /dossiers/{some}?onglet=historique": "referent-dossier-historique",
	"chef /tableau-de-bord":                  "superviseur-tableau-de-bord", "dep /examens": "departement-examens",
	"dep /examens/{case}": "departement-dossier-de-sanction", "lea /recherche?q=Martin&tri=beneficiaire": "referent-recherche",
}

// viewShot saves the visible part of the page under docs/screenshots when
// PARCOURS_SCREENSHOTS is set (make screenshots).
func viewShot(name string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		if os.Getenv("PARCOURS_SCREENSHOTS") == "" {
			return chromedp.Void{}, nil
		}
		png, err := chromedp.CaptureScreenshot()(ctx, t)
		if err != nil {
			return chromedp.Void{}, err
		}
		return chromedp.Void{}, os.WriteFile(filepath.Join("..", "..", "docs", "screenshots", name), png, 0o644)
	}
}

// TestBrowserEveryRolesPages: each role (référent, supervisor,
// département, administrator) walks its daily pages on a few
// hundred parcours, at desktop and tablet widths (and the phone width for
// the lists, the dossier and the sanction cases), sorted lists, the
// dossier's tabs and cases at three steps included; every page is French
// with no raw code nor Go format error, does not scroll sideways, and
// passes axe-core's WCAG 2.1 A and AA rules (issue 23). PARCOURS_SCREENSHOTS
// keeps each page's picture under docs/screenshots.
func TestBrowserEveryRolesPages(t *testing.T) {
	t.Parallel()
	s := newService(t, map[string]string{"DATABASE_URL": pgtest.NewURL(t), "PARCOURS_DATA_DIR": t.TempDir()})
	s.start()
	dep := s.token("--name", "Service RSA", "--role", "department")
	passwords := map[string]string{
		"lea@cd14.fr":   s.account("--email", "lea@cd14.fr", "--name", "Léa Martin", "--role", "referent", "--referent", "ref-p"),
		"chef@cd14.fr":  s.account("--email", "chef@cd14.fr", "--name", "Chef de service", "--role", "supervisor", "--all-structures"),
		"dep@cd14.fr":   s.account("--email", "dep@cd14.fr", "--name", "Service RSA", "--role", "department"),
		"admin@cd14.fr": s.account("--email", "admin@cd14.fr", "--name", "Administratrice", "--role", "admin"),
	}
	today := domain.DateOf(time.Now())
	const n = 240
	var some string
	var late []string
	for i := range n {
		body := intake(fmt.Sprintf("P-%03d", i), today.AddDays(-20-i%30))
		body["last_name"] = fmt.Sprintf("Martin%03d", i)
		status, p := s.call(dep, "POST", "/api/v1/parcours", body)
		require.Equal(t, 201, status, p)
		id := p["id"].(string)
		if i%3 != 0 {
			status, p = s.call(dep, "POST", "/api/v1/parcours/"+id+"/orientation", map[string]any{
				"track": "social", "organism": "CCAS de Caen", "referent_id": "ref-p", "decided_on": today.AddDays(-15 - i%30).String()})
			require.Equal(t, 200, status, p)
			some = id
			if i%30 >= 25 { // oriented 40 days ago or more: the contract is missing
				late = append(late, id)
			}
		}
	}
	// Sanction cases at three steps: reported, in the observation
	// period, decided.
	cases := []string{}
	for i, pid := range late[:3] {
		status, p := s.call(dep, "POST", "/api/v1/parcours/"+pid+"/breaches", map[string]any{"kind": "refusal_contract",
			"facts": "Aucune réponse aux convocations.", "reported_on": today.String()})
		require.Equal(t, 201, status, p)
		rid := pid + "-1"
		cases = append(cases, rid)
		if i > 0 {
			status, p = s.call(dep, "POST", "/api/v1/reviews/"+rid+"/notice", map[string]any{"sent_on": today.AddDays(-13).String(),
				"received_on": today.AddDays(-3 - 8*(i-1)).String(), "planned_kind": "suspension", "planned_percent": 40, "planned_months": 2})
			require.Equal(t, 200, status, p)
		}
		if i > 1 {
			status, p = s.call(dep, "POST", "/api/v1/reviews/"+rid+"/decision", map[string]any{"kind": "suspension", "percent": 40, "months": 2,
				"decided_on": today.String(), "effective_on": today.AddDays(9).String(), "household_size": 1, "monthly_amount_cents": 64600})
			require.Equal(t, 200, status, p)
		}
	}
	axe := axeSource(t)
	dossier := "/dossiers/" + some
	// A browser per line (its context has a time limit): a role and pages.
	walks := []struct {
		email string
		paths []string
	}{
		{"lea@cd14.fr", []string{"/echeances", "/echeances?tri=beneficiaire&ordre=desc", dossier, dossier + "?onglet=enregistrer", dossier + "?onglet=historique"}},
		{"lea@cd14.fr", []string{"/recherche?q=Martin&tri=beneficiaire", "/recherche?q=Martin00", "/indicateurs", "/compte"}},
		{"chef@cd14.fr", []string{"/echeances", "/tableau-de-bord", "/tableau-de-bord?tri=referent&ordre=desc", "/examens"}},
		{"chef@cd14.fr", []string{"/referents", "/structures", "/campagne-2027"}},
		{"dep@cd14.fr", []string{"/echeances?tri=tache", "/tableau-de-bord", "/examens", "/examens?tri=echeance&ordre=desc", "/examens/" + cases[0]}},
		{"dep@cd14.fr", []string{"/examens/" + cases[1], "/examens/" + cases[2], dossier, "/imports", "/courriers"}},
		{"dep@cd14.fr", []string{"/indicateurs", "/campagne-2027"}},
		{"admin@cd14.fr", []string{"/journal", "/journal?action=read&tri=quand", "/comptes", "/jetons", "/accessibilite"}},
	}
	var problems []string
	for _, walk := range walks {
		email := walk.email
		ctx := browserCtx(t)
		require.NoError(t, chromedp.Do(ctx, login(s.base, email, passwords[email])))
		for _, path := range walk.paths {
			widths := []int64{1280, 768}
			if strings.HasPrefix(path, "/echeances") || strings.HasPrefix(path, "/dossiers/") || strings.HasPrefix(path, "/examens") ||
				strings.HasPrefix(path, "/recherche") {
				widths = append(widths, 320)
			}
			for _, w := range widths {
				c := checkPage(t, ctx, axe, s.base+path, w)
				where := fmt.Sprintf("%s %s at %d px", email, path, w)
				for _, bad := range []string{"%!", "<no value>"} {
					if strings.Contains(c.html, bad) {
						problems = append(problems, where+": "+bad)
					}
				}
				if m := rawCodes.FindString(c.html); m != "" {
					problems = append(problems, where+": raw code "+m)
				}
				if c.overflow {
					problems = append(problems, where+": scrolls sideways")
				}
				for _, v := range c.axe {
					problems = append(problems, where+": axe "+v)
				}
				key := strings.Split(email, "@")[0] + " " + strings.NewReplacer(some, "{some}", cases[0], "{case}").Replace(path)
				if name, ok := pictured[key]; ok && w != 320 {
					require.NoError(t, chromedp.Do(ctx, viewShot(fmt.Sprintf("%s-%d.png", name, w))))
				}
			}
		}
	}
	require.Empty(t, problems, strings.Join(problems, "\n"))
	s.interrupt()
}
