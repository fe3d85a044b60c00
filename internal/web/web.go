// Package web is the French web application: server-rendered pages
// (html/template and CSS embedded in the binary), usable without JavaScript,
// on top of the same app.Service as the API, with the same scoping and audit.
package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/parcours-rsa/parcours/internal/app"
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
	// The legal pages: public, like the login page they are linked from.
	for path, which := range map[string][2]string{
		"/accessibilite":        {"accessibilite", "Déclaration d'accessibilité"},
		"/donnees-personnelles": {"donnees", "Données personnelles"},
		"/mentions-legales":     {"mentions", "Mentions légales"},
	} {
		r.Get(path, func(w http.ResponseWriter, r *http.Request) {
			h.render(w, http.StatusOK, "legal", page{Title: which[1], Data: which[0]})
		})
	}
	if h.OIDC != nil {
		r.Get("/connexion/oidc", h.oidcStart)
		r.Get("/connexion/oidc/retour", h.oidcReturn)
	}
	r.Group(func(r chi.Router) {
		r.Use(h.session)
		r.Get("/", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/echeances", http.StatusSeeOther) })
		r.Post("/deconnexion", h.logout)
		r.Get("/echeances", h.inbox)
		r.Get("/echeances.csv", h.inboxCSV)
		r.Get("/tableau-de-bord", h.dashboard)
		r.Get("/recherche", h.search)
		r.Get("/indicateurs", h.indicators)
		r.Get("/indicateurs.csv", h.indicators)
		r.Get("/journal", h.auditLog)
		r.Get("/comptes", h.accounts)
		r.Post("/comptes", h.createAccount)
		r.Post("/comptes/{aid}/desactiver", h.disableAccount)
		r.Post("/comptes/{aid}/mot-de-passe", h.resetPassword)
		r.Get("/jetons", h.tokens)
		r.Post("/jetons/{tid}/revoquer", h.revokeToken)
		r.Get("/compte", h.ownAccount)
		r.Post("/compte", h.setDigestOptOut)
		r.Post("/compte/mot-de-passe", h.changePassword)
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
	// Restricted: the account must change its password first; the
	// navigation is not shown (it would lead back to « Mon compte »).
	Restricted bool
	// ErrorPrefix makes an error's field key the id of its input: the
	// dossier's and a case's forms prefix their fields with the form's name.
	ErrorPrefix string
}

// errorItem is a line of the error summary on top of a refused form.
type errorItem struct{ Field, Message string }

// ErrorSummary lists the page's errors, field by field (sorted), for the
// summary on top; the form's general line (« voir ci-dessous ») only when
// no field has its own.
func (p page) ErrorSummary() []errorItem {
	var out []errorItem
	for field, msg := range p.Errors {
		if field != "" {
			out = append(out, errorItem{field, msg})
		}
	}
	slices.SortFunc(out, func(a, b errorItem) int { return strings.Compare(a.Field, b.Field) })
	if msg, ok := p.Errors[""]; ok && len(out) == 0 {
		out = append(out, errorItem{"", msg})
	}
	return out
}

var funcs = template.FuncMap{
	"identityReasonFr":   domain.IdentityReasonFrench,
	"identityDecisionFr": domain.IdentityDecisionFrench,
	"maskNIR":            domain.MaskNIR,
	"num":                num,
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
	"actionKindFr":     domain.ActionKindFrench,
	"sanctionFr":       func(k string) string { return domain.SanctionKind(k).French() },
	"outcomeFr":        domain.OutcomeFrench,
	"exitReasonFr":     domain.ExitReasonFrench,
	"roleFr":           roleFr,
	"digestStatusFr":   digestStatusFr,
	"deadlineStatusFr": deadlineStatusFr,
	"deadlineState":    deadlineState,
	"campaignStatusFr": campaignStatusFr,
	"reviewFr":         reviewFr,
	"letterMode":       func(m string) string { return domain.LetterModes[m] },
	"breachFr":         func(k string) string { return breachFr[k] },
	"euros":            func(c int64) string { return fmt.Sprintf("%d,%02d €", c/100, c%100) },
	"list":             func(v ...string) []string { return v },
	"paris":            func(t time.Time) string { return t.In(domain.Paris).Format("02/01/2006 15:04:05") },
	"pct":              func(f float64) string { return strings.Replace(fmt.Sprintf("%.1f %%", 100*f), ".", ",", 1) },
	"bar":              func(f float64) int { return int(160 * f) },
	"minus":            func(a, b int) int { return a - b },
	"deref":            deref,
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
	for _, name := range []string{"login", "inbox", "dossier", "error", "dashboard", "reviews", "review", "search", "audit", "accounts", "indicators", "imports", "import", "mapping", "account", "letters", "structures", "referents", "campaign", "identities", "import-preview", "import-guide", "tokens", "legal"} {
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
