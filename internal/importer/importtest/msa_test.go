package importtest

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/importer"
)

// MSA flux persons without the droits-et-devoirs block are counted and
// listed in the report, never dropped silently: an unknown one is not
// created, a known one keeps their parcours (the missing block says
// nothing of their duties; it used to end the parcours as « no longer
// subject »).
func TestMSAPersonsWithoutDutyBlock(t *testing.T) {
	day := today().AddDays(-3)
	jean, anne, bernard := importer.SyntheticNIR(515, 0, 0), importer.SyntheticNIR(515, 0, 1), importer.SyntheticNIR(515, 1, 0)
	household := func(subject *bool) importer.GenHousehold {
		return importer.GenHousehold{Matricule: "515000100000000", State: "2", Claim: day.AddDays(-20), Persons: []importer.GenPerson{
			{NIR: jean, LastName: "Morel", FirstName: "Jean", BirthDate: domain.NewDate(1979, 4, 2), Role: "DEM", Subject: subject, Attached: day.AddDays(-20)},
			{NIR: anne, LastName: "Morel", FirstName: "Anne", BirthDate: domain.NewDate(1981, 6, 9), Role: "CJT", Attached: day.AddDays(-20)},
		}}
	}
	other := importer.GenHousehold{Matricule: "515000200000000", State: "2", Claim: day.AddDays(-20), Persons: []importer.GenPerson{
		{NIR: bernard, LastName: "Roux", FirstName: "Bernard", BirthDate: domain.NewDate(1970, 1, 1), Role: "DEM", Attached: day.AddDays(-20)},
	}}
	g := importer.GenFlux{Payer: "MSA", CreatedOn: day, Declared: -1, Households: []importer.GenHousehold{household(&yes), other}}
	run, err := runImport(t, "msa.xml", flux(t, g), importer.Options{})
	require.NoError(t, err)
	assert.Equal(t, 1, run.Created)
	assert.Equal(t, 2, run.Ignored)
	assert.Equal(t, 2, run.Info[importer.InfoNoDutyBlock])
	lines, _ := run.Info[importer.InfoNoDutyBlock+"_lines"].([]int)
	require.Len(t, lines, 2)
	assert.Less(t, lines[0], lines[1], "the second household's line")
	assert.Zero(t, count(t, `SELECT count(*) FROM beneficiaries WHERE nir_body = ANY($1)`, []string{anne[:13], bernard[:13]}))
	stored, err := env.DB.GetImport(context.Background(), run.ID)
	require.NoError(t, err)
	assert.EqualValues(t, 2, stored.Info[importer.InfoNoDutyBlock])
	want := fmt.Sprintf("2 personne(s) sans bloc droits et devoirs (flux MSA) : inconnues, non créées ; suivies, parcours inchangé. Lignes : %d, %d.", lines[0], lines[1])
	assert.Equal(t, []string{want}, importer.IdentityNotes(run))
	assert.Equal(t, []string{want}, importer.IdentityNotes(stored), "read back from the database")

	// The next day Jean comes without the block: his parcours goes on.
	g.CreatedOn = day.AddDays(1)
	g.Households = []importer.GenHousehold{household(nil)}
	run, err = runImport(t, "msa-2.xml", flux(t, g), importer.Options{})
	require.NoError(t, err)
	assert.Equal(t, 2, run.Info[importer.InfoNoDutyBlock])
	assert.Zero(t, run.Rejected)
	v := parcoursOf(t, jean)
	assert.Nil(t, v.Exit, "the parcours stays open")
}
