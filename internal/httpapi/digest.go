package httpapi

import (
	"net/http"

	"github.com/parcours-rsa/parcours/internal/postgres"
)

// handleDigestSendings lists the staff digests sent (administrators): what
// the « Comptes » page shows, for supervision tools.
func (h *Handler) handleDigestSendings(w http.ResponseWriter, r *http.Request) {
	list, err := h.Service.DigestSendings(r.Context(), actorFrom(r.Context()))
	if err != nil {
		h.Error(w, r, err)
		return
	}
	if list == nil {
		list = []postgres.DigestRecord{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": list})
}
