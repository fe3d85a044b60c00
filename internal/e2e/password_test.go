//go:build e2e

package e2e

import (
	"bytes"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
)

// webClient is a browser without JavaScript: cookies, no redirects followed.
type webClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newWebClient(t *testing.T, base string) *webClient {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &webClient{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (w *webClient) do(method, path string, form url.Values) (int, string, string) {
	w.t.Helper()
	var res *http.Response
	var err error
	if method == http.MethodGet {
		res, err = w.c.Get(w.base + path)
	} else {
		res, err = w.c.PostForm(w.base+path, form)
	}
	require.NoError(w.t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(w.t, err)
	return res.StatusCode, string(body), res.Header.Get("Location")
}

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(page)
	require.NotNil(t, m, "no CSRF field in the page")
	return m[1]
}

// signIn logs in and returns the client and where the login sent it.
func signIn(t *testing.T, base, email, password string) (*webClient, int, string) {
	t.Helper()
	w := newWebClient(t, base)
	_, page, _ := w.do(http.MethodGet, "/connexion", nil)
	status, _, loc := w.do(http.MethodPost, "/connexion", url.Values{"csrf": {csrfOf(t, page)}, "email": {email}, "password": {password}})
	return w, status, loc
}

// TestRealBinaryFirstAdminPassword: the first administrator's password,
// printed by the first start, opens only « Mon compte » until it is
// changed there; lost later, `parcours account reset-password` gives a
// temporary one, which ends the sessions and must be changed in turn
// (issue 20, item 8).
func TestRealBinaryFirstAdminPassword(t *testing.T) {
	t.Parallel()
	s := newService(t, map[string]string{"DATABASE_URL": pgtest.NewURL(t), "PARCOURS_DATA_DIR": t.TempDir()})
	s.start()
	defer s.interrupt()
	m := regexp.MustCompile(`identifiant  (\S+)\n  mot de passe (\S+)\n`).FindStringSubmatch(s.stdout.String())
	require.NotNil(t, m, s.stdout.String())
	email, printed := m[1], m[2]
	require.Contains(t, s.stdout.String(), "Ce mot de passe est provisoire : choisissez-en un autre à la première connexion (page « Mon compte »).")
	require.Contains(t, s.stdout.String(), "Perdu : parcours account reset-password --email "+email)

	admin, status, _ := signIn(t, s.base, email, printed)
	require.Equal(t, http.StatusSeeOther, status)
	status, _, loc := admin.do(http.MethodGet, "/comptes", nil)
	require.Equal(t, http.StatusSeeOther, status, "a temporary password opens nothing but « Mon compte »")
	require.Equal(t, "/compte", loc)
	status, page, _ := admin.do(http.MethodGet, "/compte", nil)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, "Votre mot de passe est provisoire")
	chosen := "le mot de passe choisi par l'administrateur"
	status, _, loc = admin.do(http.MethodPost, "/compte/mot-de-passe", url.Values{"csrf": {csrfOf(t, page)},
		"current_password": {printed}, "new_password": {chosen}, "confirm_password": {chosen}})
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/compte?mot-de-passe=change", loc)
	status, _, _ = admin.do(http.MethodGet, "/comptes", nil)
	require.Equal(t, http.StatusOK, status, "changed: the service opens")

	// Lost: the command resets it, where the service's database is.
	cmd := exec.Command(s.bin, "account", "reset-password", "--email", email)
	cmd.Env = s.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	require.NoError(t, cmd.Run(), errb.String())
	temporary := strings.TrimSpace(out.String())
	require.Len(t, temporary, 16)
	require.Contains(t, errb.String(), "Mot de passe de "+email+" réinitialisé ; ses sessions sont fermées.")
	status, _, loc = admin.do(http.MethodGet, "/comptes", nil)
	require.Equal(t, http.StatusSeeOther, status, "the session ended")
	require.Equal(t, "/connexion", loc)
	_, status, _ = signIn(t, s.base, email, chosen)
	require.Equal(t, http.StatusUnauthorized, status)
	again, status, _ := signIn(t, s.base, email, temporary)
	require.Equal(t, http.StatusSeeOther, status)
	status, _, loc = again.do(http.MethodGet, "/echeances", nil)
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/compte", loc, "the temporary password must be changed in turn")
}
