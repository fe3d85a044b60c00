package importer

import (
	"fmt"
	"strings"

	"github.com/parcours-rsa/parcours/internal/postgres"
)

// IdentityNotes are the report's lines on identities (French, for the
// command line): the lines put in « Identités à vérifier » and the flux
// persons without a droits-et-devoirs block, with their lines.
func IdentityNotes(r postgres.ImportRun) []string {
	var notes []string
	if n := infoInt(r.Info[InfoIdentityReview]); n > 0 {
		notes = append(notes, fmt.Sprintf("%d ligne(s) désignent une personne déjà suivie sous un autre nom : rien n'est appliqué, "+
			"décidez dans Imports → Identités à vérifier.", n))
	}
	if n := infoInt(r.Info[InfoNoDutyBlock]); n > 0 {
		var lines []string
		switch l := r.Info[InfoNoDutyBlock+"_lines"].(type) {
		case []int:
			for _, x := range l {
				lines = append(lines, fmt.Sprint(x))
			}
		case []any:
			for _, x := range l {
				lines = append(lines, fmt.Sprint(infoInt(x)))
			}
		}
		notes = append(notes, fmt.Sprintf("%d personne(s) sans bloc droits et devoirs (flux MSA) : inconnues, non créées ; suivies, parcours inchangé. Lignes : %s.",
			n, strings.Join(lines, ", ")))
	}
	return notes
}
