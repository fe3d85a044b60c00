package workflows

import (
	"cmp"
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// Each command has a validator (runs before the update is accepted: a
// refusal records nothing) and a handler (changes the state, writes the
// read model, answers). Validators refuse with 409 for what the parcours'
// state does not allow and 400 for values that contradict it.

func conflict(format string, args ...any) error {
	return Rejection(domain.Errorf(domain.ECONFLICT, format, args...))
}

func invalid(field, format string, args ...any) error {
	return Rejection(domain.FieldError(field, format, args...))
}

func notFound(format string, args ...any) error {
	return Rejection(domain.Errorf(domain.ENOTFOUND, format, args...))
}

func (p *parcoursImpl) refuseIfExited() error {
	if p.s.Status == domain.StatusExited {
		return conflict("Le parcours est clos depuis le %s : plus rien ne peut y être enregistré, hormis les suivis.", p.s.Exit.On.French())
	}
	return nil
}

func (p *parcoursImpl) refuseIfNotOriented() error {
	if err := p.refuseIfExited(); err != nil {
		return err
	}
	if p.s.Orientation == nil {
		return conflict("Le bénéficiaire n'est pas encore orienté.")
	}
	return nil
}

// written runs a handler's change and writes it: the common tail of every
// handler.
func (p *parcoursImpl) written(ctx workflow.Context, ref int) (UpdateResult, error) {
	p.settle(workflow.Now(ctx))
	if err := p.sync(ctx); err != nil {
		return UpdateResult{}, err
	}
	return p.result(ref), nil
}

// ---- orientation ---------------------------------------------------------

func (p *parcoursImpl) validateOrientation(ctx workflow.Context, o domain.Orientation) error {
	if p.s.Orientation != nil && p.s.Orientations <= 1 && p.s.Orientation.Same(o) {
		return nil // the same request again: answered without change
	}
	if err := p.refuseIfExited(); err != nil {
		return err
	}
	if p.s.Status != domain.StatusAwaitingOrientation {
		return conflict("Le parcours est déjà orienté (décision du %s) : une réorientation se demande séparément.",
			p.s.Orientation.DecidedOn.French())
	}
	// A département decision taken in time but recorded late still stands.
	if p.s.HandedOver && o.DecidedBy != domain.DecidedByFranceTravail && o.DecidedOn.After(p.s.HandOverAfter) {
		return conflict("Six semaines ont passé sans orientation le %s : la décision revient à France Travail (D262-65-2 CASF). Enregistrez son orientation avec decided_by = france_travail.",
			p.s.HandOverAfter.French())
	}
	if o.DecidedOn.Before(p.s.Facts.EnteredOn) {
		return invalid("decided_on", "La décision d'orientation ne peut précéder l'entrée en droits et devoirs (%s).", p.s.Facts.EnteredOn.French())
	}
	return nil
}

func (p *parcoursImpl) recordOrientation(ctx workflow.Context, o domain.Orientation) (UpdateResult, error) {
	if p.s.Orientation != nil && p.s.Orientation.Same(o) {
		return p.result(0), nil
	}
	p.applyOrientation(workflow.Now(ctx), o)
	return p.written(ctx, 0)
}

// applyOrientation records an orientation in the state (the update, and a
// reprise's start).
func (p *parcoursImpl) applyOrientation(now time.Time, o domain.Orientation) {
	p.begin()
	p.s.Orientation = &o
	p.s.Orientations++
	p.s.OrientationRows = append(p.s.OrientationRows, OrientationRow{Seq: p.s.Orientations, Orientation: o, Rev: p.s.Version})
	p.s.Facts.Orient(o)
	p.s.Status = domain.StatusAwaitingContract
	p.closeDeadlines(domain.DeadlineMet, o.DecidedOn, func(d DeadlineState) bool { return d.Kind == domain.DeadlineOrientation })
	p.closeTasks(domain.TaskDone, now, func(t TaskState) bool {
		return t.Kind == domain.TaskOrient || t.Kind == domain.TaskAwaitFranceTravail
	})
	if d, ok := p.law(domain.DeadlineContract); ok {
		p.addDeadline(d, 1, domain.TaskSignContract, domain.Date{})
	}
	p.openTask(domain.TaskSignContract, 1, o.ReferentID)
	by := ""
	if o.DecidedBy == domain.DecidedByFranceTravail {
		by = " par France Travail"
	}
	p.addEvent(now, EventOrientationRecord, o.DecidedOn, fmt.Sprintf(
		"Orientation décidée%s le %s : parcours %s, organisme référent %s, référent %s.",
		by, o.DecidedOn.French(), o.Track.French(), cmp.Or(o.Organism, "non renseigné"), cmp.Or(o.ReferentID, "à désigner")), o.Recorded)
	p.placeStock(now)
}

// validateOrientationNotified: the notification of the orientation in
// force, once, not before its decision.
func (p *parcoursImpl) validateOrientationNotified(ctx workflow.Context, n domain.OrientationNotice) error {
	if err := p.refuseIfNotOriented(); err != nil {
		return err
	}
	o := p.s.Orientation
	switch {
	case !o.NotifiedOn.IsZero() && !o.NotifiedAssumed:
		if o.NotifiedOn == n.NotifiedOn {
			return nil // the same again
		}
		return conflict("La notification de l'orientation du %s est déjà enregistrée (le %s).", o.DecidedOn.French(), o.NotifiedOn.French())
	case n.NotifiedOn.Before(o.DecidedOn):
		return invalid("notified_on", "La notification de l'orientation ne peut précéder sa décision (%s).", o.DecidedOn.French())
	}
	return nil
}

// recordOrientationNotified: the orientation letter's receipt. The 2025
// contract month runs from it (D5411-14-1 code du travail): the legal
// contract deadline still open moves to a month after it.
func (p *parcoursImpl) recordOrientationNotified(ctx workflow.Context, n domain.OrientationNotice) (UpdateResult, error) {
	if o := p.s.Orientation; !o.NotifiedAssumed && o.NotifiedOn == n.NotifiedOn {
		return p.result(0), nil
	}
	now := workflow.Now(ctx)
	p.begin()
	o := *p.s.Orientation
	o.NotifiedOn, o.NotifiedAssumed = n.NotifiedOn, false
	p.s.Orientation = &o
	p.s.Facts.Orient(o)
	due, reopened := "", false
	if law, ok := p.law(domain.DeadlineContract); ok {
		for i := range p.s.Deadlines {
			d := &p.s.Deadlines[i]
			if d.Kind == domain.DeadlineContract && d.Basis == domain.BasisLegal && open(d.Status) {
				reopened = reopened || d.Status == domain.DeadlineOverdue && now.Before(law.DueOn.AddDays(1).TimeIn(p.zone()))
				d.Deadline, d.Status, d.OverdueAt, d.Rev = law, domain.DeadlinePending, time.Time{}, p.s.Version
				due = fmt.Sprintf(" : contrat dû le %s (%s)", law.DueOn.French(), law.Rule)
			}
		}
		p.refreshTasks()
	}
	if reopened && p.sanctions && p.s.OpenCase == 0 {
		// The limit has not passed after all: the reminders it brought
		// are no longer due (they come back if the new limit passes).
		p.stopRelances(now, domain.DeadlineCancelled, domain.Date{})
	}
	p.addEvent(now, EventOrientationNotified, n.NotifiedOn, fmt.Sprintf("Orientation notifiée le %s%s.", n.NotifiedOn.French(), due), n.Recorded)
	return p.written(ctx, 0)
}

// handOver: since 1 January 2025, when 6 weeks pass after the
// département received the information without an orientation, France
// Travail orients instead (D262-65-2 CASF). The département's orient task
// closes; the managers wait for France Travail's decision.
func (p *parcoursImpl) handOver(now time.Time, d DeadlineState) {
	if p.s.HandedOver || p.s.Orientation != nil {
		return
	}
	p.s.HandedOver, p.s.HandOverAfter = true, d.DueOn
	p.closeTasks(domain.TaskCancelled, now, func(t TaskState) bool { return t.Kind == domain.TaskOrient })
	p.openTask(domain.TaskAwaitFranceTravail, 1, "")
	p.addEvent(now, EventHandedOver, d.DueOn.AddDays(1), fmt.Sprintf(
		"Six semaines passées sans orientation (information reçue le %s) : la décision d'orientation revient à France Travail (D262-65-2 CASF).",
		d.AnchorOn.French()), domain.Recorded{})
}

// ---- contracts -----------------------------------------------------------

func (p *parcoursImpl) validateContract(ctx workflow.Context, c domain.Contract) error {
	if p.s.Contract != nil && p.s.Contract.Same(c) {
		return nil
	}
	if err := p.refuseIfExited(); err != nil {
		return err
	}
	switch {
	case p.s.Status == domain.StatusAwaitingOrientation:
		return conflict("Aucun contrat ne peut être signé avant l'orientation du bénéficiaire.")
	case p.s.Status != domain.StatusAwaitingContract && !p.lifecycle:
		return conflict("Un contrat est déjà en cours (signé le %s).", p.s.Contract.SignedOn.French())
	}
	if c.SignedOn.Before(p.s.Orientation.DecidedOn) {
		return invalid("signed_on", "Le contrat ne peut être signé avant la décision d'orientation (%s).", p.s.Orientation.DecidedOn.French())
	}
	if prev := p.s.Contract; prev != nil {
		if c.NoteID == "" {
			return invalid("assessment", "Le bilan du contrat précédent (signé le %s) est obligatoire pour le renouveler.", prev.SignedOn.French())
		}
		if c.StartsOn.Before(prev.StartsOn) {
			return invalid("starts_on", "Le nouveau contrat ne peut commencer avant le précédent (%s).", prev.StartsOn.French())
		}
	}
	return nil
}

func (p *parcoursImpl) recordContract(ctx workflow.Context, c domain.Contract) (UpdateResult, error) {
	if p.s.Contract != nil && p.s.Contract.Same(c) {
		return p.result(0), nil
	}
	cycle := p.applyContract(ctx, workflow.Now(ctx), c)
	return p.written(ctx, cycle)
}

// applyContract records a signed contract in the state (the update, and a
// reprise's start); it returns the contract's number.
func (p *parcoursImpl) applyContract(ctx workflow.Context, now time.Time, c domain.Contract) int {
	p.begin()
	renewal := p.s.Contract != nil
	p.s.Contracts++
	cycle := p.s.Contracts
	p.s.Contract = &c
	p.s.ContractRows = append(p.s.ContractRows, ContractRow{Seq: cycle, Contract: c, Rev: p.s.Version})
	p.s.Status = domain.StatusInAccompaniment
	// A contract signed before 1 January 2025 does not meet the stock
	// deadline (décret 2024-1244): only a reprise records one.
	p.closeDeadlines(domain.DeadlineMet, c.SignedOn, func(d DeadlineState) bool {
		return d.Kind == domain.DeadlineContract && d.Cycle <= cycle && (d.Basis != domain.BasisStock || domain.MeetsStock(c.SignedOn))
	})
	p.closeTasks(domain.TaskDone, now, func(t TaskState) bool {
		return (t.Kind == domain.TaskSignContract || t.Kind == domain.TaskRenewContract) && t.Cycle <= cycle
	})
	kind, what := EventContractSigned, "signé"
	if renewal {
		kind, what = EventContractRenewed, "signé en renouvellement, sur le bilan du précédent,"
	}
	p.addEvent(now, kind, c.SignedOn, fmt.Sprintf("Contrat (%s) %s le %s, du %s au %s.",
		c.Kind.French(), what, c.SignedOn.French(), c.StartsOn.French(), c.EndsOn.French()), c.Recorded)
	if p.lifecycle {
		p.scheduleContractTerm(c, cycle+1)
		p.scheduleReview()
	}
	if p.sanctions {
		p.stopRelances(now, domain.DeadlineCancelled, domain.Date{})
		p.tellCaseOfCompliance(ctx, c)
	}
	p.placeStock(now)
	return cycle
}

// scheduleContractTerm: the contract in force must be renewed by its end;
// the renew_contract task opens RenewalNoticeDays before.
func (p *parcoursImpl) scheduleContractTerm(c domain.Contract, next int) {
	notice := p.s.Settings.RenewalNoticeDays
	p.addDeadline(domain.ContractTermDeadline(c.Kind, c.StartsOn, c.EndsOn, notice), next, domain.TaskRenewContract, c.EndsOn.AddDays(-notice))
}

// scheduleReview: on the social track, the situation is reviewed 6 months
// after the contract starts, 12 when an obstacle applies (L262-31). One
// review clock at a time: a new contract restarts it.
func (p *parcoursImpl) scheduleReview() {
	p.closeDeadlines(domain.DeadlineCancelled, domain.Date{}, func(d DeadlineState) bool { return d.Kind == domain.DeadlineReview })
	p.closeTasks(domain.TaskCancelled, time.Time{}, func(t TaskState) bool { return t.Kind == domain.TaskReviewSocial })
	if p.s.Orientation == nil || p.s.Orientation.Track != domain.TrackSocial || p.s.Contract == nil {
		return
	}
	d := p.reviewDeadline()
	p.addDeadline(d, p.s.Contracts, domain.TaskReviewSocial, d.DueOn.AddDays(-p.s.Settings.RenewalNoticeDays))
}

func (p *parcoursImpl) reviewDeadline() domain.Deadline {
	return domain.ReviewDeadline(p.s.Contract.StartsOn, p.s.ReviewLonger)
}

// ---- re-orientation and référent ------------------------------------------

func (p *parcoursImpl) validateReorientationRequest(ctx workflow.Context, r domain.ReorientationRequest) error {
	if err := p.refuseIfNotOriented(); err != nil {
		return err
	}
	if p.s.Reorienting {
		return conflict("Une demande de réorientation attend déjà la décision du Département.")
	}
	return nil
}

func (p *parcoursImpl) requestReorientation(ctx workflow.Context, r domain.ReorientationRequest) (UpdateResult, error) {
	now := workflow.Now(ctx)
	p.begin()
	p.openReorientationRequest(now, r.RequestedOn, r.Recorded)
	return p.written(ctx, 0)
}

func (p *parcoursImpl) openReorientationRequest(now time.Time, on domain.Date, by domain.Recorded) {
	p.s.Reorienting = true
	p.openTask(domain.TaskDecideReorientation, p.s.Orientations+1, "")
	p.addEvent(now, EventReorientationRequest, on, fmt.Sprintf("Réorientation demandée le %s ; décision attendue du Département.", on.French()), by)
}

func (p *parcoursImpl) validateReorientationDecision(ctx workflow.Context, d domain.ReorientationDecision) error {
	if err := p.refuseIfNotOriented(); err != nil {
		return err
	}
	if !p.s.Reorienting {
		return conflict("Aucune demande de réorientation n'attend de décision.")
	}
	if d.DecidedOn.Before(p.s.Orientation.DecidedOn) {
		return invalid("decided_on", "La décision ne peut précéder l'orientation en cours (%s).", p.s.Orientation.DecidedOn.French())
	}
	return nil
}

func (p *parcoursImpl) decideReorientation(ctx workflow.Context, d domain.ReorientationDecision) (UpdateResult, error) {
	now := workflow.Now(ctx)
	p.begin()
	p.s.Reorienting = false
	p.closeTasks(domain.TaskDone, now, func(t TaskState) bool { return t.Kind == domain.TaskDecideReorientation })
	if !d.Accept {
		p.addEvent(now, EventReorientationRefused, d.DecidedOn, fmt.Sprintf("Réorientation refusée le %s.", d.DecidedOn.French()), d.Recorded)
		return p.written(ctx, 0)
	}
	prev := *p.s.Orientation
	o := d.Orientation()
	within := d.DecidedOn.Before(prev.DecidedOn.AddMonths(6))
	// Version 1 of "reorientation-6-months-inclusive" (issue 22): the
	// 6 months include their last day, like every delay here (art. 641
	// CPC): 31/03 → 30/09 is within. Asked only on that very day.
	if d.DecidedOn == prev.DecidedOn.AddMonths(6) &&
		workflow.GetVersion(ctx, "reorientation-6-months-inclusive", workflow.DefaultVersion, 1) >= 1 {
		within = domain.WithinSixMonths(prev.DecidedOn, d.DecidedOn)
	}
	p.s.Orientation = &o
	p.s.Orientations++
	p.s.OrientationRows = append(p.s.OrientationRows, OrientationRow{
		Seq: p.s.Orientations, Orientation: o, PreviousOn: prev.DecidedOn, Within6Months: within, NoteID: d.NoteID, Rev: p.s.Version,
	})
	p.s.Facts.Orient(o)
	p.s.Status = domain.StatusAwaitingContract
	// The contract in force no longer fits: its renewal and review clocks
	// stop, and a new contract is due as the law in force says.
	next := p.s.Contracts + 1
	// The stock deadline stands: a new contract is still owed by its date.
	p.closeDeadlines(domain.DeadlineCancelled, domain.Date{}, func(x DeadlineState) bool {
		return x.Kind == domain.DeadlineContract && x.Basis != domain.BasisStock || x.Kind == domain.DeadlineReview
	})
	p.closeTasks(domain.TaskCancelled, now, func(t TaskState) bool {
		return t.Kind == domain.TaskSignContract || t.Kind == domain.TaskRenewContract || t.Kind == domain.TaskReviewSocial
	})
	if law, ok := p.law(domain.DeadlineContract); ok {
		p.addDeadline(law, next, domain.TaskSignContract, domain.Date{})
	}
	p.openTask(domain.TaskSignContract, next, o.ReferentID)
	p.reassignTasks(o.ReferentID)
	note := ""
	if within {
		note = fmt.Sprintf(" (moins de 6 mois après l'orientation du %s)", prev.DecidedOn.French())
	}
	p.addEvent(now, EventReorientationAccepted, d.DecidedOn, fmt.Sprintf(
		"Réorientation décidée le %s%s : parcours %s, organisme référent %s, référent %s.",
		d.DecidedOn.French(), note, o.Track.French(), o.Organism, o.ReferentID), d.Recorded)
	p.placeStock(now)
	return p.written(ctx, 0)
}

// reassignTasks gives the référent's open tasks to another référent.
func (p *parcoursImpl) reassignTasks(referent string) {
	for i := range p.s.Tasks {
		t := &p.s.Tasks[i]
		if t.Status == domain.TaskOpen && t.Assignee != "" && t.Assignee != referent {
			t.Assignee, t.Rev = referent, p.s.Version
		}
	}
}

func (p *parcoursImpl) validateReassignment(ctx workflow.Context, r domain.Reassignment) error {
	return p.refuseIfNotOriented()
}

func (p *parcoursImpl) reassign(ctx workflow.Context, r domain.Reassignment) (UpdateResult, error) {
	if p.s.Orientation.ReferentID == r.ReferentID {
		return p.result(0), nil
	}
	now := workflow.Now(ctx)
	p.begin()
	prev := p.s.Orientation.ReferentID
	o := *p.s.Orientation
	o.ReferentID = r.ReferentID
	p.s.Orientation = &o
	p.reassignTasks(r.ReferentID)
	p.addEvent(now, EventReferentReassigned, r.On, fmt.Sprintf("Référent changé le %s : %s remplace %s.", r.On.French(), r.ReferentID, prev), r.Recorded)
	return p.written(ctx, 0)
}

// ---- social-track review -------------------------------------------------

func (p *parcoursImpl) validateReviewExtension(ctx workflow.Context, r ReviewExtension) error {
	return p.refuseIfExited()
}

func (p *parcoursImpl) setReviewExtension(ctx workflow.Context, r ReviewExtension) (UpdateResult, error) {
	if p.s.ReviewLonger == r.Extended {
		return p.result(0), nil
	}
	now := workflow.Now(ctx)
	p.begin()
	p.s.ReviewLonger = r.Extended
	for i := range p.s.Deadlines {
		d := &p.s.Deadlines[i]
		if d.Kind != domain.DeadlineReview {
			continue
		}
		switch {
		case d.Status == domain.DeadlinePending:
		case d.Status == domain.DeadlineOverdue && r.Extended && !r.On.After(d.DueOn) &&
			// Version 1 of "obstacle-before-due" (issue 22): an obstacle
			// dated on or before the review's due date extends it to 12
			// months (L262-31 CASF) even when recorded after that date
			// passed. Asked only in that case.
			workflow.GetVersion(ctx, "obstacle-before-due", workflow.DefaultVersion, 1) >= 1:
			d.Status, d.OverdueAt = domain.DeadlinePending, time.Time{}
		default:
			continue
		}
		d.Deadline = p.reviewDeadline()
		d.OpensOn, d.Rev = d.DueOn.AddDays(-p.s.Settings.RenewalNoticeDays), p.s.Version
	}
	p.refreshTasks()
	summary := "Examen du parcours social ramené à 6 mois après le début du contrat."
	if r.Extended {
		summary = "Frein enregistré : examen du parcours social porté à 12 mois (L262-31)."
	}
	p.addEvent(now, EventReviewExtension, r.On, summary, r.Recorded)
	return p.written(ctx, 0)
}

func (p *parcoursImpl) validateReview(ctx workflow.Context, r domain.Review) error {
	if err := p.refuseIfExited(); err != nil {
		return err
	}
	for _, d := range p.s.Deadlines {
		if d.Kind == domain.DeadlineReview && open(d.Status) {
			return nil
		}
	}
	return conflict("Aucun examen du parcours social n'est attendu.")
}

func (p *parcoursImpl) recordReview(ctx workflow.Context, r domain.Review) (UpdateResult, error) {
	now := workflow.Now(ctx)
	p.begin()
	p.closeDeadlines(domain.DeadlineMet, r.ReviewedOn, func(d DeadlineState) bool { return d.Kind == domain.DeadlineReview })
	p.closeTasks(domain.TaskDone, now, func(t TaskState) bool { return t.Kind == domain.TaskReviewSocial })
	p.addEvent(now, EventReviewRecorded, r.ReviewedOn, fmt.Sprintf("Examen du parcours social le %s.", r.ReviewedOn.French()), r.Recorded)
	if r.Outcome == "reorientation_requested" && !p.s.Reorienting {
		p.openReorientationRequest(now, r.ReviewedOn, domain.Recorded{RecordedBy: r.RecordedBy})
	}
	return p.written(ctx, 0)
}

// ---- actions and follow-ups ---------------------------------------------

func (p *parcoursImpl) validateAction(ctx workflow.Context, a domain.Action) error {
	return p.refuseIfNotOriented()
}

func (p *parcoursImpl) recordAction(ctx workflow.Context, a domain.Action) (UpdateResult, error) {
	n := p.applyAction(workflow.Now(ctx), a)
	return p.written(ctx, n)
}

// applyAction records an action in the state (the update, and a reprise's
// start); it returns the action's number.
func (p *parcoursImpl) applyAction(now time.Time, a domain.Action) int {
	p.begin()
	p.s.ActionCount++
	n := p.s.ActionCount
	p.s.Actions = append(p.s.Actions, ActionRow{Seq: n, Action: a, Rev: p.s.Version})
	p.addDeadline(domain.ActionEndDeadline(domain.ActionLabel(n, a.Name), a.PlannedEndOn, p.s.Settings.FollowUpWindow), n, domain.TaskCloseAction, a.PlannedEndOn)
	summary := fmt.Sprintf("Action n° %d (%s), du %s au %s prévu.", n, domain.ActionKindFrench(a.Kind), a.StartsOn.French(), a.PlannedEndOn.French())
	if a.Name != "" { // recorded before names left the histories, or a reprise's
		summary = fmt.Sprintf("Action « %s » (%s) avec %s, du %s au %s prévu.",
			a.Name, a.Kind, a.Structure, a.StartsOn.French(), a.PlannedEndOn.French())
	}
	p.addEvent(now, EventActionStarted, a.StartsOn, summary, a.Recorded)
	return n
}

func (p *parcoursImpl) action(n int) (int, error) {
	for i, a := range p.s.Actions {
		if a.Seq == n {
			return i, nil
		}
	}
	if n >= 1 && n <= p.s.ActionCount {
		return -1, conflict("L'action n° %d est déjà terminée et son bilan enregistré.", n)
	}
	return -1, notFound("Action n° %d inconnue pour ce parcours.", n)
}

func (p *parcoursImpl) validateActionOutcome(ctx workflow.Context, in OutcomeInput) error {
	i, err := p.action(in.Action)
	if err != nil {
		return err
	}
	a := p.s.Actions[i]
	switch {
	case a.Outcome != nil && a.Outcome.EndedOn == in.Outcome.EndedOn && a.Outcome.Category == in.Outcome.Category && a.Outcome.Detail == in.Outcome.Detail:
		return nil
	case a.Outcome != nil:
		return conflict("Le bilan de l'action n° %d est déjà enregistré.", in.Action)
	case in.Outcome.EndedOn.Before(a.Action.StartsOn):
		return conflict("L'action n° %d n'avait pas commencé le %s (début le %s).", in.Action, in.Outcome.EndedOn.French(), a.Action.StartsOn.French())
	}
	return nil
}

func (p *parcoursImpl) recordActionOutcome(ctx workflow.Context, in OutcomeInput) (UpdateResult, error) {
	i, err := p.action(in.Action)
	if err != nil || p.s.Actions[i].Outcome != nil {
		return p.result(in.Action), nil // the same outcome again
	}
	now := workflow.Now(ctx)
	p.begin()
	o := in.Outcome
	a := &p.s.Actions[i]
	a.Outcome, a.Rev = &o, p.s.Version
	p.closeDeadlines(domain.DeadlineMet, o.EndedOn, func(d DeadlineState) bool {
		return d.Kind == domain.DeadlineActionEnd && d.Cycle == in.Action
	})
	p.closeTasks(domain.TaskDone, now, func(t TaskState) bool { return t.Kind == domain.TaskCloseAction && t.Cycle == in.Action })
	label := domain.ActionLabel(in.Action, a.Action.Name)
	p.addEvent(now, EventActionEnded, o.EndedOn, fmt.Sprintf("Fin de l'action %s le %s : %s (%s).",
		label, o.EndedOn.French(), domain.OutcomeFrench(o.Category), domain.OutcomeFrench(o.Detail)), o.Recorded)
	if o.Category != domain.OutcomeAutres || o.Detail != "death" {
		p.scheduleFollowUps(in.Action, label, o.EndedOn)
	}
	return p.written(ctx, in.Action)
}

// scheduleFollowUps: 3 and 6 months after an action ends, the référent
// checks "la continuité du parcours" (seed 004); each task opens on its day
// and is overdue FollowUpWindow later.
func (p *parcoursImpl) scheduleFollowUps(action int, label string, ended domain.Date) {
	window := p.s.Settings.FollowUpWindow
	for _, m := range []struct {
		months int
		kind   domain.DeadlineKind
		task   domain.TaskKind
	}{{3, domain.DeadlineFollowUp3, domain.TaskFollowUp3}, {6, domain.DeadlineFollowUp6, domain.TaskFollowUp6}} {
		opens := ended.AddMonths(m.months)
		due := window.From(opens)
		p.addDeadline(domain.Deadline{
			Kind: m.kind, Basis: domain.BasisTarget, RuleSet: "suivi-post-accompagnement",
			DueOn: due, Anchor: "action_end", AnchorOn: ended,
			Rule: fmt.Sprintf("suivi post-accompagnement à %d mois de la fin de l'action %s le %s, à faire à partir du %s",
				m.months, label, ended.French(), opens.French()),
		}, action, m.task, opens)
		p.s.FollowUps = append(p.s.FollowUps, FollowUpRow{Action: action, Months: m.months, OpensOn: opens, DueOn: due, Rev: p.s.Version})
	}
}

func (p *parcoursImpl) followUp(action, months int) (int, error) {
	for i, f := range p.s.FollowUps {
		if f.Action == action && f.Months == months && !f.Cancelled {
			return i, nil
		}
	}
	if months != 3 && months != 6 {
		return -1, notFound("Suivi à %d mois inconnu : les suivis ont lieu à 3 et 6 mois.", months)
	}
	return -1, notFound("Aucun suivi à %d mois n'est attendu pour l'action n° %d.", months, action)
}

func (p *parcoursImpl) validateFollowUp(ctx workflow.Context, in FollowUpInput) error {
	i, err := p.followUp(in.Action, in.Months)
	if err != nil {
		return err
	}
	f := p.s.FollowUps[i]
	switch {
	case f.Answer != nil && f.Answer.AnsweredOn == in.Answer.AnsweredOn && f.Answer.Situation == in.Answer.Situation:
		return nil
	case f.Answer != nil:
		return conflict("Le suivi à %d mois de l'action n° %d est déjà enregistré.", in.Months, in.Action)
	case in.Answer.AnsweredOn.Before(f.OpensOn):
		return conflict("Le suivi à %d mois n'est dû qu'à partir du %s.", in.Months, f.OpensOn.French())
	}
	return nil
}

func (p *parcoursImpl) recordFollowUp(ctx workflow.Context, in FollowUpInput) (UpdateResult, error) {
	i, err := p.followUp(in.Action, in.Months)
	if err != nil || p.s.FollowUps[i].Answer != nil {
		return p.result(in.Action), nil
	}
	now := workflow.Now(ctx)
	p.begin()
	ans := in.Answer
	f := &p.s.FollowUps[i]
	f.Answer, f.Rev = &ans, p.s.Version
	kind, task := domain.DeadlineFollowUp3, domain.TaskFollowUp3
	if in.Months == 6 {
		kind, task = domain.DeadlineFollowUp6, domain.TaskFollowUp6
	}
	p.closeDeadlines(domain.DeadlineMet, ans.AnsweredOn, func(d DeadlineState) bool { return d.Kind == kind && d.Cycle == in.Action })
	p.closeTasks(domain.TaskDone, now, func(t TaskState) bool { return t.Kind == task && t.Cycle == in.Action })
	situation := domain.FollowUpSituationFrench(ans.Situation)
	if ans.EmploymentKind != "" {
		situation += " (" + domain.EmploymentKindFrench(ans.EmploymentKind) + ")"
	}
	p.addEvent(now, EventFollowUpRecorded, ans.AnsweredOn, fmt.Sprintf("Suivi à %d mois de l'action n° %d le %s : %s.",
		in.Months, in.Action, ans.AnsweredOn.French(), situation), ans.Recorded)
	return p.written(ctx, in.Action)
}

// ---- exit ------------------------------------------------------------------

func (p *parcoursImpl) validateExit(ctx workflow.Context, e domain.Exit) error {
	if x := p.s.Exit; x != nil {
		if x.Reason == e.Reason && x.On == e.On {
			return nil
		}
		return conflict("Le parcours est déjà clos (sortie le %s).", x.On.French())
	}
	if e.On.Before(p.s.Facts.EnteredOn) {
		return invalid("on", "La sortie ne peut précéder l'entrée en droits et devoirs (%s).", p.s.Facts.EnteredOn.French())
	}
	return nil
}

func (p *parcoursImpl) recordExit(ctx workflow.Context, e domain.Exit) (UpdateResult, error) {
	if p.s.Exit != nil {
		return p.result(0), nil
	}
	now := workflow.Now(ctx)
	p.begin()
	p.s.Exit = &e
	p.s.Status = domain.StatusExited
	p.s.Reorienting = false
	// Open clocks stop and open tasks are cancelled, except the follow-ups:
	// they are the point of following people after they leave. On a death,
	// those stop too.
	death := e.Reason == "death"
	isFollowUp := func(k domain.DeadlineKind) bool {
		return k == domain.DeadlineFollowUp3 || k == domain.DeadlineFollowUp6
	}
	p.closeDeadlines(domain.DeadlineCancelled, domain.Date{}, func(d DeadlineState) bool { return death || !isFollowUp(d.Kind) })
	p.closeTasks(domain.TaskCancelled, now, func(t TaskState) bool {
		return death || (t.Kind != domain.TaskFollowUp3 && t.Kind != domain.TaskFollowUp6)
	})
	if death {
		for i := range p.s.FollowUps {
			if f := &p.s.FollowUps[i]; f.Answer == nil {
				f.Cancelled, f.Rev = true, p.s.Version
			}
		}
	}
	p.addEvent(now, EventExit, e.On, fmt.Sprintf("Sortie des droits et devoirs le %s (%s).", e.On.French(), domain.ExitReasonFrench(e.Reason)), e.Recorded)
	return p.written(ctx, 0)
}
