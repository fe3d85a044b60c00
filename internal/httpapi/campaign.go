package httpapi

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// The 1 January 2027 campaign (docs/campaign.md): its counts, and the list
// of its persons with the same filters and cursor as the other lists.

func (h *Handler) routeCampaign(r chi.Router) {
	r.Get("/campaign/stock", h.handleCampaign)
	r.Get("/campaign/stock/persons", h.handleCampaignPersons)
	r.Get("/campaign/stock/persons.csv", h.handleCampaignPersons)
}

// campaignSummary is the JSON of GET /campaign/stock.
type campaignSummary struct {
	postgres.CampaignSummary
	Total int                `json:"total"`
	Rules []campaignRuleJSON `json:"rules"`
}

type campaignRuleJSON struct {
	RuleSet string      `json:"rule_set"`
	DueOn   domain.Date `json:"due_on"`
	Rule    string      `json:"rule"`
	Source  string      `json:"source"`
}

func (h *Handler) handleCampaign(w http.ResponseWriter, r *http.Request) {
	sum, err := h.Service.Campaign(r.Context(), actorFrom(r.Context()))
	if err != nil {
		h.Error(w, r, err)
		return
	}
	out := campaignSummary{CampaignSummary: sum, Total: sum.Total(), Rules: []campaignRuleJSON{}}
	for _, s := range sum.RuleSets {
		rule := domain.CampaignRuleOf(s)
		out.Rules = append(out.Rules, campaignRuleJSON{RuleSet: rule.RuleSet, DueOn: rule.DueOn, Rule: rule.Text, Source: rule.Source})
	}
	if out.ByStructure == nil {
		out.ByStructure = []postgres.CampaignGroup{}
	}
	if out.ByReferent == nil {
		out.ByReferent = []postgres.CampaignGroup{}
	}
	writeJSON(w, http.StatusOK, out)
}

// handleCampaignPersons answers a page of the list (status, structure,
// referent_id — "aucun" for none —, cursor, limit), or the whole filtered
// list as CSV for persons.csv.
func (h *Handler) handleCampaignPersons(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := postgres.CampaignFilter{Status: domain.DeadlineStatus(q.Get("status")), Structure: q.Get("structure"),
		ReferentID: q.Get("referent_id"), Cursor: q.Get("cursor")}
	a := actorFrom(r.Context())
	if strings.HasSuffix(r.URL.Path, ".csv") {
		items, err := h.Service.CampaignExport(r.Context(), a, f)
		if err != nil {
			h.Error(w, r, err)
			return
		}
		var buf bytes.Buffer
		if err := app.WriteCampaignCSV(&buf, items, ""); err != nil {
			h.Error(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="campagne-2027-%s.csv"`, domain.DateOf(time.Now())))
		_, _ = w.Write(buf.Bytes())
		return
	}
	var err error
	if f.Limit, err = limit(q.Get("limit"), 50, 500); err != nil {
		h.Error(w, r, err)
		return
	}
	items, next, err := h.Service.CampaignList(r.Context(), a, f)
	if err != nil {
		h.Error(w, r, err)
		return
	}
	if items == nil {
		items = []postgres.CampaignPerson{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "next_cursor": nullable(next)})
}
