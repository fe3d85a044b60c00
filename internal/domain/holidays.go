package domain

import "time"

// easter is Easter Sunday of year y (anonymous Gregorian algorithm).
func easter(y int) Date {
	a, b, c := y%19, y/100, y%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return NewDate(y, time.Month(month), day)
}

// PublicHoliday reports whether d is one of the eleven national public
// holidays of metropolitan France (code du travail L3133-1). Local ones
// (Alsace-Moselle, overseas) are not included.
func PublicHoliday(d Date) bool {
	switch {
	case d.Month == time.January && d.Day == 1,
		d.Month == time.May && (d.Day == 1 || d.Day == 8),
		d.Month == time.July && d.Day == 14,
		d.Month == time.August && d.Day == 15,
		d.Month == time.November && (d.Day == 1 || d.Day == 11),
		d.Month == time.December && d.Day == 25:
		return true
	}
	e := easter(d.Year)
	return d == e.AddDays(1) || d == e.AddDays(39) || d == e.AddDays(50) // Monday, Ascension, Whit Monday
}

// WorkingDay reports whether d is a weekday that is not a public holiday.
func WorkingDay(d Date) bool {
	wd := d.utc().Weekday()
	return wd != time.Saturday && wd != time.Sunday && !PublicHoliday(d)
}

// NextWorkingDay is d, or the first working day after it (art. 642 CPC:
// a delay that would end on a Saturday, Sunday or public holiday is
// extended to the next working day).
func NextWorkingDay(d Date) Date {
	for !WorkingDay(d) {
		d = d.AddDays(1)
	}
	return d
}
