package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// auditPageSize lines of the audit log per page.
const auditPageSize = 50

// auditActions are the actions the log's filter offers, with their labels.
var auditActions = []option{
	{"", "Toutes"}, {"read", "Consultations"}, {"list", "Listes"}, {"search", "Recherches"},
	{"create", "Créations"}, {"update", "Modifications"}, {"export", "Exports"}, {"login", "Connexions"},
	{"login_failed", "Échecs de connexion"}, {"denied", "Accès refusés"}, {"revoke", "Révocations"},
	{"password_change", "Changements de mot de passe"}, {"password_change_failed", "Changements de mot de passe refusés"},
	{"password_reset", "Réinitialisations de mot de passe"},
}

// auditLine is a line of the audit log as an administrator reads it.
type auditLine struct {
	At       time.Time
	Sentence string
	Source   string
	Record   string // the dossier's id, to filter on it
}

type auditData struct {
	Lines   []auditLine
	Actions []option
	Next    string // the next page's link, "" on the last
	First   string // the first page's link, "" on the first
	List    listing
}

// auditLog lets administrators search the audit log: a sentence per line,
// filters, and pages from the newest.
func (h *Handler) auditLog(w http.ResponseWriter, r *http.Request) {
	a, csrf := from(r.Context())
	q := r.URL.Query()
	f := postgres.AuditFilter{Actor: strings.TrimSpace(q.Get("compte")), RecordID: strings.TrimSpace(q.Get("dossier")),
		Action: q.Get("action"), Limit: auditPageSize + 1}
	errs := map[string]string{}
	for _, d := range []struct {
		field string
		into  *time.Time
		end   bool
	}{{"du", &f.From, false}, {"au", &f.To, true}} {
		if v := q.Get(d.field); v != "" {
			day, err := domain.ParseDate(v)
			if err != nil {
				errs[d.field] = "Date invalide."
				continue
			}
			if d.end {
				day = day.AddDays(1) // the whole last day
			}
			*d.into = day.Time()
		}
	}
	if v := q.Get("avant"); v != "" {
		f.Before, _ = strconv.ParseInt(v, 10, 64)
	}
	// Newest first; « Quand » sorts it oldest first (tri=quand), from the
	// line after « apres ».
	list := listing{Path: "/journal", Query: q, Sort: postgres.Sort{Column: "quand", Desc: q.Get("tri") == "" || q.Get("ordre") == "desc"}}
	if !list.Sort.Desc {
		f.Ascending, f.Before = true, 0
		f.After, _ = strconv.ParseInt(q.Get("apres"), 10, 64)
	}
	var rows []postgres.AuditRow
	if len(errs) == 0 {
		var err error
		if rows, err = h.Service.SearchAudit(r.Context(), a, f); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	data := auditData{Actions: auditActions, List: list}
	if len(rows) > auditPageSize {
		rows = rows[:auditPageSize]
		next := cloneValues(q)
		cursor := "avant"
		if f.Ascending {
			cursor = "apres"
		}
		next.Set(cursor, strconv.FormatInt(rows[len(rows)-1].ID, 10))
		data.Next = "/journal?" + next.Encode()
	}
	if f.Before > 0 || f.After > 0 {
		first := cloneValues(q)
		first.Del("avant")
		first.Del("apres")
		data.First = "/journal?" + first.Encode()
	}
	for _, row := range rows {
		data.Lines = append(data.Lines, auditLineOf(row))
	}
	status := http.StatusOK
	if len(errs) > 0 {
		status = http.StatusBadRequest
	}
	h.render(w, status, "audit", page{Title: "Journal d'audit", Nav: "journal", Actor: a, CSRF: csrf, Form: q, Errors: errs, Data: data})
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// auditVerbs say what an action did, by its code.
var auditVerbs = map[string]string{
	"read": "a consulté", "list": "a affiché", "search": "a cherché dans", "create": "a créé",
	"update": "a modifié", "export": "a exporté", "revoke": "a révoqué", "bind_identity": "a lié son compte à",
	"import": "a importé", "preview": "a prévisualisé", "resolve": "a tranché",
	"resync": "a fait réécrire par le moteur de suivi", "rules_announced": "a annoncé les règles déployées à",
	"workflow_reset": "a réinitialisé", "workflow_terminate": "a arrêté",
}

// auditObjects name the kind of record, by its code.
var auditObjects = map[string]string{
	"parcours": "le dossier", "review": "le dossier de sanction", "letter": "un courrier",
	"letter_pdf": "le PDF d'un courrier", "letters": "les courriers d'un dossier de sanction",
	"tasks": "les tâches (Mes échéances)", "workload": "le tableau de bord", "reviews": "la file des examens de sanction",
	"indicators": "les indicateurs", "campaign": "la campagne 2027", "import": "un import",
	"identity_conflict": "les identités à vérifier", "referent": "les référents", "structure": "une structure",
	"account": "le compte", "token": "un jeton d'accès", "audit_log": "le journal d'audit",
	"letterhead": "l'en-tête des courriers", "letter_template": "un modèle de courrier",
	"import_mapping": "la correspondance des colonnes", "workflow": "une exécution du moteur de suivi",
}

// auditLineOf writes a line of the log as a sentence: « Léa Martin a
// consulté le dossier de Paul Fournier ».
func auditLineOf(r postgres.AuditRow) auditLine {
	var detail map[string]any
	_ = json.Unmarshal([]byte(r.Detail), &detail)
	who := r.ActorName
	switch {
	case who != "":
	case r.Actor == "anonymous":
		who = "Une personne non connectée"
	case r.Actor == domain.System.ID:
		who = "Le service"
	case strings.HasPrefix(r.Actor, "cli:"):
		who = "L'exploitant (commande parcours, utilisateur " + strings.TrimPrefix(r.Actor, "cli:") + ")"
	default:
		who = "Le compte " + r.Actor
	}
	object := auditObjects[r.RecordType]
	if object == "" {
		object = r.RecordType
	}
	if r.Action == "rules_announced" {
		object = "tous les parcours en cours"
		if n, ok := detail["parcours"].(float64); ok {
			object = fmt.Sprintf("%.0f parcours en cours", n)
		}
	}
	if r.Subject != "" {
		object += " de " + r.Subject
	}
	var sentence string
	switch r.Action {
	case "login":
		sentence = who + " s'est connecté(e)"
	case "login_failed":
		sentence = "Connexion refusée au compte"
		if r.Subject != "" {
			sentence += " de " + r.Subject
		}
		if detail["unknown_email"] == true {
			sentence = "Connexion refusée : adresse inconnue"
		}
	case "denied":
		sentence = who + " s'est vu refuser l'accès à " + object
	case "password_change":
		sentence = who + " a changé son mot de passe"
	case "password_change_failed":
		sentence = who + " a tenté de changer son mot de passe (mot de passe actuel incorrect)"
	case "password_reset":
		sentence = who + " a réinitialisé le mot de passe du compte"
		if r.Subject != "" {
			sentence += " de " + r.Subject
		}
	default:
		verb := auditVerbs[r.Action]
		if verb == "" {
			verb = "a agi sur" // an action this page does not know yet: no code shown
		}
		sentence = who + " " + verb + " " + object
		if what, ok := detail["what"].(string); ok && r.Action == "update" {
			sentence += " (" + auditWhatFrench(what) + ")"
		}
	}
	line := auditLine{At: r.At, Sentence: sentence + "."}
	if src, ok := detail["source"].(string); ok {
		line.Source = src
	}
	if r.RecordType == "parcours" {
		line.Record = r.RecordID
	}
	return line
}

// auditWhats name what an update of a dossier recorded.
var auditWhats = map[string]string{
	"orientation": "orientation", "contract": "contrat", "reorientation_request": "demande de réorientation",
	"reorientation_decision": "décision de réorientation", "reassignment": "changement de référent",
	"obstacles": "freins", "review": "examen du parcours", "action": "action d'insertion",
	"action_outcome": "bilan d'une action", "follow_up": "suivi", "exit": "sortie", "relance": "relance",
	"breach": "signalement d'un manquement", "stock": "délai du stock", "orientation_notified": "notification de l'orientation",
	"notice": "courrier d'information", "notice_receipt": "réception du courrier", "hearing": "audition",
	"compliance": "mise en conformité", "legitimate_reason": "motif légitime", "decision": "décision de sanction",
	"decision_notified": "notification de la décision", "appeal": "recours", "appeal_decision": "décision sur le recours",
	"radiation": "radiation",
}

// auditWhatFrench names what an update of a dossier recorded.
func auditWhatFrench(what string) string {
	if l, ok := auditWhats[what]; ok {
		return l
	}
	return what
}
