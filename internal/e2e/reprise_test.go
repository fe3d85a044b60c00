//go:build e2e

package e2e

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/importer"
	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
)

// repriseKind is one of the situations of the reprise file's people.
type repriseKind int

const (
	orientedNoContract repriseKind = iota // oriented 10 days ago, no contract yet
	contractInForce                       // oriented and under a contract ending in 200 days
	contractEndingSoon                    // a contract ending in 20 days: renewal due
	stockOldCER                           // in droits et devoirs since 2023, a CER of 2023: the stock contract is due
	notOrientedLongAgo                    // no orientation, information received 100 days ago
	repriseKinds
)

// repriseLine is one person of the file, and what the test expects of them.
type repriseLine struct {
	id   string
	kind repriseKind
	cols map[string]string // field → value
}

func repriseLines(n int, today domain.Date) []repriseLine {
	lines := make([]repriseLine, n)
	for i := range lines {
		k := repriseKind(i % int(repriseKinds))
		l := repriseLine{id: fmt.Sprintf("REP-%04d", i), kind: k, cols: map[string]string{
			importer.FieldExternalID: fmt.Sprintf("REP-%04d", i),
			importer.FieldLastName:   fmt.Sprintf("Reprise%04d", i),
			importer.FieldFirstName:  "Camille",
			importer.FieldBirthDate:  "12/05/1980",
		}}
		set := func(field string, d domain.Date) { l.cols[field] = d.French() }
		referent := fmt.Sprintf("Agnès Martin-%d", i%7) // a name: the import finds or creates the référent
		switch k {
		case orientedNoContract:
			set(importer.FieldEnteredOn, today.AddDays(-40))
			set(importer.FieldReceivedOn, today.AddDays(-40))
			l.cols[importer.FieldTrack] = "social"
			l.cols[importer.FieldStructure] = "CCAS de Caen"
			set(importer.FieldOrientedOn, today.AddDays(-10))
			l.cols[importer.FieldReferent] = referent
		case contractInForce, contractEndingSoon:
			set(importer.FieldEnteredOn, domain.NewDate(2025, 3, 1))
			set(importer.FieldReceivedOn, domain.NewDate(2025, 3, 3))
			l.cols[importer.FieldTrack] = "professionnel"
			l.cols[importer.FieldStructure] = "France Travail Caen"
			set(importer.FieldOrientedOn, domain.NewDate(2025, 3, 20))
			l.cols[importer.FieldReferent] = referent
			l.cols[importer.FieldContractKind] = "contrat d'engagement"
			set(importer.FieldContractSigned, domain.NewDate(2025, 4, 1))
			set(importer.FieldContractStart, domain.NewDate(2025, 4, 1))
			if k == contractInForce {
				set(importer.FieldContractEnd, today.AddDays(200))
			} else {
				set(importer.FieldContractEnd, today.AddDays(20))
			}
		case stockOldCER:
			set(importer.FieldEnteredOn, domain.NewDate(2023, 5, 1))
			set(importer.FieldReceivedOn, domain.NewDate(2023, 5, 2))
			l.cols[importer.FieldTrack] = "professionnel"
			l.cols[importer.FieldStructure] = "Association Trait d'union"
			set(importer.FieldOrientedOn, domain.NewDate(2023, 5, 20))
			l.cols[importer.FieldReferent] = referent
			l.cols[importer.FieldContractKind] = "CER"
			set(importer.FieldContractSigned, domain.NewDate(2023, 6, 1))
			set(importer.FieldContractStart, domain.NewDate(2023, 6, 1))
			set(importer.FieldContractEnd, today.AddDays(100))
			l.cols[importer.FieldStock] = "oui"
		case notOrientedLongAgo:
			set(importer.FieldEnteredOn, today.AddDays(-120))
			set(importer.FieldReceivedOn, today.AddDays(-100))
		}
		lines[i] = l
	}
	return lines
}

func writeReprise(t *testing.T, path string, lines []repriseLine) {
	t.Helper()
	var fields, header []string
	for _, f := range importer.Fields {
		fields = append(fields, f.Field)
		header = append(header, f.Label)
	}
	f, err := os.Create(path)
	require.NoError(t, err)
	w := csv.NewWriter(f)
	w.Comma = ';'
	require.NoError(t, w.Write(header))
	for _, l := range lines {
		rec := make([]string, len(fields))
		for i, field := range fields {
			rec[i] = l.cols[field]
		}
		require.NoError(t, w.Write(rec))
	}
	w.Flush()
	require.NoError(t, w.Error())
	require.NoError(t, f.Close())
}

// personState is what the read model says of one person.
type personState struct {
	status    string
	deadlines map[string]string // kind/basis → status due_on
	tasks     map[string]string // kind → status[+overdue] assignee
	events    int
	version   int64
}

func readStates(t *testing.T, url string) map[string]personState {
	t.Helper()
	ctx := context.Background()
	conn := dbConn(t, url)
	defer conn.Close(ctx)
	out := map[string]personState{}
	rows, err := conn.Query(ctx, `
		SELECT b.external_id, p.status, p.version,
		       (SELECT count(*) FROM events e WHERE e.parcours_id = p.id),
		       coalesce((SELECT string_agg(d.kind || '/' || d.basis || '=' || d.status || ' ' || d.due_on, '|' ORDER BY d.kind, d.basis)
		                 FROM deadlines d WHERE d.parcours_id = p.id), ''),
		       coalesce((SELECT string_agg(k.kind || '=' || k.status || CASE WHEN k.overdue_at IS NOT NULL THEN '+overdue' ELSE '' END || ' ' || coalesce(r.name, k.assignee, ''), '|' ORDER BY k.kind)
		                 FROM tasks k LEFT JOIN referents r ON r.id = k.assignee WHERE k.parcours_id = p.id AND k.status = 'open'), '')
		FROM beneficiaries b JOIN parcours p ON p.beneficiary_id = b.id
		WHERE b.external_id LIKE 'REP-%'`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var id, deadlines, tasks string
		var s personState
		require.NoError(t, rows.Scan(&id, &s.status, &s.version, &s.events, &deadlines, &tasks))
		s.deadlines, s.tasks = split(deadlines, "|", "="), split(tasks, "|", "=")
		out[id] = s
	}
	require.NoError(t, rows.Err())
	return out
}

func split(s, sep, kv string) map[string]string {
	m := map[string]string{}
	if s == "" {
		return m
	}
	for _, part := range strings.Split(s, sep) {
		k, v, _ := strings.Cut(part, kv)
		m[k] = v
	}
	return m
}

// checkPerson compares one person's read model with what their line says.
func checkPerson(t *testing.T, l repriseLine, s personState, today domain.Date) {
	t.Helper()
	referent := l.cols[importer.FieldReferent]
	for key, task := range s.tasks {
		if l.kind != notOrientedLongAgo {
			require.NotContains(t, task, "+overdue", "%s (%d): task %s overdue at import", l.id, l.kind, key)
		}
	}
	for key, d := range s.deadlines {
		if l.kind != notOrientedLongAgo {
			require.False(t, strings.HasPrefix(d, "overdue"), "%s (%d): deadline %s overdue at import: %s", l.id, l.kind, key, d)
		}
	}
	stockDue := domain.NewDate(2027, 1, 1)
	switch l.kind {
	case orientedNoContract:
		require.Equal(t, "awaiting_contract", s.status, l.id)
		// The 2025 law: the contract within 1 month of the orientation.
		require.Equal(t, "pending "+today.AddDays(-10).AddMonths(1).String(), s.deadlines["contract/legal"], l.id)
		// The département's target: 2 months after the entry.
		require.Equal(t, "pending "+today.AddDays(-40).AddMonths(2).String(), s.deadlines["contract/target"], l.id)
		require.Equal(t, "open "+referent, s.tasks["sign_contract"], l.id)
		require.NotContains(t, s.deadlines, "contract/stock", "entered in 2026: not in the stock")
	case contractInForce:
		require.Equal(t, "in_accompaniment", s.status, l.id)
		require.Equal(t, "pending "+today.AddDays(200).String(), s.deadlines["contract/contract_term"], l.id)
		require.Empty(t, s.tasks, "%s: nothing to do before the renewal", l.id)
	case contractEndingSoon:
		require.Equal(t, "in_accompaniment", s.status, l.id)
		require.Equal(t, "pending "+today.AddDays(20).String(), s.deadlines["contract/contract_term"], l.id)
		require.Equal(t, "open "+referent, s.tasks["renew_contract"], "%s: the renewal opens 30 days before the end", l.id)
	case stockOldCER:
		require.Equal(t, "in_accompaniment", s.status, l.id)
		want := "pending"
		if today.After(stockDue) {
			want = "overdue"
		}
		require.Equal(t, want+" "+stockDue.String(), s.deadlines["contract/stock"], "%s: a CER of 2023 does not meet the stock deadline", l.id)
		task := s.tasks["stock_contract"]
		require.True(t, strings.HasPrefix(task, "open") && strings.HasSuffix(task, " "+referent), "%s: stock task %q", l.id, task)
	case notOrientedLongAgo:
		require.Equal(t, "awaiting_orientation", s.status, l.id)
		// The 6 legal weeks from the receipt passed: handed to France Travail.
		received := today.AddDays(-100)
		require.Equal(t, "overdue "+received.AddDays(42).String(), s.deadlines["orientation/legal"], l.id)
		require.Contains(t, s.tasks, "await_france_travail", l.id)
	}
}

// TestRealBinaryRepriseOf1000People: a département's existing caseload,
// 1,000 people in five situations, imported with the real binary; each
// person's status, deadlines and tasks are checked; the same file again
// changes nothing.
func TestRealBinaryRepriseOf1000People(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewURL(t)
	s := newService(t, map[string]string{"DATABASE_URL": dbURL, "PARCOURS_DATA_DIR": t.TempDir()})
	s.start()
	today := domain.DateOf(time.Now())
	lines := repriseLines(1000, today)
	path := filepath.Join(t.TempDir(), "reprise.csv")
	writeReprise(t, path, lines)

	// The preview writes nothing and foresees the five situations.
	out, err := s.importCmd("--dry-run", path).CombinedOutput()
	require.NoError(t, err, string(out))
	for _, want := range []string{"rien n'a été écrit", "1000 lignes · 0 rejetées", "en attente d'orientation : 200", "en attente de contrat : 200",
		"en accompagnement : 600", "orientation confiée à France Travail : 200", "contrat dû au 01/01/2027 (accompagnés au 01/01/2025) : 200"} {
		require.Contains(t, string(out), want, "the preview foresees the five situations")
	}
	require.Empty(t, readStates(t, dbURL), "a preview writes nothing")

	out, err = s.importCmd("--workers", "8", path).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Regexp(t, regexp.MustCompile(`1000 lus · 1000 créés · 0 mis à jour · 0 inchangés`), string(out))
	first := readStates(t, dbURL)
	require.Len(t, first, 1000)
	for _, l := range lines {
		checkPerson(t, l, first[l.id], today)
	}

	out, err = s.importCmd("--workers", "8", path).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Regexp(t, regexp.MustCompile(`1000 lus · 0 créés · 0 mis à jour · 1000 inchangés`), string(out), "the same file again changes nothing")
	again := readStates(t, dbURL)
	for id, s := range first {
		require.Equal(t, s, again[id], "%s changed on the second import", id)
	}
}
