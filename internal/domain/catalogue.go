package domain

import "slices"

// Transition says how a legal rule set reaches the deadlines of parcours
// already running on its effective date (docs/rule-changes.md).
type Transition string

const (
	// TransitionAnchor: the set applies to the deadlines counted from an
	// event on or after its InForceFrom; a deadline counted from an earlier
	// event keeps the previous set to its end. The 2025 law works so
	// (domain.md: "the applicable set is the one in force on the date of the
	// triggering event").
	TransitionAnchor Transition = ""
	// TransitionRunning: the set also takes over, on its InForceFrom, the
	// deadlines counted from an earlier event that are still running that
	// day (due on or after it): they are counted again from their event with
	// the new delay, and never fall due before that day. A deadline already
	// passed keeps the rule of its time.
	TransitionRunning Transition = "running"
)

// Catalogue is the list of legal rule sets, in the order they came into
// force. The service runs under Laws; a test builds its own (Laws.With).
type Catalogue []RuleSet

// With is a new catalogue: c followed by sets (c is not changed).
func (c Catalogue) With(sets ...RuleSet) Catalogue { return slices.Concat(c, sets) }

// Without is a new catalogue: c without the set named name.
func (c Catalogue) Without(name string) Catalogue {
	return slices.DeleteFunc(slices.Clone(c), func(rs RuleSet) bool { return rs.Name == name })
}

// Lookup finds a set by name.
func (c Catalogue) Lookup(name string) (RuleSet, bool) {
	i := slices.IndexFunc(c, func(rs RuleSet) bool { return rs.Name == name })
	if i < 0 {
		return RuleSet{}, false
	}
	return c[i], true
}

func (rs RuleSet) rule(kind DeadlineKind) (Rule, bool) {
	i := slices.IndexFunc(rs.Rules, func(r Rule) bool { return r.Kind == kind })
	if i < 0 {
		return Rule{}, false
	}
	return rs.Rules[i], true
}

// LawDeadline is the legal deadline of a kind for these facts, if its anchor
// event has happened: the first set, in the catalogue's order, with a rule of
// that kind in force on the date of the event that rule counts from, unless a
// later set with a rule of that kind is in force on that date too (it
// replaces it). For the 2012 and 2025 laws this is exactly the set in force
// on the anchor date, as it always was.
func (c Catalogue) LawDeadline(kind DeadlineKind, f Facts) (Deadline, bool) {
	for i, rs := range c {
		for _, r := range rs.Rules {
			on := f.anchorDate(r.From)
			if r.Kind == kind && !on.IsZero() && rs.inForce(on) && !c.replaced(i, kind, on) {
				return rs.apply(r, f)
			}
		}
	}
	return Deadline{}, false
}

// replaced: a set after c[i] has a rule of kind and is in force on day on.
func (c Catalogue) replaced(i int, kind DeadlineKind, on Date) bool {
	for _, later := range c[i+1:] {
		if _, ok := later.rule(kind); ok && !later.InForceFrom.IsZero() && later.inForce(on) {
			return true
		}
	}
	return false
}

// Running is d as the catalogue has it on day today: each TransitionRunning
// set after the one d follows, with a rule of d's kind, in force by today,
// takes d over if d was counted from an earlier event and still ran on its
// first day (due on or after it), in order. changed is false when d keeps
// its rule.
func (c Catalogue) Running(d Deadline, f Facts, today Date) (out Deadline, changed bool) {
	i := slices.IndexFunc(c, func(rs RuleSet) bool { return rs.Name == d.RuleSet })
	if i < 0 || d.Basis != BasisLegal {
		return d, false
	}
	out = d
	for _, rs := range c[i+1:] {
		r, ok := rs.rule(d.Kind)
		if !ok || rs.Transition != TransitionRunning || rs.InForceFrom.IsZero() || today.Before(rs.InForceFrom) ||
			!out.AnchorOn.Before(rs.InForceFrom) || out.DueOn.Before(rs.InForceFrom) {
			continue
		}
		if next, ok := rs.applyRunning(r, f, rs.InForceFrom); ok {
			out = next
		}
	}
	return out, out != d
}

// NextTakeover is the first day after today on which a TransitionRunning
// set takes d over (see Running): the parcours wakes up that day.
func (c Catalogue) NextTakeover(d Deadline, f Facts, today Date) (Date, bool) {
	for _, rs := range c {
		if rs.Transition != TransitionRunning || !today.Before(rs.InForceFrom) {
			continue
		}
		if _, changed := c.Running(d, f, rs.InForceFrom); changed {
			return rs.InForceFrom, true
		}
	}
	return Date{}, false
}
