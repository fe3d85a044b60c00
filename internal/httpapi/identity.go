package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/parcours-rsa/parcours/internal/postgres"
)

// handleIdentityConflicts lists the import lines waiting in « Identités à
// vérifier » (département only), oldest first: ?cursor= (next_cursor of the
// previous page), ?limit= (50, at most 200). NIRs are masked.
func (h *Handler) handleIdentityConflicts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n, err := limit(q.Get("limit"), 50, 200)
	if err != nil {
		h.Error(w, r, err)
		return
	}
	items, next, total, err := h.Service.IdentityConflicts(r.Context(), actorFrom(r.Context()), q.Get("cursor"), n)
	if err != nil {
		h.Error(w, r, err)
		return
	}
	if items == nil {
		items = []postgres.IdentityConflict{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "next_cursor": nullable(next), "total": total})
}

// handleResolveIdentity applies the département's decision on a waiting
// line: {"decision": "same"} (« Même personne ») or {"decision":
// "different"} (« Personnes différentes »). It answers the beneficiary the
// line was applied to.
func (h *Handler) handleResolveIdentity(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Decision string `json:"decision"`
	}
	if err := decode(r, &body); err != nil {
		h.Error(w, r, err)
		return
	}
	id := chi.URLParam(r, "id")
	result, err := h.Service.ResolveIdentity(r.Context(), actorFrom(r.Context()), id, body.Decision)
	if err != nil {
		h.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "decision": body.Decision, "beneficiary_id": nullable(result)})
}
