package workflows

import (
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
)

// TestReplayRecordedHistories replays every history recorded from a real
// server (workflows/testdata) against today's workflow code: a change that
// would break running parcours fails here. Record a new one with
// `make record-history` after a change that goes behind workflow.GetVersion.
func TestReplayRecordedHistories(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files, "no recorded history in testdata/")
	for _, f := range files {
		replayer := worker.NewWorkflowReplayer()
		replayer.RegisterWorkflowWithOptions(NewParcours(ParcoursOptions{Laws: lawsFor(f)}), RegisterOptions())
		replayer.RegisterWorkflowWithOptions(SuspensionReview, RegisterReviewOptions())
		logger := log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
		require.NoError(t, replayer.ReplayWorkflowHistoryFromJSONFile(logger, f), f)
	}
}

var payloadData = regexp.MustCompile(`"data":\s*"([A-Za-z0-9+/=]+)"`)

// TestHistoriesCarryNoPersonalData checks the recorded histories: the test
// beneficiary's names must not be in them (names and NIR stay in PostgreSQL).
func TestHistoriesCarryNoPersonalData(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/*.json")
	require.NoError(t, err)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		// Payloads are base64 in the JSON: decode every one before looking.
		var decoded strings.Builder
		for _, m := range payloadData.FindAllSubmatch(b, -1) {
			data, err := base64.StdEncoding.DecodeString(string(m[1]))
			require.NoError(t, err)
			decoded.Write(data)
		}
		require.Contains(t, decoded.String(), "parcours_id", "the payloads were decoded")
		// Zqw: the free texts TestFreeTextStaysOutOfHistories types.
		for _, word := range []string{"Martin", "Léa", "1990-05-04", "Zqw"} {
			require.NotContains(t, decoded.String(), word, f)
		}
	}
}
