package postgres_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// TestDuplicateNIRStaysOutOfServerLog: a NIR another beneficiary holds is
// refused in French, also when intakes race to it, without a unique
// violation, whose DETAIL would write the NIR to PostgreSQL's log; and a
// violation raised anyway (by a path that would not look first) writes no
// value there either: the local cluster logs errors tersely (issue 20,
// item 7). The log is the one scripts/test.sh's cluster writes.
func TestDuplicateNIRStaysOutOfServerLog(t *testing.T) {
	logFile := os.Getenv("PARCOURS_TEST_PG_LOG")
	if logFile == "" {
		t.Skip("PARCOURS_TEST_PG_LOG unset: run through scripts/test.sh")
	}
	tb := setup(t)
	before, err := os.Stat(logFile) // the cluster outlives a run: only what this test adds counts
	require.NoError(t, err)
	const nir, body = "184127512378942", "1841275123789" // distinctive: no other test uses it
	first := intake("NIRLOG-0")
	first.NIR = nir
	_, err = tb.db.Intake(tb.ctx, domain.System, first, "departement")
	require.NoError(t, err)

	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			other := intake(fmt.Sprintf("NIRLOG-%d", i+1))
			other.NIR = body
			_, errs[i] = tb.db.Intake(tb.ctx, domain.System, other, "departement")
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.Equal(t, "nir", domain.ErrorField(err), "%v", err)
		require.NotContains(t, err.Error(), body, "nor in the service's own messages")
	}

	// Straight into the index, as a careless path would: PostgreSQL still
	// writes no value.
	_, err = tb.db.Pool.Exec(tb.ctx, `INSERT INTO beneficiaries (id, external_id, nir, last_name, first_name, birth_date)
		VALUES (gen_random_uuid(), 'NIRLOG-RAW', $1, 'X', 'Y', '1984-12-01')`, body)
	require.Error(t, err, "the unique index refuses it")
	require.NotContains(t, err.Error(), body, "a pgx error's message holds no value (its Detail does, and is never logged)")
	// The service logs errors through slog (text or JSON): the Detail stays out.
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Error("intake", "error", fmt.Errorf("upsert beneficiary: %w", err))
	slog.New(slog.NewJSONHandler(&logs, nil)).Error("intake", "error", fmt.Errorf("upsert beneficiary: %w", err))
	require.Contains(t, logs.String(), "23505")
	require.NotContains(t, logs.String(), body)

	f, err := os.Open(logFile)
	require.NoError(t, err)
	defer f.Close()
	b, err := io.ReadAll(io.NewSectionReader(f, before.Size(), 1<<40))
	require.NoError(t, err)
	require.Contains(t, string(b), "beneficiaries_nir_body", "the violation was logged, without its key")
	require.False(t, strings.Contains(string(b), body), "the NIR is in PostgreSQL's log %s", logFile)
}
