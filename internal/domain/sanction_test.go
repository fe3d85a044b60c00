package domain

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestScale2025Boundaries(t *testing.T) {
	t.Parallel()
	today := d("2026-11-22")
	base := Decision{Kind: SanctionSuspension, Percent: 30, Months: 1, DecidedOn: d("2026-11-20"), EffectiveOn: d("2026-12-01"),
		HouseholdSize: 1, MonthlyCents: 64_600}
	with := func(f func(*Decision)) Decision { x := base; f(&x); return x }
	cases := []struct {
		name   string
		dec    Decision
		repeat bool
		field  string // "" when valid
		rule   string
	}{
		{"30 % is the floor", base, false, "", ""},
		{"29 % is below it", with(func(x *Decision) { x.Percent = 29 }), false, "percent", "R262-68"},
		{"100 % alone", with(func(x *Decision) { x.Percent = 100 }), false, "", ""},
		{"101 %", with(func(x *Decision) { x.Percent = 101 }), false, "percent", ""},
		{"50 % for a couple", with(func(x *Decision) { x.Percent = 50; x.HouseholdSize = 2 }), false, "", ""},
		{"51 % for a couple", with(func(x *Decision) { x.Percent = 51; x.HouseholdSize = 2 }), false, "percent", "R262-68-6"},
		{"51 % with a majoration", with(func(x *Decision) { x.Percent = 51; x.Majoration = true }), false, "percent", "R262-68-6"},
		{"first breach, 2 months", with(func(x *Decision) { x.Months = 2 }), false, "", ""},
		{"first breach, 3 months", with(func(x *Decision) { x.Months = 3 }), false, "months", "1 à 2 mois"},
		{"0 month", with(func(x *Decision) { x.Months = 0 }), false, "months", ""},
		{"first breach, suppression", with(func(x *Decision) { x.Kind = SanctionSuppression; x.EPOpinionOn = d("2026-11-15") }), false, "kind", "récidive"},
		{"repeat, 4 months", with(func(x *Decision) { x.Months = 4 }), true, "", ""},
		{"repeat, 5 months", with(func(x *Decision) { x.Months = 5 }), true, "months", "1 à 4 mois"},
		{"repeat, suppression with EP", with(func(x *Decision) {
			x.Kind = SanctionSuppression
			x.Months = 4
			x.Percent = 100
			x.EPOpinionOn = d("2026-11-15")
		}), true, "", ""},
		{"repeat, suppression without EP", with(func(x *Decision) { x.Kind = SanctionSuppression; x.Months = 4 }), true, "ep_opinion_on", "L262-37"},
		{"no sanction without reason", Decision{Kind: SanctionNone, DecidedOn: d("2026-11-20")}, false, "reason", ""},
		{"no sanction with reason", Decision{Kind: SanctionNone, DecidedOn: d("2026-11-20"), Reason: "Motif"}, false, "", ""},
		{"effect before decision", with(func(x *Decision) { x.EffectiveOn = d("2026-11-19") }), false, "effective_on", ""},
		{"decided in the future", with(func(x *Decision) { x.DecidedOn = d("2026-11-23") }), false, "decided_on", ""},
		{"no reference amount", with(func(x *Decision) { x.MonthlyCents = 0 }), false, "monthly_amount_cents", ""},
	}
	for _, c := range cases {
		err := Scale2025.Check(c.dec, c.repeat, today)
		if c.field == "" {
			require.NoError(t, err, c.name)
			continue
		}
		require.Equal(t, EINVALID, ErrorCode(err), c.name)
		require.Equal(t, c.field, ErrorField(err), c.name)
		require.Contains(t, ErrorMessage(err), c.rule, c.name)
	}
	_, ok := ScaleOn(d("2025-05-31"))
	require.False(t, ok, "the 2025 scale is in force from 1 June 2025")
	_, ok = ScaleOn(d("2025-06-01"))
	require.True(t, ok)
}

func TestPaybackOnRemobilisation(t *testing.T) {
	t.Parallel()
	dec := Decision{Kind: SanctionSuspension, Percent: 50, Months: 4, EffectiveOn: d("2026-01-31"), MonthlyCents: 60_000}
	require.Equal(t, int64(30_000), dec.WithheldPerMonth())
	require.Equal(t, "2026-05-30", dec.EndsOn().String())
	months, cents := dec.Payback(d("2026-01-30"), 3)
	require.Equal(t, 0, months, "complied before the effect")
	require.Zero(t, cents)
	months, cents = dec.Payback(d("2026-02-27"), 3) // the month begun on 31/01 only; the next begins 28/02
	require.Equal(t, 1, months)
	require.Equal(t, int64(30_000), cents)
	months, _ = dec.Payback(d("2026-02-28"), 3)
	require.Equal(t, 2, months, "31/01 + 1 month = 28/02 (art. 641)")
	months, cents = dec.Payback(d("2026-05-15"), 3)
	require.Equal(t, 3, months, "4 months begun, capped at 3")
	require.Equal(t, int64(90_000), cents)
}

// Issue 22, item 1: a decision against the procedure's own dates.
func TestDecisionAgainstTheProcedure(t *testing.T) {
	t.Parallel()
	received := d("2026-10-07")
	ends := received.AddDays(10) // 17/10, the last day for observations
	var none Date
	for _, c := range []struct {
		name           string
		decided, heard Date
		ok             bool
	}{
		{"the day before the receipt", d("2026-10-06"), none, false},
		{"the observation period's last day, not heard", ends, none, false},
		{"the day after it", ends.AddDays(1), none, true},
		{"heard the same day", d("2026-10-10"), d("2026-10-10"), true},
		{"heard the day after", d("2026-10-10"), d("2026-10-11"), false},
		{"before the receipt, even heard", d("2026-10-06"), d("2026-10-05"), false},
	} {
		err := CheckProcedure(c.decided, received, ends, c.heard)
		if c.ok {
			require.NoError(t, err, c.name)
			continue
		}
		require.Equal(t, "decided_on", ErrorField(err), c.name)
		require.Contains(t, ErrorMessage(err), "L262-37 III", c.name)
	}
	base := Decision{Kind: SanctionSuspension, Percent: 30, Months: 1, DecidedOn: d("2026-11-20"), EffectiveOn: d("2026-11-20"),
		HouseholdSize: 1, MonthlyCents: 64_600}
	for _, c := range []struct {
		opinion Date
		ok      bool
	}{{d("2026-11-20"), true}, {d("2026-11-21"), false}, {d("2026-11-23"), false}} {
		x := base
		x.EPOpinionOn = c.opinion
		err := Scale2025.Check(x, false, d("2026-11-22"))
		if c.ok {
			require.NoError(t, err, c.opinion)
		} else {
			require.Equal(t, "ep_opinion_on", ErrorField(err), c.opinion)
		}
	}
}

// Issue 22, item 2: compliance pays back a suspension, never a suppression.
func TestRefundedOnlyForASuspension(t *testing.T) {
	t.Parallel()
	dec := Decision{Kind: SanctionSuspension, Percent: 100, Months: 4, EffectiveOn: d("2026-12-04"), MonthlyCents: 64_600}
	months, cents := dec.Refunded(d("2026-12-06"), 3)
	require.Equal(t, 1, months)
	require.Equal(t, int64(64_600), cents)
	dec.Kind = SanctionSuppression
	months, cents = dec.Refunded(d("2026-12-06"), 3)
	require.Zero(t, months)
	require.Zero(t, cents, "a suppression is not paid back")
}

// Issue 22, item 6: the repeat window, its last day included.
func TestRepeatWindow(t *testing.T) {
	t.Parallel()
	notified := d("2025-08-31")
	require.True(t, WithinRepeatWindow(notified, d("2027-08-31"), 24), "the window's last day")
	require.False(t, WithinRepeatWindow(notified, d("2027-09-01"), 24))
	require.False(t, WithinRepeatWindow(notified, d("2025-08-30"), 24), "before the notification")
}
