package domain

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Decisions on an identity conflict (« Identités à vérifier »).
const (
	IdentitySame      = "same"      // « Même personne »: the line is applied to the existing person
	IdentityDifferent = "different" // « Personnes différentes »: the line creates another person
)

// IdentityDecisionFrench labels a decision for the pages.
func IdentityDecisionFrench(d string) string {
	switch d {
	case IdentitySame:
		return "Même personne"
	case IdentityDifferent:
		return "Personnes différentes"
	case "":
		return "À vérifier"
	}
	return "Décision inconnue"
}

// IdentityReasonFrench says why a line waits for a decision.
func IdentityReasonFrench(r string) string {
	switch r {
	case "first_name":
		return "Même NIR, autre prénom"
	case "name":
		return "Même numéro d'allocataire et date de naissance, autre nom"
	}
	return "Identité à vérifier"
}

// FoldName is a name as search and identity matching compare it: lower
// case, without accents, hyphens and apostrophes as spaces, single spaces
// (« Lefèvre-Œuvray » → « lefevre oeuvray »). The SQL function
// parcours_fold (migration 014) does the same for the search index.
func FoldName(s string) string {
	s = strings.NewReplacer("œ", "oe", "Œ", "oe", "æ", "ae", "Æ", "ae", "-", " ", "'", " ", "’", " ").Replace(s)
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
