package httpapi_test

import (
	"bytes"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/importer"
)

func scrape(t *testing.T) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, fixture.server.URL+"/metrics", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+fixture.tokens["admin"])
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, 200, res.StatusCode)
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(raw)
}

// TestMetricsNeedAnAdministrator: on the service's address, /metrics
// answered anyone (issue 20, item 8).
func TestMetricsNeedAnAdministrator(t *testing.T) {
	t.Parallel()
	require.Equal(t, 401, call(t, "", "GET", "/metrics", nil).status)
	require.Equal(t, 403, call(t, "department", "GET", "/metrics", nil).status)
	require.Equal(t, 403, call(t, "referent:ref-1", "GET", "/metrics", nil).status)
	require.Contains(t, scrape(t), "parcours_")
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	// Entered 40 days ago: the 1-month orientation target has passed, the task is overdue at once.
	id := beneficiary(t)
	r := call(t, "department", "POST", "/api/v1/parcours", intakeBody(id, today().AddDays(-40).String()))
	require.Equal(t, 201, r.status, r.raw)
	pid := r.body["id"].(string)
	require.Equal(t, 200, call(t, "supervisor", "GET", "/api/v1/parcours/"+pid, nil).status)
	require.Equal(t, 404, call(t, "", "GET", "/nothing-here", nil).status)

	var data bytes.Buffer
	require.NoError(t, importer.WriteFlux(&data, importer.Synthetic(2, uint64(time.Now().UnixNano()%1_000_000)+11, today().AddDays(-1))))
	imp := call(t, "department", "POST", "/api/v1/imports?name=metrics.xml", data.String())
	require.Equal(t, 202, imp.status, imp.raw)
	require.Eventually(t, func() bool {
		rep := call(t, "department", "GET", "/api/v1/imports/"+imp.body["id"].(string), nil)
		return rep.body["import"].(map[string]any)["status"] == "done"
	}, 30*time.Second, 100*time.Millisecond)

	want := []*regexp.Regexp{
		// HTTP latency by route pattern (never the raw path) and status.
		regexp.MustCompile(`(?m)^parcours_http_request_duration_seconds_bucket\{method="POST",route="/api/v1/parcours",status="201",le="[^"]+"\} [1-9]`),
		regexp.MustCompile(`(?m)^parcours_http_request_duration_seconds_count\{method="GET",route="/api/v1/parcours/\{id\}",status="200"\} [1-9]`),
		regexp.MustCompile(`(?m)^parcours_http_request_duration_seconds_count\{method="GET",route="unmatched",status="404"\} [1-9]`),
		// Import outcomes.
		regexp.MustCompile(`(?m)^parcours_import_persons_total\{outcome="created"\} [1-9]`),
		// Task counts from PostgreSQL.
		regexp.MustCompile(`(?m)^parcours_tasks\{kind="[a-z_]+",status="open"\} [1-9]`),
		regexp.MustCompile(`(?m)^parcours_tasks_overdue\{kind="orient"\} [1-9]`),
		regexp.MustCompile(`(?m)^parcours_database_up 1$`),
		// The Temporal SDK's worker and client metrics (update-with-start is ExecuteMultiOperation).
		regexp.MustCompile(`(?m)^temporal_(long_)?request_total\{.*operation="ExecuteMultiOperation".*\} [1-9]`),
		regexp.MustCompile(`(?m)^temporal_workflow_task_execution_latency_seconds_count\{.*task_queue="[^"]+".*\} [1-9]`),
		regexp.MustCompile(`(?m)^temporal_activity_execution_latency_seconds_count\{.*activity_type="[^"]+".*\} [1-9]`),
		regexp.MustCompile(`(?m)^temporal_worker_task_slots_available\{.*worker_type="WorkflowWorker".*\} `),
		regexp.MustCompile(`(?m)^go_goroutines `),
	}
	// The SDK reports some metrics after the fact: scrape until all are there.
	var body string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		body = scrape(t)
		missing := false
		for _, re := range want {
			missing = missing || !re.MatchString(body)
		}
		if !missing || time.Now().After(deadline) {
			break
		}
	}
	for _, re := range want {
		require.Regexp(t, re, body)
	}
}
