package domain

import "testing"

func TestFoldName(t *testing.T) {
	for in, want := range map[string]string{
		"Lefèvre":           "lefevre",
		"LEFÈVRE":           "lefevre",
		"Jean-Noël  Œuvray": "jean noel oeuvray",
		"D'Aubigné":         "d aubigne",
		"lefevre":           "lefevre",
	} {
		if got := FoldName(in); got != want {
			t.Errorf("FoldName(%q) = %q, want %q", in, got, want)
		}
	}
}
