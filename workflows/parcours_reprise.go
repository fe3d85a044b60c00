package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// Reprise de l'existant and the stock deadline (issue 19).
//
// A run of revision 2 or later starts in the state its reprise says: each
// fact (orientation, contract, action) is applied by the same code as its
// update, dated by the file, before any deadline is fired; then the
// deadlines whose date really passed with nothing done fire, dated as they
// would have been (fireDue, settle). Importing raises nothing by itself.
//
// The stock deadline (domain.StockDeadline) is a contract deadline of
// cycle 0 and basis domain.BasisStock. Its task: while a sign_contract
// task is open, that task carries it (one need, one task: its due date is
// the earliest of its deadlines, the stock one included); otherwise the
// stock_contract task of cycle 0 does, assigned to the référent (none: the
// département). placeStock keeps this true after every change.

// stockCycle is the cycle of the stock deadline and its task.
const stockCycle = 0

// resume applies the reprise (if any) and the stock deadline to a new run.
func (p *parcoursImpl) resume(ctx workflow.Context, now time.Time) {
	r := p.reprise
	marked := false
	if r != nil {
		marked = r.Stock
		p.addEvent(now, EventReprise, domain.DateIn(now, p.zone()), "Parcours repris de l'existant : "+r.describe()+".", domain.Recorded{})
		p.s.ReviewLonger = r.ReviewExtended
		if o := r.Orientation; o != nil {
			p.applyOrientation(now, domain.Orientation{Track: o.Track, Organism: o.Organism, ReferentID: o.ReferentID, DecidedOn: o.DecidedOn})
		}
		if c := r.Contract; c != nil && p.s.Orientation != nil {
			p.applyContract(ctx, now, domain.Contract{Kind: c.Kind, SignedOn: c.SignedOn, StartsOn: c.StartsOn, EndsOn: c.EndsOn})
		}
		if a := r.Action; a != nil && p.s.Orientation != nil {
			p.applyAction(now, domain.Action{Name: domain.RepriseActionName, Kind: a.Kind, Structure: domain.RepriseActionStructure,
				StartsOn: a.StartsOn, PlannedEndOn: a.PlannedEndOn})
		}
	}
	if d, ok := p.stockOwed(marked); ok {
		p.begin()
		p.addStock(now, d)
	} else if d, ok := p.stockMet(marked); ok {
		p.begin()
		p.addStockMet(now, d)
	}
}

// describe says in French what the reprise brings, without names.
func (r *Reprise) describe() string {
	var parts []string
	if o := r.Orientation; o != nil {
		parts = append(parts, fmt.Sprintf("orienté (parcours %s) le %s", o.Track.French(), o.DecidedOn.French()))
	} else {
		parts = append(parts, "sans orientation")
	}
	if c := r.Contract; c != nil {
		parts = append(parts, fmt.Sprintf("%s signé le %s, du %s au %s", c.Kind.French(), c.SignedOn.French(), c.StartsOn.French(), c.EndsOn.French()))
	}
	if a := r.Action; a != nil {
		parts = append(parts, fmt.Sprintf("action en cours depuis le %s", a.StartsOn.French()))
	}
	if r.ReviewExtended {
		parts = append(parts, "frein prolongeant l'examen à 12 mois")
	}
	if r.Stock {
		parts = append(parts, "accompagné au 01/01/2025")
	}
	return strings.Join(parts, ", ")
}

// stockOwed is the stock deadline this parcours owes and does not have yet.
func (p *parcoursImpl) stockOwed(marked bool) (domain.Deadline, bool) {
	for _, d := range p.s.Deadlines {
		if d.Basis == domain.BasisStock {
			return domain.Deadline{}, false
		}
	}
	var last domain.Date
	if p.s.Contract != nil {
		last = p.s.Contract.SignedOn
	}
	return domain.StockDeadline(p.s.Facts.EnteredOn, marked, last, p.s.Settings.Overseas)
}

// stockMet is the stock deadline a parcours met before the service knew of
// it (domain.StockMet), when it has not recorded it yet.
func (p *parcoursImpl) stockMet(marked bool) (domain.Deadline, bool) {
	if p.s.StockMet {
		return domain.Deadline{}, false
	}
	for _, d := range p.s.Deadlines {
		if d.Basis == domain.BasisStock {
			return domain.Deadline{}, false
		}
	}
	if p.s.Contract == nil {
		return domain.Deadline{}, false
	}
	return domain.StockMet(p.s.Facts.EnteredOn, marked, p.s.Contract.SignedOn, p.s.Settings.Overseas)
}

// addStockMet records the stock deadline met on the contract's signing day
// (after begin): no task, the campaign counts the person as signed.
func (p *parcoursImpl) addStockMet(now time.Time, d domain.Deadline) {
	signed := p.s.Contract.SignedOn
	p.addDeadline(d, stockCycle, domain.TaskStockContract, domain.Date{})
	p.closeDeadlines(domain.DeadlineMet, signed, func(x DeadlineState) bool { return x.Basis == domain.BasisStock })
	p.s.StockMet = true
	p.addEvent(now, EventStockDue, signed, fmt.Sprintf("Personne accompagnée au 01/01/2025 : contrat signé le %s, délai du stock tenu (%s).",
		signed.French(), d.Explain()), domain.Recorded{})
}

// addStock adds the stock deadline and places its task (after begin).
func (p *parcoursImpl) addStock(now time.Time, d domain.Deadline) {
	p.addDeadline(d, stockCycle, domain.TaskStockContract, domain.Date{})
	p.addEvent(now, EventStockDue, domain.StockDate, "Personne accompagnée au 01/01/2025 sans contrat signé depuis : "+d.Explain()+".", domain.Recorded{})
	p.placeStock(now)
}

// carries reports whether task t carries deadline d: its own deadlines, and
// for an open sign_contract task, the stock deadline too.
func (p *parcoursImpl) carries(t TaskState, d DeadlineState) bool {
	if d.TaskKind() == t.Kind && d.Cycle == t.Cycle {
		return true
	}
	return d.Basis == domain.BasisStock && t.Kind == domain.TaskSignContract
}

// placeStock gives the open stock deadline its task: the open
// sign_contract task if any, its own stock_contract task otherwise; once
// the deadline is met, its task is done. Without a stock deadline, nothing
// changes.
func (p *parcoursImpl) placeStock(now time.Time) {
	stock, signing := false, false
	for _, d := range p.s.Deadlines {
		if d.Basis == domain.BasisStock && open(d.Status) {
			stock = true
		}
	}
	for _, t := range p.s.Tasks {
		if t.Kind == domain.TaskSignContract && t.Status == domain.TaskOpen {
			signing = true
		}
	}
	isStock := func(t TaskState) bool { return t.Kind == domain.TaskStockContract }
	switch {
	case !stock:
		p.closeTasks(domain.TaskDone, now, isStock)
	case signing:
		p.closeTasks(domain.TaskCancelled, now, isStock)
	default:
		p.reopenTask(domain.TaskStockContract, stockCycle, p.assignee(domain.TaskStockContract))
	}
	p.refreshTasks()
}

// relancing reports whether relances are under way for a contract already
// late: the stock deadline passing then adds none (one need, one series).
func (p *parcoursImpl) relancing() bool {
	for _, d := range p.s.Deadlines {
		if isRelance(d.Kind) && open(d.Status) {
			return true
		}
	}
	return false
}

// reopenTask opens the task of a kind and cycle, or opens it again.
func (p *parcoursImpl) reopenTask(kind domain.TaskKind, cycle int, assignee string) {
	for i := range p.s.Tasks {
		t := &p.s.Tasks[i]
		if t.Kind == kind && t.Cycle == cycle {
			if t.Status != domain.TaskOpen {
				t.Status, t.Assignee, t.DoneAt, t.Rev = domain.TaskOpen, assignee, time.Time{}, p.s.Version
			}
			return
		}
	}
	p.openTask(kind, cycle, assignee)
}

// ---- mark_stock: the stock deadline for runs started before revision 2 ----

func (p *parcoursImpl) validateMarkStock(ctx workflow.Context, m StockMark) error {
	if err := p.refuseIfExited(); err != nil {
		return err
	}
	if !domain.InStock(p.s.Facts.EnteredOn, m.Marked) {
		return conflict("Entré en droits et devoirs le %s, après le 01/01/2025 : ce parcours n'est pas concerné par le délai du stock.",
			p.s.Facts.EnteredOn.French())
	}
	return nil
}

// markStock adds the stock deadline, once; a parcours with a contract
// signed since 1 January 2025, or that has it already, does not change.
func (p *parcoursImpl) markStock(ctx workflow.Context, m StockMark) (UpdateResult, error) {
	if p.revision < 2 && workflow.GetVersion(ctx, "stock", workflow.DefaultVersion, 1) < 1 {
		return p.result(0), nil
	}
	now := workflow.Now(ctx)
	if d, ok := p.stockOwed(m.Marked); ok {
		p.begin()
		p.addStock(now, d)
		return p.written(ctx, 0)
	}
	if d, ok := p.stockMet(m.Marked); ok {
		p.begin()
		p.addStockMet(now, d)
		return p.written(ctx, 0)
	}
	return p.result(0), nil
}
