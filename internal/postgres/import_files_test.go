package postgres_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// A list without a birth date creates a person identified by NIR, and never
// erases a birth date already known.
func TestImportPersonWithoutBirthDate(t *testing.T) {
	b := setup(t)
	a := domain.Actor{ID: "test", Role: domain.RoleDepartment}
	p := domain.ImportedPerson{NIR: "2820251108030", LastName: "Lefèvre", FirstName: "Hélène", Subject: true,
		EnteredOn: date("2026-10-01"), ReceivedOn: date("2026-10-02")}
	res, err := b.db.ImportPerson(b.ctx, a, p, "loi-2025", false)
	require.NoError(t, err)
	require.Empty(t, res.BeneficiaryID, "nothing kept without an intake")
	res, err = b.db.ImportPerson(b.ctx, a, p, "loi-2025", true)
	require.NoError(t, err)
	require.True(t, res.Created)
	id := res.BeneficiaryID

	birth := func() *string {
		var s *string
		require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT birth_date::text FROM beneficiaries WHERE id = $1`, id).Scan(&s))
		return s
	}
	require.Nil(t, birth())

	p.BirthDate = date("1982-02-05")
	res, err = b.db.ImportPerson(b.ctx, a, p, "loi-2025", true)
	require.NoError(t, err)
	require.Equal(t, id, res.BeneficiaryID)
	require.True(t, res.Changed)
	require.Equal(t, "1982-02-05", *birth())

	p.BirthDate = domain.Date{}
	res, err = b.db.ImportPerson(b.ctx, a, p, "loi-2025", true)
	require.NoError(t, err)
	require.False(t, res.Changed, "a list without a birth date changes nothing")
	require.Equal(t, "1982-02-05", *birth())
}

// Report lines keep their kind.
func TestImportReportKinds(t *testing.T) {
	b := setup(t)
	run := postgres.ImportRun{Kind: "xlsx", FileName: "reprise.xlsx", SHA256: "x", Actor: "test", Status: "running", Info: map[string]any{}}
	id, err := b.db.CreateImport(b.ctx, run)
	require.NoError(t, err)
	run.ID, run.Status = id, "done"
	require.NoError(t, b.db.ImportProgress(b.ctx, run, []postgres.ImportReject{
		{Line: 3, Reason: "coupée", Kind: postgres.ReportReject},
		{Line: 2, Reason: "téléphone ignoré", Kind: postgres.ReportWarning},
		{Line: 2, Reason: "nouveau contrat", Kind: postgres.ReportInfo},
		{Line: 4, Reason: "sans nature"},
	}, 0))
	list, err := b.db.ImportRejects(b.ctx, id)
	require.NoError(t, err)
	require.Equal(t, []postgres.ImportReject{
		{Line: 2, Reason: "téléphone ignoré", Kind: postgres.ReportWarning},
		{Line: 2, Reason: "nouveau contrat", Kind: postgres.ReportInfo},
		{Line: 3, Reason: "coupée", Kind: postgres.ReportReject},
		{Line: 4, Reason: "sans nature", Kind: postgres.ReportReject},
	}, list)
}
