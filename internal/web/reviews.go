package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/go-chi/chi/v5"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// The sanction cases: the queue, a case and its forms.

// reviewsPageSize cases per page of the queue.
const reviewsPageSize = 100

// queueRow is a line of the queue: the case and where it stands.
type queueRow struct {
	domain.ReviewView
	Step int
	Next domain.NextDue
}

// reviews is the département's queue of sanction cases, a page at a time,
// sortable, each line with its step and its next date due.
func (h *Handler) reviews(w http.ResponseWriter, r *http.Request) {
	a, csrf := from(r.Context())
	q := r.URL.Query()
	status := q.Get("statut")
	if status != "" && !slices.Contains(reviewStatuses, status) {
		h.fail(w, r, domain.Errorf(domain.EINVALID, "État inconnu."))
		return
	}
	l, err := readListing("/examens", q, "signale", false, "signale", "personne", "referent", "etape", "echeance")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f := postgres.ReviewFilter{Status: status, Sort: l.Sort, Limit: reviewsPageSize + 1}
	total, err := h.Service.CountReviews(r.Context(), a, f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	list, err := h.Service.Reviews(r.Context(), a, f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	list = keysetPage(&l, list, reviewsPageSize, total, func(v domain.ReviewView) (string, string) { return v.SortKey, v.ID })
	today := domain.DateOf(h.now())
	rows := make([]queueRow, len(list))
	var ids []string
	for i, v := range list {
		rows[i] = queueRow{ReviewView: v, Step: domain.ReviewStep(v), Next: domain.ReviewNextDue(v, today)}
		ids = append(ids, v.ReferentID)
	}
	names, err := h.names(r.Context(), ids...)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, http.StatusOK, "reviews", page{Title: "Examens de sanction", Nav: "examens", Actor: a, CSRF: csrf, Names: names, Form: q,
		Data: map[string]any{"Reviews": rows, "Status": status, "Statuses": reviewStatuses, "List": l, "Steps": len(domain.ReviewSteps)}})
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
	h.render(w, status, "review", page{Title: fmt.Sprintf("Dossier de sanction n° %d — %s %s", v.Number, v.LastName, v.FirstName), Nav: "examens", Actor: a, CSRF: csrf,
		Errors: errs, ErrorPrefix: failedForm + "-",
		Flash: flash, Data: map[string]any{"R": v, "Forms": forms, "Letters": list, "Stepper": stepperOf(v),
			"Next": domain.ReviewNextDue(v, domain.DateOf(h.now()))}})
}

// stepItem is a step of the procedure as the step indicator shows it.
type stepItem struct {
	Title string
	State string // done, current, todo
}

// stepper is a case's step indicator: « Étape 3 sur 6 », the step's
// title, the next one; Closed when the case ended at that step.
type stepper struct {
	Current, Total int
	Title, Next    string
	Closed         bool
	Steps          []stepItem
}

var openStatuses = []string{"reported", "awaiting_receipt", "observation", "awaiting_decision", "sanction", "radiation_proposed"}

func stepperOf(v domain.ReviewView) stepper {
	n := domain.ReviewStep(v)
	s := stepper{Current: n, Total: len(domain.ReviewSteps), Title: domain.ReviewSteps[n-1], Closed: !slices.Contains(openStatuses, v.Status)}
	if n < s.Total && !s.Closed {
		s.Next = domain.ReviewSteps[n]
	}
	for i, title := range domain.ReviewSteps {
		state := "todo"
		switch {
		case i+1 < n:
			state = "done"
		case i+1 == n:
			state = "current"
		}
		s.Steps = append(s.Steps, stepItem{Title: title, State: state})
	}
	return s
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
