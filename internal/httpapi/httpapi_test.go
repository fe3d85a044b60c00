package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/httpapi"
	"github.com/parcours-rsa/parcours/internal/importer"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/internal/testenv"
	"github.com/parcours-rsa/parcours/workflows"
)

// fixture is shared by the package's tests: one embedded Temporal server,
// one worker and one database; each test uses its own beneficiaries.
var fixture struct {
	server *httptest.Server
	db     *postgres.DB
	tc     client.Client
	tokens map[string]string // role or "referent:ID" -> token
	svc    *app.Service
}

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		// go test -run '^$' -fuzz FuzzWriteEndpoints: every fuzzing process
		// runs TestMain, and the fuzz target needs no fixture.
		os.Exit(m.Run())
	}
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	ctx := context.Background()
	// A low continue-as-new threshold: every long test crosses runs.
	env, err := testenv.Start(map[string]any{"limit.historyCount.suggestContinueAsNew": canThreshold})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer env.Close()
	db, tc, logger := env.DB, env.Temporal, env.Logger
	svc := env.Service
	fixture.db, fixture.tc, fixture.svc = db, tc, svc
	fixture.tokens = map[string]string{}
	for _, spec := range []struct {
		key      string
		role     domain.Role
		referent string
	}{
		{"admin", domain.RoleAdmin, ""}, {"department", domain.RoleDepartment, ""},
		{"supervisor", domain.RoleSupervisor, ""}, {"referent:ref-1", domain.RoleReferent, "ref-1"},
		{"referent:ref-2", domain.RoleReferent, "ref-2"},
	} {
		// The fixture's supervisor sees every structure, said explicitly.
		tok, err := svc.CreateTokenWith(ctx, app.NewToken{Name: spec.key, Role: spec.role, ReferentID: spec.referent,
			AllStructures: spec.role == domain.RoleSupervisor})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fixture.tokens[spec.key] = tok
	}
	im := &importer.Importer{Service: svc, Logger: logger, Counted: env.Metrics.ImportCounted}
	// Wrapped as serve wraps it.
	fixture.server = httptest.NewServer(httpapi.Protection{}.Wrap(
		(&httpapi.Handler{Service: svc, Logger: logger, Importer: im, Metrics: env.Metrics}).Routes()))
	defer fixture.server.Close()
	return m.Run()
}

// canThreshold is the history length at which the test server suggests
// continue-as-new (production: 4096).
const canThreshold = 250

var seq atomic.Int64

// beneficiary is an identifier no other test uses.
func beneficiary(t *testing.T) string {
	return fmt.Sprintf("T%d-%d", time.Now().UnixNano()%1_000_000, seq.Add(1))
}

type response struct {
	status int
	body   map[string]any
	raw    string
}

func (r response) errField() string {
	e, _ := r.body["error"].(map[string]any)
	f, _ := e["field"].(string)
	return f
}

func (r response) errCode() string {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func call(t *testing.T, who, method, path string, body any) response {
	t.Helper()
	return callWith(t, who, method, path, body, nil)
}

// callWith is call with more request headers.
func callWith(t *testing.T, who, method, path string, body any, header http.Header) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, fixture.server.URL+path, rd)
	require.NoError(t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if who != "" {
		tok, ok := fixture.tokens[who]
		if !ok {
			tok = who // a raw token
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	out := response{status: res.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

func intakeBody(id, entered string) map[string]any {
	return map[string]any{"beneficiary_id": id, "last_name": "Martin", "first_name": "Léa", "birth_date": "1990-05-04", "entered_at": entered}
}

func today() domain.Date { return domain.DateOf(time.Now()) }

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	require.Equal(t, 200, call(t, "", "GET", "/healthz", nil).status)
	require.Equal(t, 200, call(t, "", "GET", "/readyz", nil).status)
	require.Equal(t, 404, call(t, "", "GET", "/nothing-here", nil).status)
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	r := call(t, "", "GET", "/api/v1/tasks", nil)
	require.Equal(t, 401, r.status)
	require.Equal(t, "unauthorized", r.errCode())
	require.Equal(t, 401, call(t, "prc_unknown", "GET", "/api/v1/tasks", nil).status)

	req, err := http.NewRequest("GET", fixture.server.URL+"/api/v1/tasks", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 401, res.StatusCode)

	// A référent may not register an intake nor decide an orientation.
	r = call(t, "referent:ref-1", "POST", "/api/v1/parcours", intakeBody(beneficiary(t), "2026-10-01"))
	require.Equal(t, 403, r.status)
	require.Equal(t, "forbidden", r.errCode())
}

func TestIntakeStatuses(t *testing.T) {
	t.Parallel()
	id := beneficiary(t)
	first := call(t, "department", "POST", "/api/v1/parcours", intakeBody(id, "2026-10-01"))
	require.Equal(t, 201, first.status, first.raw)
	pid := first.body["id"].(string)
	require.Equal(t, "awaiting_orientation", first.body["status"])
	require.Equal(t, id, first.body["beneficiary_id"])
	require.NotEmpty(t, first.body["deadlines"])

	again := call(t, "department", "POST", "/api/v1/parcours", intakeBody(id, "2026-10-01"))
	require.Equal(t, 200, again.status)
	require.Equal(t, pid, again.body["id"])

	r := call(t, "department", "POST", "/api/v1/parcours", intakeBody(id, "2026-10-02"))
	require.Equal(t, 409, r.status)
	require.Equal(t, "conflict", r.errCode())

	future := today().AddDays(1).String()
	for name, c := range map[string]struct {
		body  any
		field string
	}{
		"malformed JSON":     {`{"beneficiary_id": `, ""},
		"not an object":      {`[1,2]`, ""},
		"two values":         {`{} {}`, ""},
		"empty body":         {``, ""},
		"unknown key":        {map[string]any{"beneficiary_id": "x", "surname": "y"}, "surname"},
		"missing id":         {intakeBody("", "2026-10-01"), "beneficiary_id"},
		"impossible date":    {intakeBody(beneficiary(t), "2026-02-30"), "entered_at"},
		"future entry":       {intakeBody(beneficiary(t), future), "entered_at"},
		"wrong type":         {map[string]any{"beneficiary_id": 12}, "beneficiary_id"},
		"empty name":         {map[string]any{"beneficiary_id": "E1", "last_name": " ", "first_name": "A", "birth_date": "1990-01-01", "entered_at": "2026-10-01"}, "last_name"},
		"missing entered_at": {map[string]any{"beneficiary_id": "E2", "last_name": "A", "first_name": "B", "birth_date": "1990-01-01"}, "entered_at"},
		"bad NIR key": {func() map[string]any {
			b := intakeBody(beneficiary(t), "2026-10-01")
			b["nir"] = "190555699800888"
			return b
		}(), "nir"},
	} {
		r := call(t, "department", "POST", "/api/v1/parcours", c.body)
		require.Equal(t, 400, r.status, "%s: %s", name, r.raw)
		require.Equal(t, "invalid", r.errCode(), name)
		require.Equal(t, c.field, r.errField(), name)
		require.NotEmpty(t, r.body["error"].(map[string]any)["message"], name)
	}
}

func TestIntakeRaceStartsOneParcours(t *testing.T) {
	t.Parallel()
	id := beneficiary(t)
	const n = 8
	out := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { out[i] = call(t, "department", "POST", "/api/v1/parcours", intakeBody(id, "2026-10-01")) })
	}
	wg.Wait()
	created := 0
	for _, r := range out {
		require.Contains(t, []int{200, 201}, r.status, r.raw)
		require.Equal(t, out[0].body["id"], r.body["id"])
		if r.status == 201 {
			created++
		}
	}
	require.Equal(t, 1, created)
}

func TestParcoursLifecycleOverHTTP(t *testing.T) {
	t.Parallel()
	id := beneficiary(t)
	// Entered two months ago: the orientation target is already overdue at intake.
	entered := today().AddMonths(-2).AddDays(-1)
	r := call(t, "department", "POST", "/api/v1/parcours", intakeBody(id, entered.String()))
	require.Equal(t, 201, r.status, r.raw)
	pid := r.body["id"].(string)

	got := call(t, "supervisor", "GET", "/api/v1/parcours/"+pid, nil)
	require.Equal(t, 200, got.status)
	deadlines := got.body["deadlines"].([]any)
	require.Len(t, deadlines, 3)
	d0 := deadlines[0].(map[string]any)
	require.Equal(t, "orientation", d0["kind"])
	require.Equal(t, "overdue", d0["status"])
	require.Contains(t, d0["rule"], "engagement départemental (1 mois après l'entrée en droits et devoirs le "+entered.French()+")")
	// The 6 legal weeks after the receipt passed too: the orientation decision went to France Travail.
	tasks := got.body["tasks"].([]any)
	require.Len(t, tasks, 1)
	require.Equal(t, "await_france_travail", tasks[0].(map[string]any)["kind"])
	require.Equal(t, "entered", got.body["events"].([]any)[0].(map[string]any)["kind"])

	require.Equal(t, 404, call(t, "supervisor", "GET", "/api/v1/parcours/01a2046c-e853-7364-85bd-000000000000", nil).status)
	require.Equal(t, 404, call(t, "supervisor", "GET", "/api/v1/parcours/not-a-uuid", nil).status)
	require.Equal(t, 404, call(t, "referent:ref-1", "GET", "/api/v1/parcours/"+pid, nil).status, "not yet theirs")

	// Contract before orientation: 409.
	contract := map[string]any{"kind": "cer", "signed_on": today().String(), "starts_on": today().String(), "ends_on": today().AddMonths(6).String()}
	require.Equal(t, 409, call(t, "department", "POST", "/api/v1/parcours/"+pid+"/contracts", contract).status)

	orientation := map[string]any{"track": "social", "organism": "CCAS de Caen", "referent_id": "ref-1", "decided_on": today().String()}
	bad := map[string]any{"track": "emploi", "organism": "x", "referent_id": "ref-1", "decided_on": today().String()}
	r = call(t, "department", "POST", "/api/v1/parcours/"+pid+"/orientation", bad)
	require.Equal(t, 400, r.status)
	require.Equal(t, "track", r.errField())
	early := map[string]any{"track": "social", "organism": "x", "referent_id": "ref-1", "decided_on": entered.AddDays(-1).String()}
	r = call(t, "department", "POST", "/api/v1/parcours/"+pid+"/orientation", early)
	require.Equal(t, 400, r.status, r.raw)
	require.Equal(t, "decided_on", r.errField())
	require.Equal(t, 403, call(t, "referent:ref-1", "POST", "/api/v1/parcours/"+pid+"/orientation", orientation).status)
	require.Equal(t, 404, call(t, "department", "POST", "/api/v1/parcours/01a2046c-e853-7364-85bd-000000000000/orientation", orientation).status)

	r = call(t, "department", "POST", "/api/v1/parcours/"+pid+"/orientation", orientation)
	require.Equal(t, 409, r.status, "decided after the 6 weeks: France Travail's decision (D262-65-2)")
	require.Contains(t, r.raw, "France Travail")
	orientation["decided_by"] = "france_travail"
	r = call(t, "department", "POST", "/api/v1/parcours/"+pid+"/orientation", orientation)
	require.Equal(t, 200, r.status, r.raw)
	require.Equal(t, "awaiting_contract", r.body["status"])
	require.Equal(t, "ref-1", r.body["referent_id"])
	require.Equal(t, 200, call(t, "department", "POST", "/api/v1/parcours/"+pid+"/orientation", orientation).status, "the same decision again")
	other := map[string]any{"track": "professional", "organism": "France Travail", "referent_id": "ref-2", "decided_on": today().String()}
	require.Equal(t, 409, call(t, "department", "POST", "/api/v1/parcours/"+pid+"/orientation", other).status)

	// The référent now sees the dossier and its contract task; the other référent does not.
	require.Equal(t, 200, call(t, "referent:ref-1", "GET", "/api/v1/parcours/"+pid, nil).status)
	require.Equal(t, 404, call(t, "referent:ref-2", "GET", "/api/v1/parcours/"+pid, nil).status)
	mine := call(t, "referent:ref-1", "GET", "/api/v1/tasks", nil)
	require.Equal(t, 200, mine.status)
	found := false
	for _, it := range mine.body["items"].([]any) {
		task := it.(map[string]any)
		require.Equal(t, "ref-1", task["assignee"])
		if task["parcours_id"] == pid {
			found = true
			require.Equal(t, "sign_contract", task["kind"])
			require.Equal(t, true, task["overdue"], "the 2-month target passed before the orientation")
		}
	}
	require.True(t, found)
	theirs := call(t, "referent:ref-2", "GET", "/api/v1/tasks", nil)
	for _, it := range theirs.body["items"].([]any) {
		require.NotEqual(t, pid, it.(map[string]any)["parcours_id"])
	}

	ends := map[string]any{"kind": "cer", "signed_on": today().String(), "starts_on": today().String(), "ends_on": today().AddDays(-1).String()}
	r = call(t, "referent:ref-1", "POST", "/api/v1/parcours/"+pid+"/contracts", ends)
	require.Equal(t, 400, r.status)
	require.Equal(t, "ends_on", r.errField())
	r = call(t, "referent:ref-1", "POST", "/api/v1/parcours/"+pid+"/contracts", contract)
	require.Equal(t, 200, r.status, r.raw)
	require.Equal(t, "in_accompaniment", r.body["status"])
	require.Empty(t, r.body["tasks"])
	term := 0
	for _, d := range r.body["deadlines"].([]any) {
		dl := d.(map[string]any)
		switch {
		case dl["kind"] == "contract" && dl["cycle"] == 1.0:
			require.Equal(t, "met", dl["status"])
		case dl["kind"] == "contract" && dl["cycle"] == 2.0:
			term++
			require.Equal(t, "contract_term", dl["basis"], "the next contract is due when this one ends")
			require.Equal(t, "pending", dl["status"])
			require.Equal(t, today().AddMonths(6).String(), dl["due_on"])
		}
	}
	require.Equal(t, 1, term)
	require.Equal(t, 404, call(t, "referent:ref-2", "POST", "/api/v1/parcours/"+pid+"/contracts", contract).status)

	// Every consultation and change went to the audit log.
	var reads, updates int
	require.NoError(t, fixture.db.Pool.QueryRow(context.Background(), `
		SELECT count(*) FILTER (WHERE action = 'read'), count(*) FILTER (WHERE action = 'update')
		FROM audit_log WHERE record_id = $1`, pid).Scan(&reads, &updates))
	require.GreaterOrEqual(t, reads, 2)
	require.GreaterOrEqual(t, updates, 3)

	recordHistory(t, pid, "parcours_v2_in_accompaniment")
	recordHistory(t, pid, "parcours_v4_handed_over_then_contract")
	recordHistory(t, pid, "parcours_v7_one_version_marker_handed_over_then_contract")
	recordHistory(t, pid, "parcours_v8_revision_handed_over_then_contract")
}

// recordHistory writes the workflow's history (its current run) for the
// replay tests when PARCOURS_RECORD_HISTORY names a directory: `make
// record-history` (see workflows/replay_test.go).
func recordHistory(t *testing.T, pid, name string) {
	recordWorkflowHistory(t, workflows.ParcoursWorkflowID(pid), name)
}

func recordWorkflowHistory(t *testing.T, workflowID, name string) {
	dir := os.Getenv("PARCOURS_RECORD_HISTORY")
	if dir == "" {
		return
	}
	file := filepath.Join(dir, name+".json")
	if _, err := os.Stat(file); err == nil {
		t.Logf("%s exists: recorded histories are never overwritten (they stand for older code)", file)
		return
	}
	// A run just continued as new has no completed task yet: wait for one.
	hist := &historypb.History{}
	for range 50 {
		hist.Events = nil
		iter := fixture.tc.GetWorkflowHistory(context.Background(), workflowID, "", false, 0)
		for iter.HasNext() {
			e, err := iter.Next()
			require.NoError(t, err)
			hist.Events = append(hist.Events, e)
		}
		if len(hist.Events) >= 4 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, b, 0o644))
}

func TestListAndTaskFilters(t *testing.T) {
	t.Parallel()
	var ids []string
	for range 3 {
		r := call(t, "admin", "POST", "/api/v1/parcours", intakeBody(beneficiary(t), today().AddDays(-3).String()))
		require.Equal(t, 201, r.status, r.raw)
		ids = append(ids, r.body["id"].(string))
	}
	page := call(t, "admin", "GET", "/api/v1/parcours?status=awaiting_orientation&limit=2", nil)
	require.Equal(t, 200, page.status)
	require.Len(t, page.body["items"].([]any), 2)
	next := page.body["next_cursor"].(string)
	require.NotEmpty(t, next)
	page2 := call(t, "admin", "GET", "/api/v1/parcours?status=awaiting_orientation&limit=2&cursor="+next, nil)
	require.Equal(t, 200, page2.status)
	require.NotEmpty(t, page2.body["items"])

	require.Equal(t, 400, call(t, "admin", "GET", "/api/v1/parcours?status=lost", nil).status)
	require.Equal(t, 400, call(t, "admin", "GET", "/api/v1/parcours?limit=0", nil).status)
	require.Equal(t, 400, call(t, "admin", "GET", "/api/v1/parcours?overdue=perhaps", nil).status)
	require.Equal(t, 400, call(t, "admin", "GET", "/api/v1/parcours?cursor=zzz", nil).status)
	require.Equal(t, 400, call(t, "admin", "GET", "/api/v1/tasks?status=late", nil).status)

	// Entered 3 days ago: nothing is overdue for these three.
	overdue := call(t, "admin", "GET", "/api/v1/parcours?overdue=true&limit=500", nil)
	for _, it := range overdue.body["items"].([]any) {
		require.NotContains(t, ids, it.(map[string]any)["id"])
		require.Equal(t, true, it.(map[string]any)["overdue"])
	}
	open := call(t, "supervisor", "GET", "/api/v1/tasks?status=open&limit=1000", nil)
	require.Equal(t, 200, open.status)
	seen := 0
	for _, it := range open.body["items"].([]any) {
		task := it.(map[string]any)
		for _, id := range ids {
			if task["parcours_id"] == id {
				seen++
				require.Equal(t, "orient", task["kind"])
				require.Equal(t, false, task["overdue"])
				require.Nil(t, task["assignee"])
			}
		}
	}
	require.Equal(t, 3, seen)
	recordHistory(t, ids[0], "parcours_v2_awaiting_orientation_mid_timer")
	late := call(t, "supervisor", "GET", "/api/v1/tasks?status=overdue&limit=1000", nil)
	for _, it := range late.body["items"].([]any) {
		require.Equal(t, true, it.(map[string]any)["overdue"])
	}
}
