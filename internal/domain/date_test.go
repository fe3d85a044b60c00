package domain

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func d(s string) Date {
	v, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return v
}

func TestAddMonthsArt641(t *testing.T) {
	t.Parallel()
	cases := []struct {
		from   string
		months int
		want   string
	}{
		{"2026-01-12", 1, "2026-02-12"},
		{"2026-01-31", 1, "2026-02-28"}, // no 31 Feb: last day
		{"2028-01-31", 1, "2028-02-29"}, // leap year
		{"2024-01-30", 1, "2024-02-29"},
		{"2025-11-30", 3, "2026-02-28"}, // domain.md example
		{"2026-03-31", 1, "2026-04-30"},
		{"2026-12-15", 1, "2027-01-15"}, // year change
		{"2026-12-31", 2, "2027-02-28"},
		{"2026-02-28", 1, "2026-03-28"}, // not "end of month to end of month"
		{"2028-02-29", 12, "2029-02-28"},
		{"2026-05-31", -1, "2026-04-30"},
		{"2026-01-01", 24, "2028-01-01"},
	}
	for _, c := range cases {
		require.Equal(t, c.want, d(c.from).AddMonths(c.months).String(), "%s + %d mois", c.from, c.months)
	}
}

func TestDelayInWeeksCountsDays(t *testing.T) {
	t.Parallel()
	require.Equal(t, "2026-02-23", Delay{Weeks: 6}.From(d("2026-01-12")).String())
	require.Equal(t, "2028-03-13", Delay{Weeks: 6}.From(d("2028-01-31")).String()) // through 29 Feb
	require.Equal(t, "2026-03-14", Delay{Weeks: 6}.From(d("2026-01-31")).String())
	require.Equal(t, "6 semaines", Delay{Weeks: 6}.French())
	require.Equal(t, "1 mois", Delay{Months: 1}.French())
	require.Equal(t, "10 jours", Delay{Days: 10}.French())
}

func TestParseDateRefusesImpossibleDates(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"2026-02-30", "2026-13-01", "2025-02-29", "12/01/2026", "2026-1-5", ""} {
		_, err := ParseDate(s)
		require.Error(t, err, s)
	}
	require.Equal(t, "2028-02-29", d("2028-02-29").String())
}

func TestDateOfUsesParisTime(t *testing.T) {
	t.Parallel()
	// 23:30 UTC on 31 Dec is already 1 Jan in Paris (UTC+1 in winter).
	require.Equal(t, "2027-01-01", DateOf(time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC)).String())
	// 22:30 UTC on 30 June is 00:30 on 1 July in Paris (UTC+2 in summer).
	require.Equal(t, "2026-07-01", DateOf(time.Date(2026, 6, 30, 22, 30, 0, 0, time.UTC)).String())
	require.Equal(t, "2026-06-30", DateOf(time.Date(2026, 6, 30, 21, 59, 0, 0, time.UTC)).String())
	// Midnight in Paris on the day clocks change (29 March 2026) is still 23:00 UTC the day before.
	require.Equal(t, time.Date(2026, 3, 28, 23, 0, 0, 0, time.UTC), d("2026-03-29").Time().UTC())
	require.Equal(t, time.Date(2026, 3, 29, 22, 0, 0, 0, time.UTC), d("2026-03-30").Time().UTC())
}

func TestDateJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(struct {
		A Date `json:"a"`
		B Date `json:"b"`
	}{A: d("2026-03-01")})
	require.NoError(t, err)
	require.JSONEq(t, `{"a":"2026-03-01","b":null}`, string(b))

	var v struct{ A Date }
	require.NoError(t, json.Unmarshal([]byte(`{"A":"2028-02-29"}`), &v))
	require.Equal(t, d("2028-02-29"), v.A)
	require.Error(t, json.Unmarshal([]byte(`{"A":"2026-02-29"}`), &v))
	require.Error(t, json.Unmarshal([]byte(`{"A":20260101}`), &v))
}

func TestDaysUntil(t *testing.T) {
	t.Parallel()
	require.Equal(t, 29, d("2028-02-01").DaysUntil(d("2028-03-01")))
	require.Equal(t, -1, d("2026-03-30").DaysUntil(d("2026-03-29"))) // across the DST change
	require.Equal(t, "29/02/2028", d("2028-02-29").French())
}

func TestSettingsLocation(t *testing.T) {
	require.Equal(t, Paris, DefaultSettings().Location(), "no offset: Europe/Paris")
	off := -3 * 3600
	s := Settings{ZoneOffset: &off}
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC) // 23:00 on 28/02 at UTC-3
	require.Equal(t, NewDate(2026, 2, 28), DateIn(at, s.Location()))
	require.Equal(t, NewDate(2026, 3, 1), DateOf(at))
	require.Equal(t, time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC), NewDate(2026, 3, 1).TimeIn(s.Location()).UTC())
	require.Equal(t, NewDate(2026, 3, 1).Time(), NewDate(2026, 3, 1).TimeIn(Paris))
}

func TestMidnightAt(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(2026, 12, 6, 20, 45, 17, 0, time.UTC),
		time.Date(2028, 3, 30, 23, 59, 59, 0, time.UTC), // 31/03 in a zone: no 31/02 to count a month from
		time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		off, day, entered, ok := MidnightAt(at, 1, WorkingDay)
		require.True(t, ok, at)
		loc := Settings{ZoneOffset: &off}.Location()
		require.True(t, at.Equal(day.TimeIn(loc)), "midnight of the day found is at: %s", day.TimeIn(loc))
		require.True(t, WorkingDay(day))
		due := day.AddDays(-1)
		require.Equal(t, due, entered.AddMonths(1), "the one-month target is the day before")
		d := DeadlineState{Deadline: Deadline{DueOn: due}}
		require.True(t, at.Equal(d.OverdueFromIn(loc)), "overdue at at")
	}
}
