package domain

import "strings"

// The French labels of the codes users choose or read, in one place: the
// pages, the CSV exports, the letters and the indicators use these, never
// the code itself (issue 23). A code without a label here prints as itself:
// TestEveryCodeHasItsFrenchLabel keeps every list complete.

var actionKindLabels = map[string]string{
	"training": "Formation", "employment_support": "Accompagnement vers l'emploi",
	"work_immersion": "Immersion professionnelle", "siae": "Insertion par l'activité économique (SIAE)",
	"social_support": "Accompagnement social", "health": "Santé", "housing": "Logement",
	"mobility": "Mobilité", "digital": "Numérique", "other": "Autre",
}

var outcomeLabels = map[string]string{
	OutcomeInsertionDurable:  "Insertion durable",
	OutcomeMiseEnParcoursPro: "Mise en parcours professionnel",
	OutcomeDynamique:         "Dynamique de parcours",
	OutcomeAutres:            "Autres motifs",
	// insertion durable (Hérault PDI, docs/domain.md)
	"work_contract_6_months_half_time": "Contrat de travail d'au moins 6 mois, à mi-temps au moins",
	"qualifying_training_450h":         "Formation qualifiante d'au moins 450 heures",
	"business_creation_1500_eur":       "Création d'entreprise (plus de 1 500 € sur 3 mois consécutifs)",
	// mise en parcours professionnel
	"short_or_part_time_contract":      "Contrat plus court ou à temps partiel",
	"short_or_pre_qualifying_training": "Formation courte ou préqualifiante",
	"business_creation":                "Création d'entreprise",
	"incubator":                        "Couveuse ou incubateur d'entreprise",
	"childminder_approval":             "Agrément d'assistant maternel",
	"foreign_diploma_validation":       "Validation d'un diplôme étranger",
	// dynamique de parcours
	"referral_other_action":   "Orientation vers une autre action",
	"referral_france_travail": "Orientation vers France Travail",
	"work_immersion":          "Immersion professionnelle",
	"skills_assessment":       "Bilan de compétences",
	"driving_licence":         "Permis de conduire",
	"digital_certificate":     "Certification numérique",
	"health_cover_opened":     "Ouverture de droits à la couverture santé",
	// autres motifs
	"other_benefit": "Autre prestation (ARE, AAH, retraite)", "dropped_out": "Abandon", "refused": "Refus",
	"moved": "Déménagement", "maternity": "Maternité", "hospital": "Hospitalisation", "death": "Décès",
	"prison": "Incarcération", "other": "Autre",
}

var followUpSituationLabels = map[string]string{
	"employment": "En emploi", "training": "En formation", "job_search": "En recherche d'emploi",
	"other_action": "Dans une autre action", "no_longer_looking": "Ne recherche plus d'emploi",
	"no_news": "Sans nouvelles", "other": "Autre situation",
}

var employmentKindLabels = map[string]string{
	"cdi": "CDI", "cdd_6_months_plus": "CDD de 6 mois ou plus", "cdd_under_6_months": "CDD de moins de 6 mois",
	"interim": "Intérim", "siae": "Contrat en SIAE", "subsidised_contract": "Contrat aidé",
	"self_employed": "Travailleur indépendant",
}

var exitReasonLabels = map[string]string{
	"end_of_rights": "Fin de droit au RSA", "suspended_by_payer": "Droit suspendu par l'organisme payeur",
	"moved": "Déménagement hors du Département", "income_above_threshold": "Plus soumis aux droits et devoirs (ressources)",
	"death": "Décès", "other": "Autre motif",
}

var obstacleLabels = map[string]string{
	"health": "Santé", "disability": "Handicap", "housing": "Logement", "family": "Situation familiale",
}

var relanceChannelLabels = map[string]string{
	"letter": "courrier", "email": "courriel", "phone": "téléphone", "sms": "SMS", "meeting": "rendez-vous",
}

var sanctionKindLabels = map[SanctionKind]string{
	SanctionNone: "Pas de sanction", SanctionSuspension: "Suspension", SanctionSuppression: "Suppression",
}

// ReviewStatuses are a sanction case's statuses, in the procedure's order.
var ReviewStatuses = []string{"reported", "awaiting_receipt", "observation", "awaiting_decision", "sanction", "remobilised", "sanction_ended",
	"radiation_proposed", "radiated", "closed_no_sanction", "closed_compliance", "closed_legitimate_reason", "annulled_on_appeal"}

var reviewStatusLabels = map[string]string{
	"reported": "signalé, courrier à envoyer", "awaiting_receipt": "courrier envoyé, réception à enregistrer", "observation": "délai d'observation", "awaiting_decision": "décision à prendre",
	"sanction": "sanction en cours", "remobilised": "remobilisé", "sanction_ended": "sanction terminée",
	"radiation_proposed": "radiation proposée", "radiated": "radié", "closed_no_sanction": "clos sans sanction",
	"closed_compliance": "clos : mise en conformité", "closed_legitimate_reason": "clos : motif légitime",
	"annulled_on_appeal": "annulé sur recours",
}

// ReviewStatusFrench is a sanction case's status, in French (ReviewStatuses).
func ReviewStatusFrench(code string) string { return label(reviewStatusLabels, code) }

func label[K ~string](labels map[K]string, code K) string {
	if l, ok := labels[code]; ok {
		return l
	}
	return string(code)
}

// ActionKindFrench is an action kind's label (ActionKinds).
func ActionKindFrench(code string) string { return label(actionKindLabels, code) }

// OutcomeFrench is the label of an action's outcome category or detail
// (OutcomeDetails).
func OutcomeFrench(code string) string { return label(outcomeLabels, code) }

// FollowUpSituationFrench is a follow-up situation's label (FollowUpSituations).
func FollowUpSituationFrench(code string) string { return label(followUpSituationLabels, code) }

// EmploymentKindFrench is an employment kind's label (EmploymentKinds).
func EmploymentKindFrench(code string) string { return label(employmentKindLabels, code) }

// ExitReasonFrench is an exit reason's label (ExitReasons).
func ExitReasonFrench(code string) string { return label(exitReasonLabels, code) }

// ObstacleFrench is an obstacle category's label (ObstacleCategories).
func ObstacleFrench(code string) string { return label(obstacleLabels, code) }

// RelanceChannelFrench is how a relance was sent, in French.
func RelanceChannelFrench(code string) string { return label(relanceChannelLabels, code) }

// French is the decision's label.
func (k SanctionKind) French() string { return label(sanctionKindLabels, k) }

// SpreadsheetSafe keeps a cell from being read as a formula by a
// spreadsheet (a name typed « =HYPERLINK(...) » in a file).
func SpreadsheetSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
