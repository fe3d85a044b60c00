package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// SuspensionReview is one case of the escalation to sanction (L262-37,
// décret 2025-478), a child of the Parcours workflow: reported → notice to
// the person → observation period from the notice's receipt → decision on
// the scale in force → effect → remobilisation or end, then the RAPO window
// and, after a 4-month total suppression, the radiation path. Each step is
// dated, attributed and written to the read model (reviews, review_steps,
// tasks) by SyncReview.
const (
	SuspensionReviewWorkflow     = "SuspensionReview"
	SendNoticeUpdate             = "send_notice"              // domain.Notice
	RecordNoticeReceiptUpdate    = "record_notice_receipt"    // domain.NoticeReceipt
	RecordHearingUpdate          = "record_hearing"           // domain.Hearing
	RecordComplianceUpdate       = "record_compliance"        // domain.Compliance
	RecordLegitimateReasonUpdate = "record_legitimate_reason" // domain.LegitimateReason
	DecideReviewUpdate           = "decide"                   // domain.Decision
	RecordDecisionNotifiedUpdate = "record_decision_notified" // domain.DecisionNotice
	RecordAppealUpdate           = "record_appeal"            // domain.Appeal
	DecideAppealUpdate           = "decide_appeal"            // domain.AppealDecision
	DecideRadiationUpdate        = "decide_radiation"         // domain.RadiationDecision
	ReviewStateQuery             = "review_state"
	ComplianceSignal             = "compliance"  // parent → review: the contract was signed
	ReviewNewsSignal             = "review_news" // review → parent: ReviewNews
	SyncReviewActivity           = "SyncReview"
)

// Review statuses.
const (
	ReviewReported          = "reported"
	ReviewAwaitingReceipt   = "awaiting_receipt" // notice sent, its receipt date not known yet
	ReviewObservation       = "observation"
	ReviewAwaitingDecision  = "awaiting_decision"
	ReviewClosedLegitimate  = "closed_legitimate_reason"
	ReviewClosedCompliance  = "closed_compliance"
	ReviewClosedNoSanction  = "closed_no_sanction"
	ReviewSanction          = "sanction"
	ReviewRemobilised       = "remobilised"
	ReviewSanctionEnded     = "sanction_ended"
	ReviewRadiationProposed = "radiation_proposed"
	ReviewRadiated          = "radiated"
	ReviewAnnulled          = "annulled_on_appeal"
)

// Review task kinds (assigned to the département).
const (
	TaskSendNotice      domain.TaskKind = "send_notice"
	TaskRecordReceipt   domain.TaskKind = "record_notice_receipt"
	TaskDecideReview    domain.TaskKind = "decide_review"
	TaskDecideAppeal    domain.TaskKind = "decide_appeal"
	TaskDecideRadiation domain.TaskKind = "decide_radiation"
	// TaskRecordNotified: record when the person received the decision;
	// the RAPO window runs from it (R262-88 CASF).
	TaskRecordNotified domain.TaskKind = "record_decision_notified"
)

// ReviewWorkflowID is the workflow ID of case n of a parcours.
func ReviewWorkflowID(parcoursID string, n int) string {
	return fmt.Sprintf("review-%s-%d", parcoursID, n)
}

// ReviewID is the public identifier of case n of a parcours.
func ReviewID(parcoursID string, n int) string { return domain.ReviewID(parcoursID, n) }

// ReviewInput starts a case.
type ReviewInput struct {
	ParcoursID string                    `json:"parcours_id"`
	Number     int                       `json:"number"`
	Breach     domain.Breach             `json:"breach"`
	Repeat     bool                      `json:"repeat"` // an earlier sanction within the repeat window
	Settings   domain.EscalationSettings `json:"settings"`
}

// ReviewNews tells the parcours what became of its case.
type ReviewNews struct {
	Number    int         `json:"number"`
	Sanction  bool        `json:"sanction"` // a sanction was decided (counts for repeats)
	Closed    bool        `json:"closed"`
	On        domain.Date `json:"on"`
	Status    string      `json:"status"`
	Summary   string      `json:"summary"`
	Actor     string      `json:"actor,omitempty"`
	Remobilis bool        `json:"remobilised,omitempty"`
	Kind      string      `json:"kind,omitempty"` // the step's kind (decision_notified...)
}

// ReviewState and SyncReviewInput live in the domain, beside the views.
type (
	ReviewState     = domain.ReviewState
	SyncReviewInput = domain.SyncReviewInput
)

type reviewImpl struct {
	in     ReviewInput
	s      ReviewState
	logger log.Logger
	mu     workflow.Mutex
}

// SuspensionReview runs one case; see the package doc of this file.
func SuspensionReview(ctx workflow.Context, in ReviewInput) error {
	r := &reviewImpl{in: in, logger: log.With(workflow.GetLogger(ctx), "parcoursID", in.ParcoursID, "case", in.Number),
		mu: workflow.NewMutex(ctx), s: ReviewState{Status: ReviewReported, NextSeq: 1}}
	if err := r.setHandlers(ctx); err != nil {
		return err
	}
	now := workflow.Now(ctx)
	kind := "refus d'élaborer ou d'actualiser le contrat"
	if in.Breach.Kind == domain.BreachObligationsNotMet {
		kind = "obligation du contrat non respectée"
		if in.Breach.Obligation != "" { // reported before the obligation left the histories
			kind += " : " + in.Breach.Obligation
		}
	}
	repeat := ""
	if in.Repeat {
		repeat = " Récidive : une sanction antérieure est dans la fenêtre de récidive."
	}
	r.s.Version++
	r.step(now, "reported", in.Breach.ReportedOn, fmt.Sprintf("Manquement signalé le %s (%s).%s", in.Breach.ReportedOn.French(), kind, repeat), in.Breach.Recorded)
	r.openTask(TaskSendNotice, domain.Date{})
	if err := r.sync(ctx); err != nil {
		return err
	}
	compliance := workflow.GetSignalChannel(ctx, ComplianceSignal)
	// A case has no revision: it cancels its timers from its first wait run
	// live (see waiter).
	waits := newWaiter("timers-cancel-review", false)
	for !r.done(now) {
		seen := r.s.Version
		wake := func() bool { return r.s.Version != seen || compliance.Len() > 0 }
		if next, ok := r.nextWake(workflow.Now(ctx)); ok {
			if err := waits.until(ctx, next, wake); err != nil {
				return err
			}
		} else if err := workflow.Await(ctx, wake); err != nil {
			return err
		}
		now = workflow.Now(ctx)
		var c domain.Compliance
		for compliance.ReceiveAsync(&c) {
			if r.validateCompliance(ctx, c) == nil {
				r.comply(ctx, now, c)
			}
		}
		r.advance(now)
		if r.s.Version != seen {
			if err := r.sync(ctx); err != nil {
				return err
			}
		}
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	return r.sync(ctx)
}

// RegisterReviewOptions registers SuspensionReview under its stable name.
func RegisterReviewOptions() workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: SuspensionReviewWorkflow}
}

func (r *reviewImpl) setHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, ReviewStateQuery, func() (ReviewState, error) { return r.s, nil }); err != nil {
		return err
	}
	for _, h := range []struct {
		name               string
		handler, validator any
	}{
		{SendNoticeUpdate, r.sendNotice, r.validateNotice},
		{RecordNoticeReceiptUpdate, r.recordNoticeReceipt, r.validateNoticeReceipt},
		{RecordHearingUpdate, r.recordHearing, r.validateHearing},
		{RecordComplianceUpdate, r.recordCompliance, r.validateCompliance},
		{RecordLegitimateReasonUpdate, r.recordLegitimate, r.validateLegitimate},
		{DecideReviewUpdate, r.decide, r.validateDecision},
		{RecordDecisionNotifiedUpdate, r.recordDecisionNotified, r.validateDecisionNotified},
		{RecordAppealUpdate, r.recordAppeal, r.validateAppeal},
		{DecideAppealUpdate, r.decideAppeal, r.validateAppealDecision},
		{DecideRadiationUpdate, r.decideRadiation, r.validateRadiation},
		{ResyncUpdate, r.resync, validateResync},
	} {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, h.name, h.handler, workflow.UpdateHandlerOptions{Validator: h.validator}); err != nil {
			return err
		}
	}
	return nil
}

func (r *reviewImpl) closed() bool {
	switch r.s.Status {
	case ReviewClosedLegitimate, ReviewClosedCompliance, ReviewClosedNoSanction, ReviewRadiated, ReviewAnnulled:
		return true
	}
	return false
}

// done: closed, or the sanction is over and the appeal window passed with
// no appeal pending and no radiation step pending.
func (r *reviewImpl) done(now time.Time) bool {
	if r.closed() {
		return true
	}
	over := r.s.Status == ReviewRemobilised || r.s.Status == ReviewSanctionEnded
	appealOpen := r.s.Appeal != nil && r.s.AppealDecision == nil
	return over && !appealOpen && !r.s.AppealDueOn.IsZero() && !now.Before(r.s.AppealDueOn.AddDays(1).Time())
}

// nextWake is the next future instant a date of the case passes.
func (r *reviewImpl) nextWake(now time.Time) (time.Time, bool) {
	var next time.Time
	consider := func(d domain.Date) {
		if d.IsZero() {
			return
		}
		if t := d.AddDays(1).Time(); t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	switch r.s.Status {
	case ReviewObservation:
		consider(r.s.ObservationEnds)
	case ReviewSanction:
		consider(r.s.Decision.EndsOn())
	}
	if r.s.Status == ReviewRemobilised || r.s.Status == ReviewSanctionEnded || r.s.Status == ReviewSanction {
		consider(r.s.AppealDueOn)
	}
	return next, !next.IsZero()
}

// advance moves the case along its dates.
func (r *reviewImpl) advance(now time.Time) {
	today := domain.DateOf(now)
	if r.s.Status == ReviewObservation && today.After(r.s.ObservationEnds) {
		r.s.Version++
		r.s.Status = ReviewAwaitingDecision
		r.openTask(TaskDecideReview, domain.Date{})
		r.step(now, "observation_ended", r.s.ObservationEnds.AddDays(1), fmt.Sprintf(
			"Fin du délai d'observation le %s : la décision peut être prise.", r.s.ObservationEnds.French()), domain.Recorded{})
	}
	if r.s.Status == ReviewSanction && today.After(r.s.Decision.EndsOn()) {
		r.s.Version++
		d := r.s.Decision
		r.s.Status = ReviewSanctionEnded
		summary := fmt.Sprintf("Fin de la sanction le %s.", d.EndsOn().French())
		if d.Kind == domain.SanctionSuppression && d.Percent == 100 && d.Months >= 4 {
			// R262-68-6: after a 4-month total suppression, the radiation path.
			r.s.Status = ReviewRadiationProposed
			r.openTask(TaskDecideRadiation, domain.Date{})
			summary += " Suppression totale de 4 mois sans remobilisation : radiation de France Travail proposée (décision du Département)."
		}
		r.step(now, "sanction_ended", d.EndsOn().AddDays(1), summary, domain.Recorded{})
	}
}

// ---- steps -----------------------------------------------------------------

func (r *reviewImpl) conflictIf(cond bool, format string, args ...any) error {
	if cond {
		return conflict(format, args...)
	}
	return nil
}

func (r *reviewImpl) validateNotice(ctx workflow.Context, n domain.Notice) error {
	if err := r.conflictIf(r.closed(), "Le dossier est clos (%s).", r.s.Status); err != nil {
		return err
	}
	return r.conflictIf(r.s.Notice != nil, "Le courrier d'information a déjà été envoyé le %s.", r.noticeSent())
}

func (r *reviewImpl) noticeSent() string {
	if r.s.Notice == nil {
		return ""
	}
	return r.s.Notice.SentOn.French()
}

func (r *reviewImpl) sendNotice(ctx workflow.Context, n domain.Notice) (UpdateResult, error) {
	now := workflow.Now(ctx)
	r.s.Version++
	r.s.Notice = &n
	r.doneTask(now, TaskSendNotice)
	letter, how := "", ""
	if n.Letter != nil {
		letter = " n° " + n.Letter.Number
	}
	if m, ok := domain.LetterModes[n.Mode]; ok {
		how = " par " + m
	}
	planned := fmt.Sprintf("faits reprochés et sanction envisagée (%s de %d %% pendant %d mois)", n.PlannedKind, n.PlannedPercent, n.PlannedMonths)
	if n.ReceivedOn.IsZero() {
		// The observation period runs from a certain receipt date (L262-37
		// III): until it is recorded, nothing can be decided.
		r.s.Status = ReviewAwaitingReceipt
		r.openTask(TaskRecordReceipt, domain.Date{})
		r.step(now, "notice_sent", n.SentOn, fmt.Sprintf("Courrier%s envoyé le %s%s : %s. Le délai d'observation courra de sa réception.",
			letter, n.SentOn.French(), how, planned), n.Recorded)
		return r.written(ctx)
	}
	days := r.startObservation(n.ReceivedOn)
	r.step(now, "notice_sent", n.SentOn, fmt.Sprintf(
		"Courrier%s envoyé le %s%s, reçu le %s : %s. Observations possibles jusqu'au %s (%d jours après réception, L262-37 III).",
		letter, n.SentOn.French(), how, n.ReceivedOn.French(), planned, r.s.ObservationEnds.French(), days), n.Recorded)
	r.advance(now)
	return r.written(ctx)
}

// startObservation opens the observation period from the notice's receipt;
// it says how many days the scale in force on that date gives.
func (r *reviewImpl) startObservation(receivedOn domain.Date) int {
	sc, ok := domain.ScaleOn(receivedOn)
	days := 30 // before June 2025: at most one month
	if ok {
		days = sc.ObservationDays
	}
	r.s.Notice.ReceivedOn = receivedOn
	r.s.ObservationEnds = receivedOn.AddDays(days)
	r.s.Status = ReviewObservation
	return days
}

func (r *reviewImpl) validateNoticeReceipt(ctx workflow.Context, rc domain.NoticeReceipt) error {
	switch {
	case r.s.Notice == nil:
		return conflict("Aucun courrier d'information n'a été envoyé.")
	case !r.s.Notice.ReceivedOn.IsZero():
		return conflict("La réception du courrier est déjà enregistrée (le %s).", r.s.Notice.ReceivedOn.French())
	case rc.ReceivedOn.Before(r.s.Notice.SentOn):
		return invalid("received_on", "La réception précède l'envoi (%s).", r.s.Notice.SentOn.French())
	}
	return nil
}

func (r *reviewImpl) recordNoticeReceipt(ctx workflow.Context, rc domain.NoticeReceipt) (UpdateResult, error) {
	now := workflow.Now(ctx)
	r.s.Version++
	heard := r.s.Status != ReviewAwaitingReceipt // heard meanwhile, or closed
	status := r.s.Status
	days := r.startObservation(rc.ReceivedOn)
	r.doneTask(now, TaskRecordReceipt)
	if heard {
		r.s.Status = status
	}
	r.step(now, "notice_received", rc.ReceivedOn, fmt.Sprintf(
		"Courrier d'information reçu le %s : observations possibles jusqu'au %s (%d jours après réception, L262-37 III).",
		rc.ReceivedOn.French(), r.s.ObservationEnds.French(), days), rc.Recorded)
	r.advance(now)
	return r.written(ctx)
}

func (r *reviewImpl) validateHearing(ctx workflow.Context, h domain.Hearing) error {
	if err := r.conflictIf(r.s.Notice == nil, "La personne est entendue après l'envoi du courrier d'information."); err != nil {
		return err
	}
	return r.conflictIf(r.s.Decision != nil || r.closed(), "La décision est déjà prise.")
}

func (r *reviewImpl) recordHearing(ctx workflow.Context, h domain.Hearing) (UpdateResult, error) {
	now := workflow.Now(ctx)
	r.s.Version++
	r.s.Hearing = &h
	assisted := ""
	if h.Assisted {
		assisted = ", assistée"
	}
	r.step(now, "hearing", h.On, fmt.Sprintf("Personne entendue le %s%s.", h.On.French(), assisted), h.Recorded)
	if r.s.Status == ReviewObservation || r.s.Status == ReviewAwaitingReceipt {
		r.s.Status = ReviewAwaitingDecision
		r.openTask(TaskDecideReview, domain.Date{})
	}
	return r.written(ctx)
}

func (r *reviewImpl) validateCompliance(ctx workflow.Context, c domain.Compliance) error {
	if err := r.conflictIf(r.closed() || r.s.Status == ReviewRemobilised || r.s.Status == ReviewSanctionEnded || r.s.Status == ReviewRadiationProposed,
		"Le dossier n'attend plus de mise en conformité (%s).", r.s.Status); err != nil {
		return err
	}
	return nil
}

func (r *reviewImpl) recordCompliance(ctx workflow.Context, c domain.Compliance) (UpdateResult, error) {
	r.comply(ctx, workflow.Now(ctx), c)
	return r.written(ctx)
}

// comply: before the decision, the case closes without sanction; during a
// sanction, it ends early and withheld sums are paid back (L262-37 I, R262-68).
func (r *reviewImpl) comply(ctx workflow.Context, now time.Time, c domain.Compliance) {
	r.s.Version++
	r.s.Compliance = &c
	how := map[string]string{"contract_signed": "contrat signé", "obligation_met": "obligation remplie"}[c.How]
	// Version 1 of "suppression-no-payback" (issue 22): compliance during a
	// suppression pays nothing back; only a suspension's withheld months
	// are (R262-68-1 CASF). Asked only on a suppression, so that no other
	// case records the marker.
	if r.s.Status == ReviewSanction && r.s.Decision.Kind != domain.SanctionSuspension &&
		workflow.GetVersion(ctx, "suppression-no-payback", workflow.DefaultVersion, 1) >= 1 {
		r.s.Status = ReviewRemobilised
		r.s.PaybackMonths, r.s.PaybackCents = r.s.Decision.Refunded(c.On, r.in.Settings.PaybackCapMonths)
		r.step(now, "remobilised", c.On, fmt.Sprintf(
			"Mise en conformité le %s (%s) : la suppression prend fin ; rien n'est remboursé, seule une suspension l'est à la remobilisation (R262-68-1 CASF).",
			c.On.French(), how), c.Recorded)
		return
	}
	if r.s.Status == ReviewSanction {
		r.s.Status = ReviewRemobilised
		r.s.PaybackMonths, r.s.PaybackCents = r.s.Decision.Payback(c.On, r.in.Settings.PaybackCapMonths)
		r.step(now, "remobilised", c.On, fmt.Sprintf(
			"Remobilisation le %s (%s) : la sanction prend fin ; à rembourser %d mois, soit %s (R262-68-1 CASF ; plafond de %d mois, réglage à vérifier).",
			c.On.French(), how, r.s.PaybackMonths, euros(r.s.PaybackCents), r.in.Settings.PaybackCapMonths), c.Recorded)
		return
	}
	r.s.Status = ReviewClosedCompliance
	r.cancelTasks(now)
	r.step(now, "complied", c.On, fmt.Sprintf("Mise en conformité le %s (%s) : dossier clos sans sanction.", c.On.French(), how), c.Recorded)
}

func euros(cents int64) string { return fmt.Sprintf("%d,%02d €", cents/100, cents%100) }

func (r *reviewImpl) validateLegitimate(ctx workflow.Context, l domain.LegitimateReason) error {
	return r.conflictIf(r.closed() || r.s.Decision != nil, "Le motif légitime s'examine avant la décision (%s).", r.s.Status)
}

func (r *reviewImpl) recordLegitimate(ctx workflow.Context, l domain.LegitimateReason) (UpdateResult, error) {
	now := workflow.Now(ctx)
	r.s.Version++
	r.s.Legitimate = &l
	r.s.Status = ReviewClosedLegitimate
	r.cancelTasks(now)
	r.step(now, "legitimate_reason", l.On, fmt.Sprintf("Motif légitime reconnu le %s (%s) : dossier clos sans sanction.", l.On.French(), l.Reason), l.Recorded)
	return r.written(ctx)
}

func (r *reviewImpl) validateDecision(ctx workflow.Context, d domain.Decision) error {
	if err := r.conflictIf(r.closed() || r.s.Decision != nil, "Le dossier est déjà décidé ou clos (%s).", r.s.Status); err != nil {
		return err
	}
	if d.Kind != domain.SanctionNone {
		switch {
		case r.s.Notice == nil:
			return conflict("Aucune sanction avant l'envoi du courrier d'information à la personne (L262-37 III).")
		case r.s.Status == ReviewAwaitingReceipt:
			return conflict("La réception du courrier d'information n'est pas enregistrée : le délai d'observation n'a pas commencé (L262-37 III).")
		case r.s.Status == ReviewObservation && r.s.Hearing == nil:
			return conflict("Le délai d'observation court jusqu'au %s : la décision attend sa fin, sauf si la personne a été entendue.", r.s.ObservationEnds.French())
		}
	}
	if d.Kind != domain.SanctionNone {
		// The decision's own dates, not only the case's state when it is
		// recorded (issue 22): refusing more here changes no replay.
		var heard domain.Date
		if r.s.Hearing != nil {
			heard = r.s.Hearing.On
		}
		if err := domain.CheckProcedure(d.DecidedOn, r.s.Notice.ReceivedOn, r.s.ObservationEnds, heard); err != nil {
			return rejection(err)
		}
	}
	today := domain.DateOf(workflow.Now(ctx))
	sc, ok := domain.ScaleOn(d.DecidedOn)
	if !ok {
		return invalid("decided_on", "Le barème antérieur au 1er juin 2025 n'est pas pris en charge.")
	}
	return rejection(sc.Check(d, r.in.Repeat, today))
}

// rejection makes a domain error the update's refusal.
func rejection(err error) error {
	var derr *domain.Error
	if errors.As(err, &derr) {
		return Rejection(derr)
	}
	return err
}

func (r *reviewImpl) decide(ctx workflow.Context, d domain.Decision) (UpdateResult, error) {
	now := workflow.Now(ctx)
	r.s.Version++
	r.s.Decision = &d
	// Version 1 of "rapo-from-notification" (issue 22): the two months of
	// the prior administrative appeal run from the decision's notification
	// only (R262-88 CASF); until it is recorded, the window has not started.
	// Before it, they ran from the decision until a notification came.
	fromNotification := workflow.GetVersion(ctx, "rapo-from-notification", workflow.DefaultVersion, 1) >= 1
	if !fromNotification {
		r.s.AppealDueOn = d.DecidedOn.AddMonths(2)
	}
	r.doneTask(now, TaskDecideReview)
	r.doneTask(now, TaskSendNotice)
	r.doneTask(now, TaskRecordReceipt)
	if d.Kind == domain.SanctionNone {
		r.s.Status = ReviewClosedNoSanction
		r.step(now, "decided", d.DecidedOn, fmt.Sprintf("Décision du %s : pas de sanction.", d.DecidedOn.French()), d.Recorded)
		return r.written(ctx)
	}
	r.s.Status = ReviewSanction
	appeal := fmt.Sprintf("Recours administratif préalable possible jusqu'au %s.", r.s.AppealDueOn.French())
	if fromNotification {
		r.openTask(TaskRecordNotified, domain.Date{})
		appeal = "Recours administratif préalable possible dans les 2 mois de la notification de la décision (R262-88 CASF) : notification non enregistrée."
	}
	r.step(now, "decided", d.DecidedOn, fmt.Sprintf(
		"Décision du %s : %s de %d %% du RSA pendant %d mois, du %s au %s (%s par mois). %s",
		d.DecidedOn.French(), d.Kind, d.Percent, d.Months, d.EffectiveOn.French(), d.EndsOn().French(), euros(d.WithheldPerMonth()), appeal), d.Recorded)
	r.advance(now)
	return r.written(ctx)
}

func (r *reviewImpl) validateDecisionNotified(ctx workflow.Context, n domain.DecisionNotice) error {
	switch {
	case r.s.Decision == nil:
		return conflict("Aucune décision n'est enregistrée sur ce dossier.")
	case !r.s.NotifiedOn.IsZero():
		return conflict("La notification de la décision est déjà enregistrée (reçue le %s).", r.s.NotifiedOn.French())
	case n.NotifiedOn.Before(r.s.Decision.DecidedOn):
		return invalid("notified_on", "La notification précède la décision (%s).", r.s.Decision.DecidedOn.French())
	}
	return nil
}

// recordDecisionNotified: the two months of the prior administrative
// appeal run from the notification, as the decision letter says.
func (r *reviewImpl) recordDecisionNotified(ctx workflow.Context, n domain.DecisionNotice) (UpdateResult, error) {
	now := workflow.Now(ctx)
	r.s.Version++
	r.s.NotifiedOn = n.NotifiedOn
	r.s.AppealDueOn = n.NotifiedOn.AddMonths(2)
	r.doneTask(now, TaskRecordNotified)
	r.step(now, "decision_notified", n.NotifiedOn, fmt.Sprintf("Décision notifiée le %s : recours administratif préalable possible jusqu'au %s (2 mois, R262-88 CASF).",
		n.NotifiedOn.French(), r.s.AppealDueOn.French()), n.Recorded)
	return r.written(ctx)
}

func (r *reviewImpl) validateAppeal(ctx workflow.Context, a domain.Appeal) error {
	switch {
	case r.s.Decision == nil || r.s.Decision.Kind == domain.SanctionNone:
		return conflict("Aucune sanction à contester.")
	case r.s.Appeal != nil:
		return conflict("Un recours est déjà enregistré (le %s).", r.s.Appeal.FiledOn.French())
	case a.FiledOn.Before(r.s.Decision.DecidedOn):
		return invalid("filed_on", "Le recours ne peut précéder la décision du %s.", r.s.Decision.DecidedOn.French())
	case r.s.NotifiedOn.IsZero():
		// The window runs from the notification (R262-88 CASF): not
		// recorded, it has not started, and an appeal is in time.
	case a.FiledOn.After(r.s.AppealDueOn):
		return conflict("Le délai de recours administratif préalable a expiré le %s (2 mois après la notification de la décision le %s, R262-88 CASF).",
			r.s.AppealDueOn.French(), r.s.NotifiedOn.French())
	}
	return nil
}

func (r *reviewImpl) recordAppeal(ctx workflow.Context, a domain.Appeal) (UpdateResult, error) {
	now := workflow.Now(ctx)
	r.s.Version++
	r.s.Appeal = &a
	r.openTask(TaskDecideAppeal, domain.Date{})
	r.step(now, "appeal", a.FiledOn, fmt.Sprintf("Recours administratif préalable (RAPO) reçu le %s.", a.FiledOn.French()), a.Recorded)
	return r.written(ctx)
}

func (r *reviewImpl) validateAppealDecision(ctx workflow.Context, a domain.AppealDecision) error {
	return r.conflictIf(r.s.Appeal == nil || r.s.AppealDecision != nil, "Aucun recours n'attend de décision.")
}

func (r *reviewImpl) decideAppeal(ctx workflow.Context, a domain.AppealDecision) (UpdateResult, error) {
	now := workflow.Now(ctx)
	r.s.Version++
	r.s.AppealDecision = &a
	r.doneTask(now, TaskDecideAppeal)
	summary := fmt.Sprintf("Recours décidé le %s : sanction maintenue.", a.DecidedOn.French())
	if a.Outcome == "annulled" {
		r.s.Status = ReviewAnnulled
		r.cancelTasks(now)
		summary = fmt.Sprintf("Recours décidé le %s : sanction annulée.", a.DecidedOn.French())
	}
	r.step(now, "appeal_decided", a.DecidedOn, summary, a.Recorded)
	return r.written(ctx)
}

func (r *reviewImpl) validateRadiation(ctx workflow.Context, d domain.RadiationDecision) error {
	if r.s.Status != ReviewRadiationProposed {
		return conflict("Aucune radiation n'est proposée pour ce dossier.")
	}
	if d.Step == "rsa_right" && !r.radiated("france_travail") {
		return conflict("La fin du droit au RSA suit la radiation de France Travail.")
	}
	if r.radiated(d.Step) {
		return conflict("Cette étape est déjà décidée.")
	}
	return nil
}

func (r *reviewImpl) radiated(step string) bool {
	for _, x := range r.s.Radiation {
		if x.Step == step && x.Decided {
			return true
		}
	}
	return false
}

func (r *reviewImpl) decideRadiation(ctx workflow.Context, d domain.RadiationDecision) (UpdateResult, error) {
	now := workflow.Now(ctx)
	r.s.Version++
	r.s.Radiation = append(r.s.Radiation, d)
	what := map[string]string{"france_travail": "radiation de France Travail", "rsa_right": "fin du droit au RSA"}[d.Step]
	switch {
	case !d.Decided:
		r.s.Status = ReviewSanctionEnded
		r.doneTask(now, TaskDecideRadiation)
		r.step(now, "radiation_declined", d.DecidedOn, fmt.Sprintf("Le Département ne prononce pas la %s (%s).", what, d.DecidedOn.French()), d.Recorded)
	case d.Step == "rsa_right":
		r.s.Status = ReviewRadiated
		r.doneTask(now, TaskDecideRadiation)
		r.step(now, "radiated", d.DecidedOn, fmt.Sprintf("Décision du %s : %s.", d.DecidedOn.French(), what), d.Recorded)
	default:
		r.step(now, "radiation_france_travail", d.DecidedOn, fmt.Sprintf(
			"Décision du %s : %s. Sans mise en conformité, la fin du droit au RSA peut suivre.", d.DecidedOn.French(), what), d.Recorded)
	}
	return r.written(ctx)
}

// ---- tasks, timeline, writes ---------------------------------------------

func (r *reviewImpl) openTask(kind domain.TaskKind, due domain.Date) {
	for _, t := range r.s.Tasks {
		if t.Kind == kind {
			return
		}
	}
	r.s.Tasks = append(r.s.Tasks, TaskState{Kind: kind, Cycle: r.in.Number, Status: domain.TaskOpen, DueOn: due, Rev: r.s.Version})
}

func (r *reviewImpl) doneTask(now time.Time, kind domain.TaskKind) {
	for i := range r.s.Tasks {
		if t := &r.s.Tasks[i]; t.Kind == kind && t.Status == domain.TaskOpen {
			t.Status, t.DoneAt, t.Rev = domain.TaskDone, now, r.s.Version
		}
	}
}

func (r *reviewImpl) cancelTasks(now time.Time) {
	for i := range r.s.Tasks {
		if t := &r.s.Tasks[i]; t.Status == domain.TaskOpen {
			t.Status, t.Rev = domain.TaskCancelled, r.s.Version
		}
	}
}

func (r *reviewImpl) step(now time.Time, kind string, on domain.Date, summary string, by domain.Recorded) {
	r.s.Unsynced = append(r.s.Unsynced, Event{Seq: r.s.NextSeq, Kind: kind, OccurredOn: on, At: now, Summary: summary, Actor: by.RecordedBy, NoteID: by.NoteID})
	r.s.NextSeq++
}

func (r *reviewImpl) written(ctx workflow.Context) (UpdateResult, error) {
	if err := r.sync(ctx); err != nil {
		return UpdateResult{}, err
	}
	return UpdateResult{Version: r.s.Version, Ref: r.in.Number}, nil
}

// sync writes the case and tells the parcours what changed for it.
func (r *reviewImpl) sync(ctx workflow.Context) error {
	if err := r.mu.Lock(ctx); err != nil {
		return err
	}
	defer r.mu.Unlock()
	in := SyncReviewInput{
		ReviewID: ReviewID(r.in.ParcoursID, r.in.Number), ParcoursID: r.in.ParcoursID, Number: r.in.Number,
		Breach: r.in.Breach, Repeat: r.in.Repeat, State: r.s, Steps: append([]Event(nil), r.s.Unsynced...),
	}
	in.State.Unsynced = nil
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	})
	if err := workflow.ExecuteActivity(actx, SyncReviewActivity, in).Get(ctx, nil); err != nil {
		r.logger.Error("review write failed", "error", err)
		return err
	}
	for _, e := range in.Steps {
		news := ReviewNews{Number: r.in.Number, On: e.OccurredOn, Status: r.s.Status, Summary: e.Summary, Actor: e.Actor,
			Sanction:  e.Kind == "decided" && r.s.Decision != nil && r.s.Decision.Kind != domain.SanctionNone,
			Closed:    r.closed() || r.s.Status == ReviewRemobilised || r.s.Status == ReviewSanctionEnded,
			Remobilis: e.Kind == "remobilised", Kind: e.Kind}
		if e.Kind == "reported" {
			continue // the parcours recorded the report itself
		}
		if err := workflow.SignalExternalWorkflow(ctx, ParcoursWorkflowID(r.in.ParcoursID), "", ReviewNewsSignal, news).Get(ctx, nil); err != nil {
			r.logger.Warn("parcours not told of the case's step", "error", err)
		}
	}
	r.s.Unsynced = r.s.Unsynced[len(in.Steps):]
	return nil
}
