package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/auth"
	"github.com/parcours-rsa/parcours/internal/domain"
)

// Accounts: the administrators' page, « Mon compte », passwords.

// accounts lets administrators manage the web accounts.
func (h *Handler) accounts(w http.ResponseWriter, r *http.Request) {
	h.showAccounts(w, r, http.StatusOK, nil, nil, nil)
}

func (h *Handler) showAccounts(w http.ResponseWriter, r *http.Request, status int, created map[string]string, failed url.Values, errs map[string]string) {
	a, csrf := from(r.Context())
	list, err := h.Service.Accounts(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	roles := []option{{"", "— choisir —"}}
	for _, role := range domain.Roles {
		roles = append(roles, option{string(role), roleFr(role)})
	}
	dir, err := h.directoryFor(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	forms := []formData{{Name: "compte", Title: "Nouveau compte", Action: "/comptes", Submit: "Créer le compte", CSRF: csrf, Fields: []fieldData{
		field("compte", "email", "Adresse électronique", "email"), field("compte", "name", "Nom", "text"),
		field("compte", "role", "Rôle", "select", roles...),
		field("compte", "referent", "Référent que le compte représente (rôle référent)", "select", dir.withoutAccount().referentOptions("— aucun —")...),
		field("compte", "structure", "Structure encadrée (rôle encadrement)", "select", dir.structureOptions("— aucune —")...),
		field("compte", "all_structures", "Toutes les structures (encadrement du Département : cocher)", "checkbox"),
	}}}
	ids := make([]string, len(list))
	for i, acc := range list {
		ids[i] = acc.ReferentID
	}
	names, err := h.names(r.Context(), ids...)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	fillFailed(forms, "compte", failed, errs)
	digests, err := h.Service.DigestSendings(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, status, "accounts", page{Title: "Comptes", Nav: "comptes", Actor: a, CSRF: csrf, Names: names,
		Data: map[string]any{"Accounts": list, "Forms": forms, "Created": created, "Digests": digests}})
}

// ownAccount is « Mon compte »: the daily digest, and the password.
func (h *Handler) ownAccount(w http.ResponseWriter, r *http.Request) {
	msg := ""
	switch q := r.URL.Query(); {
	case q.Get("mot-de-passe") != "":
		msg = "Votre mot de passe est changé. Vos autres sessions sont fermées."
	case q.Get("enregistre") != "":
		msg = "Votre choix est enregistré."
	}
	h.showOwnAccount(w, r, http.StatusOK, msg, nil)
}

func (h *Handler) showOwnAccount(w http.ResponseWriter, r *http.Request, status int, flash string, errs map[string]string) {
	s, _ := r.Context().Value(ctxKey{}).(sessionInfo)
	data := map[string]any{"MustChange": s.mustChange}
	if !s.mustChange {
		out, err := h.Service.DigestOptOut(r.Context(), s.actor)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		data["OptOut"] = out
	}
	has, err := h.Service.HasPassword(r.Context(), s.actor)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	form := formData{Name: "mot-de-passe", Title: "Changer de mot de passe", Action: "/compte/mot-de-passe", Submit: "Changer le mot de passe", CSRF: s.csrf,
		Fields: []fieldData{
			field("mot-de-passe", "current_password", "Mot de passe actuel", "password"),
			field("mot-de-passe", "new_password", fmt.Sprintf("Nouveau mot de passe (au moins %d caractères)", app.MinPassword), "password"),
			field("mot-de-passe", "confirm_password", "Nouveau mot de passe, une seconde fois", "password"),
		}}
	// What was typed is never sent back: the errors only.
	form.Err = errs[""]
	for i := range form.Fields {
		form.Fields[i].Err = errs[form.Fields[i].Name]
	}
	if has {
		data["PasswordForm"] = form
	}
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, status, "account", page{Title: "Mon compte", Actor: s.actor, CSRF: s.csrf, Nav: "compte", Flash: flash, Data: data, Restricted: s.mustChange})
}

func (h *Handler) setDigestOptOut(w http.ResponseWriter, r *http.Request) {
	a, _ := from(r.Context())
	if err := h.Service.SetDigestOptOut(r.Context(), a, r.PostFormValue("digest") != "oui"); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/compte?enregistre=1", http.StatusSeeOther)
}

// changePassword changes the session's own account's password: no id in
// the request, the account is the session's.
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request) {
	s, _ := r.Context().Value(ctxKey{}).(sessionInfo)
	f := r.PostForm
	err := h.Service.ChangePassword(r.Context(), s.actor, s.token, f.Get("current_password"), f.Get("new_password"), f.Get("confirm_password"), sourceAddress(r))
	if err == nil {
		http.Redirect(w, r, "/compte?mot-de-passe=change", http.StatusSeeOther)
		return
	}
	var many *app.TooManyAttempts
	if errors.As(err, &many) {
		w.Header().Set("Retry-After", strconv.Itoa(int((many.Wait+time.Second-1)/time.Second)))
		h.showOwnAccount(w, r, http.StatusTooManyRequests, "", map[string]string{"": domain.ErrorMessage(err)})
		return
	}
	status, errs, ok := formError(err)
	if !ok || domain.ErrorCode(err) == domain.ECONFLICT { // no password here: no form to show it on
		h.fail(w, r, err)
		return
	}
	h.showOwnAccount(w, r, status, "", errs)
}

// resetPassword gives an account a temporary password, shown once on the
// accounts page.
func (h *Handler) resetPassword(w http.ResponseWriter, r *http.Request) {
	a, _ := from(r.Context())
	email, password, err := h.Service.ResetPassword(app.WithSource(r.Context(), sourceAddress(r)), a, chi.URLParam(r, "aid"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	h.showAccounts(w, r, http.StatusOK, map[string]string{"Email": email, "Password": password, "Reset": "oui"}, nil, nil)
}

func (h *Handler) createAccount(w http.ResponseWriter, r *http.Request) {
	a, _ := from(r.Context())
	f := r.PostForm
	password := auth.NewSecret(12)
	_, err := h.Service.CreateAccount(r.Context(), a, app.NewAccount{Email: f.Get("email"), Name: f.Get("name"), Password: password,
		Role: domain.Role(f.Get("role")), ReferentID: strings.TrimSpace(f.Get("referent")), Structure: strings.TrimSpace(f.Get("structure")),
		AllStructures: f.Get("all_structures") != ""})
	if err != nil {
		status, errs, ok := formError(err)
		if !ok {
			h.fail(w, r, err)
			return
		}
		h.showAccounts(w, r, status, nil, f, errs)
		return
	}
	// Shown once, on this page: the response is not cached.
	w.Header().Set("Cache-Control", "no-store")
	h.showAccounts(w, r, http.StatusCreated, map[string]string{"Email": f.Get("email"), "Password": password}, nil, nil)
}

func (h *Handler) disableAccount(w http.ResponseWriter, r *http.Request) {
	a, _ := from(r.Context())
	if !confirmed(r) {
		h.fail(w, r, errNotConfirmed)
		return
	}
	if err := h.Service.DisableAccount(r.Context(), a, chi.URLParam(r, "aid")); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/comptes", http.StatusSeeOther)
}
