package web

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// The 1 January 2027 campaign (issue 19): counts to sign / signed /
// overdue, by structure and by référent, and the list of persons with its
// filters, pages and CSV export, for supervisors and the département.

const campaignPath = "/campagne-2027"

func (h *Handler) routeCampaign(r chi.Router) {
	r.Get(campaignPath, h.campaign)
	r.Get(campaignPath+".csv", h.campaign)
}

// campaignFilter reads the page's filters (statut, structure, referent).
func campaignFilter(q url.Values) postgres.CampaignFilter {
	return postgres.CampaignFilter{Status: domain.DeadlineStatus(q.Get("statut")), Structure: q.Get("structure"),
		ReferentID: q.Get("referent"), Cursor: q.Get("apres"), Limit: 50}
}

// campaignQuery is the query string of a filter, with the page's names.
func campaignQuery(f postgres.CampaignFilter, cursor string) string {
	q := url.Values{}
	for k, v := range map[string]string{"statut": string(f.Status), "structure": f.Structure, "referent": f.ReferentID, "apres": cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

func (h *Handler) campaign(w http.ResponseWriter, r *http.Request) {
	a, csrf := from(r.Context())
	f := campaignFilter(r.URL.Query())
	if strings.HasSuffix(r.URL.Path, ".csv") {
		f.Cursor = ""
		items, err := h.Service.CampaignExport(r.Context(), a, f)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		var buf bytes.Buffer
		if err := app.WriteCampaignCSV(&buf, items, ""); err != nil {
			h.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="campagne-2027-%s.csv"`, domain.DateOf(h.now()).String()))
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(buf.Bytes())
		return
	}
	sum, err := h.Service.Campaign(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	items, next, err := h.Service.CampaignList(r.Context(), a, f)
	if err != nil {
		if domain.ErrorCode(err) == domain.EINVALID { // a hand-made address: start over
			http.Redirect(w, r, campaignPath, http.StatusSeeOther)
			return
		}
		h.fail(w, r, err)
		return
	}
	statuses := []option{{"", "Tous"}}
	for _, s := range domain.CampaignStatuses {
		statuses = append(statuses, option{string(s), campaignStatusFr(s)})
	}
	filtered := f.Status != "" || f.Structure != "" || f.ReferentID != ""
	nextLink := ""
	if next != "" {
		nextLink = campaignPath + campaignQuery(f, next)
	}
	h.render(w, http.StatusOK, "campaign", page{Title: "Campagne du 1er janvier 2027", Nav: "campagne", Actor: a, CSRF: csrf,
		Data: map[string]any{"S": sum, "Rules": campaignRules(sum.RuleSets), "Items": items, "F": f, "Statuses": statuses,
			"Filtered": filtered, "Matching": sum.Matching(f), "Next": nextLink, "NoReferent": postgres.NoReferent,
			"First": f.Cursor != "", "FirstLink": campaignPath + campaignQuery(f, ""),
			"CSV": campaignPath + ".csv" + campaignQuery(f, "")}})
}

// campaignRules are the rules the deadlines in scope follow: the
// metropolitan one when there is none yet.
func campaignRules(sets []string) []domain.CampaignRule {
	if len(sets) == 0 {
		return domain.CampaignRules[:1]
	}
	out := make([]domain.CampaignRule, 0, len(sets))
	for _, s := range sets {
		out = append(out, domain.CampaignRuleOf(s))
	}
	return out
}

func campaignStatusFr(s domain.DeadlineStatus) string { return domain.CampaignStatusFr(s) }
