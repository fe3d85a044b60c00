package domain

import "time"

// MidnightAt finds a calendar whose midnight falls at instant at (whole
// seconds): a fixed zone, as Settings.ZoneOffset takes it, the date
// starting at at in that zone, and the entry date whose target months
// after entry (1: the département's orientation commitment, 2: its
// contract) is the day before, so that a parcours entered then turns
// overdue at at. Offsets a day apart keep
// midnight at at and move the date by one; the first of a week of them
// whose date accept takes is returned (nil accept: any). The bench's burst
// and the tests that need a deadline to fall due now use it; the service
// itself never does.
func MidnightAt(at time.Time, months int, accept func(Date) bool) (offset int, day, entered Date, ok bool) {
	base := -int(at.Unix() % 86400)
	for back := 0; back < 7; back++ {
		offset = base - back*86400
		day = DateIn(at, time.FixedZone("minuit", offset))
		if accept != nil && !accept(day) {
			continue
		}
		due := day.AddDays(-1)
		// Months count as art. 641 CPC: not every day is one month
		// after another.
		for d := 27 * months; d <= 31*months; d++ {
			if e := due.AddDays(-d); e.AddMonths(months) == due {
				return offset, day, e, true
			}
		}
	}
	return 0, Date{}, Date{}, false
}
