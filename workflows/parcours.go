package workflows

import (
	"fmt"
	"sort"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// Parcours is the entity workflow of one beneficiary's parcours: it owns the
// deadlines, fires them as durable timers, keeps the tasks they give, and
// writes every change to the read model through SyncParcours.
//
// The loop waits for the earliest pending deadline (a cancellable timer made
// by AwaitWithTimeout) or for an update that changes the state, whichever
// comes first, then recomputes. A deadline already past when the workflow
// starts, or that passed while no worker ran, fires at the first iteration.
func Parcours(ctx workflow.Context, in ParcoursInput) error {
	p, err := newParcoursImpl(ctx, in)
	if err != nil {
		return err
	}
	return p.run(ctx)
}

type parcoursImpl struct {
	id         string
	policy     domain.Policy
	s          ParcoursState
	logger     log.Logger
	mu         workflow.Mutex // serialises writes to the read model
	registered bool           // the first write is done
	fresh      bool           // first run (not continued as new)
}

func newParcoursImpl(ctx workflow.Context, in ParcoursInput) (*parcoursImpl, error) {
	policy, ok := domain.LookupPolicy(in.Policy)
	if !ok {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("règle de délais inconnue %q", in.Policy), "InvalidPolicy", nil)
	}
	p := &parcoursImpl{
		id:     in.ParcoursID,
		policy: policy,
		logger: log.With(workflow.GetLogger(ctx), "parcoursID", in.ParcoursID),
		mu:     workflow.NewMutex(ctx),
	}
	if in.State != nil {
		p.s = *in.State
		p.registered = true
	} else {
		p.fresh = true
		p.s = ParcoursState{
			Status:  domain.StatusAwaitingOrientation,
			Facts:   domain.Facts{EnteredOn: in.EnteredOn, ReceivedOn: in.ReceivedOn},
			NextSeq: 1,
		}
	}
	if err := p.setHandlers(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *parcoursImpl) setHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, StateQuery, func() (ParcoursState, error) {
		return p.s, nil
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandler(ctx, RegisterUpdate, func(ctx workflow.Context) (UpdateResult, error) {
		if err := workflow.Await(ctx, func() bool { return p.registered }); err != nil {
			return UpdateResult{}, err
		}
		return p.result(), nil
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, RecordOrientationUpdate, p.recordOrientation,
		workflow.UpdateHandlerOptions{Validator: p.validateOrientation}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, RecordContractUpdate, p.recordContract,
		workflow.UpdateHandlerOptions{Validator: p.validateContract})
}

func (p *parcoursImpl) run(ctx workflow.Context) error {
	if p.fresh {
		now := workflow.Now(ctx)
		p.addEvent(now, EventEntered, p.s.Facts.EnteredOn, fmt.Sprintf(
			"Entrée en droits et devoirs le %s (règle de délais : %s).", p.s.Facts.EnteredOn.French(), p.policy.Label))
		p.reschedule()
		p.ensureTask(domain.DeadlineOrientation, "")
		p.fireDue(now)
		if err := p.sync(ctx); err != nil {
			return err
		}
		p.registered = true
	}
	for {
		seen := p.s.Version
		wake := func() bool { return p.s.Version != seen || workflow.GetInfo(ctx).GetContinueAsNewSuggested() }
		now := workflow.Now(ctx)
		if next, ok := p.nextDeadline(); ok {
			if _, err := workflow.AwaitWithTimeout(ctx, next.Sub(now), wake); err != nil {
				return err
			}
		} else if err := workflow.Await(ctx, wake); err != nil {
			return err
		}
		if p.fireDue(workflow.Now(ctx)) {
			if err := p.sync(ctx); err != nil {
				return err
			}
		}
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return p.continueAsNew(ctx)
		}
	}
}

// continueAsNew hands the state to a new run once no update handler runs
// and every event is written. A handler may start while the last write is in
// flight, so both conditions are checked again after each write.
func (p *parcoursImpl) continueAsNew(ctx workflow.Context) error {
	for {
		if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
			return err
		}
		if len(p.s.Unsynced) == 0 {
			break
		}
		if err := p.sync(ctx); err != nil {
			return err
		}
	}
	state := p.s
	return workflow.NewContinueAsNewError(ctx, ParcoursWorkflow, ParcoursInput{
		ParcoursID: p.id, Policy: p.policy.Name,
		EnteredOn: p.s.Facts.EnteredOn, ReceivedOn: p.s.Facts.ReceivedOn,
		State: &state,
	})
}

// reschedule recomputes the deadlines from the facts: new ones are added,
// pending ones take their new due date, met and overdue ones stay as they are.
func (p *parcoursImpl) reschedule() {
	for _, d := range p.policy.Schedule(p.s.Facts) {
		i := p.deadlineIndex(d.Key(), 1)
		if i < 0 {
			p.s.Deadlines = append(p.s.Deadlines, DeadlineState{Deadline: d, Cycle: 1, Status: domain.DeadlinePending})
			continue
		}
		if p.s.Deadlines[i].Status == domain.DeadlinePending {
			p.s.Deadlines[i].Deadline = d
		}
	}
	p.refreshTasks()
}

func (p *parcoursImpl) deadlineIndex(key string, cycle int) int {
	for i, d := range p.s.Deadlines {
		if d.Key() == key && d.Cycle == cycle {
			return i
		}
	}
	return -1
}

// ensureTask opens the task of a deadline kind for this cycle, once.
func (p *parcoursImpl) ensureTask(kind domain.DeadlineKind, assignee string) {
	tk := domain.TaskFor(kind)
	for _, t := range p.s.Tasks {
		if t.Kind == tk && t.Cycle == 1 {
			return
		}
	}
	p.s.Tasks = append(p.s.Tasks, TaskState{Kind: tk, Cycle: 1, Status: domain.TaskOpen, Assignee: assignee})
	p.refreshTasks()
}

// refreshTasks derives each open task's due date (the earliest of its
// deadlines not yet met) and its overdue mark (the first of its deadlines to
// have passed).
func (p *parcoursImpl) refreshTasks() {
	for i := range p.s.Tasks {
		t := &p.s.Tasks[i]
		if t.Status != domain.TaskOpen {
			continue
		}
		var due domain.Date
		var overdueAt time.Time
		for _, d := range p.s.Deadlines {
			if domain.TaskFor(d.Kind) != t.Kind || d.Cycle != t.Cycle || d.Status == domain.DeadlineMet {
				continue
			}
			if due.IsZero() || d.DueOn.Before(due) {
				due = d.DueOn
			}
			if d.Status == domain.DeadlineOverdue && (overdueAt.IsZero() || d.OverdueAt.Before(overdueAt)) {
				overdueAt = d.OverdueAt
			}
		}
		t.DueOn, t.OverdueAt = due, overdueAt
	}
}

// nextDeadline is the instant the earliest pending deadline becomes overdue.
func (p *parcoursImpl) nextDeadline() (time.Time, bool) {
	var next time.Time
	for _, d := range p.s.Deadlines {
		if d.Status == domain.DeadlinePending && (next.IsZero() || d.OverdueFrom().Before(next)) {
			next = d.OverdueFrom()
		}
	}
	return next, !next.IsZero()
}

// fireDue marks overdue every pending deadline whose due date has passed,
// in the order they passed, so that the timeline reads chronologically.
func (p *parcoursImpl) fireDue(now time.Time) bool {
	var due []int
	for i, d := range p.s.Deadlines {
		if d.Status == domain.DeadlinePending && !now.Before(d.OverdueFrom()) {
			due = append(due, i)
		}
	}
	sort.SliceStable(due, func(a, b int) bool {
		return p.s.Deadlines[due[a]].DueOn.Before(p.s.Deadlines[due[b]].DueOn)
	})
	for _, i := range due {
		d := &p.s.Deadlines[i]
		d.Status, d.OverdueAt = domain.DeadlineOverdue, now
		p.addEvent(now, EventDeadlineOverdue, d.DueOn.AddDays(1), "Délai dépassé : "+d.Explain()+".")
	}
	changed := len(due) > 0
	if changed {
		p.refreshTasks()
		p.s.Version++
	}
	return changed
}

// meet marks met every deadline of a kind not met yet, and closes its task.
func (p *parcoursImpl) meet(kind domain.DeadlineKind, on domain.Date, now time.Time) {
	for i := range p.s.Deadlines {
		d := &p.s.Deadlines[i]
		if d.Kind == kind && d.Status != domain.DeadlineMet {
			d.Status, d.MetOn = domain.DeadlineMet, on
		}
	}
	for i := range p.s.Tasks {
		t := &p.s.Tasks[i]
		if t.Kind == domain.TaskFor(kind) && t.Status == domain.TaskOpen {
			t.Status, t.DoneAt = domain.TaskDone, now
		}
	}
}

func (p *parcoursImpl) validateOrientation(ctx workflow.Context, o domain.Orientation) error {
	if p.s.Orientation != nil && *p.s.Orientation == o {
		return nil // the same request again: answered without change
	}
	if p.s.Status != domain.StatusAwaitingOrientation {
		return Rejection(domain.Errorf(domain.ECONFLICT,
			"Le parcours est déjà orienté (décision du %s) : une réorientation se demande séparément.",
			p.s.Orientation.DecidedOn.French()))
	}
	if o.DecidedOn.Before(p.s.Facts.EnteredOn) {
		return Rejection(domain.FieldError("decided_on",
			"La décision d'orientation ne peut précéder l'entrée en droits et devoirs (%s).", p.s.Facts.EnteredOn.French()))
	}
	return nil
}

func (p *parcoursImpl) recordOrientation(ctx workflow.Context, o domain.Orientation) (UpdateResult, error) {
	if p.s.Orientation != nil && *p.s.Orientation == o {
		return p.result(), nil
	}
	now := workflow.Now(ctx)
	p.s.Orientation = &o
	p.s.Facts.OrientedOn, p.s.Facts.Track = o.DecidedOn, o.Track
	p.s.Status = domain.StatusAwaitingContract
	p.meet(domain.DeadlineOrientation, o.DecidedOn, now)
	p.reschedule()
	p.ensureTask(domain.DeadlineContract, o.ReferentID)
	p.addEvent(now, EventOrientationRecord, o.DecidedOn, fmt.Sprintf(
		"Orientation décidée le %s : parcours %s, organisme référent %s, référent %s.",
		o.DecidedOn.French(), o.Track.French(), o.Organism, o.ReferentID))
	p.fireDue(now)
	p.s.Version++
	if err := p.sync(ctx); err != nil {
		return UpdateResult{}, err
	}
	return p.result(), nil
}

func (p *parcoursImpl) validateContract(ctx workflow.Context, c domain.Contract) error {
	if p.s.Contract != nil && *p.s.Contract == c {
		return nil
	}
	switch p.s.Status {
	case domain.StatusAwaitingOrientation:
		return Rejection(domain.Errorf(domain.ECONFLICT,
			"Aucun contrat ne peut être signé avant l'orientation du bénéficiaire."))
	case domain.StatusAwaitingContract:
	default:
		return Rejection(domain.Errorf(domain.ECONFLICT,
			"Un contrat est déjà en cours (signé le %s).", p.s.Contract.SignedOn.French()))
	}
	if c.SignedOn.Before(p.s.Orientation.DecidedOn) {
		return Rejection(domain.FieldError("signed_on",
			"Le contrat ne peut être signé avant la décision d'orientation (%s).", p.s.Orientation.DecidedOn.French()))
	}
	return nil
}

func (p *parcoursImpl) recordContract(ctx workflow.Context, c domain.Contract) (UpdateResult, error) {
	if p.s.Contract != nil && *p.s.Contract == c {
		return p.result(), nil
	}
	now := workflow.Now(ctx)
	p.s.Contract = &c
	p.s.Status = domain.StatusInAccompaniment
	p.meet(domain.DeadlineContract, c.SignedOn, now)
	p.refreshTasks()
	p.addEvent(now, EventContractSigned, c.SignedOn, fmt.Sprintf(
		"Contrat (%s) signé le %s, du %s au %s.", c.Kind.French(), c.SignedOn.French(), c.StartsOn.French(), c.EndsOn.French()))
	p.s.Version++
	if err := p.sync(ctx); err != nil {
		return UpdateResult{}, err
	}
	return p.result(), nil
}

func (p *parcoursImpl) result() UpdateResult {
	return UpdateResult{Version: p.s.Version, Status: p.s.Status}
}

func (p *parcoursImpl) addEvent(now time.Time, kind string, on domain.Date, summary string) {
	p.s.Unsynced = append(p.s.Unsynced, Event{Seq: p.s.NextSeq, Kind: kind, OccurredOn: on, At: now, Summary: summary})
	p.s.NextSeq++
}

// sync writes the current state and the unsynced events to the read model.
// Writes are serialised; each takes the state as it is once its turn comes,
// so the last write always carries the latest state.
func (p *parcoursImpl) sync(ctx workflow.Context) error {
	if err := p.mu.Lock(ctx); err != nil {
		return err
	}
	defer p.mu.Unlock()
	in := SyncInput{
		ParcoursID: p.id, Version: p.s.Version, Status: p.s.Status,
		Orientation: p.s.Orientation, Contract: p.s.Contract,
		Deadlines: p.s.Deadlines, Tasks: p.s.Tasks,
		Events: append([]Event(nil), p.s.Unsynced...),
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: []string{"InvalidInput"},
		},
	})
	if err := workflow.ExecuteActivity(actx, SyncParcoursActivity, in).Get(ctx, nil); err != nil {
		p.logger.Error("read model write failed", "error", err)
		return err
	}
	if n := len(in.Events); n > 0 {
		p.s.Unsynced = p.s.Unsynced[n:]
	}
	return nil
}

// RegisterOptions registers Parcours under its stable name.
func RegisterOptions() workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: ParcoursWorkflow}
}
