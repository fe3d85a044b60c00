package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/auth"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/httpapi"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/internal/web"
)

// passwordServer serves the API and the web application as serve does,
// with a login guard of its own (its lockouts never reach other tests).
func passwordServer(t *testing.T, g *auth.LoginGuard) string {
	t.Helper()
	svc := *fx.env.Service
	svc.LoginGuard = g
	router := (&httpapi.Handler{Service: &svc, Logger: fx.env.Logger}).Routes()
	require.NoError(t, (&web.Handler{Service: &svc, Logger: fx.env.Logger}).Routes(router))
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	return srv.URL
}

// signIn logs in on base and returns the answer's status and location.
func signIn(t *testing.T, base, email, password string) (*browser, int, string) {
	t.Helper()
	b := newBrowser(t)
	b.base = base
	_, page, _ := b.get("/connexion")
	status, _, loc := b.post("/connexion", url.Values{"csrf": {csrf(t, page)}, "email": {email}, "password": {password}})
	return b, status, loc
}

func passwordForm(t *testing.T, page, current, next, confirm string) url.Values {
	return url.Values{"csrf": {csrf(t, page)}, "current_password": {current}, "new_password": {next}, "confirm_password": {confirm}}
}

func audited(t *testing.T, id, action string) []postgres.AuditRow {
	t.Helper()
	rows, err := fx.env.DB.SearchAudit(context.Background(), postgres.AuditFilter{RecordID: id, Action: action, Limit: 100})
	require.NoError(t, err)
	return rows
}

// TestChangeOwnPassword: « Mon compte » changes the password with the
// current one, typed twice and by the rules of a new account; the other
// sessions of the account end, the one in use stays (issue 20, item 8).
func TestChangeOwnPassword(t *testing.T) {
	t.Parallel()
	base := passwordServer(t, auth.NewLoginGuard())
	id, email, password := newAccount(t, "change")
	b, status, _ := signIn(t, base, email, password)
	require.Equal(t, http.StatusSeeOther, status)
	other, status, _ := signIn(t, base, email, password)
	require.Equal(t, http.StatusSeeOther, status)

	status, page, _ := b.get("/compte")
	require.Equal(t, http.StatusOK, status)
	noTemplateLeak(t, page)
	require.Contains(t, page, "Changer de mot de passe")
	require.Contains(t, page, "Mot de passe actuel")
	require.Contains(t, page, "Nouveau mot de passe (au moins 12 caractères)")
	require.Contains(t, page, `type="password"`)
	require.Contains(t, page, "Récapitulatif quotidien", "the digest's choice is still there")

	next := "un nouveau mot de passe assez long"
	for _, c := range []struct {
		form url.Values
		want string
	}{
		{passwordForm(t, page, password, next, next+"x"), "Les deux saisies du nouveau mot de passe diffèrent."},
		{passwordForm(t, page, password, "court", "court"), "Le mot de passe compte au moins 12 caractères."},
		{passwordForm(t, page, password, password, password), "Le nouveau mot de passe doit différer de l&#39;actuel."},
		{passwordForm(t, page, "", next, next), "Saisissez votre mot de passe actuel."},
	} {
		status, body, _ := b.post("/compte/mot-de-passe", c.form)
		require.Equal(t, http.StatusBadRequest, status)
		require.Contains(t, body, c.want)
		require.Contains(t, body, "Le formulaire contient une erreur : voir ci-dessous.")
		require.NotContains(t, body, next, "what was typed is never sent back")
		noTemplateLeak(t, body)
	}

	status, _, loc := b.post("/compte/mot-de-passe", passwordForm(t, page, password, next, next))
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/compte?mot-de-passe=change", loc)
	_, page, _ = b.get(loc)
	require.Contains(t, page, "Votre mot de passe est changé. Vos autres sessions sont fermées.")
	status, _, _ = b.get("/echeances")
	require.Equal(t, http.StatusOK, status, "the session in use stays open")
	status, _, loc = other.get("/echeances")
	require.Equal(t, http.StatusSeeOther, status, "the other session ended")
	require.Equal(t, "/connexion", loc)

	_, status, _ = signIn(t, base, email, password)
	require.Equal(t, http.StatusUnauthorized, status, "the old password no longer opens")
	_, status, _ = signIn(t, base, email, next)
	require.Equal(t, http.StatusSeeOther, status, "the new one does")
	rows := audited(t, id, "password_change")
	require.Len(t, rows, 1)
	require.Equal(t, "account:"+id, rows[0].Actor)
	require.Contains(t, rows[0].Detail, `"sessions_ended": 1`)
	require.NotContains(t, rows[0].Detail, next)
}

// TestAdminResetForcesChange: an administrator resets a password from the
// accounts page; the temporary password is shown once, the account's
// sessions end, and at the next login its holder reaches nothing but « Mon
// compte » (pages, forms, the API) until they have chosen a new one.
func TestAdminResetForcesChange(t *testing.T) {
	t.Parallel()
	base := passwordServer(t, auth.NewLoginGuard())
	id, email, password := newAccount(t, "oubli")
	user, status, _ := signIn(t, base, email, password)
	require.Equal(t, http.StatusSeeOther, status)

	admin, status, _ := signIn(t, base, "admin@cd.fr", fx.passwords["admin@cd.fr"])
	require.Equal(t, http.StatusSeeOther, status)
	_, page, _ := admin.get("/comptes")
	require.Contains(t, page, `action="/comptes/`+id+`/mot-de-passe"`)
	status, page, _ = admin.post("/comptes/"+id+"/mot-de-passe", url.Values{"csrf": {csrf(t, page)}})
	require.Equal(t, http.StatusOK, status)
	noTemplateLeak(t, page)
	m := regexp.MustCompile(`Mot de passe de ` + regexp.QuoteMeta(email) + ` réinitialisé\. Mot de passe provisoire, affiché une seule fois : <code>([^<]+)</code>`).FindStringSubmatch(page)
	require.NotNil(t, m, page)
	temporary := m[1]
	require.Contains(t, page, "mot de passe provisoire, à changer à la prochaine connexion")
	_, again, _ := admin.get("/comptes")
	require.NotContains(t, again, temporary, "shown once")

	status, _, loc := user.get("/echeances")
	require.Equal(t, http.StatusSeeOther, status, "the sessions of the account ended")
	require.Equal(t, "/connexion", loc)
	_, status, _ = signIn(t, base, email, password)
	require.Equal(t, http.StatusUnauthorized, status, "the old password no longer opens")

	user, status, _ = signIn(t, base, email, temporary)
	require.Equal(t, http.StatusSeeOther, status)
	for _, path := range []string{"/echeances", "/recherche?q=Martin", "/dossiers/1", "/comptes", "/imports", "/indicateurs.csv"} {
		status, body, loc := user.get(path)
		require.Equal(t, http.StatusSeeOther, status, path)
		require.Equal(t, "/compte", loc, path)
		require.NotContains(t, body, "<main", path)
	}
	status, page, _ = user.get("/compte")
	require.Equal(t, http.StatusOK, status)
	noTemplateLeak(t, page)
	require.Contains(t, page, "Votre mot de passe est provisoire : choisissez-en un nouveau pour continuer.")
	require.NotContains(t, page, "Navigation principale", "no way elsewhere")
	require.NotContains(t, page, "Récapitulatif quotidien")
	require.Contains(t, page, "Se déconnecter")
	status, _, loc = user.post("/compte", url.Values{"csrf": {csrf(t, page)}})
	require.Equal(t, http.StatusSeeOther, status, "no other form either")
	require.Equal(t, "/compte", loc)
	var out bool
	require.NoError(t, fx.env.DB.Pool.QueryRow(context.Background(), `SELECT digest_opt_out FROM accounts WHERE id = $1`, id).Scan(&out))
	require.False(t, out, "the digest form was not applied")

	// The API takes tokens, never a web session: the cookie opens nothing.
	req, err := http.NewRequest(http.MethodGet, base+"/api/v1/tasks", nil)
	require.NoError(t, err)
	u, _ := url.Parse(base)
	for _, c := range user.client.Jar.Cookies(u) {
		req.AddCookie(c)
	}
	res, err := user.client.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)

	next := "mon mot de passe à moi seul"
	status, _, loc = user.post("/compte/mot-de-passe", passwordForm(t, page, temporary, next, next))
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/compte?mot-de-passe=change", loc)
	status, page, _ = user.get("/echeances")
	require.Equal(t, http.StatusOK, status, "changed: the service opens")
	require.Contains(t, page, "Navigation principale")

	rows := audited(t, id, "password_reset")
	require.Len(t, rows, 1)
	require.Regexp(t, `^account:`, rows[0].Actor)
	require.Equal(t, "Admin", rows[0].ActorName)
	require.NotContains(t, rows[0].Detail, temporary)
	rows = audited(t, id, "password_change")
	require.Len(t, rows, 1)
	require.Contains(t, rows[0].Detail, `"was_temporary": true`)
	_, page, _ = admin.get("/journal?dossier=" + id)
	require.Contains(t, page, "Admin a réinitialisé le mot de passe du compte de ")
	require.Contains(t, page, " a changé son mot de passe.")
	require.NotContains(t, stripAttributes(page), "password_", "no code as text")

	// One's own password is changed on « Mon compte », not reset.
	status, page, _ = admin.get("/comptes")
	require.Equal(t, http.StatusOK, status)
	var adminID string
	require.NoError(t, fx.env.DB.Pool.QueryRow(context.Background(), `SELECT id::text FROM accounts WHERE email = 'admin@cd.fr'`).Scan(&adminID))
	require.NotContains(t, page, `action="/comptes/`+adminID+`/mot-de-passe"`)
	status, body, _ := admin.post("/comptes/"+adminID+"/mot-de-passe", url.Values{"csrf": {csrf(t, page)}})
	require.Equal(t, http.StatusConflict, status)
	require.Contains(t, body, "changez votre mot de passe sur la page « Mon compte »")
	status, _, _ = admin.post("/comptes/pas-un-identifiant/mot-de-passe", url.Values{"csrf": {csrf(t, page)}})
	require.Equal(t, http.StatusNotFound, status, "a malformed id is not found")
}

// TestPasswordAttacker: what another account can try. A non-administrator
// cannot reset anyone's password; the change form changes only the
// session's own account whatever id it is sent; a form without the CSRF
// token changes nothing; guessing the current password is slowed down like
// a login (429 with Retry-After), every failure audited.
func TestPasswordAttacker(t *testing.T) {
	t.Parallel()
	g := auth.NewLoginGuard()
	g.BaseDelay = time.Minute // no test outlives the first lockout
	base := passwordServer(t, g)
	victim, victimEmail, victimPassword := newAccount(t, "victime")
	attackerID, attackerEmail, attackerPassword := newAccount(t, "attaquant")
	b, status, _ := signIn(t, base, attackerEmail, attackerPassword)
	require.Equal(t, http.StatusSeeOther, status)
	_, page, _ := b.get("/compte")

	status, body, _ := b.post("/comptes/"+victim+"/mot-de-passe", url.Values{"csrf": {csrf(t, page)}})
	require.Equal(t, http.StatusForbidden, status, "a département account is no administrator")
	noTemplateLeak(t, body)
	require.Empty(t, audited(t, victim, "password_reset"))

	// The victim's id in the form, in every name it might take: only the
	// attacker's own password changes (with the attacker's own current one).
	next := "le mot de passe de l'attaquant"
	form := passwordForm(t, page, attackerPassword, next, next)
	form.Set("id", victim)
	form.Set("account_id", victim)
	form.Set("email", victimEmail)
	status, _, _ = b.post("/compte/mot-de-passe?id="+victim, form)
	require.Equal(t, http.StatusSeeOther, status)
	_, status, _ = signIn(t, base, victimEmail, victimPassword)
	require.Equal(t, http.StatusSeeOther, status, "the victim's password is unchanged")
	_, status, _ = signIn(t, base, victimEmail, next)
	require.Equal(t, http.StatusUnauthorized, status)
	require.Empty(t, audited(t, victim, "password_change"))
	require.Len(t, audited(t, attackerID, "password_change"), 1)
	attackerPassword = next

	// No CSRF token, or another session's: refused, nothing changed.
	_, victimPage, _ := func() (int, string, string) {
		v, _, _ := signIn(t, base, victimEmail, victimPassword)
		return v.get("/compte")
	}()
	other := "encore un autre mot de passe"
	for _, token := range []string{"", csrf(t, victimPage)} {
		f := passwordForm(t, page, attackerPassword, other, other)
		if token == "" {
			f.Del("csrf")
		} else {
			f.Set("csrf", token)
		}
		status, body, _ = b.post("/compte/mot-de-passe", f)
		require.Equal(t, http.StatusForbidden, status)
		require.Contains(t, body, "Ce formulaire a expiré ou ne vient pas de parcours.")
	}
	_, status, _ = signIn(t, base, attackerEmail, other)
	require.Equal(t, http.StatusUnauthorized, status, "unchanged")

	// Guessing the current password (a stolen session): slowed down after 5
	// failures, the failed login above included (both pages count them).
	_, page, _ = b.get("/compte")
	for i := 0; i < 5; i++ {
		status, body, _ = b.post("/compte/mot-de-passe", passwordForm(t, page, "devine "+time.Now().String(), other, other))
		require.Equal(t, http.StatusBadRequest, status, "attempt %d", i+1)
		require.Contains(t, body, "Mot de passe actuel incorrect.")
	}
	res, err := b.client.PostForm(b.url("/compte/mot-de-passe"), passwordForm(t, page, attackerPassword, other, other))
	require.NoError(t, err)
	body = readBody(t, res)
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode, "locked out, right password or not")
	require.Equal(t, "60", res.Header.Get("Retry-After"))
	require.Contains(t, body, "Trop de tentatives de connexion : réessayez dans une minute.")
	noTemplateLeak(t, body)
	// The login page counts the same failures: the account is locked there too.
	_, status, _ = signIn(t, base, attackerEmail, attackerPassword)
	require.Equal(t, http.StatusTooManyRequests, status)
	rows := audited(t, attackerID, "password_change_failed")
	require.Len(t, rows, 5)
	require.Contains(t, rows[0].Detail, "127.0.0.1")
	_, status, _ = signIn(t, base, victimEmail, victimPassword)
	require.Equal(t, http.StatusSeeOther, status, "another account from the same address is not locked out")
}

// TestNoPasswordForIdentityProviderAccounts: an account that signs in only
// through OpenID Connect has no password to change: « Mon compte » says so,
// and the form's address refuses.
func TestNoPasswordForIdentityProviderAccounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := passwordServer(t, auth.NewLoginGuard())
	id, err := fx.env.DB.CreateAccount(ctx, postgres.Account{Email: fmt.Sprintf("oidc-%d@cd.fr", time.Now().UnixNano()), Name: "Par ProConnect", Role: domain.RoleDepartment})
	require.NoError(t, err)
	token := auth.NewSecret(32)
	require.NoError(t, fx.env.DB.CreateSession(ctx, id, auth.HashToken(token), "jeton-csrf", time.Now().Add(time.Hour)))
	b := newBrowser(t)
	b.base = base
	u, _ := url.Parse(base)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: "parcours_session", Value: token, Path: "/"}})

	status, page, _ := b.get("/compte")
	require.Equal(t, http.StatusOK, status)
	noTemplateLeak(t, page)
	require.Contains(t, page, "Vous vous connectez par le fournisseur d'identité : votre compte n'a pas de mot de passe dans parcours.")
	require.NotContains(t, page, "Changer de mot de passe")
	status, body, _ := b.post("/compte/mot-de-passe", url.Values{"csrf": {"jeton-csrf"}, "current_password": {"x"}, "new_password": {"un mot de passe assez long"}, "confirm_password": {"un mot de passe assez long"}})
	require.Equal(t, http.StatusConflict, status)
	require.Contains(t, body, "Ce compte se connecte par le fournisseur d&#39;identité")
}
