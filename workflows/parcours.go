package workflows

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// Parcours is the entity workflow of one beneficiary's parcours, from the
// entry into droits et devoirs to the exit and the last follow-up. It owns
// the deadlines, fires them as durable timers, keeps the tasks they give,
// and writes every change to the read model through SyncParcours.
//
// The loop waits for the next instant something is due (a task opens or a
// deadline passes: one timer, cancelled when the wait ends otherwise; see
// waiter) or for an update that changes the state, whichever comes first,
// then recomputes. A
// date already past when the workflow starts, or that passed while no worker
// ran, is handled at the first iteration.
//
// Follow-ups 3 and 6 months after an action are timers of this workflow, not
// child workflows: one entity, one history, one writer of the read model.
// After an exit the workflow stays alive until its follow-ups are answered
// (or cancelled, on a death), which is the point of them.
func parcours(ctx workflow.Context, in ParcoursInput, o ParcoursOptions) error {
	// Version 1 of "all-2026-12": every change below at once. A run of
	// Revision 1 has them all without asking (no marker, no
	// TemporalChangeVersion upsert: see ParcoursInput.Revision). Runs of
	// Revision 0 replay through the marker of "all-2026-12" (one marker and
	// one upsert instead of one of each per change: those visibility writes
	// were a quarter of the import's CPU), or, recorded before it, through
	// each change's own version, as they were written.
	all := in.Revision >= 1 || workflow.GetVersion(ctx, "all-2026-12", workflow.DefaultVersion, 1) >= 1
	since := func(change string) bool {
		return all || workflow.GetVersion(ctx, change, workflow.DefaultVersion, 1) >= 1
	}
	// Version 1: the whole lifecycle (renewals, reviews, actions, follow-ups,
	// exit). Histories recorded before it replay with the foundation's
	// behaviour: no renewal or review clock after a contract.
	lifecycle := since("lifecycle")
	// Version 1 of "sanctions": relances after an overdue contract, breach
	// reports and their SuspensionReview. Earlier histories schedule none.
	sanctions := since("sanctions")
	// Version 1 of "handover": when the 2025 legal orientation limit passes,
	// the orientation decision passes to France Travail (D262-65-2).
	handover := since("handover")
	// Version 1 of "once": an update applied before a continue-as-new and
	// delivered again to the new run answers as the first time, unapplied.
	once := since("once")
	// Version 1 of "localsync": the read model is written by a local
	// activity, inside the workflow task that changed the state: one round
	// trip to the server instead of three per change (make bench).
	local := since("localsync")
	set := func(p *parcoursImpl) {
		p.sanctions, p.handover, p.once, p.localSync = sanctions, handover, once, local
		p.syncLimit = o.syncLocalLimit()
		p.revision, p.reprise = in.Revision, in.Reprise
		// Revision 3: the wait cancels its timer when an update ends it
		// (older runs: from their first wait run live, see waiter).
		p.waiter = newWaiter("timers-cancel", in.Revision >= 3)
	}
	p, err := newParcoursImpl(ctx, in, lifecycle, o.laws(), set)
	if err != nil {
		return err
	}
	if in.Revision < 3 {
		// As these runs were recorded: an update delivered with the first
		// task ran its handler before this, without the flags.
		set(p)
	}
	return p.run(ctx)
}

type parcoursImpl struct {
	id         string
	policy     domain.Policy
	lifecycle  bool
	laws       domain.Catalogue        // the legal rule sets (parcours_rules.go)
	rules      workflow.ReceiveChannel // RulesSignal: new rule sets deployed
	ctx        workflow.Context        // the root context (rule sets' version gates)
	sanctions  bool
	handover   bool
	once       bool                    // updates are recorded by ID (see ParcoursState.Applied)
	localSync  bool                    // SyncParcours runs as a local activity
	syncLimit  time.Duration           // for this long (ParcoursOptions.SyncLocalLimit)
	news       workflow.ReceiveChannel // ReviewNews from the parcours' cases
	s          ParcoursState
	logger     log.Logger
	mu         workflow.Mutex // serialises writes to the read model
	registered bool           // the first write is done
	fresh      bool           // first run (not continued as new)
	revision   int            // ParcoursInput.Revision
	reprise    *Reprise       // the situation the first run starts from (revision 2)
	waiter     *waiter        // waits for the next date due, cancelling its timer
}

// set gives the run its flags; from revision 3, before the handlers are
// registered (an update delivered with the first task runs its handler
// then).
func newParcoursImpl(ctx workflow.Context, in ParcoursInput, lifecycle bool, laws domain.Catalogue, set func(*parcoursImpl)) (*parcoursImpl, error) {
	policy, ok := domain.LookupPolicy(in.Policy)
	if !ok {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("règle de délais inconnue %q", in.Policy), "InvalidPolicy", nil)
	}
	p := &parcoursImpl{
		id:        in.ParcoursID,
		policy:    policy,
		lifecycle: lifecycle,
		logger:    log.With(workflow.GetLogger(ctx), "parcoursID", in.ParcoursID),
		mu:        workflow.NewMutex(ctx),
		news:      workflow.GetSignalChannel(ctx, ReviewNewsSignal),
	}
	if in.State != nil {
		p.s = *in.State
		p.registered = true
	} else {
		p.fresh = true
		settings := domain.DefaultSettings()
		if in.Settings != nil {
			settings = *in.Settings
		}
		p.s = ParcoursState{
			Status:   domain.StatusAwaitingOrientation,
			Facts:    domain.Facts{EnteredOn: in.EnteredOn, ReceivedOn: in.ReceivedOn, Art642: settings.Art642},
			Settings: settings,
			NextSeq:  1,
		}
	}
	// Before the handlers: an update delivered with the first task runs
	// as they are set.
	p.watchRules(ctx, laws)
	if in.Revision >= 3 {
		set(p)
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
		return p.result(0), nil
	}); err != nil {
		return err
	}
	handlers := []updateHandler{
		onceOnly(p, RecordOrientationUpdate, p.recordOrientation, p.validateOrientation),
		onceOnly(p, RecordContractUpdate, p.recordContract, p.validateContract),
		onceOnly(p, RequestReorientationUpdate, p.requestReorientation, p.validateReorientationRequest),
		onceOnly(p, DecideReorientationUpdate, p.decideReorientation, p.validateReorientationDecision),
		onceOnly(p, ReassignReferentUpdate, p.reassign, p.validateReassignment),
		onceOnly(p, SetReviewExtensionUpdate, p.setReviewExtension, p.validateReviewExtension),
		onceOnly(p, RecordReviewUpdate, p.recordReview, p.validateReview),
		onceOnly(p, RecordActionUpdate, p.recordAction, p.validateAction),
		onceOnly(p, RecordActionOutcomeUpdate, p.recordActionOutcome, p.validateActionOutcome),
		onceOnly(p, RecordFollowUpUpdate, p.recordFollowUp, p.validateFollowUp),
		onceOnly(p, RecordExitUpdate, p.recordExit, p.validateExit),
		onceOnly(p, RecordRelanceUpdate, p.recordRelance, p.validateRelance),
		onceOnly(p, ReportBreachUpdate, p.reportBreach, p.validateBreach),
		onceOnly(p, MarkStockUpdate, p.markStock, p.validateMarkStock),
		onceOnly(p, RecordOrientationNotifiedUpdate, p.recordOrientationNotified, p.validateOrientationNotified),
		{name: ResyncUpdate, handler: p.resync, validator: validateResync},
	}
	for _, h := range handlers {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, h.name, h.handler,
			workflow.UpdateHandlerOptions{Validator: h.validator}); err != nil {
			return err
		}
	}
	return nil
}

func (p *parcoursImpl) run(ctx workflow.Context) error {
	if p.fresh {
		now := workflow.Now(ctx)
		p.begin()
		p.addEvent(now, EventEntered, p.s.Facts.EnteredOn, fmt.Sprintf(
			"Entrée en droits et devoirs le %s (règle de délais : %s).", p.s.Facts.EnteredOn.French(), p.policy.Label), domain.Recorded{})
		for _, d := range p.schedule() {
			p.addDeadline(d, 1, domain.TaskFor(d.Kind), domain.Date{})
		}
		p.adoptRules(ctx, now)
		p.openTask(domain.TaskOrient, 1, "")
		if p.revision >= 2 {
			p.resume(ctx, now)
			p.adoptRules(ctx, now)
			p.settle(now)
		} else {
			p.fireDue(now)
		}
		if err := p.sync(ctx); err != nil {
			return err
		}
		p.registered = true
	}
	for {
		if p.finished() {
			return p.finish(ctx)
		}
		seen := p.s.Version
		wake := func() bool {
			return p.s.Version != seen || p.news.Len() > 0 || p.rulesAnnounced() || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
		}
		if next, ok := p.nextWake(); ok {
			if err := p.waiter.until(ctx, next, wake); err != nil {
				return err
			}
		} else if err := workflow.Await(ctx, wake); err != nil {
			return err
		}
		now := workflow.Now(ctx)
		heard := p.receiveNews(now)
		adopted := p.adoptRules(ctx, now)
		if p.settle(now) || heard || adopted {
			if err := p.sync(ctx); err != nil {
				return err
			}
		}
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return p.continueAsNew(ctx)
		}
	}
}

// zone is the zone the parcours' dates live in: Europe/Paris, or the
// bench's fixed zone (domain.Settings.ZoneOffset).
func (p *parcoursImpl) zone() *time.Location { return p.s.Settings.Location() }

// finished: the person left and no follow-up remains.
func (p *parcoursImpl) finished() bool {
	if p.s.Status != domain.StatusExited {
		return false
	}
	for _, d := range p.s.Deadlines {
		if open(d.Status) {
			return false
		}
	}
	return true
}

// finish ends the workflow once every handler and write is done.
func (p *parcoursImpl) finish(ctx workflow.Context) error {
	if err := p.drain(ctx); err != nil {
		return err
	}
	p.logger.Info("parcours finished")
	return nil
}

// drain waits until no update handler runs and everything is written. A
// handler may start while the last write is in flight, so both conditions
// are checked again after each write.
func (p *parcoursImpl) drain(ctx workflow.Context) error {
	for {
		if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
			return err
		}
		p.receiveNews(workflow.Now(ctx))
		if len(p.s.Unsynced) == 0 && p.s.SyncedVersion >= p.s.Version {
			return nil
		}
		if err := p.sync(ctx); err != nil {
			return err
		}
	}
}

// continueAsNew hands the state to a new run once drained.
func (p *parcoursImpl) continueAsNew(ctx workflow.Context) error {
	if err := p.drain(ctx); err != nil {
		return err
	}
	state := p.s.withoutFreeText()
	return workflow.NewContinueAsNewError(ctx, ParcoursWorkflow, ParcoursInput{
		Revision: CurrentRevision, ParcoursID: p.id, Policy: p.policy.Name,
		EnteredOn: p.s.Facts.EnteredOn, ReceivedOn: p.s.Facts.ReceivedOn,
		State: &state,
	})
}

// withoutFreeText is the state a new run starts from: the free text that
// runs recorded before issue 20 (item 7) still hold leaves it, so that it
// travels into no further history. Everything is drained by then: the read
// model already has each text, and its upserts never overwrite a row's name
// or obligation. Actions are then named by number (domain.ActionLabel), in
// their rows and in the rules of their deadlines. Runs recorded since carry
// only ids: nothing changes for them.
func (s ParcoursState) withoutFreeText() ParcoursState {
	s.Actions = slices.Clone(s.Actions)
	for i := range s.Actions {
		s.Actions[i].Action.Name, s.Actions[i].Action.Structure = "", ""
	}
	s.CaseRows = slices.Clone(s.CaseRows)
	for i := range s.CaseRows {
		s.CaseRows[i].Breach.Obligation = ""
	}
	s.Deadlines = slices.Clone(s.Deadlines)
	for i, d := range s.Deadlines {
		if d.Anchor == "action_end" {
			s.Deadlines[i].Rule = unquoteAction(d.Rule, d.Cycle)
		}
	}
	return s
}

// unquoteAction names action n by its number in a rule that quotes its
// name (« ... »; the name itself may hold guillemets).
func unquoteAction(rule string, n int) string {
	from, to := strings.Index(rule, "« "), strings.LastIndex(rule, " »")
	if from < 0 || to < from {
		return rule
	}
	return rule[:from] + domain.ActionLabel(n, "") + rule[to+len(" »"):]
}

// ---- updates applied once ----------------------------------------------

type updateHandler struct {
	name      string
	handler   any
	validator any
}

// keptApplied is how many applied update IDs the state keeps: a duplicate
// comes right after a continue-as-new, so the last ones are enough.
const keptApplied = 64

// onceOnly wraps a command's handler and validator: when "once" is on, an
// update ID already applied is not validated nor applied again, and gets the
// first answer.
func onceOnly[T any](p *parcoursImpl, name string, handler func(workflow.Context, T) (UpdateResult, error),
	validator func(workflow.Context, T) error) updateHandler {
	return updateHandler{
		name: name,
		handler: func(ctx workflow.Context, in T) (UpdateResult, error) {
			// An update delivered with the first task waits for the run's
			// first deadlines and write (revision 3: before, it applied to
			// a state not yet begun).
			// Its validator judged the state before; it is checked again
			// against the state it will change.
			ready := func() error {
				if p.revision < 3 {
					return nil
				}
				if err := workflow.Await(ctx, func() bool { return p.registered }); err != nil {
					return err
				}
				return validator(ctx, in)
			}
			if !p.once {
				if err := ready(); err != nil {
					return UpdateResult{}, err
				}
				return handler(ctx, in)
			}
			id := workflow.GetCurrentUpdateInfo(ctx).ID
			if p.applied(id) >= 0 {
				pending := func() bool { i := p.applied(id); return i >= 0 && !p.s.Applied[i].Done }
				if err := workflow.Await(ctx, func() bool { return !pending() }); err != nil {
					return UpdateResult{}, err
				}
				if i := p.applied(id); i >= 0 {
					return p.s.Applied[i].Result, nil
				}
				return UpdateResult{}, conflict("La même demande a échoué : recommencez-la.")
			}
			p.s.Applied = append(p.s.Applied, AppliedUpdate{ID: id})
			err := ready()
			var res UpdateResult
			if err == nil {
				res, err = handler(ctx, in)
			}
			i := p.applied(id)
			if err != nil {
				p.s.Applied = slices.Delete(p.s.Applied, i, i+1)
				return res, err
			}
			p.s.Applied[i].Done, p.s.Applied[i].Result = true, res
			for len(p.s.Applied) > keptApplied && p.s.Applied[0].Done {
				p.s.Applied = slices.Delete(p.s.Applied, 0, 1)
			}
			return res, nil
		},
		validator: func(ctx workflow.Context, in T) error {
			if p.once && p.applied(workflow.GetCurrentUpdateInfo(ctx).ID) >= 0 {
				return nil
			}
			return validator(ctx, in)
		},
	}
}

// applied is the index of an update ID in the applied list, or -1.
func (p *parcoursImpl) applied(id string) int {
	for i, a := range p.s.Applied {
		if a.ID == id {
			return i
		}
	}
	return -1
}

// ---- state changes -------------------------------------------------------

// begin opens a change: every record it touches carries the new version, so
// that the next write sends it.
func (p *parcoursImpl) begin() { p.s.Version++ }

func open(s domain.DeadlineStatus) bool {
	return s == domain.DeadlinePending || s == domain.DeadlineOverdue
}

func (p *parcoursImpl) addDeadline(d domain.Deadline, cycle int, task domain.TaskKind, opensOn domain.Date) {
	p.s.Deadlines = append(p.s.Deadlines, DeadlineState{
		Deadline: d, Cycle: cycle, Task: task, OpensOn: opensOn, Status: domain.DeadlinePending, Rev: p.s.Version,
	})
}

// closeDeadlines gives status to every open deadline that match selects.
func (p *parcoursImpl) closeDeadlines(status domain.DeadlineStatus, on domain.Date, match func(DeadlineState) bool) {
	for i := range p.s.Deadlines {
		d := &p.s.Deadlines[i]
		if open(d.Status) && match(*d) {
			d.Status, d.Rev = status, p.s.Version
			if status == domain.DeadlineMet {
				d.MetOn = on
			}
		}
	}
	p.refreshTasks()
}

// openTask opens the task of a kind and cycle, once.
func (p *parcoursImpl) openTask(kind domain.TaskKind, cycle int, assignee string) {
	for _, t := range p.s.Tasks {
		if t.Kind == kind && t.Cycle == cycle {
			return
		}
	}
	p.s.Tasks = append(p.s.Tasks, TaskState{Kind: kind, Cycle: cycle, Status: domain.TaskOpen, Assignee: assignee, Rev: p.s.Version})
	p.refreshTasks()
}

// closeTasks gives status to every open task that match selects.
func (p *parcoursImpl) closeTasks(status domain.TaskStatus, now time.Time, match func(TaskState) bool) {
	for i := range p.s.Tasks {
		t := &p.s.Tasks[i]
		if t.Status == domain.TaskOpen && match(*t) {
			t.Status, t.Rev = status, p.s.Version
			if status == domain.TaskDone {
				t.DoneAt = now
			}
		}
	}
}

// refreshTasks derives each open task's due date (the earliest of its open
// deadlines) and its overdue mark (the first of them to have passed).
func (p *parcoursImpl) refreshTasks() {
	for i := range p.s.Tasks {
		t := &p.s.Tasks[i]
		if t.Status != domain.TaskOpen {
			continue
		}
		var due domain.Date
		var overdueAt time.Time
		for _, d := range p.s.Deadlines {
			if !p.carries(*t, d) || !open(d.Status) {
				continue
			}
			if due.IsZero() || d.DueOn.Before(due) {
				due = d.DueOn
			}
			if d.Status == domain.DeadlineOverdue && (overdueAt.IsZero() || d.OverdueAt.Before(overdueAt)) {
				overdueAt = d.OverdueAt
			}
		}
		if t.DueOn != due || !t.OverdueAt.Equal(overdueAt) {
			t.DueOn, t.OverdueAt, t.Rev = due, overdueAt, p.s.Version
		}
	}
}

func (p *parcoursImpl) hasTask(kind domain.TaskKind, cycle int) bool {
	for _, t := range p.s.Tasks {
		if t.Kind == kind && t.Cycle == cycle {
			return true
		}
	}
	return false
}

// assignee of a task kind: the département's own tasks have none.
func (p *parcoursImpl) assignee(kind domain.TaskKind) string {
	if kind == domain.TaskOrient || kind == domain.TaskDecideReorientation || p.s.Orientation == nil {
		return ""
	}
	return p.s.Orientation.ReferentID
}

// nextWake is the next instant a task opens or a deadline passes.
func (p *parcoursImpl) nextWake() (time.Time, bool) {
	var next time.Time
	consider := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for _, d := range p.s.Deadlines {
		if d.Status != domain.DeadlinePending {
			continue
		}
		if !d.OpensOn.IsZero() && !p.hasTask(d.TaskKind(), d.Cycle) {
			consider(d.OpensOn.TimeIn(p.zone()))
		}
		consider(d.OverdueFromIn(p.zone()))
	}
	if t, ok := p.nextTakeover(); ok {
		consider(t)
	}
	return next, !next.IsZero()
}

// openDue opens the tasks whose day has come (follow-ups, renewals...).
func (p *parcoursImpl) openDue(now time.Time) bool {
	var due []int
	for i, d := range p.s.Deadlines {
		if open(d.Status) && !d.OpensOn.IsZero() && !now.Before(d.OpensOn.TimeIn(p.zone())) && !p.hasTask(d.TaskKind(), d.Cycle) {
			due = append(due, i)
		}
	}
	if len(due) == 0 {
		return false
	}
	p.begin()
	for _, i := range due {
		d := p.s.Deadlines[i]
		kind := d.TaskKind()
		if p.hasTask(kind, d.Cycle) {
			continue // two deadlines of one task
		}
		p.openTask(kind, d.Cycle, p.assignee(kind))
		if d.Kind == domain.DeadlineFollowUp3 || d.Kind == domain.DeadlineFollowUp6 {
			p.addEvent(now, EventFollowUpOpened, d.OpensOn, "Suivi à faire : "+d.Explain()+".", domain.Recorded{})
		}
	}
	return true
}

// settle opens and fires everything due at now, until nothing changes (a
// deadline that passes may schedule others already due: relances).
func (p *parcoursImpl) settle(now time.Time) bool {
	changed := false
	for {
		opened := p.openDue(now)
		fired := p.fireDue(now)
		if !opened && !fired {
			return changed
		}
		changed = true
	}
}

// fireDue marks overdue every pending deadline whose due date has passed,
// in the order they passed, so that the timeline reads chronologically.
func (p *parcoursImpl) fireDue(now time.Time) bool {
	var due []int
	for i, d := range p.s.Deadlines {
		if d.Status == domain.DeadlinePending && !now.Before(d.OverdueFromIn(p.zone())) {
			due = append(due, i)
		}
	}
	if len(due) == 0 {
		return false
	}
	sort.SliceStable(due, func(a, b int) bool {
		return p.s.Deadlines[due[a]].DueOn.Before(p.s.Deadlines[due[b]].DueOn)
	})
	p.begin()
	for _, i := range due {
		d := &p.s.Deadlines[i]
		d.Status, d.OverdueAt, d.Rev = domain.DeadlineOverdue, now, p.s.Version
		if p.revision >= 2 {
			// As if the service had followed the person: overdue from the
			// day after the due date, also when a reprise starts late.
			d.OverdueAt = d.OverdueFromIn(p.zone())
		}
		p.addEvent(now, EventDeadlineOverdue, d.DueOn.AddDays(1), "Délai dépassé : "+d.Explain()+".", domain.Recorded{})
		if p.sanctions && d.Kind == domain.DeadlineContract && (d.Basis == domain.BasisLegal || d.Basis == domain.BasisContractTerm ||
			d.Basis == domain.BasisStock && !p.relancing()) {
			p.scheduleRelances(p.s.Deadlines[i])
		}
		if p.handover && domain.HandsOver(d.Deadline) {
			p.handOver(now, p.s.Deadlines[i])
		}
	}
	p.refreshTasks()
	return true
}

func (p *parcoursImpl) addEvent(now time.Time, kind string, on domain.Date, summary string, by domain.Recorded) {
	p.s.Unsynced = append(p.s.Unsynced, Event{
		Seq: p.s.NextSeq, Kind: kind, OccurredOn: on, At: now, Summary: summary, Actor: by.RecordedBy, NoteID: by.NoteID,
	})
	p.s.NextSeq++
}

func (p *parcoursImpl) result(ref int) UpdateResult {
	return UpdateResult{Version: p.s.Version, Status: p.s.Status, Ref: ref}
}

// ---- writes to the read model -------------------------------------------

// syncPatience is how long a write of the read model is retried before the
// workflow gives up: far longer than any database outage.
const syncPatience = 30 * 24 * time.Hour

// DefaultSyncLocalLimit is how long the local activity retries a write
// before the write goes on as an ordinary activity (revision 3, or the gate
// "timers-sync-fallback"), unless the worker says otherwise
// (ParcoursOptions.SyncLocalLimit, PARCOURS_SYNC_LOCAL_LIMIT). Past the
// workflow-task timeout (10 s), each retry of a local activity is a marker,
// a timer and a workflow task in the history, about 6 events: at one retry
// a minute, a few days of outage reached Temporal's limit of 51,200 events
// and the server terminated the workflow. The retries of an ordinary
// activity are the server's and record nothing until the last. 2 minutes
// covers a PostgreSQL restart or a failover on the fast path (one round
// trip per change) for about 40 events; then each write costs 3 events and
// a trip through the task queue until the database answers. Local activity
// options are not in the history: the limit applies to every run, may
// differ from one worker to the next, and only the fallback, where a run
// recorded before it failed, is gated. See
// docs/decisions/0006-timers-and-sync-fallback.md.
const DefaultSyncLocalLimit = 2 * time.Minute

// syncRetry is how a write of the read model is retried: soon, then once a
// minute.
var syncRetry = temporal.RetryPolicy{
	InitialInterval:        time.Second,
	BackoffCoefficient:     2,
	MaximumInterval:        time.Minute,
	NonRetryableErrorTypes: []string{"InvalidInput"},
}

// write runs SyncParcoursActivity: a local activity for p.syncLimit,
// then, while the database does not answer, an ordinary activity for
// syncPatience.
func (p *parcoursImpl) write(ctx workflow.Context, in SyncInput) error {
	retry := syncRetry
	if !p.localSync {
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second, RetryPolicy: &retry})
		return workflow.ExecuteActivity(actx, SyncParcoursActivity, in).Get(ctx, nil)
	}
	// ScheduleToCloseTimeout must be set: unset, the SDK takes the
	// StartToCloseTimeout, so that retries stopped after 30 s and a
	// 30-s PostgreSQL outage failed the workflow.
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second, ScheduleToCloseTimeout: p.localLimit(), RetryPolicy: &retry,
	})
	err := workflow.ExecuteLocalActivity(lctx, SyncParcoursActivity, in).Get(ctx, nil)
	if err == nil || !retryable(err) || !p.fallsBack(ctx) {
		return err
	}
	p.logger.Warn("read model unreachable: the write goes on as an ordinary activity", "error", err)
	// As many attempts as syncPatience allows, said outright: the SDK's
	// test environment stops an activity after 10 attempts otherwise.
	retry.MaximumAttempts = int32(syncPatience / syncRetry.MaximumInterval)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second, ScheduleToCloseTimeout: syncPatience, RetryPolicy: &retry,
	})
	return workflow.ExecuteActivity(actx, SyncParcoursActivity, in).Get(ctx, nil)
}

// localLimit is the run's syncLimit, DefaultSyncLocalLimit unset.
func (p *parcoursImpl) localLimit() time.Duration {
	if p.syncLimit > 0 {
		return p.syncLimit
	}
	return DefaultSyncLocalLimit
}

// fallsBack: a local write that gave up goes on as an ordinary activity.
// Version 1 of "timers-sync-fallback": asked only once a local write gave
// up, which ended the runs recorded before it (their limit was
// syncPatience), so that a run open at the upgrade falls back at its first
// long outage.
func (p *parcoursImpl) fallsBack(ctx workflow.Context) bool {
	return p.revision >= 3 || workflow.GetVersion(ctx, "timers-sync-fallback", workflow.DefaultVersion, 1) >= 1
}

// retryable: the write failed for want of the database, not because the
// workflow is cancelled or the input refused.
func retryable(err error) bool {
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		return false
	}
	var app *temporal.ApplicationError
	return !errors.As(err, &app) || !app.NonRetryable() && !slices.Contains(syncRetry.NonRetryableErrorTypes, app.Type())
}

// sync writes the status and every record changed since the last write,
// then forgets what is closed and written. Writes are serialised; each takes
// the state as it is once its turn comes.
func (p *parcoursImpl) sync(ctx workflow.Context) error {
	if err := p.mu.Lock(ctx); err != nil {
		return err
	}
	defer p.mu.Unlock()
	since, version := p.s.SyncedVersion, p.s.Version
	full := p.s.Epoch > p.s.SyncedEpoch // a resync: every record held (resync.go)
	if full {
		since = -1
	}
	in := SyncInput{
		ParcoursID: p.id, Version: version, Status: p.s.Status, Epoch: p.s.Epoch, Full: full,
		Orientation: p.s.Orientation, Contract: p.s.Contract, Exit: p.s.Exit,
		Deadlines:    changed(p.s.Deadlines, since, func(d DeadlineState) int64 { return d.Rev }),
		Tasks:        changed(p.s.Tasks, since, func(t TaskState) int64 { return t.Rev }),
		Orientations: changed(p.s.OrientationRows, since, func(r OrientationRow) int64 { return r.Rev }),
		Contracts:    changed(p.s.ContractRows, since, func(r ContractRow) int64 { return r.Rev }),
		Actions:      changed(p.s.Actions, since, func(r ActionRow) int64 { return r.Rev }),
		FollowUps:    changed(p.s.FollowUps, since, func(r FollowUpRow) int64 { return r.Rev }),
		Cases:        changed(p.s.CaseRows, since, func(r CaseRow) int64 { return r.Rev }),
		Events:       append([]Event(nil), p.s.Unsynced...),
	}
	if err := p.write(ctx, in); err != nil {
		p.logger.Error("read model write failed", "error", err)
		return err
	}
	if n := len(in.Events); n > 0 {
		p.s.Unsynced = p.s.Unsynced[n:]
	}
	p.s.SyncedVersion = max(p.s.SyncedVersion, version)
	p.s.SyncedEpoch = max(p.s.SyncedEpoch, in.Epoch)
	p.prune()
	return nil
}

func changed[T any](rows []T, since int64, rev func(T) int64) []T {
	var out []T
	for _, r := range rows {
		if rev(r) > since {
			out = append(out, r)
		}
	}
	return out
}

// prune forgets the records that are closed and already written: the read
// model has them, and the state stays small over years.
func (p *parcoursImpl) prune() {
	done := p.s.SyncedVersion
	p.s.Deadlines = slices.DeleteFunc(p.s.Deadlines, func(d DeadlineState) bool {
		return !open(d.Status) && d.Rev <= done
	})
	p.s.Tasks = slices.DeleteFunc(p.s.Tasks, func(t TaskState) bool {
		return t.Status != domain.TaskOpen && t.Rev <= done
	})
	p.s.OrientationRows = slices.DeleteFunc(p.s.OrientationRows, func(r OrientationRow) bool { return r.Rev <= done })
	p.s.ContractRows = slices.DeleteFunc(p.s.ContractRows, func(r ContractRow) bool { return r.Rev <= done })
	p.s.CaseRows = slices.DeleteFunc(p.s.CaseRows, func(r CaseRow) bool { return r.Rev <= done })
	p.s.FollowUps = slices.DeleteFunc(p.s.FollowUps, func(r FollowUpRow) bool {
		return (r.Answer != nil || r.Cancelled) && r.Rev <= done
	})
	p.s.Actions = slices.DeleteFunc(p.s.Actions, func(a ActionRow) bool {
		return a.Outcome != nil && a.Rev <= done
	})
}

// RegisterOptions registers Parcours under its stable name.
func RegisterOptions() workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: ParcoursWorkflow}
}
