package domain

import "testing"

func TestParseStructureKind(t *testing.T) {
	for in, want := range map[string]StructureKind{
		"CCAS": StructureCCAS, "mission_locale": StructureMissionLocale, " Mission  Locale ": StructureMissionLocale,
		"Agence France Travail": StructureFranceTravail, "Pôle emploi": StructureFranceTravail, "association": StructureAssociation,
		"Service du Département": StructureDepartement, "departement": StructureDepartement, "autre": StructureOther,
	} {
		if got, ok := ParseStructureKind(in); !ok || got != want {
			t.Errorf("ParseStructureKind(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if _, ok := ParseStructureKind("mairie"); ok {
		t.Error("an unknown kind is refused")
	}
	for _, k := range StructureKinds {
		if got, ok := ParseStructureKind(k.French()); !ok || got != k {
			t.Errorf("the French label of %q does not read back: %q", k, got)
		}
	}
}

func TestReferentNamesNeverShowIDs(t *testing.T) {
	n := ReferentNames{"ref-1": "Léa Martin"}
	for id, want := range map[string]string{"ref-1": "Léa Martin", "ref-2": "référent inconnu", "": "non désigné"} {
		if got := n.Of(id); got != want {
			t.Errorf("Of(%q) = %q, want %q", id, got, want)
		}
	}
}
