package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/domain"
)

// The dossier page, its forms and how a submitted form is run.

func (h *Handler) dossier(w http.ResponseWriter, r *http.Request) {
	a, _ := from(r.Context())
	var v domain.ParcoursView
	var dir directory
	err := together(
		func() (err error) { v, err = h.Service.Get(r.Context(), a, chi.URLParam(r, "id")); return },
		func() (err error) { dir, err = h.directoryFor(r.Context(), a); return })
	if err != nil {
		h.fail(w, r, err)
		return
	}
	flash := ""
	if ok := r.URL.Query().Get("ok"); ok != "" {
		flash = "Enregistré."
	}
	h.showDossierWith(w, r, http.StatusOK, v, &dir, flash, "", nil, nil)
}

func (h *Handler) showDossier(w http.ResponseWriter, r *http.Request, status int, v domain.ParcoursView, flash, failedForm string,
	failed url.Values, errs map[string]string) {
	h.showDossierWith(w, r, status, v, nil, flash, failedForm, failed, errs)
}

// showDossierWith shows the dossier with the forms' directory, read here
// when dir is nil.
func (h *Handler) showDossierWith(w http.ResponseWriter, r *http.Request, status int, v domain.ParcoursView, dir *directory, flash, failedForm string,
	failed url.Values, errs map[string]string) {
	a, csrf := from(r.Context())
	if dir == nil {
		d, err := h.directoryFor(r.Context(), a)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		dir = &d
	}
	forms := withDirectory(formsFor(a, v, csrf), *dir)
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
	// A deadline met since it was overdue: its « Délai dépassé » line says
	// so, rather than reading as if still current (issue 23).
	met := map[string]domain.Date{}
	for _, d := range v.Deadlines {
		if d.Status == domain.DeadlineMet && !d.MetOn.IsZero() {
			met["Délai dépassé : "+d.Explanation+"."] = d.MetOn
		}
	}
	for i, e := range v.Events {
		if on, ok := met[e.Summary]; ok && e.Kind == "deadline_overdue" {
			v.Events[i].Summary += " Tenu depuis, le " + on.French() + "."
		}
		if e.Kind == "orientation_handed_over" && v.Orientation != nil {
			v.Events[i].Summary += " Depuis, orientation enregistrée (décidée le " + v.Orientation.DecidedOn.French() + ")."
		}
	}
	fillFailed(forms, failedForm, failed, errs)
	tab := r.URL.Query().Get("onglet")
	if failedForm != "" {
		tab = "enregistrer" // the refused form, its errors and what was typed
	}
	tabs, tab, title := dossierTabs(v.ID, tab, len(forms))
	summary := summarize(v, forms, domain.DateOf(h.now()))
	data := map[string]any{"P": v, "Forms": forms, "Summary": summary, "Tabs": tabs, "Tab": tab}
	for _, f := range forms {
		if f.Name == summary.Form {
			data["SummaryForm"] = f // the next thing due, its form opened in the summary
		}
	}
	h.render(w, status, "dossier", page{Title: v.LastName + " " + v.FirstName + " — " + title, Actor: a, CSRF: csrf, Flash: flash, Names: names,
		Errors: errs, ErrorPrefix: failedForm + "-", Data: data})
}

// dossierTab is a tab of the dossier: a page of its own (« ?onglet= »),
// a link that works without JavaScript.
type dossierTab struct {
	Label, Href string
	Current     bool
}

// dossierTabs are the dossier's tabs, the current one (synthese,
// enregistrer or historique: the summary when tab is none of them) and its
// title; forms forms are on « Enregistrer ».
func dossierTabs(id, tab string, forms int) ([]dossierTab, string, string) {
	if tab != "enregistrer" && tab != "historique" {
		tab = "synthese"
	}
	record := "Enregistrer"
	if forms > 0 {
		record += fmt.Sprintf(" (%d formulaire%s)", forms, map[bool]string{true: "s"}[forms > 1])
	}
	list := []dossierTab{
		{Label: "Synthèse", Href: "/dossiers/" + id, Current: tab == "synthese"},
		{Label: record, Href: "/dossiers/" + id + "?onglet=enregistrer", Current: tab == "enregistrer"},
		{Label: "Historique", Href: "/dossiers/" + id + "?onglet=historique", Current: tab == "historique"},
	}
	title := map[string]string{"synthese": "Synthèse", "enregistrer": "Enregistrer", "historique": "Historique"}[tab]
	return list, tab, title
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
	run := commands(h.Service, n, m)[name]
	if name == "referent" && run != nil {
		// On the pages, a change of référent says why and is confirmed
		// (the API keeps the reason optional).
		inner := run
		run = func(ctx context.Context, a domain.Actor, id string, form url.Values) error {
			switch {
			case strings.TrimSpace(form.Get("reason")) == "":
				return domain.FieldError("reason", "Le motif du changement est obligatoire.")
			case form.Get("confirm") != "oui" && form.Get("confirm") != "true":
				return domain.FieldError("confirm", "Cochez la case pour confirmer le changement de référent.")
			}
			return inner(ctx, a, id, form)
		}
	}
	h.submitForm(w, r, run, id, key, "/dossiers/",
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
		"orientation":              run(s.RecordOrientation),
		"notification-orientation": run(s.RecordOrientationNotified),
		"contrat":                  run(s.RecordContract),
		"reorientation":            run(s.RequestReorientation),
		"relance":                  run(s.RecordRelance),
		"sortie":                   run(s.RecordExit),
		"referent":                 run(s.ReassignReferent),
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
		if back := r.PostForm.Get("retour"); localReturn(back) {
			http.Redirect(w, r, back, http.StatusSeeOther) // back to the list the form was on
			return
		}
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

// dossierSummary is what the top of the dossier says: the next thing due,
// with its form, and the sanction case in progress.
type dossierSummary struct {
	Next     *domain.TaskView
	LateDays int    // how late the next task is, 0 if it is not
	Form     string // the form of the page that records it, "" if none
	Case     *domain.ReviewView
}

// taskForms names the form of the dossier that records each task.
var taskForms = map[domain.TaskKind]string{
	domain.TaskOrient: "orientation", domain.TaskSignContract: "contrat", domain.TaskRenewContract: "contrat",
	domain.TaskStockContract: "contrat", domain.TaskRelance1: "relance", domain.TaskRelance2: "relance",
	domain.TaskProposeBreach: "manquement",
}

// reviewEnded are the statuses of a case that is over.
var reviewEnded = []string{"closed_no_sanction", "closed_compliance", "closed_legitimate_reason", "annulled_on_appeal",
	"radiated", "sanction_ended", "remobilised"}

func summarize(v domain.ParcoursView, forms []formData, today domain.Date) dossierSummary {
	var s dossierSummary
	for i, t := range v.Tasks {
		// A sanction case's steps have no due date: the case line says them.
		if !t.DueOn.IsZero() && (s.Next == nil || t.DueOn.Before(s.Next.DueOn)) {
			s.Next = &v.Tasks[i]
		}
	}
	if t := s.Next; t != nil {
		if t.DueOn.Before(today) {
			s.LateDays = t.DueOn.DaysUntil(today)
		}
		name := taskForms[t.Kind]
		switch t.Kind {
		case domain.TaskCloseAction:
			name = fmt.Sprintf("bilan-%d", t.Cycle)
		case domain.TaskFollowUp3:
			name = fmt.Sprintf("suivi-%d-3", t.Cycle)
		case domain.TaskFollowUp6:
			name = fmt.Sprintf("suivi-%d-6", t.Cycle)
		}
		for _, f := range forms {
			if f.Name == name {
				s.Form = name
			}
		}
	}
	for i, c := range v.Reviews {
		if !slices.Contains(reviewEnded, c.Status) {
			s.Case = &v.Reviews[i]
		}
	}
	return s
}

// deadlineState says where a deadline stands, and when it was met late,
// by how much: « tenue le 01/12/2026, 31 jours après l'échéance ».
func deadlineState(d domain.DeadlineView) string {
	if d.Status == domain.DeadlineMet && !d.MetOn.IsZero() {
		if late := d.DueOn.DaysUntil(d.MetOn); late > 0 {
			days := "jours"
			if late == 1 {
				days = "jour"
			}
			return fmt.Sprintf("tenue le %s, %d %s après l'échéance", d.MetOn.French(), late, days)
		}
		return "tenue le " + d.MetOn.French()
	}
	return deadlineStatusFr(d.Status)
}

// localReturn reports whether a form's « retour » is a page of this
// service's lists (never another site: no open redirect).
func localReturn(path string) bool {
	u, err := url.Parse(path)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.Contains(path, "\\") {
		return false
	}
	return u.Path == "/tableau-de-bord" || u.Path == "/echeances"
}
