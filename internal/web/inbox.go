package web

import (
	"cmp"
	"encoding/csv"
	"fmt"
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

// inboxColumns are the columns « Mes échéances » sorts on.
var inboxColumns = []string{"echeance", "tache", "beneficiaire", "referent"}

// inboxFilter reads the inbox's filters from its query: the task kind,
// the référent (for those who see several), how late; its sort and page.
func inboxFilter(q url.Values) (postgres.TaskFilter, listing, error) {
	f := postgres.TaskFilter{Kind: domain.TaskKind(q.Get("type")), Assignee: q.Get("referent"),
		Structure: q.Get("structure"), Track: domain.Track(q.Get("parcours"))}
	l, err := readListing("/echeances", q, "", false, inboxColumns...)
	if err != nil {
		return f, l, err
	}
	f.Sort = l.Sort
	if f.Kind != "" && !slices.Contains(inboxKinds, f.Kind) {
		return f, l, domain.Errorf(domain.EINVALID, "Type de tâche inconnu.")
	}
	if f.Track != "" && !slices.Contains(domain.Tracks, f.Track) {
		return f, l, domain.Errorf(domain.EINVALID, "Type de parcours inconnu.")
	}
	if v := q.Get("retard"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 3650 {
			return f, l, domain.Errorf(domain.EINVALID, "Retard invalide : un nombre de jours.")
		}
		f.LateBy, f.Status = n, "overdue"
	}
	if v := q.Get("apres"); v != "" && f.Sort.Column == "" {
		c, ok := parseTaskCursor(v)
		if !ok {
			return f, l, domain.Errorf(domain.EINVALID, "Page introuvable : revenez à la première.")
		}
		f.After = &c
	}
	return f, l, nil
}

// taskPage lists a page of tasks of f (its sort, its page) with the whole
// list's counts, and records the page in l.
func (h *Handler) taskPage(r *http.Request, a domain.Actor, f postgres.TaskFilter, l *listing, size int) ([]domain.TaskView, int, error) {
	count := f
	count.After, count.Sort = nil, postgres.Sort{}
	f.Limit = size + 1
	var total, overdue int
	var tasks []domain.TaskView
	if err := together(
		func() (err error) { total, overdue, err = h.Service.CountTasks(r.Context(), a, count); return },
		func() (err error) { tasks, err = h.Service.Tasks(r.Context(), a, f); return }); err != nil {
		return nil, 0, err
	}
	more := len(tasks) > size
	if more {
		tasks = tasks[:size]
	}
	after := ""
	if len(tasks) > 0 {
		last := tasks[len(tasks)-1]
		after = formatTaskCursor(postgres.CursorOf(last))
		if f.Sort.Column != "" {
			after = keysetOf(last.SortKey, fmt.Sprintf("%020d", last.ID))
		}
	}
	l.paged(len(tasks), total, more, after)
	return tasks, overdue, nil
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
	f, l, err := inboxFilter(q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var tasks []domain.TaskView
	var overdue int
	var dir directory
	if err := together(
		func() (err error) { tasks, overdue, err = h.taskPage(r, a, f, &l, inboxPageSize); return },
		func() (err error) { dir, err = h.directoryFor(r.Context(), a); return }); err != nil {
		h.fail(w, r, err)
		return
	}
	data := map[string]any{"Kinds": inboxKinds, "Late": inboxLate, "Total": l.Total, "Overdue": overdue, "List": l,
		"CSV": "/echeances.csv" + strings.TrimPrefix(l.link(nil), "/echeances"), "Tasks": tasks}
	ids := assignees(tasks)
	if a.Role != domain.RoleReferent {
		data["Referents"] = dir.referentOptions("Tous")
		if len(dir.Structures) > 1 {
			data["Structures"] = dir.structureOptions("Toutes")
		}
	}
	data["Tracks"] = domain.Tracks
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
	f, _, err := inboxFilter(r.URL.Query())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f.After, f.Sort.After, f.Limit = nil, nil, 100000
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

// dashboardTasks is how many tasks a page of the dashboard's list shows.
const dashboardTasks = 100

// dashboard shows supervisors the load of each référent, and the tasks
// overdue or due within N days, a page at a time, sortable, with a
// reassignment form on each line.
func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request) {
	a, csrf := from(r.Context())
	q := r.URL.Query()
	days, err := strconv.Atoi(q.Get("jours"))
	if err != nil || days < 1 || days > 90 {
		days = 14
	}
	l, err := readListing("/tableau-de-bord", q, "", false, inboxColumns...)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f := postgres.TaskFilter{DueWithin: days, Sort: l.Sort}
	if v := q.Get("apres"); v != "" && f.Sort.Column == "" {
		c, ok := parseTaskCursor(v)
		if !ok {
			h.fail(w, r, domain.Errorf(domain.EINVALID, "Page introuvable : revenez à la première."))
			return
		}
		f.After = &c
	}
	// The headline counts the whole list, the département's own tasks
	// included (it counted the référents' only: « 9 en retard » above 900).
	// The workload first: it says whether the actor may see the
	// dashboard, before any other read is made (and audited) for it.
	ctx := r.Context()
	load, err := h.Service.Workload(ctx, a, days)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var tasks []domain.TaskView
	var overdue, conflicts int
	var referents []domain.Referent
	var campaign postgres.CampaignSummary
	if err := together(
		func() (err error) { tasks, overdue, err = h.taskPage(r, a, f, &l, dashboardTasks); return },
		func() (err error) { referents, err = h.Service.Referents(ctx, a); return },
		func() (err error) { campaign, err = h.Service.Campaign(ctx, a); return },
		func() (err error) { conflicts, err = h.Service.CountIdentityConflicts(ctx, a); return }); err != nil {
		h.fail(w, r, err)
		return
	}
	byLoad := sortedAs("/tableau-de-bord", q, "charge", "charge-ordre", loadColumns...)
	sortLoad(load, byLoad.Sort)
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
	back := cloneValues(q)
	back.Set("jours", strconv.Itoa(days))
	back.Del("ok")
	h.render(w, http.StatusOK, "dashboard", page{Title: "Tableau de bord", Nav: "tableau", Actor: a, CSRF: csrf, Names: names, Form: q,
		Data: map[string]any{"Load": load, "Total": total, "Tasks": tasks, "Days": days, "Referents": referents, "Campaign": campaign,
			"IdentityConflicts": conflicts, "Today": domain.DateOf(time.Now()).String(), "Listed": l.Total, "Overdue": overdue,
			"List": l, "LoadList": byLoad, "Back": "/tableau-de-bord?" + back.Encode()}})
}

// loadColumns are the columns « Charge par référent » sorts on.
var loadColumns = []string{"referent", "structure", "parcours", "ouvertes", "retard", "bientot"}

// sortLoad sorts the load per référent on a column (none: the most
// overdue first, as the database gives it), the référent's id breaking ties.
func sortLoad(load []domain.Workload, s postgres.Sort) {
	if s.Column == "" {
		return
	}
	key := func(w domain.Workload) int {
		switch s.Column {
		case "parcours":
			return w.Parcours
		case "ouvertes":
			return w.Open
		case "retard":
			return w.Overdue
		case "bientot":
			return w.DueSoon
		}
		return 0
	}
	slices.SortStableFunc(load, func(a, b domain.Workload) int {
		var c int
		switch s.Column {
		case "referent":
			c = collate(a.Name, b.Name)
		case "structure":
			c = collate(a.Structure, b.Structure)
		default:
			c = cmp.Compare(key(a), key(b))
		}
		if s.Desc {
			c = -c
		}
		return cmp.Or(c, strings.Compare(a.ReferentID, b.ReferentID))
	})
}

// collate compares two names as the lists sort them: whatever the case
// and the accents.
func collate(a, b string) int {
	return strings.Compare(domain.FoldName(a), domain.FoldName(b))
}

// searchPageSize results per page of a search.
const searchPageSize = 50

// search finds dossiers by name, identifier or NIR, within the actor's
// scope, a page at a time, sortable.
func (h *Handler) search(w http.ResponseWriter, r *http.Request) {
	a, csrf := from(r.Context())
	query := r.URL.Query()
	q := query.Get("q")
	p := page{Title: "Rechercher un bénéficiaire", Nav: "recherche", Actor: a, CSRF: csrf, Form: query}
	l, err := readListing("/recherche", query, "recent", true, "beneficiaire", "identifiant", "entree", "etat", "referent")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if q != "" {
		list, total, err := h.Service.SearchPage(r.Context(), a, postgres.SearchFilter{Query: q, Sort: l.Sort, Limit: searchPageSize + 1}, true)
		if err != nil && domain.ErrorCode(err) != domain.EINVALID {
			h.fail(w, r, err)
			return
		}
		p.Errors = map[string]string{"q": domain.ErrorMessage(err)}
		if err == nil {
			list = keysetPage(&l, list, searchPageSize, total, func(s domain.ParcoursSummary) (string, string) { return s.SortKey, s.ID })
			ids := make([]string, len(list))
			for i, s := range list {
				ids[i] = s.ReferentID
			}
			if p.Names, err = h.names(r.Context(), ids...); err != nil {
				h.fail(w, r, err)
				return
			}
			p.Errors, p.Data = nil, map[string]any{"Results": list, "List": l}
		}
	}
	h.render(w, http.StatusOK, "search", p)
}
