//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/importer"
	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
	"github.com/parcours-rsa/parcours/internal/temporal"
)

// soak is true under PARCOURS_SOAK=1 (make soak): the fault tests run their
// long variants (more people, a longer outage, more kills).
func soak() bool { return os.Getenv("PARCOURS_SOAK") != "" }

// pick is fast under make test, long under make soak.
func pick[T any](fast, long T) T {
	if soak() {
		return long
	}
	return fast
}

// within polls cond every 250 ms for up to d.
func within(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("not within %s: %s", d, what)
}

// privateCluster starts a PostgreSQL cluster of the test's own, which the
// test may stop and start again; it answers its URL.
func privateCluster(t *testing.T, bin string) (url string, stop, start func()) {
	t.Helper()
	root, err := os.MkdirTemp("", "parcours-e2e-faults-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(root, 0o755)) // the postgres user must reach it
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	dir, port := filepath.Join(root, "postgres"), freePort(t)
	url = pgCluster(t, bin, "start", dir, port)
	t.Cleanup(func() { pgCluster(t, bin, "stop", dir, port) })
	return url, func() { pgCluster(t, bin, "stop", dir, port) }, func() { pgCluster(t, bin, "start", dir, port) }
}

func writeFlux(t *testing.T, dir, name string, g importer.GenFlux) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, importer.WriteFlux(f, g))
	require.NoError(t, f.Close())
	return path
}

func dbConn(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func count(t *testing.T, conn *pgx.Conn, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, conn.QueryRow(context.Background(), query, args...).Scan(&n), query)
	return n
}

// temporalClient joins serve's embedded Temporal server, with the client
// certificate it made in its data directory.
func temporalClient(t *testing.T, s *service) client.Client {
	t.Helper()
	return dialTemporal(t, s.credentials().Client(temporal.ClientOptions{
		Address: "127.0.0.1:" + envValue(s.env, "PARCOURS_TEMPORAL_PORT"), Namespace: "default"}))
}

// dialTemporal is a client of the test's own to a Temporal server of the
// binary (serve's embedded one, or parcours temporal), closed at the end.
func dialTemporal(t *testing.T, o temporal.ClientOptions) client.Client {
	t.Helper()
	o.Logger = slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithTimeout(context.Background(), readyWithin)
	defer cancel()
	tc, err := temporal.Dial(ctx, o)
	require.NoError(t, err, "a client of the Temporal server at %s within %s", o.Address, readyWithin)
	t.Cleanup(tc.Close)
	return tc
}

// credentials are the files of serve's embedded Temporal frontend.
func (s *service) credentials() temporal.Credentials {
	return temporal.EmbeddedCredentials(filepath.Join(envValue(s.env, "PARCOURS_DATA_DIR"), "temporal"))
}

// workflowsBy counts serve's workflows in each execution status, from
// Temporal's visibility (eventually consistent: callers poll).
func workflowsBy(t *testing.T, tc client.Client) map[string]int {
	t.Helper()
	return workflowsOfType(t, tc, "Parcours")
}

// workflowsOfType counts the workflows of type typ in each execution status.
func workflowsOfType(t *testing.T, tc client.Client, typ string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, st := range []string{"Running", "Completed", "Failed", "Terminated", "TimedOut", "Canceled", "ContinuedAsNew"} {
		res, err := tc.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{
			Namespace: "default", Query: fmt.Sprintf("ExecutionStatus = %q AND WorkflowType = %q", st, typ),
		})
		require.NoError(t, err)
		out[st] = int(res.GetCount())
	}
	return out
}

var laFailed = regexp.MustCompile(`(?m)^temporal_local_activity_execution_failed(?:_total)?\{[^}]*\} (\d+)$`)

// localActivityFailures is how many local activity attempts failed in
// serve, from its /metrics.
func localActivityFailures(t *testing.T, s *service) int {
	t.Helper()
	if s.metricsToken == "" {
		s.metricsToken = s.token("--name", "métriques", "--role", "admin")
	}
	req, err := http.NewRequest(http.MethodGet, s.base+"/metrics", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.metricsToken)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	n := 0
	for _, m := range laFailed.FindAllStringSubmatch(string(raw), -1) {
		k, _ := strconv.Atoi(m[1])
		n += k
	}
	return n
}

// logFailures shows, when t failed, serve's last error and warning lines.
func logFailures(t *testing.T, s *service) {
	if !t.Failed() {
		return
	}
	var lines []string
	for _, l := range strings.Split(s.logs.String(), "\n") {
		if strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=WARN") {
			lines = append(lines, l)
		}
	}
	t.Logf("serve's last errors and warnings:\n%s", strings.Join(lines[max(0, len(lines)-40):], "\n"))
}

// post is s.call for goroutines: no require, the error comes back.
func (s *service) post(token, path string, body any) (int, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequest("POST", s.base+path, bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

// TestRealBinaryActivitiesRetryThroughPostgreSQLOutage stops PostgreSQL for
// 30 s (make soak: 90 s) while orientations are recorded over HTTP (each
// writes the read model through a local activity) and an import starts
// workflows; then starts it again. Meanwhile /readyz answers 503; after,
// the activities retried (failed attempts in the metrics, yet no workflow
// failed), every person is there once with one parcours, every task once.
func TestRealBinaryActivitiesRetryThroughPostgreSQLOutage(t *testing.T) {
	t.Parallel()
	n, outage := pick(200, 1000), pick(30*time.Second, 90*time.Second)
	bin := binary(t)
	url, stopPG, startPG := privateCluster(t, bin)
	s := newService(t, map[string]string{"DATABASE_URL": url, "PARCOURS_DATA_DIR": t.TempDir()})
	s.start()
	defer s.interrupt()
	t.Cleanup(func() { logFailures(t, s) })
	dep := s.token("--name", "Service RSA", "--role", "department")
	// The orientations name ref-7: since migration 013 a référent is a
	// record, made here as a référent's token would make it.
	s.token("--name", "Référente Tremplin", "--role", "referent", "--referent", "ref-7")
	today := domain.DateOf(time.Now())
	dir := t.TempDir()
	first := writeFlux(t, dir, "RSABEI-1.xml", importer.Synthetic(n, 21, today.AddDays(-1)))
	second := writeFlux(t, dir, "RSABEI-2.xml", importer.Synthetic(n, 22, today.AddDays(-1)))
	out, err := s.importCmd("--workers", "4", first).CombinedOutput()
	require.NoError(t, err, string(out))

	conn := dbConn(t, url)
	var ids []string
	rows, err := conn.Query(context.Background(), `SELECT id::text FROM parcours ORDER BY id`)
	require.NoError(t, err)
	ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Len(t, ids, n)
	require.NoError(t, conn.Close(context.Background()))

	// Orientations from 8 clients, each retried until answered 200, and a
	// second import, both under way when PostgreSQL stops.
	queue := make(chan string, len(ids))
	for _, id := range ids {
		queue <- id
	}
	close(queue)
	var done atomic.Int64
	var mu sync.Mutex
	statuses := map[int]int{}
	giveUp := time.Now().Add(outage + 4*time.Minute)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for id := range queue {
				for time.Now().Before(giveUp) {
					status, err := s.post(dep, "/api/v1/parcours/"+id+"/orientation", map[string]any{
						"track": "socio_professional", "organism": "Association Tremplin", "referent_id": "ref-7", "decided_on": today.String(),
					})
					mu.Lock()
					statuses[status]++
					mu.Unlock()
					if err == nil && status == 200 {
						done.Add(1)
						break
					}
					time.Sleep(300 * time.Millisecond)
				}
			}
		})
	}
	imported := make(chan error, 1)
	var importOut bytes.Buffer
	cmd := s.importCmd("--workers", "4", second)
	cmd.Stdout, cmd.Stderr = &importOut, &importOut
	require.NoError(t, cmd.Start())
	go func() { imported <- cmd.Wait() }()
	within(t, 2*time.Minute, "a fifth of the orientations recorded", func() bool { return done.Load() >= int64(n/5) })

	stopPG()
	stopped := time.Now()
	t.Logf("PostgreSQL stopped with %d/%d orientations recorded", done.Load(), n)
	saw503 := 0
	for time.Since(stopped) < outage {
		if readyStatus(s.base) == 503 {
			saw503++
		}
		time.Sleep(500 * time.Millisecond)
	}
	select {
	case err := <-s.done:
		t.Fatalf("serve exited while PostgreSQL was down: %v\nlogs:\n%s", err, s.logs)
	default:
	}
	require.Positive(t, saw503, "/readyz answered 503 during the outage")
	require.Less(t, done.Load(), int64(n), "orientations were still under way when PostgreSQL came back")
	startPG()
	t.Logf("PostgreSQL back after %s", time.Since(stopped).Round(time.Second))
	within(t, 2*time.Minute, "/readyz 200 again", func() bool { return readyStatus(s.base) == 200 })

	wg.Wait()
	require.Equal(t, int64(n), done.Load(), "every orientation recorded in the end: %v", statuses)
	t.Logf("answers to the orientation requests: %v", statuses)
	require.Zero(t, statuses[500], "a request during the outage is answered 503 (try again), not 500: %v", statuses)
	select {
	case err := <-imported:
		t.Logf("the import under way during the outage ended: %v\n%s", err, importOut.String())
	case <-time.After(3 * time.Minute):
		t.Fatalf("the import under way during the outage never ended:\n%s", importOut.String())
	}
	// The interrupted import is done again: it creates what it had not.
	out, err = s.importCmd("--workers", "4", second).CombinedOutput()
	require.NoError(t, err, string(out))

	conn = dbConn(t, url)
	require.Equal(t, 2*n, count(t, conn, `SELECT count(*) FROM beneficiaries`), "nobody twice, nobody missing")
	require.Equal(t, 2*n, count(t, conn, `SELECT count(DISTINCT beneficiary_id) FROM parcours`), "one parcours each")
	require.Equal(t, 2*n, count(t, conn, `SELECT count(*) FROM parcours`), "one parcours each")
	// The reconciliation starts what an interrupted start left (every 30 s).
	within(t, 3*time.Minute, "every workflow started, its orient task written", func() bool {
		return count(t, conn, `SELECT count(workflow_started_at) FROM parcours`) == 2*n &&
			count(t, conn, `SELECT count(*) FROM tasks WHERE kind = 'orient'`) == 2*n
	})
	require.Equal(t, n, count(t, conn, `SELECT count(*) FROM parcours WHERE status = 'awaiting_contract'`), "every orientation in the read model")
	require.Equal(t, n, count(t, conn, `SELECT count(*) FROM tasks WHERE kind = 'orient' AND status = 'done'`))
	require.Equal(t, n, count(t, conn, `SELECT count(*) FROM tasks WHERE kind = 'sign_contract'`), "one contract task per orientation")
	require.Zero(t, count(t, conn, `SELECT count(*) - count(DISTINCT (parcours_id, kind, cycle)) FROM tasks`))
	for _, kind := range []string{"entered", "orientation_recorded"} {
		require.Zero(t, count(t, conn, `SELECT count(*) FROM (SELECT parcours_id FROM events WHERE kind = $1 GROUP BY parcours_id HAVING count(*) > 1) x`, kind),
			"no %s event twice", kind)
	}
	require.Equal(t, n, count(t, conn, `SELECT count(DISTINCT parcours_id) FROM events WHERE kind = 'orientation_recorded'`))

	require.Positive(t, localActivityFailures(t, s), "some read-model writes failed and were retried")
	tc := temporalClient(t, s)
	var by map[string]int
	within(t, time.Minute, "every parcours workflow running, none failed", func() bool {
		by = workflowsBy(t, tc)
		return by["Running"] == 2*n
	})
	for _, st := range []string{"Failed", "Terminated", "TimedOut", "Canceled", "Completed"} {
		require.Zero(t, by[st], "%s workflows: %v", st, by)
	}
	require.NotContains(t, s.logs.String(), "panic")
	for _, line := range strings.Split(s.logs.String(), "\n") {
		require.NotContains(t, line, "retryable: false", "a write given up: %s", line)
	}
}

// TestRealBinaryKill9DuringOverdueBurst imports people who entered 4 months
// ago: every workflow finds its orientation and contract deadlines passed
// when it starts, and writes its overdue tasks at once. serve is killed -9
// several times while that happens, restarted, the import run again; in
// the end every parcours has exactly the tasks and events of a control
// group imported before any kill, and no workflow failed.
func TestRealBinaryKill9DuringOverdueBurst(t *testing.T) {
	t.Parallel()
	n, kills := pick(300, 2000), pick(3, 8)
	dbURL := pgtest.NewURL(t)
	s := newService(t, map[string]string{"DATABASE_URL": dbURL, "PARCOURS_DATA_DIR": t.TempDir()})
	s.start()
	today := domain.DateOf(time.Now())
	entered := today.AddMonths(-4)
	overdue := func(n int, seed uint64) importer.GenFlux {
		g := importer.Synthetic(n, seed, today.AddDays(-1))
		for i := range g.Households {
			h := &g.Households[i]
			h.Claim = entered
			for j := range h.Persons {
				h.Persons[j].Attached = entered
			}
		}
		return g
	}
	dir := t.TempDir()
	control := writeFlux(t, dir, "RSABEI-control.xml", overdue(5, 31))
	big := writeFlux(t, dir, "RSABEI-burst.xml", overdue(n, 32))
	out, err := s.importCmd(control).CombinedOutput()
	require.NoError(t, err, string(out))
	conn := dbConn(t, dbURL)

	// What each parcours must have: the control group's tasks and events.
	const tasksOf = `SELECT coalesce(string_agg(kind || '/' || cycle || '/' || status || '/' || due_on ||
		CASE WHEN overdue_at IS NULL THEN '' ELSE '/overdue' END, ' ' ORDER BY kind, cycle), '')
		FROM tasks WHERE parcours_id = p.id`
	const eventsOf = `SELECT coalesce(string_agg(kind, ' ' ORDER BY seq), '') FROM events WHERE parcours_id = p.id`
	signatures := func() map[string]int {
		rows, err := conn.Query(context.Background(), `SELECT (`+tasksOf+`) || ' | ' || (`+eventsOf+`) FROM parcours p`)
		require.NoError(t, err)
		list, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		out := map[string]int{}
		for _, s := range list {
			out[s]++
		}
		return out
	}
	ctl := signatures()
	require.Len(t, ctl, 1, "the control group's parcours are alike: %v", ctl)
	var want string
	for k := range ctl {
		want = k
	}
	require.Regexp(t, `orient/1/open/[0-9-]+/overdue`, want, "the orientation is overdue from the start")
	require.Contains(t, want, "deadline_overdue")
	t.Logf("every parcours must end as: %s", want)

	orient := func() int { return count(t, conn, `SELECT count(*) FROM tasks WHERE kind = 'orient'`) }
	for k := range kills {
		// The import, again: it skips who is there and starts the rest.
		cmd := s.importCmd("--workers", "8", big)
		var importOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &importOut, &importOut
		require.NoError(t, cmd.Start())
		ended := make(chan error, 1)
		go func() { ended <- cmd.Wait() }()
		before := orient()
		step := max(n/(kills+3), 5)
		deadline := time.Now().Add(time.Minute)
		for orient() < before+step && time.Now().Before(deadline) {
			select {
			case err := <-ended:
				t.Fatalf("the import ended before kill %d: %v\n%s", k+1, err, importOut.String())
			default:
			}
			time.Sleep(20 * time.Millisecond)
		}
		s.kill9()
		t.Logf("kill -9 #%d with %d orient tasks written (%d before this round)", k+1, orient(), before)
		select {
		case <-ended:
		case <-time.After(10 * time.Second):
			// The import waits for the Temporal server to come back; its
			// operator gives up (the next round runs it again).
			t.Logf("the import still waits 10 s after serve's kill: stopped")
			_ = cmd.Process.Kill()
			<-ended
		}
		s.start()
	}
	out, err = s.importCmd("--workers", "8", big).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "terminé")

	total := n + 5
	require.Equal(t, total, count(t, conn, `SELECT count(*) FROM beneficiaries`), "nobody twice")
	require.Equal(t, total, count(t, conn, `SELECT count(DISTINCT beneficiary_id) FROM parcours`))
	require.Equal(t, total, count(t, conn, `SELECT count(*) FROM parcours`), "one parcours each")
	within(t, 3*time.Minute, "every workflow started and its overdue tasks written", func() bool {
		return count(t, conn, `SELECT count(workflow_started_at) FROM parcours`) == total && orient() == total
	})
	var got map[string]int
	defer func() {
		if t.Failed() {
			t.Logf("tasks | events of the parcours, and how many: %v", got)
		}
	}()
	within(t, time.Minute, "every parcours with the control group's tasks and events, none missing, none twice", func() bool {
		got = signatures()
		return len(got) == 1 && got[want] == total
	})
	require.Zero(t, count(t, conn, `SELECT count(*) - count(DISTINCT (parcours_id, kind, cycle)) FROM tasks`))

	tc := temporalClient(t, s)
	var by map[string]int
	within(t, time.Minute, "every parcours workflow running", func() bool {
		by = workflowsBy(t, tc)
		return by["Running"] == total
	})
	for _, st := range []string{"Failed", "Terminated", "TimedOut", "Canceled", "Completed"} {
		require.Zero(t, by[st], "%s workflows: %v", st, by)
	}
	s.interrupt()
}
