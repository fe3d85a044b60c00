package workflows

import (
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/workflow"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// escalation is the parcours' relance and sanction settings (defaults for
// states recorded before they existed).
func (p *parcoursImpl) escalation() domain.EscalationSettings {
	if p.s.Settings.Escalation == (domain.EscalationSettings{}) {
		return domain.DefaultEscalation()
	}
	return p.s.Settings.Escalation
}

// scheduleRelances: when the legal contract limit or the contract's term
// passes, the référent gets a first and a second reminder, then a proposal
// to report the breach, each on its day (domain.md, step 1; WebRSA's two
// relances). Signing the contract stops them.
func (p *parcoursImpl) scheduleRelances(over DeadlineState) {
	if p.s.OpenCase != 0 {
		return
	}
	for _, d := range p.s.Deadlines {
		if d.Kind == domain.DeadlineRelance1 && d.Cycle == over.Cycle {
			return // once per contract cycle
		}
	}
	e := p.escalation()
	late := over.DueOn.AddDays(1)
	for _, r := range []struct {
		kind domain.DeadlineKind
		task domain.TaskKind
		days int
		what string
	}{
		{domain.DeadlineRelance1, domain.TaskRelance1, e.Relance1Days, "1re relance"},
		{domain.DeadlineRelance2, domain.TaskRelance2, e.Relance2Days, "2e relance"},
		{domain.DeadlineBreachProposal, domain.TaskProposeBreach, e.ProposalDays, "proposition de signalement du manquement"},
	} {
		opens := late.AddDays(r.days)
		when := "dès le dépassement"
		if r.days > 0 {
			when = fmt.Sprintf("%d jours après le dépassement", r.days)
		}
		p.addDeadline(domain.Deadline{
			Kind: r.kind, Basis: domain.BasisTarget, RuleSet: "relances",
			DueOn: opens.AddDays(7), Anchor: "contract_overdue", AnchorOn: late,
			Rule: fmt.Sprintf("%s %s du contrat dû le %s, à faire dans les 7 jours — %s",
				r.what, when, over.DueOn.French(), over.Rule),
		}, over.Cycle, r.task, opens)
	}
}

func isRelance(k domain.DeadlineKind) bool {
	return k == domain.DeadlineRelance1 || k == domain.DeadlineRelance2 || k == domain.DeadlineBreachProposal
}

func isRelanceTask(k domain.TaskKind) bool {
	return k == domain.TaskRelance1 || k == domain.TaskRelance2 || k == domain.TaskProposeBreach
}

// stopRelances cancels the reminders still due: the contract is signed, or
// the breach reported.
func (p *parcoursImpl) stopRelances(now time.Time, status domain.DeadlineStatus, on domain.Date) {
	p.closeDeadlines(status, on, func(d DeadlineState) bool { return isRelance(d.Kind) })
	p.closeTasks(domain.TaskCancelled, now, func(t TaskState) bool { return isRelanceTask(t.Kind) })
}

func (p *parcoursImpl) validateRelance(ctx workflow.Context, r domain.Relance) error {
	if err := p.refuseIfNotOriented(); err != nil {
		return err
	}
	kind := domain.DeadlineRelance1
	if r.Number == 2 {
		kind = domain.DeadlineRelance2
	}
	for _, d := range p.s.Deadlines {
		if d.Kind == kind && open(d.Status) {
			return nil
		}
	}
	return conflict("Aucune relance n° %d n'est attendue : elles suivent un contrat en retard.", r.Number)
}

func (p *parcoursImpl) recordRelance(ctx workflow.Context, r domain.Relance) (UpdateResult, error) {
	now := workflow.Now(ctx)
	p.begin()
	kind, task := domain.DeadlineRelance1, domain.TaskRelance1
	if r.Number == 2 {
		kind, task = domain.DeadlineRelance2, domain.TaskRelance2
	}
	p.closeDeadlines(domain.DeadlineMet, r.SentOn, func(d DeadlineState) bool { return d.Kind == kind })
	p.closeTasks(domain.TaskDone, now, func(t TaskState) bool { return t.Kind == task })
	p.addEvent(now, EventRelance, r.SentOn, fmt.Sprintf("Relance n° %d envoyée le %s (%s).", r.Number, r.SentOn.French(), domain.RelanceChannelFrench(r.Channel)), r.Recorded)
	return p.written(ctx, 0)
}

func (p *parcoursImpl) validateBreach(ctx workflow.Context, b domain.Breach) error {
	if !p.sanctions {
		return conflict("Ce parcours a démarré avant la procédure de sanction : elle n'y est pas disponible.")
	}
	if err := p.refuseIfNotOriented(); err != nil {
		return err
	}
	if p.s.OpenCase != 0 {
		return conflict("Le dossier de sanction n° %d est en cours : un seul à la fois.", p.s.OpenCase)
	}
	if b.Kind == domain.BreachObligationsNotMet && (p.s.Contract == nil || p.s.Status != domain.StatusInAccompaniment) {
		return conflict("Sans contrat en cours, aucune obligation contractuelle ne peut fonder un manquement (Conseil d'État, 15 décembre 2015).")
	}
	if b.ReportedOn.Before(p.s.Orientation.DecidedOn) {
		return invalid("reported_on", "Le signalement ne peut précéder l'orientation (%s).", p.s.Orientation.DecidedOn.French())
	}
	// The report's own date (issue 22; refusing more here changes no replay).
	switch b.Kind {
	case domain.BreachObligationsNotMet:
		if c := p.s.Contract; b.ReportedOn.Before(c.StartsOn) || b.ReportedOn.After(c.EndsOn) {
			return invalid("reported_on", "Le contrat en cours (du %s au %s) n'était pas en vigueur le %s : ses obligations ne peuvent fonder ce manquement (Conseil d'État, 15 décembre 2015).",
				c.StartsOn.French(), c.EndsOn.French(), b.ReportedOn.French())
		}
	case domain.BreachRefusalContract:
		if d, passed := p.contractLimit(b.ReportedOn); !passed {
			return invalid("reported_on", "Aucun contrat ne manque encore le %s : %s, dépassé seulement à partir du lendemain (L262-37 I CASF).",
				b.ReportedOn.French(), d.Explain())
		}
	}
	return nil
}

// contractLimit: whether a contract limit had passed on a date (the legal
// limit, the stock's, or the term of the contract in force: those that
// bring relances); if none had, the earliest still running. With no limit
// open at all, there is nothing to check against: passed.
func (p *parcoursImpl) contractLimit(on domain.Date) (DeadlineState, bool) {
	var first DeadlineState
	for _, d := range p.s.Deadlines {
		if d.Kind != domain.DeadlineContract || !open(d.Status) ||
			d.Basis != domain.BasisLegal && d.Basis != domain.BasisStock && d.Basis != domain.BasisContractTerm {
			continue
		}
		if on.After(d.DueOn) {
			return d, true
		}
		if first.DueOn.IsZero() || d.DueOn.Before(first.DueOn) {
			first = d
		}
	}
	return first, first.DueOn.IsZero()
}

// repeat: a sanction decided within the repeat window before the report.
func (p *parcoursImpl) repeat(ctx workflow.Context, on domain.Date) bool {
	months := p.escalation().RepeatMonths
	from := on.AddMonths(-months)
	for _, d := range p.s.Sanctions {
		if !d.Before(from) {
			return true
		}
	}
	// Version 1 of "repeat-from-notification" (issue 22): the window counts
	// from the earlier decision's notification when it is known (R5412-3-4
	// code du travail counts from the first sanction's notification; the
	// RSA article was not read: a setting, unverified). Asked only when it
	// changes the answer.
	for _, n := range p.s.SanctionsNotified {
		if domain.WithinRepeatWindow(n, on, months) {
			return workflow.GetVersion(ctx, "repeat-from-notification", workflow.DefaultVersion, 1) >= 1
		}
	}
	return false
}

func (p *parcoursImpl) reportBreach(ctx workflow.Context, b domain.Breach) (UpdateResult, error) {
	now := workflow.Now(ctx)
	p.begin()
	p.s.Cases++
	n := p.s.Cases
	p.s.OpenCase = n
	repeat := p.repeat(ctx, b.ReportedOn)
	// The proposal is answered; reminders not sent are no longer due.
	p.closeDeadlines(domain.DeadlineMet, b.ReportedOn, func(d DeadlineState) bool { return d.Kind == domain.DeadlineBreachProposal })
	p.closeTasks(domain.TaskDone, now, func(t TaskState) bool { return t.Kind == domain.TaskProposeBreach })
	p.stopRelances(now, domain.DeadlineCancelled, domain.Date{})
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        ReviewWorkflowID(p.id, n),
		TaskQueue:         TaskQueue,
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON, // a case outlives a continue-as-new or an exit
	})
	child := workflow.ExecuteChildWorkflow(cctx, SuspensionReviewWorkflow, ReviewInput{
		ParcoursID: p.id, Number: n, Breach: b, Repeat: repeat, Settings: p.escalation(),
	})
	if err := child.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		return UpdateResult{}, err
	}
	// The case's first row goes with this write, so that the queue shows it
	// as soon as the report is answered.
	p.s.CaseRows = append(p.s.CaseRows, CaseRow{Number: n, Breach: b, Repeat: repeat, Rev: p.s.Version})
	p.addEvent(now, EventBreachReported, b.ReportedOn, fmt.Sprintf(
		"Manquement signalé le %s : dossier de sanction n° %d ouvert (examen par le Département).", b.ReportedOn.French(), n), b.Recorded)
	return p.written(ctx, n)
}

// receiveNews records in the timeline what the parcours' cases report.
func (p *parcoursImpl) receiveNews(now time.Time) bool {
	heard := false
	var n ReviewNews
	for p.news.ReceiveAsync(&n) {
		if !heard {
			p.begin()
			heard = true
		}
		p.addEvent(now, EventReviewStep, n.On, fmt.Sprintf("Dossier de sanction n° %d : %s", n.Number, n.Summary), domain.Recorded{RecordedBy: n.Actor})
		if n.Sanction {
			p.s.Sanctions = append(p.s.Sanctions, n.On)
		}
		if n.Kind == "decision_notified" && n.Status != ReviewClosedNoSanction {
			p.s.SanctionsNotified = append(p.s.SanctionsNotified, n.On)
		}
		if n.Closed && p.s.OpenCase == n.Number {
			p.s.OpenCase = 0
		}
	}
	return heard
}

// tellCaseOfCompliance: a contract signed while a case runs is compliance.
func (p *parcoursImpl) tellCaseOfCompliance(ctx workflow.Context, c domain.Contract) {
	if p.s.OpenCase == 0 {
		return
	}
	err := workflow.SignalExternalWorkflow(ctx, ReviewWorkflowID(p.id, p.s.OpenCase), "", ComplianceSignal,
		domain.Compliance{On: c.SignedOn, How: "contract_signed", Recorded: domain.Recorded{RecordedBy: c.RecordedBy}}).Get(ctx, nil)
	if err != nil {
		p.logger.Warn("case not told of the contract", "case", p.s.OpenCase, "error", err)
	}
}
