package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/httpx"
)

// Letters of the sanction procedure: produced, downloaded and recorded as
// sent or received from the case page; the letterhead and the bodies are
// edited on the « Courriers » page.

func (h *Handler) routeLetters(r chi.Router) {
	r.Get("/courriers", h.letterSettings)
	r.Post("/courriers/en-tete", h.saveLetterhead)
	r.Post("/courriers/modeles/{kind}", h.saveLetterBody)
	r.Post("/examens/{rid}/produire/{kind}", h.produceLetter)
	r.Post("/examens/{rid}/envoi", h.sendLetter)
	r.Post("/examens/{rid}/courriers/{lid}/{step}", h.letterStep)
	r.Get("/examens/{rid}/courriers/{lid}/pdf", h.letterPDF)
}

// letterForms are the letter forms of a case page for the département.
func letterForms(v domain.ReviewView, list []domain.LetterView, address, csrf string) []formData {
	var out []formData
	add := func(name, action, title, submit string, fields ...fieldData) {
		for i := range fields {
			fields[i].ID = name + "-" + fields[i].Name
		}
		out = append(out, formData{Name: name, Title: title, Action: "/examens/" + v.ID + "/" + action, Submit: submit, CSRF: csrf, Fields: fields})
	}
	addr := func() fieldData {
		f := field("", "address", "Adresse postale de la personne", "textarea")
		f.Value = address
		return f
	}
	kinds := []option{{"", "— choisir —"}, {"suspension", "Suspension"}, {"suppression", "Suppression"}}
	switch {
	case v.Status == "reported":
		add("produire-notice", "produire/notice", "Préparer le courrier d'information (PDF)", "Produire le courrier",
			addr(), field("", "planned_kind", "Sanction envisagée", "select", kinds...),
			field("", "planned_percent", "Pourcentage", "number"), field("", "planned_months", "Durée (mois)", "number"))
	case v.DecidedOn.IsZero() && (v.Status == "awaiting_receipt" || v.Status == "observation" || v.Status == "awaiting_decision"):
		add("produire-convocation", "produire/convocation", "Convoquer à un entretien (PDF)", "Produire la convocation",
			addr(), field("", "appointment_on", "Le", "date"), field("", "appointment_at", "À (HH:MM)", "text"), field("", "place", "Lieu", "textarea"))
	}
	if !v.DecidedOn.IsZero() {
		add("produire-decision", "produire/decision", "Notifier la décision (PDF)", "Produire la notification", addr())
	}
	if f, ok := sendingForm(v, list, csrf); ok {
		out = append(out, f)
	}
	for _, l := range list {
		if l.Status == domain.LetterSent && l.ReceivedOn.IsZero() {
			add("reception-"+l.ID, "courriers/"+l.ID+"/reception", "Réception du courrier n° "+l.Number, "Enregistrer la réception",
				field("", "received_on", "Reçu le (date de l'accusé de réception, ou de première présentation)", "date"))
		}
	}
	return out
}

// outsideNotice is the sending form's choice of a notice the service did
// not produce (written and sent by other means).
const outsideNotice = "hors-service"

// sendingForm is the case page's one form recording a letter's sending:
// any letter produced and not yet sent, or, while the notice is to be
// sent, a notice produced outside the service (with the sanction it
// announced). None when there is nothing to send.
func sendingForm(v domain.ReviewView, list []domain.LetterView, csrf string) (formData, bool) {
	letters := []option{{"", "— choisir —"}}
	for _, l := range list {
		if l.Status == domain.LetterDraft {
			letters = append(letters, option{l.ID, "n° " + l.Number + " — " + l.Title + ", daté du " + l.DatedOn.French()})
		}
	}
	outside := v.Status == "reported"
	if outside {
		letters = append(letters, option{outsideNotice, "Courrier d'information produit hors du service"})
	}
	if len(letters) == 1 {
		return formData{}, false
	}
	modes := []option{{"", "— choisir —"}}
	for _, m := range []string{"recommande_ar", "remise_main", "electronique", "simple"} {
		modes = append(modes, option{m, domain.LetterModes[m]})
	}
	fields := []fieldData{
		field("", "courrier", "Courrier envoyé", "select", letters...),
		field("", "mode", "Mode d'envoi", "select", modes...),
		field("", "sent_on", "Envoyé le", "date"),
		field("", "received_on", "Reçu le (si connu : accusé de réception ou remise)", "date"),
	}
	if len(letters) == 2 {
		fields[0].Value = letters[1].Value // the one letter to send
	}
	if outside {
		kinds := []option{{"", "— choisir —"}, {"suspension", "Suspension"}, {"suppression", "Suppression"}}
		fields = append(fields,
			field("", "planned_kind", "Sanction envisagée (courrier produit hors du service seulement)", "select", kinds...),
			field("", "planned_percent", "Pourcentage (courrier produit hors du service seulement)", "number"),
			field("", "planned_months", "Durée en mois (courrier produit hors du service seulement)", "number"))
	}
	for i := range fields {
		fields[i].ID = "envoi-" + fields[i].Name
	}
	markRequired("envoi", fields)
	return formData{Name: "envoi", Title: "Envoi d'un courrier", Action: "/examens/" + v.ID + "/envoi",
		Submit: "Enregistrer l'envoi (le courrier ne changera plus)", CSRF: csrf, Once: uuid.NewString(), Fields: fields}, true
}

// sendLetter runs the sending form: the letter chosen is recorded as sent
// (as /courriers/{lid}/envoi does), or the notice produced outside the
// service is (as the « courrier » command does).
func (h *Handler) sendLetter(w http.ResponseWriter, r *http.Request) {
	rid := chi.URLParam(r, "rid")
	send := func(ctx context.Context, a domain.Actor, id string, form url.Values) error {
		switch lid := form.Get("courrier"); lid {
		case "":
			return domain.FieldError("courrier", "Choisissez le courrier envoyé.")
		case outsideNotice:
			return run(h.Service.SendNotice)(ctx, a, id, form)
		default:
			var in domain.LetterSending
			if err := decodeForm(form, &in); err != nil {
				return err
			}
			if in.Mode == "" {
				return domain.FieldError("mode", "Choisissez le mode d'envoi.")
			}
			l, err := h.Service.Letter(ctx, a, lid)
			if err == nil && l.ReviewID != id {
				err = domain.FieldError("courrier", "Ce courrier n'est pas un courrier de ce dossier.")
			}
			if err != nil {
				return err
			}
			_, err = h.Service.RecordLetterSent(ctx, a, lid, in)
			return err
		}
	}
	h.submitLetterForm(w, r, send, rid, "envoi")
}

func (h *Handler) produceLetter(w http.ResponseWriter, r *http.Request) {
	rid, kind := chi.URLParam(r, "rid"), chi.URLParam(r, "kind")
	run := func(ctx context.Context, a domain.Actor, id string, form url.Values) error {
		var in domain.LetterRequest
		if err := decodeForm(form, &in); err != nil {
			return err
		}
		in.Kind = domain.LetterKind(kind)
		_, err := h.Service.ProduceLetter(ctx, a, id, in)
		return err
	}
	h.submitLetterForm(w, r, run, rid, "produire-"+kind)
}

func (h *Handler) letterStep(w http.ResponseWriter, r *http.Request) {
	rid, lid, step := chi.URLParam(r, "rid"), chi.URLParam(r, "lid"), chi.URLParam(r, "step")
	var run commandFunc
	switch step {
	case "envoi":
		run = func(ctx context.Context, a domain.Actor, _ string, form url.Values) error {
			var in domain.LetterSending
			if err := decodeForm(form, &in); err != nil {
				return err
			}
			_, err := h.Service.RecordLetterSent(ctx, a, lid, in)
			return err
		}
	case "reception":
		run = func(ctx context.Context, a domain.Actor, _ string, form url.Values) error {
			var in domain.LetterReceipt
			if err := decodeForm(form, &in); err != nil {
				return err
			}
			_, err := h.Service.RecordLetterReceived(ctx, a, lid, in)
			return err
		}
	}
	h.submitLetterForm(w, r, run, rid, step+"-"+lid)
}

func (h *Handler) submitLetterForm(w http.ResponseWriter, r *http.Request, run commandFunc, rid, name string) {
	h.submitForm(w, r, run, rid, name, "/examens/", func(a domain.Actor, status int, errs map[string]string) error {
		v, err := h.Service.Review(r.Context(), a, rid)
		if err == nil {
			h.showReview(w, r, status, v, "", name, r.PostForm, errs)
		}
		return err
	})
}

func (h *Handler) letterPDF(w http.ResponseWriter, r *http.Request) {
	a, _ := from(r.Context())
	pdf, v, err := h.Service.LetterPDF(r.Context(), a, chi.URLParam(r, "lid"))
	if err == nil && v.ReviewID != chi.URLParam(r, "rid") {
		err = domain.Errorf(domain.ENOTFOUND, "Courrier introuvable.")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.ServeLetterPDF(w, pdf, v)
}

// ---- the « Courriers » page --------------------------------------------------

func (h *Handler) letterSettings(w http.ResponseWriter, r *http.Request) {
	flash := map[string]string{"en-tete": "En-tête enregistré.", "modele": "Modèle enregistré.", "defaut": "Modèle par défaut rétabli."}[r.URL.Query().Get("ok")]
	h.showLetterSettings(w, r, http.StatusOK, flash, "", nil, nil)
}

func (h *Handler) showLetterSettings(w http.ResponseWriter, r *http.Request, status int, flash, failedForm string, failed url.Values, errs map[string]string) {
	a, csrf := from(r.Context())
	s, err := h.Service.LetterSettings(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	head := formData{Name: "en-tete", Title: "En-tête et signature", Action: "/courriers/en-tete", Submit: "Enregistrer l'en-tête", CSRF: csrf}
	for _, f := range []struct{ name, label, typ, value string }{
		{"departement", "Département", "text", s.Head.Departement}, {"service", "Service", "text", s.Head.Service},
		{"address", "Adresse", "textarea", s.Head.Address}, {"city", "Ville de signature (« Fait à »)", "text", s.Head.City},
		{"signatory_name", "Signataire", "text", s.Head.SignatoryName}, {"signatory_title", "Qualité du signataire", "textarea", s.Head.SignatoryTitle},
	} {
		fd := field("en-tete", f.name, f.label, f.typ)
		fd.Value = f.value
		head.Fields = append(head.Fields, fd)
	}
	type bodyForm struct {
		Form   formData
		Edited bool
		Refs   []string
	}
	var bodies []bodyForm
	for _, k := range domain.LetterKinds {
		fd := field("modele-"+string(k), "body", "Texte du courrier", "textarea")
		fd.Value = s.Bodies[k]
		bodies = append(bodies, bodyForm{Edited: s.Edited[k], Refs: s.Refs[k], Form: formData{Name: "modele-" + string(k), Title: s.Titles[k],
			Action: "/courriers/modeles/" + string(k), Submit: "Enregistrer le modèle", CSRF: csrf, Fields: []fieldData{fd}}})
	}
	forms := []formData{head}
	fillFailed(forms, failedForm, failed, errs)
	for i := range bodies {
		f := []formData{bodies[i].Form}
		fillFailed(f, failedForm, failed, errs)
		bodies[i].Form = f[0]
	}
	h.render(w, status, "letters", page{Title: "Courriers", Nav: "courriers", Actor: a, CSRF: csrf, Flash: flash,
		Data: map[string]any{"Head": forms[0], "Saved": s.Saved, "Bodies": bodies}})
}

func (h *Handler) saveLetterhead(w http.ResponseWriter, r *http.Request) {
	h.saveLetterSetting(w, r, "en-tete", "en-tete", func(ctx context.Context, a domain.Actor, form url.Values) error {
		var in domain.Letterhead
		if err := decodeForm(form, &in); err != nil {
			return err
		}
		return h.Service.SaveLetterhead(ctx, a, in)
	})
}

func (h *Handler) saveLetterBody(w http.ResponseWriter, r *http.Request) {
	kind := chi.URLParam(r, "kind")
	ok := "modele"
	if r.PostFormValue("reset") != "" {
		ok = "defaut"
	}
	h.saveLetterSetting(w, r, "modele-"+kind, ok, func(ctx context.Context, a domain.Actor, form url.Values) error {
		body := strings.TrimSpace(strings.ReplaceAll(form.Get("body"), "\r\n", "\n"))
		if form.Get("reset") != "" {
			body = ""
		} else if body == "" {
			return domain.FieldError("body", "Le texte du courrier est vide (pour revenir au modèle du service : « Rétablir le modèle par défaut »).")
		}
		return h.Service.SaveLetterBody(ctx, a, domain.LetterKind(kind), body)
	})
}

func (h *Handler) saveLetterSetting(w http.ResponseWriter, r *http.Request, name, ok string, save func(context.Context, domain.Actor, url.Values) error) {
	a, _ := from(r.Context())
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, domain.Errorf(domain.EINVALID, "Formulaire illisible."))
		return
	}
	err := save(r.Context(), a, r.PostForm)
	if err == nil {
		http.Redirect(w, r, "/courriers?ok="+ok, http.StatusSeeOther)
		return
	}
	status, errs, isForm := formError(err)
	if !isForm {
		h.fail(w, r, err)
		return
	}
	h.showLetterSettings(w, r, status, "", name, r.PostForm, errs)
}
