package web

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/indicators"
)

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
