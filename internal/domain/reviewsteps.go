package domain

// Where a sanction case stands, for the queue and the case page: the
// procedure's steps (L262-37 CASF, décret 2025-478) and the next date due.

// ReviewSteps are the procedure's steps, in order: the breach report, the
// notice (facts and planned sanction), the observation period, the PCD's
// decision, its notification, the prior administrative appeal.
var ReviewSteps = []string{"Signalement", "Notification du courrier d'information", "Observations",
	"Décision", "Notification de la décision", "Recours administratif préalable"}

// ReviewStep is the number (1 to len(ReviewSteps)) of the step a case
// stands at, from its dates: a closed case shows the step it ended at.
func ReviewStep(v ReviewView) int {
	switch {
	case !v.DecisionNotifiedOn.IsZero():
		return 6
	case !v.DecidedOn.IsZero():
		return 5
	case v.Status == "awaiting_decision":
		return 4
	case !v.NoticeReceivedOn.IsZero():
		return 3
	case !v.NoticeSentOn.IsZero() || v.Status == "awaiting_receipt":
		return 2
	}
	return 1
}

// NextDue is what a case waits for, and the date it is due, when a legal
// delay sets one (zero otherwise: the step waits for the département).
type NextDue struct {
	What string
	On   Date
}

// ReviewNextDue is a case's next date due, from its dates and the legal
// delays: the observation period's last day (receipt of the notice + the
// scale's ObservationDays, L262-37 III CASF), the day a decision may be taken
// (the day after), the prior administrative appeal's last day (2 months
// from the decision's notification, R262-88 CASF), then the sanction's
// last day. The dates the case recorded (ObservationEndsOn, AppealDueOn)
// come first: its workflow follows them, and the queue sorts on them
// (postgres reviewSort); the delays serve when a view lacks them.
func ReviewNextDue(v ReviewView, today Date) NextDue {
	observationEnds := v.ObservationEndsOn
	if sc, ok := ScaleOn(v.NoticeReceivedOn); ok && !v.NoticeReceivedOn.IsZero() && observationEnds.IsZero() {
		observationEnds = v.NoticeReceivedOn.AddDays(sc.ObservationDays)
	}
	switch v.Status {
	case "reported":
		return NextDue{What: "courrier d'information à envoyer"}
	case "awaiting_receipt":
		return NextDue{What: "réception du courrier à enregistrer"}
	case "observation":
		return NextDue{What: "fin du délai d'observation", On: observationEnds}
	case "awaiting_decision":
		return NextDue{What: "décision possible depuis", On: observationEnds.AddDays(1)}
	case "sanction":
		if v.DecisionNotifiedOn.IsZero() {
			return NextDue{What: "notification de la décision à enregistrer"}
		}
		appeal := v.AppealDueOn
		if appeal.IsZero() {
			appeal = v.DecisionNotifiedOn.AddMonths(2)
		}
		if !today.After(appeal) {
			return NextDue{What: "fin du délai de recours", On: appeal}
		}
		return NextDue{What: "fin de la sanction", On: Decision{EffectiveOn: v.EffectiveOn, Months: v.Months}.EndsOn()}
	case "radiation_proposed":
		return NextDue{What: "radiation à décider"}
	}
	return NextDue{}
}
