package domain

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// decretFictif is a decree that does not exist: from 1 March 2027 the
// contract is due 3 months after the orientation's notification, and the new
// delay takes over the contract deadlines still running that day.
var decretFictif = RuleSet{
	Name:        "decret-fictif-2027",
	Basis:       BasisLegal,
	Label:       "délai légal",
	Source:      "décret fictif n° 2027-1 (essai)",
	InForceFrom: NewDate(2027, 3, 1),
	Transition:  TransitionRunning,
	Rules: []Rule{
		{Kind: DeadlineContract, Delay: Delay{Months: 3}, From: AnchorNotification, Source: "décret fictif n° 2027-1"},
	},
}

func notifiedOn(s string) Facts {
	return Facts{EnteredOn: d("2026-12-01"), OrientedOn: d(s), NotifiedOn: d(s), Track: TrackSocial}
}

// A new set chosen by the date of the event, at its boundary: the day before
// its first day, the old set; that day, the new one.
func TestCatalogueChoosesByTheAnchorDateAtTheBoundary(t *testing.T) {
	t.Parallel()
	laws := Laws.With(decretFictif)
	before, ok := laws.LawDeadline(DeadlineContract, notifiedOn("2027-02-28"))
	require.True(t, ok)
	require.Equal(t, "loi-2025", before.RuleSet)
	require.Equal(t, "2027-03-28", before.DueOn.String())
	on, _ := laws.LawDeadline(DeadlineContract, notifiedOn("2027-03-01"))
	require.Equal(t, "decret-fictif-2027", on.RuleSet)
	require.Equal(t, "2027-06-01", on.DueOn.String())
	require.Equal(t, "délai légal, décret fictif n° 2027-1 (3 mois après la notification de l'orientation le 01/03/2027)", on.Rule)
	// The set without a rule of a kind leaves it to the previous one.
	o, _ := laws.LawDeadline(DeadlineOrientation, Facts{EnteredOn: d("2027-03-05")})
	require.Equal(t, "loi-2025", o.RuleSet)
	require.Len(t, Laws, 2, "With leaves the service's catalogue as it is")
}

// A running deadline is taken over on the set's first day, not the day
// before; a deadline due the day before keeps its rule; one due that very
// day was still running and is taken over.
func TestRunningDeadlinesTakenOverOnTheEffectiveDate(t *testing.T) {
	t.Parallel()
	laws := Laws.With(decretFictif)
	f := notifiedOn("2027-02-20")
	d0, _ := laws.LawDeadline(DeadlineContract, f)
	require.Equal(t, "2027-03-20", d0.DueOn.String())

	same, changed := laws.Running(d0, f, d("2027-02-28"))
	require.False(t, changed, "the day before: the 2025 law")
	require.Equal(t, d0, same)
	next, changed := laws.Running(d0, f, d("2027-03-01"))
	require.True(t, changed)
	require.Equal(t, "decret-fictif-2027", next.RuleSet)
	require.Equal(t, "2027-05-20", next.DueOn.String(), "3 months from the notification")
	require.Equal(t, d("2027-02-20"), next.AnchorOn)
	require.Equal(t, "contrat dû le 20/05/2027 — délai légal, décret fictif n° 2027-1 (3 mois après la notification de l'orientation le 20/02/2027 ; règle en vigueur le 01/03/2027, appliquée aux délais en cours)", next.Explain())
	later, _ := laws.Running(d0, f, d("2027-09-01"))
	require.Equal(t, next, later)

	when, ok := laws.NextTakeover(d0, f, d("2027-02-20"))
	require.True(t, ok)
	require.Equal(t, "2027-03-01", when.String())
	when, ok = laws.NextTakeover(d0, f, d("2027-02-28"))
	require.True(t, ok)
	require.Equal(t, "2027-03-01", when.String())
	_, ok = laws.NextTakeover(next, f, d("2027-03-01"))
	require.False(t, ok, "taken over: nothing more to wait for")

	// Due the day before the effective date: passed, keeps its rule.
	pf := notifiedOn("2027-01-28")
	passed, _ := laws.LawDeadline(DeadlineContract, pf)
	require.Equal(t, "2027-02-28", passed.DueOn.String())
	_, changed = laws.Running(passed, pf, d("2027-03-01"))
	require.False(t, changed)
	_, ok = laws.NextTakeover(passed, pf, d("2027-02-01"))
	require.False(t, ok)

	// Due on the effective date itself: still running that day.
	lf := notifiedOn("2027-02-01")
	last, _ := laws.LawDeadline(DeadlineContract, lf)
	require.Equal(t, "2027-03-01", last.DueOn.String())
	taken, changed := laws.Running(last, lf, d("2027-03-01"))
	require.True(t, changed)
	require.Equal(t, "2027-05-01", taken.DueOn.String())

	// Without the new set, nothing moves.
	_, changed = Laws.Running(d0, f, d("2027-09-01"))
	require.False(t, changed)
	_, ok = Laws.NextTakeover(d0, f, d("2027-02-20"))
	require.False(t, ok)
}

// A shorter delay never makes a running deadline fall due before the set's
// first day.
func TestShorterDelayNeverFallsBeforeTheEffectiveDate(t *testing.T) {
	t.Parallel()
	shorter := decretFictif
	shorter.Rules = []Rule{{Kind: DeadlineContract, Delay: Delay{Weeks: 2}, From: AnchorNotification, Source: "décret fictif n° 2027-1"}}
	laws := Laws.With(shorter)
	f := notifiedOn("2027-02-10")
	d0, _ := laws.LawDeadline(DeadlineContract, f)
	require.Equal(t, "2027-03-10", d0.DueOn.String())
	next, changed := laws.Running(d0, f, d("2027-03-01"))
	require.True(t, changed)
	require.Equal(t, "2027-03-01", next.DueOn.String(), "2 weeks end on 24/02, before the decree: due on its first day")
	require.Contains(t, next.Rule, "sans échéance avant le 01/03/2027")
	g := notifiedOn("2027-02-25")
	d1, _ := laws.LawDeadline(DeadlineContract, g)
	next, _ = laws.Running(d1, g, d("2027-03-01"))
	require.Equal(t, "2027-03-11", next.DueOn.String(), "25/02 + 2 weeks")
}

// The 2025 transition is as it was: the catalogue chooses the set in force
// on the anchor date, compared day by day with the rule as it was written
// before catalogues (the first set in force on its anchor date).
func TestCatalogueKeepsThe2025Transition(t *testing.T) {
	t.Parallel()
	old := func(kind DeadlineKind, f Facts) (Deadline, bool) {
		for _, rs := range []RuleSet{Law2012, Law2025} {
			for _, r := range rs.Rules {
				on := f.anchorDate(r.From)
				if r.Kind == kind && !on.IsZero() && rs.inForce(on) {
					return rs.apply(r, f)
				}
			}
		}
		return Deadline{}, false
	}
	for day := d("2024-11-01"); day.Before(d("2025-03-01")); day = day.AddDays(1) {
		for _, f := range []Facts{
			{EnteredOn: day},
			{EnteredOn: d("2024-10-01"), ReceivedOn: day},
			{EnteredOn: d("2024-10-01"), OrientedOn: day, Track: TrackProfessional},
			{EnteredOn: d("2024-10-01"), OrientedOn: day, Track: TrackSocial},
			{EnteredOn: d("2024-10-01"), OrientedOn: d("2024-12-20"), NotifiedOn: day, Track: TrackSocial},
			{EnteredOn: d("2024-10-01"), OrientedOn: day, NotifiedOn: day, NotifiedAssumed: true},
		} {
			for _, kind := range []DeadlineKind{DeadlineOrientation, DeadlineContract} {
				want, wok := old(kind, f)
				got, gok := Laws.LawDeadline(kind, f)
				require.Equal(t, wok, gok, "%s %+v", kind, f)
				require.Equal(t, want, got, "%s %+v", kind, f)
				_, changed := Laws.Running(got, f, d("2030-01-01"))
				require.False(t, changed)
			}
		}
	}
}
