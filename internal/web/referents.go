package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/go-chi/chi/v5"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// Structures and référents: the administration pages, the lists every
// form chooses from, and the names every page shows instead of ids.

// Referent is the name of a référent id (string or *string) on a page,
// from the names the handler resolved for the whole page in one query.
func (p page) Referent(id any) string {
	switch v := id.(type) {
	case string:
		return p.Names.Of(v)
	case *string:
		if v != nil {
			return p.Names.Of(*v)
		}
	}
	return p.Names.Of("")
}

// names resolves the ids a page shows, in one query.
func (h *Handler) names(ctx context.Context, ids ...string) (domain.ReferentNames, error) {
	return h.Service.ReferentNames(ctx, ids...)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// directory is what the forms of a page choose from.
type directory struct {
	Referents  []domain.Referent
	Structures []domain.Structure
}

// directoryFor loads the lists an actor's forms offer: the référents they
// may assign (a supervisor's structure's) and the structures. A référent
// has no form naming either.
func (h *Handler) directoryFor(ctx context.Context, a domain.Actor) (directory, error) {
	var d directory
	if a.Role == domain.RoleReferent {
		return d, nil
	}
	err := together(
		func() (err error) { d.Referents, err = h.Service.Referents(ctx, a); return },
		func() (err error) { d.Structures, err = h.Service.AllStructures(ctx, a); return })
	return d, err
}

// together runs a page's independent reads at once and returns the first
// error: each waits for PostgreSQL beside the others rather than after
// them, which a busy machine (a burst of deadlines) makes long
// (issue 21 item 8: every view under 100 ms p95 during the burst).
func together(reads ...func() error) error {
	errs := make([]error, len(reads))
	var wg sync.WaitGroup
	for i, read := range reads {
		wg.Go(func() {
			// A panic here is outside the request's goroutine, where the
			// router's recoverer would have caught it: an error instead.
			defer func() {
				if p := recover(); p != nil {
					errs[i] = fmt.Errorf("page read failed: %v", p)
				}
			}()
			errs[i] = read()
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (d directory) referentOptions(empty string) []option {
	out := []option{{"", empty}}
	for _, r := range d.Referents {
		out = append(out, option{r.ID, r.Name + " — " + r.StructureName})
	}
	return out
}

// withoutAccount keeps the référents no account represents yet.
func (d directory) withoutAccount() directory {
	out := directory{Structures: d.Structures}
	for _, r := range d.Referents {
		if r.AccountID == "" {
			out.Referents = append(out.Referents, r)
		}
	}
	return out
}

func (d directory) structureOptions(empty string) []option {
	out := []option{{"", empty}}
	for _, s := range d.Structures {
		out = append(out, option{s.Name, s.Name})
	}
	return out
}

// withDirectory turns the fields that name a référent or a structure into
// lists: a select for the référent and the organisme référent, a datalist
// (suggestions, free text kept) for an action's structure.
func withDirectory(forms []formData, d directory) []formData {
	for i := range forms {
		for j := range forms[i].Fields {
			f := &forms[i].Fields[j]
			switch {
			case f.Name == "referent_id":
				f.Type, f.Options = "select", d.referentOptions("— choisir un référent —")
			case f.Name == "organism":
				f.Type, f.Options = "select", d.structureOptions("— choisir une structure —")
			case f.Name == "structure" && forms[i].Name == "action":
				f.Type, f.Options = "datalist", d.structureOptions("")[1:]
			}
		}
	}
	return forms
}

// dossierNames resolves every référent a dossier names: the current one,
// the orientations', the tasks', and those the timeline's orientation and
// reassignment lines quote (workflow histories hold ids, never names).
func (h *Handler) dossierNames(ctx context.Context, v *domain.ParcoursView) (domain.ReferentNames, error) {
	ids := []string{v.ReferentID}
	for _, o := range v.Orientations {
		ids = append(ids, o.ReferentID)
	}
	for _, t := range v.Tasks {
		ids = append(ids, deref(t.Assignee))
	}
	for _, e := range v.Events {
		if quotesReferents(e.Kind) {
			for _, w := range strings.Fields(e.Summary) {
				ids = append(ids, strings.TrimRight(w, ".,;"))
			}
		}
	}
	names, err := h.names(ctx, ids...)
	if err != nil {
		return nil, err
	}
	events := make([]domain.EventView, len(v.Events))
	for i, e := range v.Events {
		if quotesReferents(e.Kind) {
			words := strings.Fields(e.Summary)
			for j, w := range words {
				id := strings.TrimRight(w, ".,;")
				if name, ok := names[id]; ok {
					words[j] = name + w[len(id):]
				}
			}
			e.Summary = strings.Join(words, " ")
		}
		events[i] = e
	}
	v.Events = events
	return names, nil
}

func quotesReferents(kind string) bool {
	return kind == "orientation_recorded" || kind == "reorientation_accepted" || kind == "referent_reassigned"
}

// ---- administration pages -------------------------------------------------

func (h *Handler) routeDirectory(r chi.Router) {
	r.Get("/structures", h.structures)
	r.Post("/structures", h.saveStructure)
	r.Get("/structures/{sid}", h.structures)
	r.Post("/structures/{sid}", h.saveStructure)
	r.Get("/referents", h.referents)
	r.Post("/referents", h.saveReferent)
	r.Get("/referents/{rid}", h.referents)
	r.Post("/referents/{rid}", h.saveReferent)
}

func kindOptions() []option {
	out := []option{{"", "— choisir —"}}
	for _, k := range domain.StructureKinds {
		out = append(out, option{string(k), k.French()})
	}
	return out
}

func (h *Handler) structures(w http.ResponseWriter, r *http.Request) {
	h.showStructures(w, r, http.StatusOK, nil, nil)
}

func (h *Handler) showStructures(w http.ResponseWriter, r *http.Request, status int, failed url.Values, errs map[string]string) {
	a, csrf := from(r.Context())
	q := r.URL.Query()
	list, next, err := h.Service.Structures(r.Context(), a, postgres.DirectoryFilter{Q: q.Get("q"), Cursor: q.Get("apres"), Limit: 50})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	sid := chi.URLParam(r, "sid")
	form := formData{Name: "structure", Title: "Nouvelle structure", Action: "/structures", Submit: "Créer la structure", CSRF: csrf, Fields: []fieldData{
		field("structure", "name", "Nom", "text"), field("structure", "kind", "Type", "select", kindOptions()...),
		field("structure", "address", "Adresse", "textarea")}}
	if sid != "" {
		st, err := h.Service.Structure(r.Context(), a, sid)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		form.Title, form.Action, form.Submit = "Modifier « "+st.Name+" »", "/structures/"+sid, "Enregistrer"
		failedOr(&failed, url.Values{"name": {st.Name}, "kind": {string(st.Kind)}, "address": {st.Address}})
	}
	forms := []formData{form}
	fillFailed(forms, "structure", failed, errs)
	if a.Role != domain.RoleAdmin && a.Role != domain.RoleDepartment {
		forms = nil
	}
	h.render(w, status, "structures", page{Title: "Structures", Nav: "structures", Actor: a, CSRF: csrf, Form: q, Flash: saved(r),
		Data: map[string]any{"Structures": list, "Next": next, "Forms": forms}})
}

func (h *Handler) saveStructure(w http.ResponseWriter, r *http.Request) {
	a, _ := from(r.Context())
	f := r.PostForm
	st := domain.Structure{Name: f.Get("name"), Kind: domain.StructureKind(f.Get("kind")), Address: f.Get("address")}
	var err error
	if sid := chi.URLParam(r, "sid"); sid != "" {
		_, err = h.Service.UpdateStructure(r.Context(), a, sid, st)
	} else {
		_, err = h.Service.CreateStructure(r.Context(), a, st)
	}
	if err != nil {
		status, errs, ok := formError(err)
		if !ok {
			h.fail(w, r, err)
			return
		}
		h.showStructures(w, r, status, f, errs)
		return
	}
	http.Redirect(w, r, "/structures?enregistre=1", http.StatusSeeOther)
}

func (h *Handler) referents(w http.ResponseWriter, r *http.Request) {
	h.showReferents(w, r, http.StatusOK, nil, nil)
}

func (h *Handler) showReferents(w http.ResponseWriter, r *http.Request, status int, failed url.Values, errs map[string]string) {
	a, csrf := from(r.Context())
	q := r.URL.Query()
	list, next, err := h.Service.ReferentsPage(r.Context(), a, postgres.DirectoryFilter{Q: q.Get("q"), StructureID: q.Get("structure"), Cursor: q.Get("apres"), Limit: 50})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	structures, err := h.Service.AllStructures(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	choices := []option{{"", "— choisir une structure —"}}
	for _, s := range structures {
		choices = append(choices, option{s.ID, s.Name})
	}
	form := formData{Name: "referent", Title: "Nouveau référent", Action: "/referents", Submit: "Créer le référent", CSRF: csrf, Fields: []fieldData{
		field("referent", "name", "Nom et prénom", "text"), field("referent", "email", "Adresse électronique", "email"),
		field("referent", "structure_id", "Structure", "select", choices...)}}
	if rid := chi.URLParam(r, "rid"); rid != "" {
		ref, err := h.Service.Referent(r.Context(), a, rid)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		form.Title, form.Action, form.Submit = "Modifier « "+ref.Name+" »", "/referents/"+rid, "Enregistrer"
		form.Fields = append(form.Fields, field("referent", "active", "Actif (décocher pour désactiver : il ne peut plus recevoir de parcours)", "checkbox"))
		active := ""
		if ref.Active {
			active = "true"
		}
		failedOr(&failed, url.Values{"name": {ref.Name}, "email": {ref.Email}, "structure_id": {ref.StructureID}, "active": {active}})
	}
	forms := []formData{form}
	fillFailed(forms, "referent", failed, errs)
	if a.Role != domain.RoleAdmin && a.Role != domain.RoleDepartment {
		forms = nil
	}
	h.render(w, status, "referents", page{Title: "Référents", Nav: "referents", Actor: a, CSRF: csrf, Form: q, Flash: saved(r),
		Data: map[string]any{"Referents": list, "Next": next, "Forms": forms, "Structures": structures}})
}

func (h *Handler) saveReferent(w http.ResponseWriter, r *http.Request) {
	a, _ := from(r.Context())
	f := r.PostForm
	ref := domain.Referent{Name: f.Get("name"), Email: f.Get("email"), StructureID: f.Get("structure_id"), Active: f.Get("active") == "true"}
	var err error
	if rid := chi.URLParam(r, "rid"); rid != "" {
		_, err = h.Service.UpdateReferent(r.Context(), a, rid, ref)
	} else {
		_, err = h.Service.CreateReferent(r.Context(), a, ref)
	}
	if err != nil {
		status, errs, ok := formError(err)
		if !ok {
			h.fail(w, r, err)
			return
		}
		h.showReferents(w, r, status, f, errs)
		return
	}
	http.Redirect(w, r, "/referents?enregistre=1", http.StatusSeeOther)
}

// failedOr fills an edit form with the record, unless a refused submission
// is shown again with what was typed.
func failedOr(failed *url.Values, record url.Values) {
	if *failed == nil {
		*failed = record
	}
}

func saved(r *http.Request) string {
	if r.URL.Query().Get("enregistre") != "" {
		return "Enregistré."
	}
	return ""
}
