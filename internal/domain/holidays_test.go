package domain

import "testing"

func TestWorkingDay(t *testing.T) {
	for s, want := range map[string]bool{
		"2026-04-06": false, // Easter Monday 2026
		"2026-05-14": false, // Ascension 2026
		"2026-05-25": false, // Whit Monday 2026
		"2026-07-14": false,
		"2026-12-05": false, // Saturday
		"2026-12-06": false, // Sunday
		"2026-12-07": true,  // Monday
		"2025-04-21": false, // Easter Monday 2025
		"2026-04-07": true,
	} {
		d, err := ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := WorkingDay(d); got != want {
			t.Errorf("WorkingDay(%s) = %v, want %v", s, got, want)
		}
	}
}
