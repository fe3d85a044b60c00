//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
)

// account creates a web account with the real binary and returns its password.
func (s *service) account(args ...string) string {
	s.t.Helper()
	cmd := exec.Command(s.bin, append([]string{"account", "create"}, args...)...)
	cmd.Env = s.env
	out, err := cmd.Output()
	require.NoError(s.t, err)
	return strings.TrimSpace(string(out))
}

// browserCtx starts Debian's Chromium headless (as root: no sandbox; no
// background networking, which this machine's closed network refuses).
func browserCtx(t *testing.T) context.Context {
	t.Helper()
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s is missing: `make test` installs it (scripts/deps.sh chromium)", chromium)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:0:0], chromedp.DefaultExecAllocatorOptions[:]...)
	opts = append(opts,
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.Flag("disable-gpu", true),
		chromedp.WindowSize(1280, 900), chromedp.UserDataDir(t.TempDir()))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	// The whole browser session: Chromium's start, then every page, on a
	// loaded 2-core machine.
	ctx, cancel = context.WithTimeout(ctx, readyWithin)
	t.Cleanup(cancel)
	return ctx
}

// shot saves a screenshot under docs/screenshots when PARCOURS_SCREENSHOTS
// is set (make screenshots), so that the README's pictures come from a run.
func shot(name string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		if os.Getenv("PARCOURS_SCREENSHOTS") == "" {
			return chromedp.Void{}, nil
		}
		png, err := chromedp.FullScreenshot(100)(ctx, t) // 100: PNG
		if err != nil {
			return chromedp.Void{}, err
		}
		return chromedp.Void{}, os.WriteFile(filepath.Join("..", "..", "docs", "screenshots", name), png, 0o644)
	}
}

func login(base, email, password string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(base+"/connexion"),
		chromedp.WaitVisible(chromedp.ID("email")),
		shot("connexion.png"),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.Search(`//h1[text()="Mes échéances"]`)),
	)
}

// mainText is the text of the page's main element.
func mainText(t *testing.T, ctx context.Context) string {
	t.Helper()
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	require.NoError(t, err)
	return text
}

var overdueCount = regexp.MustCompile(`dont (\d+) en retard`)

func TestBrowserReferentRecordsAContract(t *testing.T) {
	t.Parallel()
	s := newService(t, map[string]string{"DATABASE_URL": pgtest.NewURL(t), "PARCOURS_DATA_DIR": t.TempDir()})
	s.start()
	dep := s.token("--name", "Service RSA", "--role", "department")
	refPassword := s.account("--email", "lea@cd14.fr", "--name", "Léa Martin", "--role", "referent", "--referent", "ref-b")
	supPassword := s.account("--email", "chef@cd14.fr", "--name", "Chef de service", "--role", "supervisor", "--all-structures")
	today := domain.DateOf(time.Now())
	for i, name := range []string{"Durand", "Petit"} {
		body := intake("B-"+strconv.Itoa(i), today.AddDays(-75))
		body["last_name"] = name
		status, p := s.call(dep, "POST", "/api/v1/parcours", body)
		require.Equal(t, 201, status, p)
		status, p = s.call(dep, "POST", "/api/v1/parcours/"+p["id"].(string)+"/orientation", map[string]any{
			"track": "social", "organism": "CCAS de Caen", "referent_id": "ref-b", "decided_on": today.AddDays(-70).String()})
		require.Equal(t, 200, status, p)
	}

	// The supervisor sees every overdue task.
	sup := browserCtx(t)
	require.NoError(t, chromedp.Do(sup, login(s.base, "chef@cd14.fr", supPassword)))
	before := mainText(t, sup)
	require.NoError(t, chromedp.Do(sup,
		chromedp.Navigate(s.base+"/tableau-de-bord"),
		chromedp.WaitVisible(chromedp.Search(`//h1[text()="Tableau de bord"]`)),
		shot("tableau-de-bord.png"),
		chromedp.Navigate(s.base+"/echeances"),
		chromedp.WaitVisible(chromedp.Search(`//h1[text()="Mes échéances"]`)),
	))
	m := overdueCount.FindStringSubmatch(before)
	require.NotNil(t, m, before)
	overdueBefore, _ := strconv.Atoi(m[1])
	require.Positive(t, overdueBefore)

	// The référent sees the overdue task, opens the dossier, records the contract.
	ref := browserCtx(t)
	require.NoError(t, chromedp.Do(ref, login(s.base, "lea@cd14.fr", refPassword), shot("echeances.png")))
	inbox := mainText(t, ref)
	require.Contains(t, inbox, "Durand Jeanne")
	require.Contains(t, inbox, "En retard")
	require.NoError(t, chromedp.Do(ref,
		chromedp.Click(chromedp.Search(`//a[text()="Durand Jeanne"]`)),
		chromedp.WaitVisible(chromedp.Search(`//h2[text()="Échéances"]`)),
		shot("dossier.png"),
		chromedp.SetValue(chromedp.ID("contrat-kind"), "cer"),
		chromedp.SetValue(chromedp.ID("contrat-signed_on"), today.String()),
		chromedp.SetValue(chromedp.ID("contrat-starts_on"), today.String()),
		chromedp.SetValue(chromedp.ID("contrat-ends_on"), today.AddMonths(6).String()),
		chromedp.Submit(chromedp.ID("contrat-ends_on")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
		chromedp.Navigate(s.base+"/echeances"),
		chromedp.WaitVisible(chromedp.Search(`//h1[text()="Mes échéances"]`)),
	))
	after := mainText(t, ref)
	require.NotContains(t, strings.Split(after, "Petit")[0], "Durand", "Durand's contract task left the inbox")

	require.NoError(t, chromedp.Do(sup, chromedp.Reload(), chromedp.WaitVisible(chromedp.Search(`//h1[text()="Mes échéances"]`))))
	later := mainText(t, sup)
	m = overdueCount.FindStringSubmatch(later)
	require.NotNil(t, m, later)
	overdueAfter, _ := strconv.Atoi(m[1])
	require.Less(t, overdueAfter, overdueBefore, "the supervisor's overdue count fell")
	s.interrupt()
}
