package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// The daily pages: the inbox, the dashboard and the search.

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
