package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
)

// TestBurstZone: the zone's next midnight is the instant asked, and the
// entry date plus one month is the day before it.
func TestBurstZone(t *testing.T) {
	t.Parallel()
	for _, at := range []time.Time{
		time.Date(2026, 12, 2, 17, 33, 21, 0, time.UTC),
		time.Date(2027, 3, 30, 23, 59, 59, 0, time.UTC), // 30 March: no day is one month before
		time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC),
	} {
		for _, months := range []int{1, 2} {
			loc, entered, due, err := burstZone(at, months)
			require.NoError(t, err)
			lt := at.In(loc)
			require.Equal(t, [3]int{0, 0, 0}, [3]int{lt.Hour(), lt.Minute(), lt.Second()}, at)
			require.Equal(t, domain.NewDate(lt.Year(), lt.Month(), lt.Day()), due.AddDays(1))
			require.Equal(t, due, entered.AddMonths(months))
		}
	}
}

// TestRun runs the whole bench at a tiny scale: 150 people, a burst of 150
// deadlines. Every line is there and its figure is sane.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of bench")
	}
	var out bytes.Buffer
	results := t.TempDir()
	rep, err := Run(context.Background(), Options{
		Dir: t.TempDir(), DatabaseURL: pgtest.NewURL(t), ResultsDir: results, Commit: "test",
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})), Out: &out,
		N: 150, Burst: 150, Lead: 8 * time.Second,
	})
	t.Log("\n" + out.String())
	require.NoError(t, err)
	value := func(name string) float64 {
		t.Helper()
		for _, r := range rep.Results {
			if r.Name == name {
				return r.Value
			}
		}
		t.Fatalf("no line %q", name)
		return 0
	}
	require.Greater(t, value("import: CAF flux to every workflow started and visible"), 1.0)
	require.Greater(t, value("import: CPU of this process per start"), 0.1, "milliseconds per start")
	require.Greater(t, value("import: CPU of PostgreSQL per start"), 0.01, "the test's PostgreSQL runs on this machine")
	require.Greater(t, value("footprint: RSS (server + worker + importer) with n open parcours"), 10.0)
	require.Greater(t, value("footprint: RSS peak during the burst"), 10.0)
	require.Greater(t, value("footprint: history events of a two-year parcours"), 200.0)
	for _, r := range rep.Results {
		if r.Name == "footprint: history events of a two-year parcours" {
			require.Contains(t, r.Note, "1 run(s), 73") // two years of server time, and a few days
		}
	}
	require.Greater(t, value("footprint: history bytes of a two-year parcours"), 5000.0)
	for who, last := range map[string]string{
		"burst (Temporal timers)":                      "last overdue task in the read model after the due instant",
		"burst (SQL poller, SKIP LOCKED)":              "last task after the due instant",
		"burst after 6 updates each (Temporal timers)": "last overdue task in the read model after the due instant",
		"raw Temporal burst":                           "last empty workflow woken after the instant",
	} {
		last := value(who + ": " + last)
		p50, p99 := value(who+": lateness p50"), value(who+": lateness p99")
		require.True(t, 0 <= p50 && p50 <= p99 && p99 <= last+0.001 && last < 60, "%s: p50 %v p99 %v last %v", who, p50, p99, last)
	}
	// The raw rates of the same server, and the ratios to them.
	require.Greater(t, value("raw Temporal: empty workflows started"), 1.0)
	require.Greater(t, value("import: ratio to the raw start rate of empty workflows"), 0.0)
	require.Greater(t, value("burst after updates: the updates before the deadline"), 1.0)
	require.Greater(t, value("burst (Temporal timers): ratio to the raw burst"), 0.0)
	require.Greater(t, value("burst after 6 updates each (Temporal timers): ratio to the raw burst"), 0.0)
	views := 0
	for _, r := range rep.Results {
		if name, ok := strings.CutSuffix(r.Name, " p95"); ok && strings.HasPrefix(name, "views ") {
			views++
			p50 := value(name + " p50")
			require.True(t, 0 < p50 && p50 <= r.Value && r.Value < 5000, "%s: p50 %v p95 %v", name, p50, r.Value)
		}
	}
	require.Equal(t, 18, views, "four views and two without the caches, alone and during the burst, and during the burst after updates")
	for _, r := range rep.Results {
		if strings.HasPrefix(r.Name, "views during") && strings.HasSuffix(r.Name, " p95") {
			target := "< 100 ms p95 during the burst"
			if strings.Contains(r.Name, "(no cache)") {
				target = "" // what a miss costs: printed beside the target's line
			}
			require.Equal(t, target, r.Target, r.Name)
		}
	}
	files, err := filepath.Glob(filepath.Join(results, "*.json"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	b, err := os.ReadFile(files[0])
	require.NoError(t, err)
	var written Report
	require.NoError(t, json.Unmarshal(b, &written))
	require.Equal(t, len(rep.Results), len(written.Results))
}
