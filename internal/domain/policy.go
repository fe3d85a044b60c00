package domain

import (
	"fmt"
	"slices"
	"strings"
)

// DeadlineKind names what must be done by a deadline.
type DeadlineKind string

const (
	DeadlineOrientation DeadlineKind = "orientation"
	DeadlineContract    DeadlineKind = "contract"
)

// Basis says whether a deadline is a target the département set itself or a
// limit the law sets. Both run side by side (domain.md, "Deadlines").
type Basis string

const (
	BasisTarget Basis = "target"
	BasisLegal  Basis = "legal"
)

// Anchor is the event a delay counts from.
type Anchor string

const (
	AnchorEntry       Anchor = "entry"       // entry into droits et devoirs
	AnchorReceipt     Anchor = "receipt"     // the département's receipt of the information
	AnchorOrientation Anchor = "orientation" // the orientation decision
	// AnchorNotification: the orientation's notification (D5411-14-1 code
	// du travail). Without a notification date (orientations recorded
	// before it existed), the decision's date, as before.
	AnchorNotification Anchor = "notification"
)

func (a Anchor) french() string {
	switch a {
	case AnchorEntry:
		return "l'entrée en droits et devoirs"
	case AnchorReceipt:
		return "la réception de l'information par le Département"
	case AnchorOrientation:
		return "la décision d'orientation"
	case AnchorNotification:
		return "la notification de l'orientation"
	}
	return string(a)
}

// Delay is a legal delay: months count as art. 641 CPC says, weeks and days
// count in days.
type Delay struct {
	Months int `json:"months,omitempty"`
	Weeks  int `json:"weeks,omitempty"`
	Days   int `json:"days,omitempty"`
}

// From is the last day allowed for a delay starting on d.
func (l Delay) From(d Date) Date {
	return d.AddMonths(l.Months).AddDays(7*l.Weeks + l.Days)
}

// French reads "2 mois", "6 semaines", "10 jours".
func (l Delay) French() string {
	var parts []string
	if l.Months > 0 {
		parts = append(parts, fmt.Sprintf("%d mois", l.Months))
	}
	if l.Weeks > 0 {
		parts = append(parts, plural(l.Weeks, "semaine"))
	}
	if l.Days > 0 {
		parts = append(parts, plural(l.Days, "jour"))
	}
	if len(parts) == 0 {
		return "0 jour"
	}
	return strings.Join(parts, " et ")
}

func plural(n int, word string) string {
	if n > 1 {
		return fmt.Sprintf("%d %ss", n, word)
	}
	return fmt.Sprintf("%d %s", n, word)
}

// Rule is one clock of a rule set.
type Rule struct {
	Kind  DeadlineKind
	Delay Delay
	// DelayProfessional, when set, replaces Delay after a professional
	// orientation (law before 2025: PPAE within 1 month, CER within 2).
	DelayProfessional *Delay
	From              Anchor
	Source            string // the article, for a legal rule: "D262-65-2 CASF"
}

// RuleSet is a named, dated set of clocks.
type RuleSet struct {
	Name   string
	Basis  Basis
	Label  string // how a deadline names it: "engagement départemental (...)"
	Source string // the texts, for the curious reader
	// InForceFrom and InForceUntil bound a legal rule set (inclusive); the set
	// applying to a deadline is the one in force on its anchor event's date.
	InForceFrom, InForceUntil Date
	// Transition: how the set reaches deadlines counted from events before
	// InForceFrom (catalogue.go). Zero: it does not (the 2025 law).
	Transition Transition
	Rules      []Rule
}

func (rs RuleSet) inForce(d Date) bool {
	if !rs.InForceFrom.IsZero() && d.Before(rs.InForceFrom) {
		return false
	}
	if !rs.InForceUntil.IsZero() && d.After(rs.InForceUntil) {
		return false
	}
	return true
}

// Rule sets. Sources: domain.md, seeds 002 and 003.
var (
	// TargetsDepartement are the commitments of the seeds (Calvados PDI
	// 2019-2024; Ain Plan insertion 2023-2028 measures the same delays).
	TargetsDepartement = RuleSet{
		Name:   "engagement-departemental",
		Basis:  BasisTarget,
		Label:  "engagement départemental",
		Source: "PDI du Calvados 2019-2024 ; Plan insertion de l'Ain 2023-2028",
		Rules: []Rule{
			{Kind: DeadlineOrientation, Delay: Delay{Months: 1}, From: AnchorEntry},
			{Kind: DeadlineContract, Delay: Delay{Months: 2}, From: AnchorEntry},
		},
	}
	// Law2012 is the law in force until 31 December 2024.
	Law2012 = RuleSet{
		Name:         "loi-2012",
		Basis:        BasisLegal,
		Label:        "délai légal",
		Source:       "R262-65-2 CASF (version 2012), L262-35, L262-36 CASF",
		InForceUntil: NewDate(2024, 12, 31),
		Rules: []Rule{
			{Kind: DeadlineOrientation, Delay: Delay{Months: 2}, From: AnchorReceipt, Source: "R262-65-2 CASF"},
			{Kind: DeadlineContract, Delay: Delay{Months: 2}, DelayProfessional: &Delay{Months: 1}, From: AnchorOrientation, Source: "L262-35 et L262-36 CASF"},
		},
	}
	// Law2025 is the law "pour le plein emploi", in force since 1 January 2025.
	Law2025 = RuleSet{
		Name:        "loi-2025",
		Basis:       BasisLegal,
		Label:       "délai légal",
		Source:      "loi 2023-1196, décret 2024-1244 : D262-65-2 CASF, D5411-14-1 code du travail",
		InForceFrom: NewDate(2025, 1, 1),
		Rules: []Rule{
			{Kind: DeadlineOrientation, Delay: Delay{Weeks: 6}, From: AnchorReceipt, Source: "D262-65-2 CASF"},
			{Kind: DeadlineContract, Delay: Delay{Months: 1}, From: AnchorNotification, Source: "D5411-14-1 code du travail"},
		},
	}
	// Laws is the catalogue of the legal rule sets the service applies, in
	// the order they came into force (docs/rule-changes.md: how to add one).
	// Read only: a test with other rules builds its own Catalogue.
	Laws = Catalogue{Law2012, Law2025}
)

// LawInForce is the legal rule set in force on date d.
func LawInForce(d Date) RuleSet {
	for _, rs := range Laws {
		if rs.inForce(d) {
			return rs
		}
	}
	return Law2025
}

// Policy is what PARCOURS_POLICY chooses: the law always runs; a policy may
// add the département's own, earlier targets on top (domain.md: "The law
// always applies").
type Policy struct {
	Name    string
	Label   string
	Targets []RuleSet
}

// Policies known to the service, by PARCOURS_POLICY value.
var (
	PolicyDepartement = Policy{
		Name:    "departement",
		Label:   "engagements départementaux (orientation en 1 mois, contrat en 2 mois après l'entrée) et délais légaux",
		Targets: []RuleSet{TargetsDepartement},
	}
	PolicyLoi = Policy{
		Name:  "loi",
		Label: "délais légaux seuls (règles en vigueur à la date de l'événement)",
	}
	policies = []Policy{PolicyDepartement, PolicyLoi}
)

// DefaultPolicy is the policy used when PARCOURS_POLICY is unset.
const DefaultPolicy = "departement"

// PolicyNames lists the accepted PARCOURS_POLICY values.
func PolicyNames() []string {
	names := make([]string, len(policies))
	for i, p := range policies {
		names[i] = p.Name
	}
	return names
}

// LookupPolicy finds a policy by name.
func LookupPolicy(name string) (Policy, bool) {
	i := slices.IndexFunc(policies, func(p Policy) bool { return p.Name == name })
	if i < 0 {
		return Policy{}, false
	}
	return policies[i], true
}

// Facts are the dated events deadlines count from.
type Facts struct {
	EnteredOn  Date  // entry into droits et devoirs
	ReceivedOn Date  // the département's receipt of the information
	OrientedOn Date  // orientation decision; zero while none
	Track      Track // track of that orientation
	// NotifiedOn is that orientation's notification, NotifiedAssumed when
	// it is the decision's date for want of one (see Orientation).
	NotifiedOn      Date `json:",omitempty"`
	NotifiedAssumed bool `json:",omitempty"`
	// Art642: the rule sets' delays follow art. 642 CPC (Settings.Art642,
	// fixed when the parcours starts).
	Art642 bool `json:",omitempty"`
}

// Orient sets the facts of an orientation.
func (f *Facts) Orient(o Orientation) {
	f.OrientedOn, f.Track = o.DecidedOn, o.Track
	f.NotifiedOn, f.NotifiedAssumed = o.NotifiedOn, o.NotifiedAssumed
}

// Deadline is one computed clock: what is due, by when, and why.
type Deadline struct {
	Kind     DeadlineKind `json:"kind"`
	Basis    Basis        `json:"basis"`
	RuleSet  string       `json:"rule_set"`
	DueOn    Date         `json:"due_on"`
	Anchor   Anchor       `json:"anchor"`
	AnchorOn Date         `json:"anchor_on"`
	Rule     string       `json:"rule"`
}

// Key identifies a deadline within a parcours cycle.
func (d Deadline) Key() string { return string(d.Kind) + "/" + string(d.Basis) }

// Schedule computes the deadlines that the facts known so far allow: each
// target rule set of the policy, then the law in force on each anchor date.
// A deadline whose anchor has not happened yet (the contract before any
// orientation, under the law) is not in the list.
func (p Policy) Schedule(f Facts) []Deadline { return p.ScheduleWith(Laws, f) }

// ScheduleWith is Schedule under a catalogue of legal rule sets.
func (p Policy) ScheduleWith(laws Catalogue, f Facts) []Deadline {
	var out []Deadline
	for _, rs := range p.Targets {
		for _, r := range rs.Rules {
			if d, ok := rs.apply(r, f); ok {
				out = append(out, d)
			}
		}
	}
	for _, kind := range []DeadlineKind{DeadlineOrientation, DeadlineContract} {
		if d, ok := laws.LawDeadline(kind, f); ok {
			out = append(out, d)
		}
	}
	return out
}

// LawDeadline is the legal deadline of a kind for these facts, if its
// anchor event has happened.
func LawDeadline(kind DeadlineKind, f Facts) (Deadline, bool) { return Laws.LawDeadline(kind, f) }

func (rs RuleSet) apply(r Rule, f Facts) (Deadline, bool) { return rs.applyRunning(r, f, Date{}) }

// applyRunning applies a rule; running, when set, is the day the rule set
// took over the deadlines still running (TransitionRunning): the deadline
// says so and never falls before that day.
func (rs RuleSet) applyRunning(r Rule, f Facts, running Date) (Deadline, bool) {
	on := f.anchorDate(r.From)
	if on.IsZero() {
		return Deadline{}, false
	}
	delay := r.Delay
	if r.DelayProfessional != nil && f.Track == TrackProfessional {
		delay = *r.DelayProfessional
	}
	due := delay.From(on)
	label := rs.Label
	if r.Source != "" {
		label += ", " + r.Source
	}
	from, why := r.From, ""
	if from == AnchorNotification && (f.NotifiedOn.IsZero() || f.NotifiedAssumed) {
		// No notification date: the decision's, and the deadline says so
		// (orientations recorded before notified_on existed say nothing).
		from = AnchorOrientation
		if f.NotifiedAssumed {
			why = " ; notification non enregistrée : la date de la décision en tient lieu"
		}
	}
	if !running.IsZero() {
		why += fmt.Sprintf(" ; règle en vigueur le %s, appliquée aux délais en cours", running.French())
		if due.Before(running) {
			due = running
			why += fmt.Sprintf(", sans échéance avant le %s", running.French())
		}
	}
	if moved := NextWorkingDay(due); f.Art642 && moved != due {
		why += fmt.Sprintf(" ; le %s %s n'étant pas un jour ouvrable, reporté au premier jour ouvrable suivant, art. 642 du code de procédure civile", weekdayFrench(due), due.French())
		due = moved
	}
	return Deadline{
		Kind:     r.Kind,
		Basis:    rs.Basis,
		RuleSet:  rs.Name,
		DueOn:    due,
		Anchor:   from,
		AnchorOn: on,
		Rule:     fmt.Sprintf("%s (%s après %s le %s%s)", label, delay.French(), from.french(), on.French(), why),
	}, true
}

func (f Facts) anchorDate(a Anchor) Date {
	switch a {
	case AnchorEntry:
		return f.EnteredOn
	case AnchorReceipt:
		if f.ReceivedOn.IsZero() {
			return f.EnteredOn
		}
		return f.ReceivedOn
	case AnchorOrientation:
		return f.OrientedOn
	case AnchorNotification:
		if f.NotifiedOn.IsZero() {
			return f.OrientedOn
		}
		return f.NotifiedOn
	}
	return Date{}
}

// Explain is the sentence a user reads for a deadline:
// "contrat dû le 12/03/2026 — engagement départemental (2 mois après l'entrée en droits et devoirs le 12/01/2026)".
func (d Deadline) Explain() string {
	what := map[DeadlineKind]string{
		DeadlineOrientation:    "orientation due le",
		DeadlineContract:       "contrat dû le",
		DeadlineReview:         "examen du parcours social dû le",
		DeadlineActionEnd:      "bilan de l'action dû le",
		DeadlineFollowUp3:      "suivi à 3 mois dû le",
		DeadlineFollowUp6:      "suivi à 6 mois dû le",
		DeadlineRelance1:       "1re relance due le",
		DeadlineRelance2:       "2e relance due le",
		DeadlineBreachProposal: "signalement du manquement à examiner le",
	}[d.Kind]
	return fmt.Sprintf("%s %s — %s", what, d.DueOn.French(), d.Rule)
}

func weekdayFrench(d Date) string {
	return [...]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"}[d.utc().Weekday()]
}
