package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// Rule changes reaching running parcours (docs/rule-changes.md).
//
// The workflow runs under a catalogue of legal rule sets (domain.Catalogue):
// the service's is domain.Laws; a test builds the workflow with its own
// (NewParcours), registered under the same name, so that no package state
// changes at run time. A deadline follows the set in force on the date of the
// event it counts from; a set marked domain.TransitionRunning also takes
// over, on its first day, the legal deadlines still running then: the
// parcours wakes up that day (nextTakeover), counts them again (adoptRules)
// and writes them with the rule they now follow. Deadlines already passed
// keep the rule of their time.

const (
	// RulesSignal wakes a running parcours after a deployment that brought
	// new rule sets: it plans the day they take its deadlines over. A
	// parcours asleep until a later deadline would otherwise learn of them
	// only then. No payload.
	RulesSignal = "rules_deployed"
	// EventRuleChanged: a deadline follows a new rule set from its first day.
	EventRuleChanged = "deadline_rule_changed"
)

// Parcours is the parcours workflow with the default options: the
// service's legal rule sets, DefaultSyncLocalLimit.
func Parcours(ctx workflow.Context, in ParcoursInput) error {
	return parcours(ctx, in, ParcoursOptions{})
}

// ParcoursOptions are the worker's options of the parcours workflow. None
// is recorded in a history: a worker may run with options another did not.
type ParcoursOptions struct {
	// Laws is the catalogue of legal rule sets (tests: a fictional
	// decree); empty, domain.Laws.
	Laws domain.Catalogue
	// SyncLocalLimit is how long a write of the read model retries as a
	// local activity before it goes on as an ordinary one; 0,
	// DefaultSyncLocalLimit (PARCOURS_SYNC_LOCAL_LIMIT).
	SyncLocalLimit time.Duration
}

func (o ParcoursOptions) laws() domain.Catalogue {
	if len(o.Laws) == 0 {
		return domain.Laws
	}
	return o.Laws
}

func (o ParcoursOptions) syncLocalLimit() time.Duration {
	if o.SyncLocalLimit <= 0 {
		return DefaultSyncLocalLimit
	}
	return o.SyncLocalLimit
}

// NewParcours is the parcours workflow with options o; register it with
// RegisterOptions.
func NewParcours(o ParcoursOptions) func(workflow.Context, ParcoursInput) error {
	return func(ctx workflow.Context, in ParcoursInput) error { return parcours(ctx, in, o) }
}

// watchRules sets the catalogue and listens to RulesSignal.
func (p *parcoursImpl) watchRules(ctx workflow.Context, laws domain.Catalogue) {
	p.ctx, p.laws, p.rules = ctx, laws, workflow.GetSignalChannel(ctx, RulesSignal)
}

func (p *parcoursImpl) today() domain.Date { return domain.DateIn(workflow.Now(p.ctx), p.zone()) }

// adopt reports whether the parcours may follow the rule set named name.
// The 2012 and 2025 laws, that every recorded history followed without a
// gate, always; a newer set once adopted (ParcoursState.RuleSets), and to
// adopt it a version gate of its own, "rules-<set>-<history length>": a
// workflow task that ran before the set was deployed has no such marker,
// replays as it ran (the gate says no), and the first task after the
// deployment records it. The history length makes each attempt a change of
// its own: a gate once refused in replay would otherwise refuse for the
// whole run (the SDK keeps a change's first answer).
func (p *parcoursImpl) adopt(name string) bool {
	if name == domain.Law2012.Name || name == domain.Law2025.Name || slices.Contains(p.s.RuleSets, name) {
		return true
	}
	change := fmt.Sprintf("rules-%s-%d", name, workflow.GetInfo(p.ctx).GetCurrentHistoryLength())
	if workflow.GetVersion(p.ctx, change, workflow.DefaultVersion, 1) < 1 {
		return false
	}
	p.s.RuleSets = append(p.s.RuleSets, name)
	return true
}

// law is the legal deadline of a kind for the parcours' facts, under the
// sets it may follow (adopt).
func (p *parcoursImpl) law(kind domain.DeadlineKind) (domain.Deadline, bool) {
	laws := p.laws
	for {
		d, ok := laws.LawDeadline(kind, p.s.Facts)
		if !ok || p.adopt(d.RuleSet) {
			return d, ok
		}
		laws = laws.Without(d.RuleSet)
	}
}

// schedule is the policy's schedule at intake (its targets, then the law).
func (p *parcoursImpl) schedule() []domain.Deadline {
	out := p.policy.ScheduleWith(nil, p.s.Facts)
	for _, kind := range []domain.DeadlineKind{domain.DeadlineOrientation, domain.DeadlineContract} {
		if d, ok := p.law(kind); ok {
			out = append(out, d)
		}
	}
	return out
}

// rulesAnnounced: a RulesSignal waits (the loop wakes up to plan again).
func (p *parcoursImpl) rulesAnnounced() bool { return p.rules.Len() > 0 }

// takeoverCandidate: a deadline a new rule set may take over (a legal
// deadline not passed yet).
func takeoverCandidate(d DeadlineState) bool {
	return d.Status == domain.DeadlinePending && d.Basis == domain.BasisLegal
}

// nextTakeover is the first instant, after today, a new rule set takes over
// one of the parcours' running deadlines: 00:00 Europe/Paris on its first
// day.
func (p *parcoursImpl) nextTakeover() (time.Time, bool) {
	today := p.today()
	var next domain.Date
	for _, d := range p.s.Deadlines {
		if !takeoverCandidate(d) {
			continue
		}
		if on, ok := p.laws.NextTakeover(d.Deadline, p.s.Facts, today); ok && (next.IsZero() || on.Before(next)) {
			next = on
		}
	}
	return next.TimeIn(p.zone()), !next.IsZero()
}

// adoptRules counts again, with the rule set that takes them over today,
// the running deadlines a new set changes, and says so in the timeline.
// A set is adopted behind its version gate (adopt), so that a history
// recorded before it was deployed replays as it ran.
func (p *parcoursImpl) adoptRules(ctx workflow.Context, now time.Time) bool {
	for p.rules.ReceiveAsync(nil) {
	}
	today := domain.DateIn(now, p.zone())
	changed := false
	for i := range p.s.Deadlines {
		d := &p.s.Deadlines[i]
		if !takeoverCandidate(*d) {
			continue
		}
		next, ok := p.laws.Running(d.Deadline, p.s.Facts, today)
		if !ok || !p.adopt(next.RuleSet) {
			continue
		}
		if !changed {
			p.begin()
			changed = true
		}
		was := d.DueOn
		d.Deadline, d.Rev = next, p.s.Version
		rs, _ := p.laws.Lookup(next.RuleSet)
		p.addEvent(now, EventRuleChanged, rs.InForceFrom, RuleChangeSummary(rs, next, was), domain.Recorded{})
	}
	if changed {
		p.refreshTasks()
	}
	return changed
}

// RuleChangeSummary is the timeline's line when rule set rs takes over a
// deadline that was due on was.
func RuleChangeSummary(rs domain.RuleSet, next domain.Deadline, was domain.Date) string {
	return fmt.Sprintf("Nouvelle règle en vigueur le %s (%s) : %s, au lieu du %s.", rs.InForceFrom.French(), rs.Source, next.Explain(), was.French())
}
