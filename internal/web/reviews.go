package web

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// The sanction cases: the queue, a case and its forms.

// reviews is the département's queue of sanction cases.
func (h *Handler) reviews(w http.ResponseWriter, r *http.Request) {
	a, csrf := from(r.Context())
	status := r.URL.Query().Get("statut")
	list, err := h.Service.Reviews(r.Context(), a, postgres.ReviewFilter{Status: status, Limit: 500})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var ids []string
	for _, v := range list {
		ids = append(ids, v.ReferentID)
	}
	names, err := h.names(r.Context(), ids...)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, http.StatusOK, "reviews", page{Title: "Examens de sanction", Nav: "examens", Actor: a, CSRF: csrf, Names: names,
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
	h.render(w, status, "review", page{Title: fmt.Sprintf("Dossier de sanction n° %d — %s %s", v.Number, v.LastName, v.FirstName), Nav: "examens", Actor: a, CSRF: csrf,
		Errors: errs, ErrorPrefix: failedForm + "-",
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
