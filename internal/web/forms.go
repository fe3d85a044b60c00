package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// formData is one form of the dossier page.
type formData struct {
	Name, Title, Action, Submit, CSRF, Err string
	// Once is the form's idempotency key, new at each page: the same form
	// sent twice (a double click, the browser resending it) records once.
	Once   string
	Fields []fieldData
}

// fieldData is one field; Name is the API's name for it. Required marks
// it « obligatoire » (RGAA 11.10): the command is refused without it.
type fieldData struct {
	ID, Name, Label, Type, Value, Err string
	Options                           []option
	Required                          bool
}

// requiredFields are the fields each form cannot do without (the
// commands' validators refuse them empty); forms numbered per action or
// follow-up (bilan-2, suivi-2-3) are listed by their first word.
var requiredFields = map[string][]string{
	"orientation":              {"track", "organism", "referent_id", "decided_on"},
	"contrat":                  {"kind", "signed_on", "starts_on", "ends_on"},
	"notification-orientation": {"notified_on"},
	"action":                   {"name", "kind", "structure", "starts_on", "planned_end_on"},
	"bilan":                    {"ended_on", "category", "detail"},
	"reorientation":            {"reason", "requested_on"},
	"relance":                  {"number", "channel", "sent_on"},
	"manquement":               {"kind", "facts", "reported_on"},
	"referent":                 {"referent_id", "on"},
	"sortie":                   {"reason", "on"},
	"suivi":                    {"answered_on", "situation"},
	"courrier":                 {"sent_on", "planned_kind", "planned_percent", "planned_months"},
	"envoi":                    {"courrier", "sent_on"},
	"reception":                {"received_on"},
	"audition":                 {"on"},
	"decision":                 {"kind", "decided_on"},
	"recours":                  {"filed_on"},
	"radiation":                {"step", "decided_on"},
	"conformite":               {"on", "how"},
	"motif":                    {"reason", "on"},
}

// errNotConfirmed refuses a destructive action whose « Je confirme » box
// was not ticked (a browser without HTML5 validation, or a forged form).
var errNotConfirmed = domain.Errorf(domain.EINVALID, "Cochez « Je confirme » pour confirmer cette action : rien n'a été fait.")

// confirmed reports whether a destructive action's form was confirmed.
func confirmed(r *http.Request) bool {
	v := r.PostFormValue("confirm")
	return v == "oui" || v == "true"
}

// markRequired sets Required on the fields of a form named name.
func markRequired(name string, fields []fieldData) {
	key, _, _ := strings.Cut(name, "-")
	if _, ok := requiredFields[name]; ok {
		key = name
	}
	for i := range fields {
		fields[i].Required = slices.Contains(requiredFields[key], fields[i].Name)
	}
}

type option struct{ Value, Label string }

func field(form, name, label, typ string, opts ...option) fieldData {
	return fieldData{ID: form + "-" + name, Name: name, Label: label, Type: typ, Options: opts}
}

func opts[T ~string](values []T, label func(T) string) []option {
	out := []option{{"", "— choisir —"}}
	for _, v := range values {
		out = append(out, option{string(v), label(v)})
	}
	return out
}

// formsFor lists the forms an actor may use on a parcours in its state.
func formsFor(a domain.Actor, v domain.ParcoursView, csrf string) []formData {
	var out []formData
	add := func(name, title, submit, action string, fields ...fieldData) {
		if action == "" {
			action = "/dossiers/" + v.ID + "/" + name
		}
		for i := range fields {
			fields[i].ID = name + "-" + fields[i].Name
		}
		markRequired(name, fields)
		out = append(out, formData{Name: name, Title: title, Action: action, Submit: submit, CSRF: csrf, Once: uuid.NewString(), Fields: fields})
	}
	department := a.Role == domain.RoleAdmin || a.Role == domain.RoleDepartment
	manager := department || a.Role == domain.RoleSupervisor
	switch v.Status {
	case domain.StatusExited:
	case domain.StatusAwaitingOrientation:
		if department {
			add("orientation", "Orientation", "Enregistrer l'orientation", "",
				field("", "track", "Type de parcours", "select", opts(domain.Tracks, domain.Track.French)...),
				field("", "organism", "Organisme référent", "select"),
				field("", "referent_id", "Référent unique", "select"),
				field("", "decided_on", "Date de décision", "date"),
				field("", "notified_on", "Notifiée le (le mois du contrat en court, D5411-14-1 code du travail ; vide : date de décision)", "date"),
				field("", "decided_by", "Décidée par", "select", option{"", "le Département"}, option{domain.DecidedByFranceTravail, "France Travail (après 6 semaines)"}))
		}
	default:
		contract := []fieldData{
			field("", "kind", "Type de contrat", "select", opts(domain.ContractKinds, domain.ContractKind.French)...),
			field("", "signed_on", "Signé le", "date"),
			field("", "starts_on", "Début", "date"),
			field("", "ends_on", "Fin", "date"),
		}
		title := "Contrat"
		if v.Contract != nil {
			title = "Renouvellement du contrat"
			contract = append(contract, field("", "assessment", "Bilan du contrat précédent", "textarea"))
		}
		add("contrat", title, "Enregistrer le contrat", "", contract...)
		if department && v.Status == domain.StatusAwaitingContract {
			add("notification-orientation", "Notification de l'orientation", "Enregistrer la notification", "",
				field("", "notified_on", "Reçue le (accusé de réception du courrier d'orientation ; le mois du contrat en court, D5411-14-1 code du travail)", "date"))
		}
		add("action", "Nouvelle action d'insertion", "Enregistrer l'action", "",
			field("", "name", "Intitulé", "text"),
			field("", "kind", "Type", "select", opts(domain.ActionKinds, domain.ActionKindFrench)...),
			field("", "structure", "Structure", "text"),
			field("", "starts_on", "Début", "date"),
			field("", "planned_end_on", "Fin prévue", "date"))
		for _, act := range v.Actions {
			if act.EndedOn.IsZero() {
				var cats []string
				for c := range domain.OutcomeDetails {
					cats = append(cats, c)
				}
				slices.Sort(cats)
				var details []string
				for _, c := range cats {
					details = append(details, domain.OutcomeDetails[c]...)
				}
				add(fmt.Sprintf("bilan-%d", act.Number), fmt.Sprintf("Fin de l'action « %s »", act.Name), "Enregistrer le bilan",
					fmt.Sprintf("/dossiers/%s/bilan/%d", v.ID, act.Number),
					field("", "ended_on", "Terminée le", "date"),
					field("", "category", "Catégorie de sortie", "select", opts(cats, domain.OutcomeFrench)...),
					field("", "detail", "Détail", "select", opts(details, domain.OutcomeFrench)...))
			}
		}
		add("reorientation", "Demander une réorientation", "Envoyer la demande", "",
			field("", "reason", "Motif", "textarea"),
			field("", "requested_on", "Date de la demande", "date"))
		add("relance", "Relance envoyée", "Enregistrer la relance", "",
			field("", "number", "Relance n°", "select", option{"1", "1re relance"}, option{"2", "2e relance"}),
			field("", "channel", "Canal", "select", option{"letter", "Courrier"}, option{"email", "Courriel"},
				option{"phone", "Téléphone"}, option{"sms", "SMS"}, option{"meeting", "Rendez-vous"}),
			field("", "sent_on", "Envoyée le", "date"))
		add("manquement", "Signaler un manquement", "Signaler", "",
			field("", "kind", "Manquement", "select", option{"", "— choisir —"},
				option{string(domain.BreachRefusalContract), "Refus d'élaborer ou d'actualiser le contrat"},
				option{string(domain.BreachObligationsNotMet), "Obligation du contrat non respectée"}),
			field("", "obligation", "Obligation du contrat en cause", "text"),
			field("", "facts", "Exposé des faits", "textarea"),
			field("", "reported_on", "Date du signalement", "date"))
		if manager && v.Orientation != nil {
			// The list: the référents the actor may assign (withDirectory).
			current := field("", "referent_id", "Nouveau référent", "select")
			current.Value = v.ReferentID // the list opens on the current one
			add("referent", "Changer de référent", "Changer de référent", "",
				current,
				field("", "reason", "Motif", "textarea"),
				field("", "on", "Date du changement", "date"),
				field("", "confirm", "Je confirme le changement de référent", "checkbox"))
		}
		if manager {
			add("sortie", "Sortie des droits et devoirs", "Enregistrer la sortie", "",
				field("", "reason", "Motif", "select", opts(domain.ExitReasons, domain.ExitReasonFrench)...),
				field("", "on", "Date", "date"),
				field("", "note", "Note", "textarea"))
		}
	}
	for _, act := range v.Actions {
		for _, f := range act.FollowUps {
			if f.AnsweredOn.IsZero() && !f.Cancelled {
				add(fmt.Sprintf("suivi-%d-%d", act.Number, f.Months), fmt.Sprintf("Suivi à %d mois de « %s » (à partir du %s)", f.Months, act.Name, f.OpensOn.French()),
					"Enregistrer le suivi", fmt.Sprintf("/dossiers/%s/suivi/%d/%d", v.ID, act.Number, f.Months),
					field("", "answered_on", "Date du suivi", "date"),
					field("", "situation", "Situation", "select", opts(domain.FollowUpSituations, domain.FollowUpSituationFrench)...),
					field("", "employment_kind", "Type d'emploi", "select", opts(domain.EmploymentKinds, domain.EmploymentKindFrench)...),
					field("", "note", "Note", "textarea"))
			}
		}
	}
	return out
}

func taskFr(k domain.TaskKind) string { return k.French() }

func roleFr(r domain.Role) string { return r.French() }

func deadlineStatusFr(s domain.DeadlineStatus) string {
	return map[domain.DeadlineStatus]string{domain.DeadlinePending: "à venir", domain.DeadlineMet: "tenue",
		domain.DeadlineOverdue: "dépassée", domain.DeadlineCancelled: "annulée"}[s]
}

var reviewStatuses = domain.ReviewStatuses

func reviewFr(s string) string { return domain.ReviewStatusFrench(s) }

var breachFr = map[string]string{
	string(domain.BreachRefusalContract):   "refus d'élaborer ou d'actualiser le contrat",
	string(domain.BreachObligationsNotMet): "obligation du contrat non respectée",
}

// reviewForms lists the forms of a case page for an actor.
func reviewForms(a domain.Actor, v domain.ReviewView, csrf string, sentNotice bool) []formData {
	var out []formData
	add := func(name, title, submit string, fields ...fieldData) {
		for i := range fields {
			fields[i].ID = name + "-" + fields[i].Name
		}
		markRequired(name, fields)
		out = append(out, formData{Name: name, Title: title, Action: "/examens/" + v.ID + "/" + name, Submit: submit, CSRF: csrf, Once: uuid.NewString(), Fields: fields})
	}
	department := a.Role == domain.RoleAdmin || a.Role == domain.RoleDepartment
	kinds := []option{{"", "— choisir —"}, {"suspension", "Suspension"}, {"suppression", "Suppression"}}
	switch v.Status {
	// « reported »: the notice's sending is recorded by the letters' one
	// sending form (sendingForm), a notice produced outside the service too.
	case "awaiting_receipt", "observation", "awaiting_decision":
		if department && v.Status == "awaiting_receipt" && !sentNotice {
			add("reception", "Réception du courrier d'information", "Enregistrer la réception",
				field("", "received_on", "Reçu le (date de l'accusé de réception, ou de première présentation)", "date"))
		}
		if a.Role != domain.RoleReferent {
			add("audition", "Audition de la personne", "Enregistrer l'audition",
				field("", "on", "Entendue le", "date"), field("", "assisted", "Assistée (oui : cocher)", "checkbox"), field("", "note", "Compte rendu", "textarea"))
		}
		if department {
			add("decision", "Décision", "Enregistrer la décision",
				field("", "kind", "Décision", "select", option{"", "— choisir —"}, option{"none", "Pas de sanction"}, kinds[1], kinds[2]),
				field("", "percent", "Pourcentage du RSA", "number"), field("", "months", "Durée (mois)", "number"),
				field("", "decided_on", "Décidée le", "date"), field("", "effective_on", "Prend effet le", "date"),
				field("", "household_size", "Personnes au foyer", "number"), field("", "majoration", "Majoration (oui : cocher)", "checkbox"),
				field("", "ep_opinion_on", "Avis de l'équipe pluridisciplinaire le", "date"),
				field("", "monthly_amount_cents", "Montant mensuel de référence (centimes)", "number"), field("", "reason", "Motivation", "textarea"))
		}
	case "sanction":
		if department { // in time while the decision's notification is not recorded (R262-88 CASF)
			add("recours", "Recours administratif préalable (RAPO)", "Enregistrer le recours", field("", "filed_on", "Reçu le", "date"), field("", "note", "Note", "textarea"))
		}
	case "radiation_proposed":
		if department {
			add("radiation", "Radiation", "Enregistrer la décision",
				field("", "step", "Étape", "select", option{"france_travail", "Radiation de France Travail"}, option{"rsa_right", "Fin du droit au RSA"}),
				field("", "decided", "Prononcée (oui : cocher)", "checkbox"), field("", "decided_on", "Le", "date"))
		}
	}
	switch v.Status {
	case "reported", "awaiting_receipt", "observation", "awaiting_decision", "sanction":
		add("conformite", "Mise en conformité", "Enregistrer",
			field("", "on", "Le", "date"), field("", "how", "Comment", "select", option{"contract_signed", "Contrat signé"}, option{"obligation_met", "Obligation remplie"}),
			field("", "note", "Note", "textarea"))
	}
	switch v.Status {
	case "reported", "awaiting_receipt", "observation", "awaiting_decision":
		add("motif", "Motif légitime", "Clore sans sanction",
			field("", "reason", "Motif", "select", option{"health", "Santé"}, option{"childcare", "Garde d'enfant"}, option{"force_majeure", "Force majeure"}, option{"other", "Autre"}),
			field("", "text", "Précision", "textarea"), field("", "on", "Le", "date"))
	}
	return out
}

func digestStatusFr(s string) string {
	if v, ok := map[string]string{"sending": "en cours d'envoi", "sent": "envoyé", "failed": "échec (nouvel essai prévu)",
		"uncertain": "incertain (envoi interrompu, non renvoyé)"}[s]; ok {
		return v
	}
	return s
}
