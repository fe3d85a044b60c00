package postgres_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

var importer = domain.Actor{ID: "token:import", Role: domain.RoleDepartment}

func imported(ext, nir, last, first string) domain.ImportedPerson {
	p := domain.ImportedPerson{Line: 2, ExternalID: ext, NIR: nir, LastName: last, FirstName: first, BirthDate: date("1980-03-04"),
		Payer: "CAF", PayerNumber: "1234567", Subject: true, EnteredOn: date("2026-09-01"), ReceivedOn: date("2026-10-01")}
	p.Normalize()
	return p
}

func (b *testBundle) importPerson(t *testing.T, p domain.ImportedPerson) postgres.ImportResult {
	t.Helper()
	res, err := b.db.ImportPerson(b.ctx, importer, p, "loi-2025", true)
	require.NoError(t, err)
	return res
}

func (b *testBundle) names(t *testing.T, id string) string {
	t.Helper()
	var last, first string
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT last_name, first_name FROM beneficiaries WHERE id = $1`, id).Scan(&last, &first))
	return last + " " + first
}

// A line found by allocataire number and birth date with another
// département identifier keeps both identifiers; with another name it
// waits for a decision and the names stay.
func TestImportKeepsSecondIdentifierAndNeverRenamesSilently(t *testing.T) {
	b := setup(t)
	first := b.importPerson(t, imported("D-001", "", "Dupont", "Jean"))
	require.True(t, first.Created)

	second := b.importPerson(t, imported("D-777", "", "DUPONT", "Jean"))
	require.Equal(t, first.BeneficiaryID, second.BeneficiaryID)
	require.False(t, second.Review)
	ids, err := b.db.BeneficiaryIdentifiers(b.ctx, first.BeneficiaryID)
	require.NoError(t, err)
	require.Equal(t, []string{"D-001", "D-777"}, ids)

	// The further identifier alone finds the person.
	alone := imported("D-777", "", "Dupont", "Jean")
	alone.PayerNumber = ""
	require.Equal(t, first.BeneficiaryID, b.importPerson(t, alone).BeneficiaryID)

	renamed := b.importPerson(t, imported("D-888", "", "Durand", "Jean"))
	require.True(t, renamed.Review)
	require.Equal(t, "Dupont Jean", b.names(t, first.BeneficiaryID))
	list, _, err := b.db.IdentityConflicts(b.ctx, "", 10)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "name", list[0].Reason)
	require.Equal(t, "Durand", list[0].Incoming.LastName)
	ids, err = b.db.BeneficiaryIdentifiers(b.ctx, first.BeneficiaryID)
	require.NoError(t, err)
	require.Equal(t, []string{"D-001", "D-777"}, ids, "a waiting line adds nothing")
}

// The same NIR with another first name waits in « Identités à vérifier »
// (once, however often it comes); « Personnes différentes » creates the
// other person apart, and their later lines go to them; « Même personne »
// applies the line.
func TestSameNIROtherFirstNameWaitsThenIsResolved(t *testing.T) {
	b := setup(t)
	const nir = "2820251108030"
	a := b.importPerson(t, imported("", nir, "Lefèvre", "Marie"))
	require.True(t, a.Created)

	// Another spelling of the same first name is the same person.
	require.False(t, b.importPerson(t, imported("", nir, "LEFEVRE", "MARIE")).Review)

	for range 2 {
		res := b.importPerson(t, imported("", nir, "Lefèvre", "Paul"))
		require.True(t, res.Review)
		require.Equal(t, a.BeneficiaryID, res.BeneficiaryID)
	}
	require.Equal(t, "LEFEVRE MARIE", b.names(t, a.BeneficiaryID))
	n, err := b.db.CountIdentityConflicts(b.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	list, next, err := b.db.IdentityConflicts(b.ctx, "", 10)
	require.NoError(t, err)
	require.Empty(t, next)
	c := list[0]
	require.Equal(t, "first_name", c.Reason)
	require.Equal(t, "2 82 02 ** *** *** **", c.Incoming.NIRMasked)
	require.Equal(t, c.Incoming.NIRMasked, c.Existing.NIRMasked)
	require.Equal(t, nir, c.Person.NIR, "the line is kept whole to be applied")

	// « Personnes différentes »: another person, without the NIR its
	// holder keeps.
	apart := c.Person
	apart.Identity = domain.IdentityDifferent
	paul := b.importPerson(t, apart)
	require.True(t, paul.Created)
	require.NotEqual(t, a.BeneficiaryID, paul.BeneficiaryID)
	require.NoError(t, b.db.DecideIdentityConflict(b.ctx, importer, c.ID, domain.IdentityDifferent, paul.BeneficiaryID))
	err = b.db.DecideIdentityConflict(b.ctx, importer, c.ID, domain.IdentitySame, a.BeneficiaryID)
	require.Equal(t, domain.ECONFLICT, domain.ErrorCode(err))
	var paulNIR *string
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT nir FROM beneficiaries WHERE id = $1`, paul.BeneficiaryID).Scan(&paulNIR))
	require.Nil(t, paulNIR)

	// Paul's next line goes to Paul, Marie's to Marie, nothing waits.
	again := b.importPerson(t, imported("", nir, "Lefèvre", "Paul"))
	require.False(t, again.Review)
	require.Equal(t, paul.BeneficiaryID, again.BeneficiaryID)
	require.Equal(t, a.BeneficiaryID, b.importPerson(t, imported("", nir, "Lefèvre", "Marie")).BeneficiaryID)
	n, err = b.db.CountIdentityConflicts(b.ctx)
	require.NoError(t, err)
	require.Zero(t, n)

	// « Même personne »: the line's names are applied.
	require.True(t, b.importPerson(t, imported("", nir, "Lefèvre", "Maria")).Review)
	list, _, err = b.db.IdentityConflicts(b.ctx, "", 10)
	require.NoError(t, err)
	same := list[0].Person
	same.Identity = domain.IdentitySame
	res := b.importPerson(t, same)
	require.Equal(t, a.BeneficiaryID, res.BeneficiaryID)
	require.Equal(t, "Lefèvre Maria", b.names(t, a.BeneficiaryID))

	var audits int
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT count(*) FROM audit_log WHERE record_type = 'identity_conflict' AND action = 'resolve' AND actor = $1`, importer.ID).Scan(&audits))
	require.Equal(t, 1, audits)
}

// Keyset pages of the list.
func TestIdentityConflictPages(t *testing.T) {
	b := setup(t)
	for i := range 5 {
		nir := "18006750" + strings.Repeat("0", 4) + string(rune('1'+i))
		b.importPerson(t, imported("", nir, "Martin", "Léa"))
		require.True(t, b.importPerson(t, imported("", nir, "Martin", "Noé")).Review)
	}
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		list, next, err := b.db.IdentityConflicts(b.ctx, cursor, 2)
		require.NoError(t, err)
		for _, c := range list {
			require.False(t, seen[c.ID])
			seen[c.ID] = true
		}
		if next == "" {
			require.Equal(t, 2, pages)
			break
		}
		cursor = next
	}
	require.Len(t, seen, 5)
}

// Kept apart, the line's identifier that the other person holds stays
// theirs: the new person gets one of their own.
func TestKeptApartLeavesTheOtherIdentifier(t *testing.T) {
	b := setup(t)
	const nir = "1770393050005"
	a := b.importPerson(t, imported("D-42", nir, "Girard", "Lucie"))
	line := imported("D-42", nir, "Girard", "Tom")
	require.True(t, b.importPerson(t, line).Review)
	line.Identity = domain.IdentityDifferent
	tom := b.importPerson(t, line)
	require.True(t, tom.Created)
	ids, err := b.db.BeneficiaryIdentifiers(b.ctx, tom.BeneficiaryID)
	require.NoError(t, err)
	require.Len(t, ids, 1)
	require.NotEqual(t, "D-42", ids[0])
	ids, err = b.db.BeneficiaryIdentifiers(b.ctx, a.BeneficiaryID)
	require.NoError(t, err)
	require.Equal(t, []string{"D-42"}, ids)
}

// A first name that lists the other's first names and more is the same
// person's (« Marie » and « Marie Claire »); the file's spelling applies.
func TestFirstNamesListedAgree(t *testing.T) {
	b := setup(t)
	const nir = "2730799404078"
	a := b.importPerson(t, imported("", nir, "Petit", "Marie"))
	res := b.importPerson(t, imported("", nir, "Petit", "Marie Claire"))
	require.False(t, res.Review)
	require.Equal(t, a.BeneficiaryID, res.BeneficiaryID)
	require.Equal(t, "Petit Marie Claire", b.names(t, a.BeneficiaryID))
	require.True(t, b.importPerson(t, imported("", nir, "Petit", "Claire")).Review)
}
