package web

import (
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// num prints a count or a line read back from JSON (a float64) as an
// integer: 1234567, never 1.234567e+06.
func num(v any) string {
	switch n := v.(type) {
	case float64:
		return fmt.Sprintf("%.0f", n)
	case nil:
		return "0"
	}
	return fmt.Sprint(v)
}

// identityPageSize lines of « Identités à vérifier » per page.
const identityPageSize = 50

// identities lists the import lines waiting for the département's decision
// (keyset pages: ?apres= the last line of the previous page).
func (h *Handler) identities(w http.ResponseWriter, r *http.Request) {
	a, csrf := from(r.Context())
	cursor := r.URL.Query().Get("apres")
	items, next, total, err := h.Service.IdentityConflicts(r.Context(), a, cursor, identityPageSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	flash := ""
	switch r.URL.Query().Get("fait") {
	case domain.IdentitySame:
		flash = "Décision enregistrée : même personne, la ligne a été appliquée à la personne déjà suivie."
	case domain.IdentityDifferent:
		flash = "Décision enregistrée : personnes différentes, la ligne a créé une autre personne."
	}
	h.render(w, http.StatusOK, "identities", page{Title: "Identités à vérifier", Nav: "imports", Actor: a, CSRF: csrf, Flash: flash,
		Data: map[string]any{"Items": items, "Next": next, "Total": total, "First": cursor == ""}})
}

// resolveIdentity applies « Même personne » or « Personnes différentes ».
func (h *Handler) resolveIdentity(w http.ResponseWriter, r *http.Request) {
	a, _ := from(r.Context())
	decision := r.PostFormValue("decision")
	if _, err := h.Service.ResolveIdentity(r.Context(), a, chi.URLParam(r, "cid"), decision); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/imports/identites?fait="+decision, http.StatusSeeOther)
}
