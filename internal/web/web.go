// Package web is the French web application: server-rendered pages
// (html/template and CSS embedded in the binary), usable without JavaScript,
// on top of the same app.Service as the API, with the same scoping and audit.
package web

import (
	"bytes"
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/auth"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/httpx"
	"github.com/parcours-rsa/parcours/internal/importer"
	"github.com/parcours-rsa/parcours/internal/indicators"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

const (
	sessionCookie  = "parcours_session"
	loginCookie    = "parcours_login_csrf"
	sessionSeconds = int(app.SessionLength / time.Second)
)

// Handler serves the web application.
type Handler struct {
	Service *app.Service
	Logger  *slog.Logger
	Secure  bool  // cookies only over HTTPS (behind TLS or a TLS proxy)
	OIDC    *OIDC // OpenID Connect login, when configured
	// Importer runs the uploads; nil: one on Service.
	Importer *importer.Importer

	pages map[string]*template.Template
}

// Routes mounts the pages on r.
func (h *Handler) Routes(r chi.Router) error {
	if err := h.parse(); err != nil {
		return err
	}
	static, _ := fs.Sub(staticFS, "static")
	r.Handle("/static/*", http.StripPrefix("/static/", http.FileServer(http.FS(static))))
	r.Get("/connexion", h.loginPage)
	r.Post("/connexion", h.login)
	if h.OIDC != nil {
		r.Get("/connexion/oidc", h.oidcStart)
		r.Get("/connexion/oidc/retour", h.oidcReturn)
	}
	r.Group(func(r chi.Router) {
		r.Use(h.session)
		r.Get("/", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/echeances", http.StatusSeeOther) })
		r.Post("/deconnexion", h.logout)
		r.Get("/echeances", h.inbox)
		r.Get("/tableau-de-bord", h.dashboard)
		r.Get("/recherche", h.search)
		r.Get("/indicateurs", h.indicators)
		r.Get("/indicateurs.csv", h.indicators)
		r.Get("/journal", h.auditLog)
		r.Get("/comptes", h.accounts)
		r.Post("/comptes", h.createAccount)
		r.Post("/comptes/{aid}/desactiver", h.disableAccount)
		r.Get("/jetons", h.tokens)
		r.Post("/jetons/{tid}/revoquer", h.revokeToken)
		r.Get("/compte", h.ownAccount)
		r.Post("/compte", h.setDigestOptOut)
		r.Get("/imports", h.imports)
		r.Post("/imports", h.upload)
		r.Get("/imports/identites", h.identities)
		r.Post("/imports/identites/{cid}", h.resolveIdentity)
		r.Get("/imports/correspondance", h.mapping)
		r.Get("/imports/guide", h.importGuide)
		r.Get("/imports/modele-reprise.{ext:xlsx|csv}", h.importTemplate)
		r.Post("/imports/apercu/{token}", h.confirmPreview)
		r.Get("/imports/apercu/{token}/rapport.csv", h.previewReport)
		r.Post("/imports/correspondance", h.saveMapping)
		r.Get("/imports/{iid}", h.importPage)
		r.Get("/imports/{iid}/rejets.csv", h.importPage)
		r.Get("/examens", h.reviews)
		r.Get("/examens/{rid}", h.review)
		h.routeLetters(r)
		h.routeCampaign(r)
		h.routeDirectory(r)
		r.Post("/examens/{rid}/{form}", h.submitReview)
		r.Get("/dossiers/{id}", h.dossier)
		r.Post("/dossiers/{id}/{form}", h.submit)
		r.Post("/dossiers/{id}/{form}/{n}", h.submit)
		r.Post("/dossiers/{id}/{form}/{n}/{m}", h.submit)
	})
	return nil
}

// ---- rendering -------------------------------------------------------------

// page is what every template receives.
type page struct {
	Title  string
	Nav    string
	Actor  domain.Actor
	CSRF   string
	Flash  string
	Errors map[string]string
	Form   url.Values
	Data   any
	Names  domain.ReferentNames // the names of the référent ids the page shows (see Referent)
}

var funcs = template.FuncMap{
	"fr": func(d domain.Date) string {
		if d.IsZero() {
			return "—"
		}
		return d.French()
	},
	"taskFr":           taskFr,
	"statusFr":         func(s domain.Status) string { return s.French() },
	"trackFr":          func(t domain.Track) string { return t.French() },
	"contractFr":       func(k domain.ContractKind) string { return k.French() },
	"roleFr":           roleFr,
	"digestStatusFr":   digestStatusFr,
	"deadlineStatusFr": deadlineStatusFr,
	"campaignStatusFr": campaignStatusFr,
	"reviewFr":         reviewFr,
	"letterMode":       func(m string) string { return domain.LetterModes[m] },
	"breachFr":         func(k string) string { return breachFr[k] },
	"euros":            func(c int64) string { return fmt.Sprintf("%d,%02d €", c/100, c%100) },
	"list":             func(v ...string) []string { return v },
	"paris":            func(t time.Time) string { return t.In(domain.Paris).Format("02/01/2006 15:04:05") },
	"pct":              func(f float64) string { return strings.Replace(fmt.Sprintf("%.1f %%", 100*f), ".", ",", 1) },
	"bar":              func(f float64) int { return int(160 * f) },
	// days prints a number of days the French way: 12, or 12,5.
	"days": func(f float64) string {
		return strings.Replace(strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64), ".", ",", 1)
	},
	"maxPart": func(parts []indicators.Part) int {
		m := 1
		for _, p := range parts {
			m = max(m, p.Value)
		}
		return m
	},
	"scale":        func(v, max int) int { return 100 * v / max },
	"reportKindFr": importer.ReportKindFrench,
	"importStatusFr": func(s string) string {
		return map[string]string{"running": "en cours", "done": "terminé", "refused": "refusé", "failed": "interrompu"}[s]
	},
}

func (h *Handler) now() time.Time {
	if h.Service.NowFunc != nil {
		return h.Service.NowFunc()
	}
	return time.Now()
}

func (h *Handler) parse() error {
	h.pages = map[string]*template.Template{}
	for _, name := range []string{"login", "inbox", "dossier", "error", "dashboard", "reviews", "review", "search", "audit", "accounts", "indicators", "imports", "import", "mapping", "account", "letters", "structures", "referents", "campaign", "identities", "import-preview", "import-guide", "tokens"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/forms.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("template %s: %w", name, err)
		}
		h.pages[name] = t
	}
	return nil
}

// render writes a page into a buffer first: a template error never leaves
// half a page.
func (h *Handler) render(w http.ResponseWriter, status int, name string, p page) {
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		h.Logger.Error("render page", "page", name, "error", err)
		http.Error(w, "Erreur interne : l'incident est enregistré.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail shows an error page with the status its code maps to.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	err = postgres.AsUnavailable(err)
	code := domain.ErrorCode(err)
	status, title := httpx.Status(code), map[string]string{
		domain.ENOTFOUND: "Introuvable", domain.EFORBIDDEN: "Accès refusé", domain.EUNAVAILABLE: "Service momentanément indisponible",
		domain.EINVALID: "Demande invalide", domain.ECONFLICT: "Action impossible", domain.ETOOMANY: "Trop de demandes",
		domain.EUNAUTHORIZED: "Connexion requise",
	}[code]
	if status == http.StatusInternalServerError {
		title = "Erreur interne"
		h.Logger.Error("web request failed", "path", r.URL.Path, "error", err)
	}
	a, csrf := from(r.Context())
	h.render(w, status, "error", page{Title: title, Actor: a, CSRF: csrf, Data: domain.ErrorMessage(err)})
}

// ---- sessions and CSRF -------------------------------------------------------

type ctxKey struct{}

type sessionInfo struct {
	actor domain.Actor
	csrf  string
	token string
	parts *multipart.Reader // an upload's parts after the CSRF token, not yet read
}

func from(ctx context.Context) (domain.Actor, string) {
	s, _ := ctx.Value(ctxKey{}).(sessionInfo)
	return s.actor, s.csrf
}

func (h *Handler) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, Secure: h.Secure, SameSite: http.SameSiteLaxMode}
}

// maxFormBytes bounds every form but an upload (issue 20: no limit let a
// 34-MB body through the login form).
const maxFormBytes = 64 << 10

// checkCSRF checks a POST's CSRF token. A form's body is read whole, 64 KiB
// at most. An upload (multipart) is never parsed whole: net/http would copy
// a file over 32 MB to the temporary directory, where it stayed for ever
// (chi hands handlers a copy of the request, so net/http's cleanup missed
// it). Its first part must be the token; the other parts are left to the
// handler, which streams the file into the importer's storage once it has
// checked the role. false: the answer is sent.
func (h *Handler) checkCSRF(w http.ResponseWriter, r *http.Request, a domain.Actor, csrf string) (*multipart.Reader, bool) {
	expired := func() (*multipart.Reader, bool) {
		h.render(w, http.StatusForbidden, "error", page{Title: "Formulaire expiré", Actor: a, CSRF: csrf,
			Data: "Ce formulaire a expiré ou ne vient pas de parcours. Rechargez la page et recommencez."})
		return nil, false
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		r.Body = http.MaxBytesReader(w, r.Body, importer.MaxUpload+1<<20)
		mr, err := r.MultipartReader()
		if err != nil {
			return expired()
		}
		part, err := mr.NextPart()
		if err != nil || part.FormName() != "csrf" {
			return expired()
		}
		token, err := io.ReadAll(io.LimitReader(part, 256))
		if err != nil || subtle.ConstantTimeCompare(token, []byte(csrf)) != 1 {
			return expired()
		}
		return mr, true
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.render(w, http.StatusRequestEntityTooLarge, "error", page{Title: "Formulaire trop long", Actor: a, CSRF: csrf,
				Data: fmt.Sprintf("Un formulaire ne peut pas dépasser %d Kio.", maxFormBytes>>10)})
			return nil, false
		}
		return expired()
	}
	if r.PostFormValue("csrf") != csrf {
		return expired()
	}
	return nil, true
}

// session requires a live session, and a matching CSRF token on every POST.
func (h *Handler) session(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		if err != nil {
			http.Redirect(w, r, "/connexion", http.StatusSeeOther)
			return
		}
		a, csrf, err := h.Service.Session(r.Context(), c.Value)
		if err != nil {
			if domain.ErrorCode(err) == domain.EUNAUTHORIZED {
				http.SetCookie(w, h.cookie(sessionCookie, "", -1))
				http.Redirect(w, r, "/connexion", http.StatusSeeOther)
				return
			}
			h.fail(w, r, err)
			return
		}
		var parts *multipart.Reader
		if r.Method == http.MethodPost {
			var ok bool
			if parts, ok = h.checkCSRF(w, r, a, csrf); !ok {
				return
			}
		}
		ctx := context.WithValue(r.Context(), ctxKey{}, sessionInfo{actor: a, csrf: csrf, token: c.Value, parts: parts})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	token := auth.NewSecret(24)
	http.SetCookie(w, h.cookie(loginCookie, token, 900))
	h.render(w, http.StatusOK, "login", page{Title: "Connexion", CSRF: token, Form: url.Values{}, Data: h.oidcLabel()})
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes) // before any parsing: never a temporary file
	c, err := r.Cookie(loginCookie)
	if err != nil || r.PostFormValue("csrf") != c.Value {
		h.render(w, http.StatusForbidden, "error", page{Title: "Formulaire expiré", Data: "Rechargez la page de connexion et recommencez."})
		return
	}
	token, err := h.Service.Login(r.Context(), r.PostFormValue("email"), r.PostFormValue("password"), sourceAddress(r))
	if err != nil {
		status := http.StatusUnauthorized
		var many *app.TooManyAttempts
		switch {
		case errors.As(err, &many):
			status = http.StatusTooManyRequests
			w.Header().Set("Retry-After", strconv.Itoa(int((many.Wait+time.Second-1)/time.Second)))
		case domain.ErrorCode(err) != domain.EUNAUTHORIZED:
			h.fail(w, r, err)
			return
		}
		h.render(w, status, "login", page{Title: "Connexion", CSRF: c.Value, Form: url.Values{"email": {r.PostFormValue("email")}},
			Errors: map[string]string{"login": domain.ErrorMessage(err)}, Data: h.oidcLabel()})
		return
	}
	http.SetCookie(w, h.cookie(loginCookie, "", -1))
	http.SetCookie(w, h.cookie(sessionCookie, token, sessionSeconds))
	http.Redirect(w, r, "/echeances", http.StatusSeeOther)
}

// sourceAddress is the client's address as the connection gives it (a
// reverse proxy's X-Forwarded-For is not trusted: anyone can send one).
func sourceAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// oidcLabel is the text of the identity provider's button, "" without one.
func (h *Handler) oidcLabel() string {
	if h.OIDC == nil {
		return ""
	}
	if h.OIDC.Label != "" {
		return h.OIDC.Label
	}
	return "Se connecter avec ProConnect"
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	s, _ := r.Context().Value(ctxKey{}).(sessionInfo)
	if err := h.Service.Logout(r.Context(), s.token); err != nil {
		h.fail(w, r, err)
		return
	}
	http.SetCookie(w, h.cookie(sessionCookie, "", -1))
	http.Redirect(w, r, "/connexion", http.StatusSeeOther)
}

// ---- pages -------------------------------------------------------------------

func (h *Handler) inbox(w http.ResponseWriter, r *http.Request) {
	a, csrf := from(r.Context())
	kind := r.URL.Query().Get("kind")
	tasks, err := h.Service.Tasks(r.Context(), a, postgres.TaskFilter{Limit: 1000})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var kinds []domain.TaskKind
	overdue := 0
	shown := tasks[:0:0]
	for _, t := range tasks {
		if !slices.Contains(kinds, t.Kind) {
			kinds = append(kinds, t.Kind)
		}
		if kind == "" || string(t.Kind) == kind {
			shown = append(shown, t)
			if t.Overdue {
				overdue++
			}
		}
	}
	names, err := h.names(r.Context(), assignees(shown)...)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, http.StatusOK, "inbox", page{Title: "Mes échéances", Nav: "echeances", Actor: a, CSRF: csrf, Names: names,
		Data: map[string]any{"Tasks": shown, "Kinds": kinds, "Kind": kind, "Overdue": overdue}})
}

// dashboard shows supervisors the load of each référent, and the tasks
// overdue or due within N days, with a reassignment form on each line.
func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request) {
	a, csrf := from(r.Context())
	days, err := strconv.Atoi(r.URL.Query().Get("jours"))
	if err != nil || days < 1 || days > 90 {
		days = 14
	}
	load, err := h.Service.Workload(r.Context(), a, days)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	tasks, err := h.Service.Tasks(r.Context(), a, postgres.TaskFilter{DueWithin: days, Limit: 500})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	referents, err := h.Service.Referents(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	campaign, err := h.Service.Campaign(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	conflicts, err := h.Service.CountIdentityConflicts(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	total := domain.Workload{}
	for _, l := range load {
		total.Parcours += l.Parcours
		total.Open += l.Open
		total.Overdue += l.Overdue
		total.DueSoon += l.DueSoon
	}
	names, err := h.names(r.Context(), assignees(tasks)...)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, http.StatusOK, "dashboard", page{Title: "Tableau de bord", Nav: "tableau", Actor: a, CSRF: csrf, Names: names,
		Data: map[string]any{"Load": load, "Total": total, "Tasks": tasks, "Days": days, "Referents": referents, "Campaign": campaign,
			"IdentityConflicts": conflicts, "Today": domain.DateOf(time.Now()).String()}})
}

// search finds dossiers by name, identifier or NIR, within the actor's scope.
func (h *Handler) search(w http.ResponseWriter, r *http.Request) {
	a, csrf := from(r.Context())
	q := r.URL.Query().Get("q")
	p := page{Title: "Rechercher un bénéficiaire", Nav: "recherche", Actor: a, CSRF: csrf, Form: url.Values{"q": {q}}}
	if q != "" {
		list, err := h.Service.Search(r.Context(), a, q)
		if err != nil && domain.ErrorCode(err) != domain.EINVALID {
			h.fail(w, r, err)
			return
		}
		p.Errors = map[string]string{"q": domain.ErrorMessage(err)}
		if err == nil {
			ids := make([]string, len(list))
			for i, s := range list {
				ids[i] = s.ReferentID
			}
			if p.Names, err = h.names(r.Context(), ids...); err != nil {
				h.fail(w, r, err)
				return
			}
			p.Errors, p.Data = nil, list
		}
	}
	h.render(w, http.StatusOK, "search", p)
}

// accounts lets administrators manage the web accounts.
func (h *Handler) accounts(w http.ResponseWriter, r *http.Request) {
	h.showAccounts(w, r, http.StatusOK, nil, nil, nil)
}

func (h *Handler) showAccounts(w http.ResponseWriter, r *http.Request, status int, created map[string]string, failed url.Values, errs map[string]string) {
	a, csrf := from(r.Context())
	list, err := h.Service.Accounts(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	roles := []option{{"", "— choisir —"}}
	for _, role := range domain.Roles {
		roles = append(roles, option{string(role), roleFr(role)})
	}
	dir, err := h.directoryFor(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	forms := []formData{{Name: "compte", Title: "Nouveau compte", Action: "/comptes", Submit: "Créer le compte", CSRF: csrf, Fields: []fieldData{
		field("compte", "email", "Adresse électronique", "email"), field("compte", "name", "Nom", "text"),
		field("compte", "role", "Rôle", "select", roles...),
		field("compte", "referent", "Référent que le compte représente (rôle référent)", "select", dir.withoutAccount().referentOptions("— aucun —")...),
		field("compte", "structure", "Structure encadrée (rôle encadrement)", "select", dir.structureOptions("— aucune —")...),
		field("compte", "all_structures", "Toutes les structures (encadrement du Département : cocher)", "checkbox"),
	}}}
	ids := make([]string, len(list))
	for i, acc := range list {
		ids[i] = acc.ReferentID
	}
	names, err := h.names(r.Context(), ids...)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	fillFailed(forms, "compte", failed, errs)
	digests, err := h.Service.DigestSendings(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, status, "accounts", page{Title: "Comptes", Nav: "comptes", Actor: a, CSRF: csrf, Names: names,
		Data: map[string]any{"Accounts": list, "Forms": forms, "Created": created, "Digests": digests}})
}

// ownAccount lets an account choose whether it receives the daily digest.
func (h *Handler) ownAccount(w http.ResponseWriter, r *http.Request) {
	a, csrf := from(r.Context())
	out, err := h.Service.DigestOptOut(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, http.StatusOK, "account", page{Title: "Mon compte", Actor: a, CSRF: csrf,
		Nav: "compte", Data: map[string]any{"OptOut": out, "Saved": r.URL.Query().Get("enregistre") != ""}})
}

func (h *Handler) setDigestOptOut(w http.ResponseWriter, r *http.Request) {
	a, _ := from(r.Context())
	if err := h.Service.SetDigestOptOut(r.Context(), a, r.PostFormValue("digest") != "oui"); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/compte?enregistre=1", http.StatusSeeOther)
}

func (h *Handler) createAccount(w http.ResponseWriter, r *http.Request) {
	a, _ := from(r.Context())
	f := r.PostForm
	password := auth.NewSecret(12)
	_, err := h.Service.CreateAccount(r.Context(), a, app.NewAccount{Email: f.Get("email"), Name: f.Get("name"), Password: password,
		Role: domain.Role(f.Get("role")), ReferentID: strings.TrimSpace(f.Get("referent")), Structure: strings.TrimSpace(f.Get("structure")),
		AllStructures: f.Get("all_structures") != ""})
	if err != nil {
		status, errs, ok := formError(err)
		if !ok {
			h.fail(w, r, err)
			return
		}
		h.showAccounts(w, r, status, nil, f, errs)
		return
	}
	// Shown once, on this page: the response is not cached.
	w.Header().Set("Cache-Control", "no-store")
	h.showAccounts(w, r, http.StatusCreated, map[string]string{"Email": f.Get("email"), "Password": password}, nil, nil)
}

func (h *Handler) disableAccount(w http.ResponseWriter, r *http.Request) {
	a, _ := from(r.Context())
	if err := h.Service.DisableAccount(r.Context(), a, chi.URLParam(r, "aid")); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/comptes", http.StatusSeeOther)
}

// indicators shows the published figures of a period (default: last year),
// or exports them as CSV.
func (h *Handler) indicators(w http.ResponseWriter, r *http.Request) {
	a, csrf := from(r.Context())
	f := indicators.Filter{}
	f.From, f.To = app.DefaultPeriod(time.Now())
	if d, err := domain.ParseDate(r.URL.Query().Get("from")); err == nil {
		f.From = d
	}
	if d, err := domain.ParseDate(r.URL.Query().Get("to")); err == nil {
		f.To = d
	}
	rep, err := h.Service.Indicators(r.Context(), a, f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if strings.HasSuffix(r.URL.Path, ".csv") {
		var buf bytes.Buffer
		if err := rep.WriteCSV(&buf); err != nil {
			h.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="indicateurs-%s-%s.csv"`, rep.From, rep.To))
		_, _ = w.Write(buf.Bytes())
		return
	}
	names, err := h.names(r.Context(), rep.ReferentID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, http.StatusOK, "indicators", page{Title: "Indicateurs", Nav: "indicateurs", Actor: a, CSRF: csrf, Names: names, Data: map[string]any{"R": rep}})
}

// auditLog lets administrators search the audit log.
func (h *Handler) auditLog(w http.ResponseWriter, r *http.Request) {
	a, csrf := from(r.Context())
	q := r.URL.Query()
	rows, err := h.Service.SearchAudit(r.Context(), a, postgres.AuditFilter{Actor: q.Get("compte"), RecordID: q.Get("dossier"), Action: q.Get("action"), Limit: 500})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, http.StatusOK, "audit", page{Title: "Journal d'audit", Nav: "journal", Actor: a, CSRF: csrf, Form: q, Data: rows})
}

// reviews is the département's queue of sanction cases.
func (h *Handler) reviews(w http.ResponseWriter, r *http.Request) {
	a, csrf := from(r.Context())
	status := r.URL.Query().Get("statut")
	list, err := h.Service.Reviews(r.Context(), a, postgres.ReviewFilter{Status: status, Limit: 500})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, http.StatusOK, "reviews", page{Title: "Examens de sanction", Nav: "examens", Actor: a, CSRF: csrf,
		Data: map[string]any{"Reviews": list, "Status": status, "Statuses": reviewStatuses}})
}

func (h *Handler) review(w http.ResponseWriter, r *http.Request) {
	a, _ := from(r.Context())
	v, err := h.Service.Review(r.Context(), a, chi.URLParam(r, "rid"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	flash := ""
	if r.URL.Query().Get("ok") != "" {
		flash = "Enregistré."
	}
	h.showReview(w, r, http.StatusOK, v, flash, "", nil, nil)
}

func (h *Handler) showReview(w http.ResponseWriter, r *http.Request, status int, v domain.ReviewView, flash, failedForm string,
	failed url.Values, errs map[string]string) {
	a, csrf := from(r.Context())
	list, err := h.Service.Letters(r.Context(), a, v.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	sentNotice := false
	for _, l := range list {
		sentNotice = sentNotice || (l.Kind == domain.LetterNotice && l.Status == domain.LetterSent)
	}
	forms := reviewForms(a, v, csrf, sentNotice)
	if a.Role == domain.RoleAdmin || a.Role == domain.RoleDepartment {
		address, err := h.Service.LetterAddress(r.Context(), a, v.ID)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		forms = append(letterForms(v, list, address, csrf), forms...)
	}
	fillFailed(forms, failedForm, failed, errs)
	h.render(w, status, "review", page{Title: fmt.Sprintf("Dossier de sanction n° %d", v.Number), Nav: "examens", Actor: a, CSRF: csrf,
		Flash: flash, Data: map[string]any{"R": v, "Forms": forms, "Letters": list}})
}

// submitReview handles the forms of a case page.
func (h *Handler) submitReview(w http.ResponseWriter, r *http.Request) {
	rid, name := chi.URLParam(r, "rid"), chi.URLParam(r, "form")
	h.submitForm(w, r, reviewCommands(h.Service)[name], rid, name, "/examens/",
		func(a domain.Actor, status int, errs map[string]string) error {
			v, err := h.Service.Review(r.Context(), a, rid)
			if err == nil {
				h.showReview(w, r, status, v, "", name, r.PostForm, errs)
			}
			return err
		})
}

// submitForm runs a form's command on a record. Success redirects to the
// record's page; a refusal shows the page again (reshow) with the errors
// next to their field and what was typed kept.
func (h *Handler) submitForm(w http.ResponseWriter, r *http.Request, run commandFunc, id, key, base string,
	reshow func(a domain.Actor, status int, errs map[string]string) error) {
	a, _ := from(r.Context())
	if run == nil {
		h.fail(w, r, domain.Errorf(domain.ENOTFOUND, "Formulaire inconnu."))
		return
	}
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, domain.Errorf(domain.EINVALID, "Formulaire illisible."))
		return
	}
	ctx := r.Context()
	if k := r.PostForm.Get("idempotence"); app.ValidIdempotencyKey(k) {
		ctx = app.WithIdempotencyKey(ctx, a.ID, k) // the form sent again records once
	}
	err := run(ctx, a, id, r.PostForm)
	if err == nil {
		http.Redirect(w, r, base+id+"?ok="+url.QueryEscape(key), http.StatusSeeOther)
		return
	}
	status, errs, ok := formError(err)
	if !ok {
		h.fail(w, r, err)
		return
	}
	if err := reshow(a, status, errs); err != nil {
		h.fail(w, r, err)
	}
}

// formError sorts a command's error: one a form shows (with its field), or not.
func formError(err error) (status int, errs map[string]string, ok bool) {
	switch domain.ErrorCode(err) {
	case domain.EINVALID:
		status = http.StatusBadRequest
	case domain.ECONFLICT:
		status = http.StatusConflict
	case domain.EFORBIDDEN:
		status = http.StatusForbidden
	default:
		return 0, nil, false
	}
	errs = map[string]string{"": domain.ErrorMessage(err)}
	if f := domain.ErrorField(err); f != "" {
		errs = map[string]string{f: domain.ErrorMessage(err), "": "Le formulaire contient une erreur : voir ci-dessous."}
	}
	return status, errs, true
}

// fillFailed puts back what was typed in the form that failed, with its errors.
func fillFailed(forms []formData, failedForm string, failed url.Values, errs map[string]string) {
	for i := range forms {
		f := &forms[i]
		if f.Name != failedForm {
			continue
		}
		f.Err = errs[""]
		for j := range f.Fields {
			fd := &f.Fields[j]
			fd.Value, fd.Err = failed.Get(fd.Name), errs[fd.Name]
		}
	}
}

func reviewCommands(s *app.Service) map[string]commandFunc {
	return map[string]commandFunc{
		"courrier":         run(s.SendNotice),
		"reception":        run(s.RecordNoticeReceipt),
		"audition":         run(s.RecordHearing),
		"conformite":       run(s.RecordCompliance),
		"motif":            run(s.RecordLegitimateReason),
		"decision":         run(s.Decide),
		"recours":          run(s.RecordAppeal),
		"decision-recours": run(s.DecideAppeal),
		"radiation":        run(s.DecideRadiation),
	}
}

func (h *Handler) dossier(w http.ResponseWriter, r *http.Request) {
	a, _ := from(r.Context())
	v, err := h.Service.Get(r.Context(), a, chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	flash := ""
	if ok := r.URL.Query().Get("ok"); ok != "" {
		flash = "Enregistré."
	}
	h.showDossier(w, r, http.StatusOK, v, flash, "", nil, nil)
}

func (h *Handler) showDossier(w http.ResponseWriter, r *http.Request, status int, v domain.ParcoursView, flash, failedForm string,
	failed url.Values, errs map[string]string) {
	a, csrf := from(r.Context())
	dir, err := h.directoryFor(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	forms := withDirectory(formsFor(a, v, csrf), dir)
	names, err := h.dossierNames(r.Context(), &v)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// The timeline reads by date; events recorded the same day keep their order.
	v.Events = slices.Clone(v.Events)
	slices.SortStableFunc(v.Events, func(x, y domain.EventView) int {
		switch {
		case x.OccurredOn.Before(y.OccurredOn):
			return -1
		case y.OccurredOn.Before(x.OccurredOn):
			return 1
		}
		return 0
	})
	for i := range forms {
		f := &forms[i]
		if f.Name != failedForm {
			continue
		}
		f.Err = errs[""]
		for j := range f.Fields {
			fd := &f.Fields[j]
			fd.Value, fd.Err = failed.Get(fd.Name), errs[fd.Name]
		}
	}
	h.render(w, status, "dossier", page{Title: v.LastName + " " + v.FirstName, Actor: a, CSRF: csrf, Flash: flash, Names: names,
		Data: map[string]any{"P": v, "Forms": forms}})
}

// submit handles every form of the dossier page: decode the fields into
// the command the API uses, run it, then show the dossier again, with the
// errors next to their field and what was typed kept.
func (h *Handler) submit(w http.ResponseWriter, r *http.Request) {
	id, name := chi.URLParam(r, "id"), chi.URLParam(r, "form")
	n, _ := strconv.Atoi(chi.URLParam(r, "n"))
	m, _ := strconv.Atoi(chi.URLParam(r, "m"))
	key := name
	for _, part := range []string{chi.URLParam(r, "n"), chi.URLParam(r, "m")} {
		if part != "" {
			key += "-" + part
		}
	}
	h.submitForm(w, r, commands(h.Service, n, m)[name], id, key, "/dossiers/",
		func(a domain.Actor, status int, errs map[string]string) error {
			v, err := h.Service.Get(r.Context(), a, id)
			if err == nil {
				h.showDossier(w, r, status, v, "", key, r.PostForm, errs)
			}
			return err
		})
}

// commandFunc runs one form's command.
type commandFunc func(ctx context.Context, a domain.Actor, id string, form url.Values) error

// run decodes a form into T and calls the use case.
func run[T any, V any](call func(context.Context, domain.Actor, string, T) (V, error)) commandFunc {
	return func(ctx context.Context, a domain.Actor, id string, form url.Values) error {
		var in T
		if err := decodeForm(form, &in); err != nil {
			return err
		}
		_, err := call(ctx, a, id, in)
		return err
	}
}

func commands(s *app.Service, n, m int) map[string]commandFunc {
	return map[string]commandFunc{
		"orientation":   run(s.RecordOrientation),
		"contrat":       run(s.RecordContract),
		"reorientation": run(s.RequestReorientation),
		"relance":       run(s.RecordRelance),
		"sortie":        run(s.RecordExit),
		"referent":      run(s.ReassignReferent),
		"action": run(func(ctx context.Context, a domain.Actor, id string, x domain.Action) (domain.ParcoursView, error) {
			v, _, err := s.RecordAction(ctx, a, id, x)
			return v, err
		}),
		"manquement": run(func(ctx context.Context, a domain.Actor, id string, b domain.Breach) (domain.ParcoursView, error) {
			v, _, err := s.ReportBreach(ctx, a, id, b)
			return v, err
		}),
		"bilan": run(func(ctx context.Context, a domain.Actor, id string, o domain.ActionOutcome) (domain.ParcoursView, error) {
			return s.RecordActionOutcome(ctx, a, id, n, o)
		}),
		"suivi": run(func(ctx context.Context, a domain.Actor, id string, f domain.FollowUpAnswer) (domain.ParcoursView, error) {
			return s.RecordFollowUp(ctx, a, id, n, m, f)
		}),
	}
}

// decodeForm fills the struct v points to from form fields named by its
// json tags (the API's names); a value that does not parse is an error
// naming its field.
func decodeForm(form url.Values, v any) error {
	rv := reflect.ValueOf(v).Elem()
	for i := range rv.NumField() {
		f := rv.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous || f.Tag.Get("api") == "-" || name == "" || name == "-" {
			continue
		}
		raw := strings.TrimSpace(form.Get(name))
		dst := rv.Field(i)
		switch dst.Interface().(type) {
		case domain.Date:
			if raw == "" {
				continue
			}
			d, err := domain.ParseDate(raw)
			if err != nil {
				return domain.FieldError(name, "Date invalide : attendu JJ/MM/AAAA.")
			}
			dst.Set(reflect.ValueOf(d))
		case []string:
			dst.Set(reflect.ValueOf(form[name]))
		default:
			switch dst.Kind() {
			case reflect.String:
				dst.SetString(raw)
			case reflect.Int, reflect.Int64:
				if raw == "" {
					continue
				}
				n, err := strconv.ParseInt(raw, 10, 64)
				if err != nil {
					return domain.FieldError(name, "Nombre entier attendu.")
				}
				dst.SetInt(n)
			case reflect.Bool:
				dst.SetBool(raw == "on" || raw == "true" || raw == "1")
			default:
				return errors.New("form field of unsupported type: " + name)
			}
		}
	}
	return nil
}

// assignees are the référent ids of tasks.
func assignees(tasks []domain.TaskView) []string {
	ids := make([]string, len(tasks))
	for i, t := range tasks {
		ids[i] = deref(t.Assignee)
	}
	return ids
}
