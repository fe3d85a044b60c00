package domain

import (
	"maps"
	"slices"
)

// taskKindLabels are the task kinds' labels in the web pages and the digests.
var taskKindLabels = map[TaskKind]string{
	TaskOrient: "Orienter", TaskSignContract: "Signer le contrat", TaskRenewContract: "Renouveler le contrat",
	TaskReviewSocial: "Examiner le parcours social", TaskDecideReorientation: "Décider de la réorientation",
	TaskCloseAction: "Bilan de l'action", TaskFollowUp3: "Suivi à 3 mois", TaskFollowUp6: "Suivi à 6 mois",
	TaskRelance1: "1re relance", TaskAwaitFranceTravail: "Orientation par France Travail attendue", TaskRelance2: "2e relance", TaskProposeBreach: "Signaler le manquement ?",
	"send_notice": "Envoyer le courrier d'information", "record_notice_receipt": "Enregistrer la réception du courrier", "decide_review": "Décider de la sanction",
	"decide_appeal": "Décider du recours", "decide_radiation": "Décider de la radiation",
	"record_decision_notified": "Enregistrer la notification de la décision",
	TaskStockContract:          "Signer le contrat d'engagement (accompagné au 01/01/2025)",
}

// French is the label of a task kind in the web pages and the digests.
func (k TaskKind) French() string {
	if s, ok := taskKindLabels[k]; ok {
		return s
	}
	return string(k)
}

// TaskKinds lists the task kinds that have a label, by code (a list sorts
// on their labels).
func TaskKinds() []TaskKind { return slices.Sorted(maps.Keys(taskKindLabels)) }
