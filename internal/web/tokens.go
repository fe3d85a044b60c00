package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// tokenRow is one API token as the page shows it.
type tokenRow struct {
	postgres.Token
	Scope, State string
}

// tokens lists the API tokens with their scope, expiry and last use, and
// revokes them (administrators; issue 20). Tokens are made on the command
// line, which shows the secret once.
func (h *Handler) tokens(w http.ResponseWriter, r *http.Request) {
	a, csrf := from(r.Context())
	list, err := h.Service.Tokens(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ids := make([]string, 0, len(list))
	rows := make([]tokenRow, len(list))
	for i, t := range list {
		rows[i] = tokenRow{Token: t, Scope: "tout le Département", State: "actif"}
		switch {
		case t.ReferentID != "":
			rows[i].Scope = "référent"
			ids = append(ids, t.ReferentID)
		case t.Structure != "":
			rows[i].Scope = "structure « " + t.Structure + " »"
		case t.AllStructures:
			rows[i].Scope = "toutes les structures"
		}
		switch {
		case t.RevokedAt != nil:
			rows[i].State = "révoqué le " + domain.DateOf(*t.RevokedAt).French()
		case t.ExpiresAt != nil && !time.Now().Before(*t.ExpiresAt):
			rows[i].State = "expiré"
		}
	}
	names, err := h.names(r.Context(), ids...)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, http.StatusOK, "tokens", page{Title: "Jetons d'accès", Nav: "jetons", Actor: a, CSRF: csrf, Names: names,
		Data: map[string]any{"Tokens": rows}})
}

func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request) {
	a, _ := from(r.Context())
	if !confirmed(r) {
		h.fail(w, r, errNotConfirmed)
		return
	}
	id, err := strconv.ParseInt(chi.URLParam(r, "tid"), 10, 64)
	if err != nil {
		h.fail(w, r, domain.Errorf(domain.ENOTFOUND, "Ce jeton n'existe pas."))
		return
	}
	if err := h.Service.RevokeToken(r.Context(), a, id); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/jetons", http.StatusSeeOther)
}
