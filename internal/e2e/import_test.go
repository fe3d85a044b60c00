//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/importer"
	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
)

// importCmd runs `parcours import` against the service s.
func (s *service) importCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(s.bin, append([]string{"import"}, args...)...)
	cmd.Env = s.env
	return cmd
}

// TestImportCommandAndKill9 imports a flux with the real binary, kills the
// service with -9 in the middle of a second import, restarts it and imports
// again: every person has exactly one parcours and one orient task.
func TestImportCommandAndKill9(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewURL(t)
	s := newService(t, map[string]string{"DATABASE_URL": dbURL, "PARCOURS_DATA_DIR": t.TempDir()})
	s.start()
	day := domain.DateOf(time.Now()).AddDays(-1)
	dir := t.TempDir()
	write := func(name string, g importer.GenFlux) string {
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		require.NoError(t, err)
		require.NoError(t, importer.WriteFlux(f, g))
		require.NoError(t, f.Close())
		return path
	}

	small := write("RSABEI-small.xml", importer.Synthetic(20, 11, day))
	out, err := s.importCmd(small).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "terminé")
	require.Contains(t, string(out), "22 lus · 20 créés · 0 mis à jour · 0 inchangés · 2 ignorés")
	out, err = s.importCmd(small).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "22 lus · 0 créés · 0 mis à jour · 20 inchangés · 2 ignorés", "re-import changes nothing")

	// A truncated file: refused, exit status 1, a clear message.
	data, err := os.ReadFile(small)
	require.NoError(t, err)
	cut := filepath.Join(dir, "cut.xml")
	require.NoError(t, os.WriteFile(cut, data[:len(data)/2], 0o600))
	out, err = s.importCmd(cut).CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "tronqué")

	// kill -9 during an import.
	const n = 300
	big := write("RSABEI-big.xml", importer.Synthetic(n, 12, day))
	cmd := s.importCmd("--workers", "4", big)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if line := sc.Text(); strings.Contains(line, " % (") && !strings.HasPrefix(line, "0 %") {
			break // under way
		}
	}
	s.kill9()
	killed := time.Now()
	go func() {
		for sc.Scan() {
		}
	}()
	err = cmd.Wait()
	require.Error(t, err, "the import cannot finish without the service:\n%s", stdout.String())
	// It gives up once Temporal has not answered for 30 s (it waited six
	// minutes before): two minutes leave room for a loaded machine.
	waited := time.Since(killed)
	t.Logf("the import gave up %s after the service's kill -9", waited.Round(time.Second))
	require.Less(t, waited, 2*time.Minute, "the import gives up soon once Temporal is gone:\n%s", stdout.String())
	require.Contains(t, stdout.String(), "ne répond plus", "and says why")
	s.start()
	out, err = s.importCmd("--workers", "4", big).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "terminé")

	conn, err := pgx.Connect(context.Background(), dbURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	subjects := n + 20 // one claimant per household, in both files
	var people, parcours, started, orient int
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT count(*) FROM beneficiaries`).Scan(&people))
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT count(*), count(workflow_started_at) FROM parcours`).Scan(&parcours, &started))
	require.Equal(t, subjects, people, "nobody twice")
	require.Equal(t, subjects, parcours, "one parcours each")
	eventually(t, "every workflow started and its orient task written", func() bool {
		_ = conn.QueryRow(context.Background(), `SELECT count(workflow_started_at) FROM parcours`).Scan(&started)
		_ = conn.QueryRow(context.Background(), `SELECT count(DISTINCT parcours_id) FROM tasks WHERE kind = 'orient'`).Scan(&orient)
		return started == subjects && orient == subjects
	})
	var dup int
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT count(*) - count(DISTINCT (parcours_id, kind, cycle)) FROM tasks`).Scan(&dup))
	require.Zero(t, dup)
	var failed int
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT count(*) FROM imports WHERE status = 'failed'`).Scan(&failed))
	require.Equal(t, 1, failed, "the interrupted import is recorded as such")
}

// TestImportListsThroughCLI: a workbook previewed with --dry-run (nothing
// written), then imported; a CSV missing columns names the mapping option;
// a CSV with a cut last line and malformed values.
func TestImportListsThroughCLI(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewURL(t)
	s := newService(t, map[string]string{"DATABASE_URL": dbURL, "PARCOURS_DATA_DIR": t.TempDir()})
	s.start()
	dir := t.TempDir()
	day := domain.DateOf(time.Now()).AddDays(-10)

	f := excelize.NewFile()
	require.NoError(t, f.SetSheetName("Sheet1", "Notes"))
	_, err := f.NewSheet("Suivis")
	require.NoError(t, err)
	rows := [][]any{
		{"NIR *", "Nom *", "Prénom *", "Date d'entrée en droits et devoirs *", "Adresse électronique", "Parcours d'orientation", "Date de la décision d'orientation", "Type de contrat", "Date de début du contrat", "Date de fin du contrat"},
		{"2820251108030", "Lefèvre", "Hélène", day.French(), "pas-une-adresse", "professionnel", day.French(), "PPAE", day.French(), day.AddMonths(6).French()},
		{"1810693050030", "Martin", "Paul", day.French()},
	}
	for i, r := range rows {
		require.NoError(t, f.SetSheetRow("Suivis", fmt.Sprintf("A%d", i+1), &r))
	}
	xlsx := filepath.Join(dir, "reprise.xlsx")
	require.NoError(t, f.SaveAs(xlsx))

	conn, err := pgx.Connect(context.Background(), dbURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	count := func() int {
		var n int
		require.NoError(t, conn.QueryRow(context.Background(), `SELECT count(*) FROM beneficiaries`).Scan(&n))
		return n
	}

	out, err := s.importCmd("--dry-run", "--feuille", "Suivis", xlsx).CombinedOutput()
	require.NoError(t, err, string(out))
	for _, want := range []string{"rien n'a été écrit", "en accompagnement : 1", "en attente d'orientation : 1", "adresse électronique", "(avertissement)", "Lefèvre Hélène"} {
		require.Contains(t, string(out), want)
	}
	require.Zero(t, count(), "a dry run writes nothing")

	out, err = s.importCmd("--feuille", "Suivis", xlsx).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "terminé")
	require.Contains(t, string(out), "2 créés")
	require.Contains(t, string(out), "1 avec avertissement")
	require.Equal(t, 2, count())

	bad := filepath.Join(dir, "liste.csv")
	require.NoError(t, os.WriteFile(bad, []byte("Nom de famille;Ville\nMartin;Valence\n"), 0o600))
	out, err = s.importCmd(bad).CombinedOutput()
	require.Error(t, err)
	for _, want := range []string{"« Nom »", "« Prénom »", "identification", "--correspondance"} {
		require.Contains(t, string(out), want)
	}

	cut := filepath.Join(dir, "cut.csv")
	require.NoError(t, os.WriteFile(cut, []byte("Identifiant;Nom;Prénom;Date d'entrée\nCLI-1;Petit;Jean;"+day.French()+"\nCLI-2;Mor"), 0o600))
	out, err = s.importCmd(cut).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "1 créés")
	require.Contains(t, string(out), "ligne 3 (rejet) : la dernière ligne du fichier est coupée")
	var truncated int
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT count(*) FROM beneficiaries WHERE external_id LIKE 'CLI-2%' OR last_name = 'Mor'`).Scan(&truncated))
	require.Zero(t, truncated, "nothing created from a cut line")
}
