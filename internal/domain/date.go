package domain

import (
	"encoding/json"
	"fmt"
	"time"
	_ "time/tzdata" // Europe/Paris must load even on a machine without tzdata.
)

// Paris is the time zone every calendar date of the service lives in. It is
// never reassigned: code that needs another zone (the bench's burst) passes
// one in (Settings.Location, DateIn, Date.TimeIn).
var Paris = mustLoad("Europe/Paris")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("load time zone %s: %v", name, err))
	}
	return loc
}

// Date is a calendar date (no time of day, no zone). The zero value means
// "no date". Dates are compared and counted as the law counts them: in whole
// days and months, in Europe/Paris.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// NewDate builds a date, normalising overflows as time.Date does.
func NewDate(y int, m time.Month, d int) Date {
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return Date{t.Year(), t.Month(), t.Day()}
}

// DateOf is the calendar date of instant t in Europe/Paris.
func DateOf(t time.Time) Date { return DateIn(t, Paris) }

// DateIn is the calendar date of instant t in zone loc.
func DateIn(t time.Time, loc *time.Location) Date {
	p := t.In(loc)
	return Date{p.Year(), p.Month(), p.Day()}
}

// ParseDate reads YYYY-MM-DD and refuses impossible dates (2026-02-30).
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("%q n'est pas une date valide (attendu AAAA-MM-JJ)", s)
	}
	return Date{t.Year(), t.Month(), t.Day()}, nil
}

// IsZero reports whether d is the zero date.
func (d Date) IsZero() bool { return d == Date{} }

// String is YYYY-MM-DD.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// French is DD/MM/YYYY, as users read dates.
func (d Date) French() string {
	return fmt.Sprintf("%02d/%02d/%04d", d.Day, d.Month, d.Year)
}

func (d Date) utc() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// Time is 00:00 of d in Europe/Paris (the first instant of that day).
func (d Date) Time() time.Time { return d.TimeIn(Paris) }

// TimeIn is 00:00 of d in zone loc.
func (d Date) TimeIn(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// AddDays moves d by n calendar days.
func (d Date) AddDays(n int) Date { return NewDate(d.Year, d.Month, d.Day+n) }

// AddMonths moves d by n months as code de procédure civile art. 641 counts a
// delay in months: the same day number n months later, or the last day of that
// month when it has no such day (31 Jan + 1 month = 28 or 29 Feb).
func (d Date) AddMonths(n int) Date {
	first := NewDate(d.Year, d.Month+time.Month(n), 1)
	last := DaysIn(first.Year, first.Month)
	day := min(d.Day, last)
	return Date{first.Year, first.Month, day}
}

// DaysIn is the number of days of month m of year y.
func DaysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// Before, After and Equal compare calendar dates.
func (d Date) Before(o Date) bool { return d.utc().Before(o.utc()) }
func (d Date) After(o Date) bool  { return d.utc().After(o.utc()) }

// DaysUntil is the number of days from d to o (negative when o is earlier).
func (d Date) DaysUntil(o Date) int { return int(o.utc().Sub(d.utc()).Hours() / 24) }

// MarshalJSON writes "YYYY-MM-DD", or null for the zero date.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(d.String())
}

// UnmarshalJSON reads "YYYY-MM-DD" or null.
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Date{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("date: attendu une chaîne AAAA-MM-JJ")
	}
	p, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = p
	return nil
}
