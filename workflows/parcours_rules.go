package workflows

import (
	"fmt"
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

// Parcours is the parcours workflow under the service's legal rule sets.
func Parcours(ctx workflow.Context, in ParcoursInput) error { return parcours(ctx, in, domain.Laws) }

// NewParcours is the parcours workflow under another catalogue of legal
// rule sets (tests: a fictional decree); register it with RegisterOptions.
func NewParcours(laws domain.Catalogue) func(workflow.Context, ParcoursInput) error {
	return func(ctx workflow.Context, in ParcoursInput) error { return parcours(ctx, in, laws) }
}

// watchRules sets the catalogue and listens to RulesSignal.
func (p *parcoursImpl) watchRules(ctx workflow.Context, laws domain.Catalogue) {
	p.laws, p.rules = laws, workflow.GetSignalChannel(ctx, RulesSignal)
	p.today = func() domain.Date { return domain.DateOf(workflow.Now(ctx)) }
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
	return next.Time(), !next.IsZero()
}

// adoptRules counts again, with the rule set that takes them over today,
// the running deadlines a new set changes, and says so in the timeline.
// Each set is adopted behind its own version gate ("rules-" + its name), so
// that a history recorded before the set existed replays as it ran.
func (p *parcoursImpl) adoptRules(ctx workflow.Context, now time.Time) bool {
	for p.rules.ReceiveAsync(nil) {
	}
	today := domain.DateOf(now)
	changed := false
	for i := range p.s.Deadlines {
		d := &p.s.Deadlines[i]
		if !takeoverCandidate(*d) {
			continue
		}
		next, ok := p.laws.Running(d.Deadline, p.s.Facts, today)
		if !ok || workflow.GetVersion(ctx, "rules-"+next.RuleSet, workflow.DefaultVersion, 1) < 1 {
			continue
		}
		if !changed {
			p.begin()
			changed = true
		}
		was := d.DueOn
		d.Deadline, d.Rev = next, p.s.Version
		rs, _ := p.laws.Lookup(next.RuleSet)
		p.addEvent(now, EventRuleChanged, rs.InForceFrom, fmt.Sprintf("Nouvelle règle en vigueur le %s (%s) : %s, au lieu du %s.",
			rs.InForceFrom.French(), rs.Source, next.Explain(), was.French()), domain.Recorded{})
	}
	if changed {
		p.refreshTasks()
	}
	return changed
}
