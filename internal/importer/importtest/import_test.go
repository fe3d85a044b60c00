// Package importtest tests imports end to end: files through the importer
// and the service into PostgreSQL and the parcours workflows, on the
// embedded Temporal server.
package importtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/importer"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/internal/temporal"
	"github.com/parcours-rsa/parcours/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, nil, func(e *testenv.Env) error { env = e; return nil }))
}

var dept = domain.Actor{ID: "test:import", Name: "Import", Role: domain.RoleDepartment}

func today() domain.Date { return domain.DateOf(time.Now()) }

func source(name string, data []byte) importer.Source {
	return importer.Source{Name: name, Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
}

func flux(t testing.TB, g importer.GenFlux) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, importer.WriteFlux(&b, g))
	return b.Bytes()
}

func runImport(t *testing.T, name string, data []byte, opt importer.Options) (postgres.ImportRun, error) {
	t.Helper()
	im := &importer.Importer{Service: env.Service}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return im.Run(ctx, dept, source(name, data), opt)
}

func count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, env.DB.Pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

// parcoursOf is the latest parcours of the person with this NIR.
func parcoursOf(t *testing.T, nir string) domain.ParcoursView {
	t.Helper()
	var id string
	require.NoError(t, env.DB.Pool.QueryRow(context.Background(), `
		SELECT p.id::text FROM parcours p JOIN beneficiaries b ON b.id = p.beneficiary_id
		WHERE b.nir_body = $1 ORDER BY p.created_at DESC LIMIT 1`, domain.NIRBody(nir)).Scan(&id))
	v, err := env.DB.GetParcours(context.Background(), id, postgres.Scope{})
	require.NoError(t, err)
	return v
}

var yes, no = true, false

func TestFluxLifecycleAndIdempotency(t *testing.T) {
	day := today().AddDays(-3)
	hel, fra, zoe := importer.SyntheticNIR(101, 0, 0), importer.SyntheticNIR(101, 0, 1), importer.SyntheticNIR(101, 1, 0)
	g := importer.GenFlux{CreatedOn: day, Declared: -1, Households: []importer.GenHousehold{
		{Matricule: "710100100000000", State: "2", Claim: day.AddDays(-10), Persons: []importer.GenPerson{
			{NIR: hel[:13], LastName: "LEFÈVRE", FirstName: "HÉLÈNE", BirthDate: domain.NewDate(1982, 2, 5), Role: "DEM", Subject: &yes, Attached: day.AddDays(-8)},
			{NIR: fra, LastName: "LEFÈVRE", FirstName: "FRANÇOIS", BirthDate: domain.NewDate(1977, 3, 9), Role: "CJT", Subject: &no, Attached: day.AddDays(-8)},
		}},
		{Matricule: "710100200000000", State: "4", Reason: "70", Since: day.AddDays(-20), Claim: day.AddDays(-40), Persons: []importer.GenPerson{
			{NIR: zoe, LastName: "NOËL", FirstName: "ZOÉ", BirthDate: domain.NewDate(1973, 7, 1), Role: "DEM", Subject: &yes, Attached: day.AddDays(-40)},
		}},
		{Matricule: "710100300000000", State: "5", Reason: "PCG", Since: day.AddDays(-1), Claim: day.AddDays(-400), Persons: []importer.GenPerson{
			{NIR: importer.SyntheticNIR(101, 2, 0), LastName: "PETIT", FirstName: "JEAN", BirthDate: domain.NewDate(1990, 12, 31), Role: "DEM", Subject: &yes, Attached: day.AddDays(-400)},
		}},
	}}
	data := flux(t, g)

	var progress []postgres.ImportRun
	run, err := runImport(t, "RSABEI-1.xml", data, importer.Options{Progress: func(r postgres.ImportRun) { progress = append(progress, r) }})
	require.NoError(t, err)
	assert.Equal(t, "done", run.Status)
	assert.Equal(t, "flux", run.Kind)
	assert.Equal(t, 4, run.Total)
	assert.Equal(t, 2, run.Created, "Hélène (open household) and Zoé (payment suspended: the right stays open)")
	assert.Equal(t, 2, run.Ignored, "François is not subject, Jean's right is closed: nobody to follow, nothing kept")
	assert.Zero(t, run.Rejected)
	require.NotEmpty(t, progress)
	assert.Equal(t, 4, progress[len(progress)-1].Processed)
	assert.Zero(t, count(t, `SELECT count(*) FROM beneficiaries WHERE nir_body = ANY($1)`, []string{fra[:13], importer.SyntheticNIR(101, 2, 0)[:13]}))

	h := parcoursOf(t, hel)
	assert.Equal(t, day.AddDays(-8), h.EnteredAt, "latest of the claim and the attachment")
	assert.Equal(t, day, h.ReceivedOn, "the flux's creation date")
	require.NotNil(t, h.Payer)
	assert.NotEqual(t, "2055990", h.Payer.Number)
	assert.Equal(t, "7101001", h.Payer.Number)
	assert.Equal(t, domain.PayerOpen, h.Payer.Situation.State)
	assert.False(t, h.Paused())
	assert.NotEmpty(t, h.Tasks, "the workflow runs and opened the orientation task")

	z := parcoursOf(t, zoe)
	assert.True(t, z.Paused(), "payment suspended by the CAF: paused")
	assert.Contains(t, z.Payer.Situation.Describe(), "action non engagée")
	_, _, err = env.Service.ReportBreach(context.Background(), dept, z.ID, domain.Breach{})
	assert.ErrorContains(t, err, "pause")

	// The same file again changes nothing.
	run2, err := runImport(t, "RSABEI-1.xml", data, importer.Options{})
	require.NoError(t, err)
	assert.Equal(t, run.SHA256, run2.SHA256)
	assert.Equal(t, 2, run2.Unchanged)
	assert.Equal(t, 2, run2.Ignored)
	assert.Zero(t, run2.Created+run2.Updated+run2.Rejected)
	assert.Equal(t, 1, count(t, `SELECT count(*) FROM parcours p JOIN beneficiaries b ON b.id = p.beneficiary_id WHERE b.nir_body = $1`, hel[:13]))

	// Next day: Hélène's household is closed, Zoé is no longer subject.
	next := g
	next.CreatedOn = day.AddDays(1)
	next.Households = []importer.GenHousehold{g.Households[0], g.Households[1]}
	next.Households[0].State, next.Households[0].Reason, next.Households[0].Since = "5", "PCG", day.AddDays(1)
	next.Households[1].State, next.Households[1].Reason = "2", ""
	next.Households[1].Persons = []importer.GenPerson{g.Households[1].Persons[0]}
	next.Households[1].Persons[0].Subject = &no
	run3, err := runImport(t, "RSABEI-2.xml", flux(t, next), importer.Options{})
	require.NoError(t, err)
	assert.Equal(t, 2, run3.Updated, "two parcours ended")
	h = parcoursOf(t, hel)
	require.NotNil(t, h.Exit)
	assert.Equal(t, "end_of_rights", h.Exit.Reason)
	assert.Equal(t, day.AddDays(1), h.Exit.On)
	assert.Equal(t, domain.PayerClosed, h.Payer.Situation.State)
	z = parcoursOf(t, zoe)
	require.NotNil(t, z.Exit)
	assert.Equal(t, "income_above_threshold", z.Exit.Reason)

	// The older file imported again does not reopen anything.
	run4, err := runImport(t, "RSABEI-1.xml", data, importer.Options{})
	require.NoError(t, err)
	assert.Zero(t, run4.Created)
	assert.Equal(t, 1, count(t, `SELECT count(*) FROM parcours p JOIN beneficiaries b ON b.id = p.beneficiary_id WHERE b.nir_body = $1`, hel[:13]))
	assert.Equal(t, domain.PayerClosed, parcoursOf(t, hel).Payer.Situation.State, "an older file does not overwrite a newer situation")

	// Audited: the import and each write.
	assert.Positive(t, count(t, `SELECT count(*) FROM audit_log WHERE record_type = 'import' AND record_id = $1`, run.ID))
	assert.Positive(t, count(t, `SELECT count(*) FROM audit_log WHERE record_type = 'beneficiary' AND actor = $1`, dept.ID))
}

func TestBadInputLosesNothingGood(t *testing.T) {
	day := today().AddDays(-1)
	g := importer.Synthetic(6, 202, day)
	g.Households[2].State = "X"                            // unknown state: this household only
	g.Households[4].Persons[0].BirthDate = day.AddDays(30) // born in the future
	data := flux(t, g)

	// Truncated: refused, nothing written.
	cut := data[:len(data)/2]
	run, err := runImport(t, "tronque.xml", cut, importer.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "tronqué")
	assert.Equal(t, "refused", run.Status)
	nirs := []string{}
	for i := range 6 {
		nirs = append(nirs, importer.SyntheticNIR(202, i, 0)[:13])
	}
	assert.Zero(t, count(t, `SELECT count(*) FROM beneficiaries WHERE nir_body = ANY($1)`, nirs))
	saved, err := env.DB.GetImport(context.Background(), run.ID)
	require.NoError(t, err)
	assert.Equal(t, "refused", saved.Status)
	assert.Contains(t, saved.Message, "tronqué")

	// Whole file: the two bad households are rejected with their lines.
	run, err = runImport(t, "RSABEI-bad.xml", data, importer.Options{})
	require.NoError(t, err)
	assert.Equal(t, 4, run.Created)
	assert.Equal(t, 2, run.Rejected)
	rejects, err := env.DB.ImportRejects(context.Background(), run.ID)
	require.NoError(t, err)
	require.Len(t, rejects, 2)
	lines := strings.Split(string(data), "\n")
	for _, r := range rejects {
		assert.Contains(t, lines[r.Line-1], "<InfosFoyerRSA>", "line %d is the household's", r.Line)
	}
	assert.Contains(t, rejects[0].Reason, "état du dossier inconnu")
	assert.Contains(t, rejects[1].Reason, "naissance")
	for _, r := range rejects {
		for _, n := range nirs {
			assert.NotContains(t, r.Reason, n, "no NIR in the report")
		}
	}
}

func TestConcurrentOverlappingImportsCreateNoDuplicate(t *testing.T) {
	day := today().AddDays(-1)
	all := importer.Synthetic(30, 303, day)
	a, b := all, all
	a.Households = all.Households[:20]
	b.Households = all.Households[10:]
	files := [][]byte{flux(t, a), flux(t, b), flux(t, a)}
	var wg sync.WaitGroup
	runs := make([]postgres.ImportRun, len(files))
	errs := make([]error, len(files))
	for i, data := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runs[i], errs[i] = runImport(t, fmt.Sprintf("f%d.xml", i), data, importer.Options{Workers: 4})
		}()
	}
	wg.Wait()
	created := 0
	for i := range files {
		require.NoError(t, errs[i])
		assert.Zero(t, runs[i].Rejected, "%+v", runs[i])
		created += runs[i].Created
	}
	var nirs []string
	subjects := 0
	for i, h := range all.Households {
		for k, p := range h.Persons {
			nirs = append(nirs, importer.SyntheticNIR(303, i, k)[:13])
			if *p.Subject {
				subjects++
			}
		}
	}
	assert.Equal(t, subjects, created, "each person created once across the three imports")
	assert.Equal(t, subjects, count(t, `SELECT count(*) FROM beneficiaries WHERE nir_body = ANY($1)`, nirs))
	assert.Equal(t, subjects, count(t, `
		SELECT count(*) FROM parcours p JOIN beneficiaries b ON b.id = p.beneficiary_id
		WHERE b.nir_body = ANY($1) AND p.workflow_started_at IS NOT NULL`, nirs))
	// Audited in the write's own transaction: one row per person created
	// and one per parcours opened, whatever the retries of the race.
	assert.Equal(t, subjects, count(t, `
		SELECT count(*) FROM audit_log a JOIN beneficiaries b ON a.record_id = b.id::text
		WHERE a.record_type = 'beneficiary' AND a.action = 'create' AND b.nir_body = ANY($1)`, nirs))
	assert.Equal(t, subjects, count(t, `
		SELECT count(*) FROM audit_log a JOIN parcours p ON a.record_id = p.id::text JOIN beneficiaries b ON b.id = p.beneficiary_id
		WHERE a.record_type = 'parcours' AND a.action = 'create' AND b.nir_body = ANY($1)`, nirs))
}

func TestCSVThenFluxIsOnePerson(t *testing.T) {
	day := today().AddDays(-2)
	nir := importer.SyntheticNIR(404, 0, 0)
	other := importer.SyntheticNIR(404, 1, 0)
	list := "Identifiant;NIR;Nom;Prénom;Date de naissance;Date d'entrée;Téléphone;Courriel;Matricule\n" +
		fmt.Sprintf("D-404-1;%s;Martin;Léa;05/03/1982;%s;612345678;lea@example.org;\n", nir, day.AddDays(-5).French()) +
		fmt.Sprintf("D-404-2;%s;Petit;Jean;01/01/1980;%s;;;\n", other, day.AddDays(-5).French()) +
		fmt.Sprintf("D-404-1;%s;Petit;Jean;01/01/1980;%s;;;\n", other, day.AddDays(-5).French()) + // two people named by one row
		"D-404-3;;Sans;Date;01/01/1980;;;;\n"
	run, err := runImport(t, "liste.csv", []byte(list), importer.Options{Received: day})
	require.NoError(t, err)
	assert.Equal(t, "csv", run.Kind)
	// Issue 19: a line without its entry date is no longer refused: its
	// parcours starts on the received date, and the report warns.
	assert.Equal(t, 3, run.Created)
	assert.Equal(t, 1, run.Rejected)
	rejects, err := env.DB.ImportRejects(context.Background(), run.ID)
	require.NoError(t, err)
	require.Len(t, rejects, 2)
	assert.Equal(t, 4, rejects[0].Line)
	assert.Equal(t, postgres.ReportReject, rejects[0].Kind)
	assert.Contains(t, rejects[0].Reason, "Identité incohérente")
	assert.Equal(t, 5, rejects[1].Line)
	assert.Equal(t, postgres.ReportWarning, rejects[1].Kind)

	v := parcoursOf(t, nir)
	assert.Equal(t, "D-404-1", v.BeneficiaryID)
	assert.Equal(t, "0612345678", v.Payer.Phone)

	// The CAF flux names her with the 13-character NIR and her allocataire number.
	g := importer.GenFlux{CreatedOn: day, Declared: -1, Households: []importer.GenHousehold{
		{Matricule: "404000100000000", State: "2", Claim: day.AddDays(-5), Persons: []importer.GenPerson{
			{NIR: nir[:13], LastName: "MARTIN", FirstName: "LÉA", BirthDate: domain.NewDate(1982, 3, 5), Role: "DEM", Subject: &yes, Attached: day.AddDays(-5)},
		}},
	}}
	run, err = runImport(t, "flux.xml", flux(t, g), importer.Options{})
	require.NoError(t, err)
	assert.Zero(t, run.Created)
	assert.Equal(t, 1, run.Updated)
	assert.Equal(t, 1, count(t, `SELECT count(*) FROM beneficiaries WHERE nir_body = $1`, nir[:13]))
	v = parcoursOf(t, nir)
	assert.Equal(t, "D-404-1", v.BeneficiaryID, "the département's identifier stays")
	assert.Equal(t, "4040001", v.Payer.Number)
	assert.Equal(t, "MARTIN", v.LastName)

	// Then a list with only her allocataire number and birth date finds her too.
	list2 := "Matricule;Nom;Prénom;Date de naissance;Date d'entrée\n" +
		fmt.Sprintf("4040001;MARTIN;LÉA;05/03/1982;%s\n", day.AddDays(-5).French())
	run, err = runImport(t, "liste2.csv", []byte(list2), importer.Options{Received: day})
	require.NoError(t, err)
	assert.Equal(t, 1, run.Unchanged, "%+v", run)
	assert.Equal(t, 1, count(t, `SELECT count(*) FROM beneficiaries WHERE payer_number = '4040001'`))
}

// TestImportStopsWhenTemporalIsGone: with no Temporal server behind the
// address (parcours serve killed under parcours import), each attempt at a
// person ends at its deadline and the import stops, interrupted, instead
// of waiting forever.
func TestImportStopsWhenTemporalIsGone(t *testing.T) {
	t.Parallel()
	port, err := temporal.FreePort() // nothing listens there
	require.NoError(t, err)
	tc, err := client.NewLazyClient(client.Options{HostPort: fmt.Sprintf("127.0.0.1:%d", port)})
	require.NoError(t, err)
	defer tc.Close()
	svc := *env.Service
	svc.Temporal = tc
	im := &importer.Importer{Service: &svc, AttemptTimeout: 500 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	run, err := im.Run(ctx, dept, source("RSABEI-gone.xml", flux(t, importer.Synthetic(2, uint64(time.Now().UnixNano()), today()))),
		importer.Options{Format: importer.FormatFlux, Workers: 2})
	require.Error(t, err)
	require.Equal(t, domain.EUNAVAILABLE, domain.ErrorCode(err), err.Error())
	require.Less(t, time.Since(start), time.Minute, "the attempts have deadlines")
	require.Equal(t, "failed", run.Status)
}
