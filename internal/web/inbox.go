package web

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// The daily pages: the inbox, the dashboard and the search.

// inboxPageSize tasks per page of « Mes échéances ».
const inboxPageSize = 100

// inboxKinds are the task kinds the inbox filters on, in the order of a
// parcours.
var inboxKinds = []domain.TaskKind{domain.TaskOrient, domain.TaskAwaitFranceTravail, domain.TaskSignContract,
	domain.TaskStockContract, domain.TaskRenewContract, domain.TaskReviewSocial, domain.TaskDecideReorientation,
	domain.TaskCloseAction, domain.TaskFollowUp3, domain.TaskFollowUp6, domain.TaskRelance1, domain.TaskRelance2,
	domain.TaskProposeBreach, "send_notice", "record_notice_receipt", "decide_review", "record_decision_notified",
	"decide_appeal", "decide_radiation"}

// inboxLate are the « en retard de plus de » choices, in days.
var inboxLate = []int{7, 15, 30, 60, 90}

// inboxFilter reads the inbox's filters from its query: the task kind,
// the référent (for those who see several), how late; and the page.
func inboxFilter(q url.Values) (postgres.TaskFilter, error) {
	f := postgres.TaskFilter{Kind: domain.TaskKind(q.Get("type")), Assignee: q.Get("referent")}
	if f.Kind != "" && !slices.Contains(inboxKinds, f.Kind) {
		return f, domain.Errorf(domain.EINVALID, "Type de tâche inconnu.")
	}
	if v := q.Get("retard"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 3650 {
			return f, domain.Errorf(domain.EINVALID, "Retard invalide : un nombre de jours.")
		}
		f.LateBy, f.Status = n, "overdue"
	}
	if v := q.Get("apres"); v != "" {
		c, ok := parseTaskCursor(v)
		if !ok {
			return f, domain.Errorf(domain.EINVALID, "Page introuvable : revenez à la première.")
		}
		f.After = &c
	}
	return f, nil
}

// A cursor reads « 0.2026-11-07.123 »: overdue (0) or not (1), the due
// date, the task's id.
func formatTaskCursor(c postgres.TaskCursor) string {
	later := "0"
	if c.Later {
		later = "1"
	}
	due := "-" // a task without a due date (a sanction case's steps)
	if !c.DueOn.IsZero() {
		due = c.DueOn.String()
	}
	return later + "." + due + "." + strconv.FormatInt(c.ID, 10)
}

func parseTaskCursor(s string) (postgres.TaskCursor, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || (parts[0] != "0" && parts[0] != "1") {
		return postgres.TaskCursor{}, false
	}
	var due domain.Date
	var err error
	if parts[1] != "-" {
		due, err = domain.ParseDate(parts[1])
	}
	id, ierr := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || ierr != nil {
		return postgres.TaskCursor{}, false
	}
	return postgres.TaskCursor{Later: parts[0] == "1", DueOn: due, ID: id}, true
}

func (h *Handler) inbox(w http.ResponseWriter, r *http.Request) {
	a, csrf := from(r.Context())
	q := r.URL.Query()
	f, err := inboxFilter(q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	total, overdue, err := h.Service.CountTasks(r.Context(), a, postgres.TaskFilter{Kind: f.Kind, Assignee: f.Assignee, LateBy: f.LateBy, Status: f.Status})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f.Limit = inboxPageSize + 1
	tasks, err := h.Service.Tasks(r.Context(), a, f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	data := map[string]any{"Kinds": inboxKinds, "Late": inboxLate, "Total": total, "Overdue": overdue}
	if len(tasks) > inboxPageSize {
		tasks = tasks[:inboxPageSize]
		next := cloneValues(q)
		next.Set("apres", formatTaskCursor(postgres.CursorOf(tasks[len(tasks)-1])))
		data["Next"] = "/echeances?" + next.Encode()
	}
	if f.After != nil {
		first := cloneValues(q)
		first.Del("apres")
		data["First"] = "/echeances?" + first.Encode()
	}
	export := cloneValues(q)
	export.Del("apres")
	data["CSV"] = "/echeances.csv?" + export.Encode()
	data["Tasks"] = tasks
	ids := assignees(tasks)
	if a.Role != domain.RoleReferent {
		dir, err := h.directoryFor(r.Context(), a)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		data["Referents"] = dir.referentOptions("Tous")
	}
	names, err := h.names(r.Context(), ids...)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, http.StatusOK, "inbox", page{Title: "Mes échéances", Nav: "echeances", Actor: a, CSRF: csrf, Names: names, Form: q, Data: data})
}

// inboxCSV exports the inbox's whole filtered list, within the viewer's
// scope, as a CSV file (« ; », UTF-8 with BOM, as spreadsheets expect).
func (h *Handler) inboxCSV(w http.ResponseWriter, r *http.Request) {
	a, _ := from(r.Context())
	f, err := inboxFilter(r.URL.Query())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f.After, f.Limit = nil, 100000
	tasks, err := h.Service.ExportTasks(r.Context(), a, f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	names, err := h.names(r.Context(), assignees(tasks)...)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="echeances.csv"`)
	cw := csv.NewWriter(w)
	cw.Comma = ';'
	_, _ = w.Write([]byte("\ufeff"))
	_ = cw.Write([]string{"échéance", "tâche", "nom", "prénom", "référent", "état", "dossier"})
	for _, t := range tasks {
		state, who := "à faire", "Département"
		if t.Overdue {
			state = "en retard"
		}
		if t.Assignee != nil && *t.Assignee != "" {
			who = names.Of(*t.Assignee)
		}
		line := []string{t.DueOn.French(), t.Kind.French(), t.LastName, t.FirstName, who, state, t.ParcoursID}
		for i, cell := range line {
			line[i] = domain.SpreadsheetSafe(cell) // a name read as a formula (« =HYPERLINK(…) »)
		}
		_ = cw.Write(line)
	}
	cw.Flush()
}

// dashboardTasks is how many of the most urgent tasks the dashboard lists
// (the rest: « Mes échéances », with its pages and filters).
const dashboardTasks = 200

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
	tasks, err := h.Service.Tasks(r.Context(), a, postgres.TaskFilter{DueWithin: days, Limit: dashboardTasks})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// The headline counts the list below, the département's own tasks
	// included (it counted the référents' only: « 9 en retard » above 900).
	listed, overdue, err := h.Service.CountTasks(r.Context(), a, postgres.TaskFilter{DueWithin: days})
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
			"IdentityConflicts": conflicts, "Today": domain.DateOf(time.Now()).String(), "Listed": listed, "Overdue": overdue,
			"Shown": len(tasks), "Back": "/tableau-de-bord?jours=" + strconv.Itoa(days)}})
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
