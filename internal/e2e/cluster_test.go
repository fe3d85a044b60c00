//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
	"github.com/parcours-rsa/parcours/internal/temporal"
)

// temporalProcess is one run of `parcours temporal`.
type temporalProcess struct {
	cmd          *exec.Cmd
	stdout, logs *bytes.Buffer
	done         chan error
	// join are the TEMPORAL_* settings it printed for its clients.
	join []string
	ops  string // http://host:port of its PARCOURS_METRICS_ADDR (probes)
}

// startTemporal runs `parcours temporal` on dataDir and waits until it
// prints that it is ready, with the settings its clients need. Its port is
// picked free but may be taken by a concurrent test before it binds it:
// then it starts again on another.
func startTemporal(t *testing.T, bin, dataDir string) *temporalProcess {
	t.Helper()
	for attempt := 0; ; attempt++ {
		if p := tryStartTemporal(t, bin, dataDir, attempt < 3); p != nil {
			return p
		}
		t.Logf("its port was taken meanwhile; starting again on another")
	}
}

// tryStartTemporal starts parcours temporal once; nil when its port was
// taken meanwhile and retry is true.
func tryStartTemporal(t *testing.T, bin, dataDir string, retry bool) *temporalProcess {
	t.Helper()
	opsPort := freePort(t)
	p := &temporalProcess{stdout: &bytes.Buffer{}, logs: &bytes.Buffer{}, done: make(chan error, 1), ops: fmt.Sprintf("http://127.0.0.1:%d", opsPort)}
	p.cmd = exec.Command(bin, "temporal")
	p.cmd.Env = append(os.Environ(), "PARCOURS_LOG_LEVEL=info", "PARCOURS_DATA_DIR="+dataDir,
		fmt.Sprintf("PARCOURS_TEMPORAL_PORT=%d", freePort(t)), fmt.Sprintf("PARCOURS_METRICS_ADDR=127.0.0.1:%d", opsPort))
	p.cmd.Stdout, p.cmd.Stderr = &lockedWriter{w: p.stdout}, &lockedWriter{w: p.logs}
	require.NoError(t, p.cmd.Start())
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	ready := func() bool { return strings.Contains(p.output(), "SIGTERM ou Ctrl-C") }
	deadline := time.Now().Add(readyWithin)
	for !ready() && time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			if retry && (strings.Contains(p.logs.String(), "is taken") || strings.Contains(p.logs.String(), "address already in use")) {
				return nil
			}
			t.Fatalf("parcours temporal exited: %v\nstdout:\n%s\nlogs:\n%s", err, p.output(), p.logs)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if !ready() {
		t.Fatalf("parcours temporal did not print that it is ready within %s\nstdout:\n%s\nlogs:\n%s", readyWithin, p.output(), p.logs)
	}
	sc := bufio.NewScanner(strings.NewReader(p.output()))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "TEMPORAL_") {
			p.join = append(p.join, sc.Text())
		}
	}
	require.Len(t, p.join, 6, "TEMPORAL_ADDRESS, _NAMESPACE and the 4 TLS settings printed:\n%s", p.output())
	return p
}

func (p *temporalProcess) output() string {
	return p.stdout.String()
}

// client is the test's own client of the server, with the printed settings.
func (p *temporalProcess) client(t *testing.T) client.Client {
	t.Helper()
	return dialTemporal(t, temporal.ClientOptions{Address: envValue(p.join, "TEMPORAL_ADDRESS"), Namespace: envValue(p.join, "TEMPORAL_NAMESPACE"),
		CertFile: envValue(p.join, "TEMPORAL_TLS_CERT"), KeyFile: envValue(p.join, "TEMPORAL_TLS_KEY"),
		CAFile: envValue(p.join, "TEMPORAL_TLS_CA"), ServerName: envValue(p.join, "TEMPORAL_TLS_SERVER_NAME")})
}

// terminate sends SIGTERM and waits for a clean exit.
func (p *temporalProcess) terminate(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-p.done:
		require.NoError(t, err, "parcours temporal: clean exit after SIGTERM; logs:\n%s", p.logs)
	case <-time.After(stopWithin):
		t.Fatalf("parcours temporal: no exit within %s of SIGTERM\nlogs:\n%s", stopWithin, p.logs)
	}
	require.Contains(t, p.output(), "Arrêt du serveur Temporal")
}

// mailSink is an SMTP server of the test's (go-smtp): the digests' senders
// have a real SMTP conversation with it; it keeps who each message went to.
type mailSink struct {
	mu   sync.Mutex
	to   []string
	addr *net.TCPAddr
}

type sinkSession struct {
	sink *mailSink
	to   []string
}

func (s *sinkSession) Reset()                                    { s.to = nil }
func (s *sinkSession) Logout() error                             { return nil }
func (s *sinkSession) Mail(string, *smtp.MailOptions) error      { return nil }
func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = append(s.to, to); return nil }
func (s *sinkSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	s.sink.mu.Lock()
	defer s.sink.mu.Unlock()
	s.sink.to = append(s.sink.to, s.to...)
	return nil
}

func newMailSink(t *testing.T) *mailSink {
	t.Helper()
	sink := &mailSink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: sink}, nil }))
	srv.Domain, srv.ReadTimeout, srv.WriteTimeout = "localhost", time.Minute, time.Minute
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	sink.addr = l.Addr().(*net.TCPAddr)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return sink
}

// received counts the messages per recipient.
func (m *mailSink) received() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for _, to := range m.to {
		out[to]++
	}
	return out
}

// env are the SMTP settings of a process that sends the digests.
func (m *mailSink) env() []string {
	return []string{"SMTP_HOST=127.0.0.1", fmt.Sprintf("SMTP_PORT=%d", m.addr.Port), "SMTP_FROM=parcours@cd14.example"}
}

// burstCalendar is a calendar zone (a fixed offset, set in every process
// with PARCOURS_TEST_CALENDAR_OFFSET) whose midnight falls at instant at,
// the day starting then being a working day (the digests skip the others),
// and the entry date whose one-month orientation target (the département's
// policy) is the day before: parcours entered then turn overdue at at,
// all at once. As the bench's burst does in its own process.
func burstCalendar(t *testing.T, at time.Time) (offset int, today, entered domain.Date) {
	t.Helper()
	offset, day, entered, ok := domain.MidnightAt(at, 1, domain.WorkingDay)
	if !ok {
		t.Fatalf("no calendar with a working day starting at %s", at)
	}
	return offset, day.AddDays(-1), entered
}

// postJSON is s.call for goroutines: no require, the error comes back.
func (s *service) postJSON(token, path string, body any) (int, map[string]any, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequest("POST", s.base+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out, nil
}

// burstLead is how long before the burst's instant the test starts the
// processes: they must start and the intakes be made within it (about 12 s
// alone; the test says so when they were not).
const burstLead = 90 * time.Second

// TestRealBinaryStandaloneTemporalCluster is issue 21 item 5's shape with
// every process apart: `parcours temporal` (the embedded server as its own
// process), two `parcours worker` and two `parcours serve` on one
// PostgreSQL, joined by TEMPORAL_ADDRESS, the printed TLS settings and one
// payload key. Hundreds of intakes through both serves (some sent to both,
// as a client retrying behind a proxy), then a deadline burst: every
// burst parcours' orientation target falls due at one instant T (a
// calendar zone whose midnight is T). A digest is triggered at T, and one
// worker is killed with -9 in the middle of the burst. In the end: every
// parcours exists once in the read model with its tasks exactly once, each
// burst parcours overdue once, no workflow failed, and the staff digests
// (owned by the three processes with SMTP: both workers and one serve),
// triggered twice the same day, reached each référent once.
func TestRealBinaryStandaloneTemporalCluster(t *testing.T) {
	t.Parallel()
	const burst, oriented, referents = 300, 12, 4
	bin := binary(t)
	tp := startTemporal(t, bin, t.TempDir())
	started := time.Now()
	tc := tp.client(t)
	require.Equal(t, 200, readyStatus(tp.ops), "parcours temporal's /readyz on PARCOURS_METRICS_ADDR")
	sink := newMailSink(t)
	url := pgtest.NewURL(t)

	// T leaves time for the processes to start and the intakes to be
	// made, slow as they may be on a loaded machine: the burst's
	// parcours must all be registered before it, or the test fails
	// saying so (below). Run alone (load average 3) they took 12 s.
	at := time.Now().Add(burstLead).Truncate(time.Second)
	offset, today, entered := burstCalendar(t, at)
	t.Logf("burst at %s: calendar offset %d s, today %s, entries of %s due today", at.Format(time.TimeOnly), offset, today, entered)
	common := map[string]string{"DATABASE_URL": url, "PARCOURS_TEST_CALENDAR_OFFSET": fmt.Sprint(offset),
		"PARCOURS_PAYLOAD_KEYS": "e2e:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{5}, 32))}
	newServe := func(smtp bool) *service {
		env := map[string]string{"PARCOURS_DATA_DIR": t.TempDir()}
		for k, v := range common {
			env[k] = v
		}
		extra := tp.join
		if smtp {
			extra = append(append([]string{}, extra...), sink.env()...)
		}
		for _, kv := range extra {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		s := newService(t, env)
		s.start()
		return s
	}
	s1, s2 := newServe(true), newServe(false) // only s1 of the serves sends digests
	t.Cleanup(func() {
		for i, s := range []*service{s1, s2} {
			select {
			case err := <-s.done:
				t.Logf("serve %d had exited: %v", i+1, err)
			default:
			}
			logFailures(t, s)
		}
	})
	workerEnv := append(append([]string{}, s2.env...), sink.env()...) // s2's: the cluster's settings, without SMTP
	workers := []*worker{startWorkerEnv(t, bin, workerEnv), startWorkerEnv(t, bin, workerEnv)}
	t.Logf("parcours temporal, 2 serves and 2 workers ready in %s", time.Since(started).Round(time.Second))

	dept := s1.token("--name", "Service RSA", "--role", "department")
	emails := map[string]string{} // référent id → their account's e-mail
	for i := 1; i <= referents; i++ {
		id := fmt.Sprintf("ref-%d", i)
		emails[id] = fmt.Sprintf("referent%d@cd14.example", i)
		s1.token("--name", "Référent "+id, "--role", "referent", "--referent", id) // the référent's record
		s1.account("--email", emails[id], "--name", "Référent "+id, "--role", "referent", "--referent", id)
	}

	// The intakes, from 8 clients over both serves: the burst's people, and
	// people entered two months ago whom the département orients to the
	// référents (their contracts overdue: something for the digests).
	type job struct {
		id      string
		entered domain.Date
		both    bool // sent to both serves, as a client retrying elsewhere
	}
	jobs := make(chan job, burst+oriented)
	for i := range burst {
		jobs <- job{fmt.Sprintf("MB-%03d", i), entered, i%10 == 0}
	}
	for i := range oriented {
		jobs <- job{fmt.Sprintf("MA-%02d", i), today.AddDays(-60), false}
	}
	close(jobs)
	var mu sync.Mutex
	ids := map[string]string{} // beneficiary → parcours
	statuses, problems := map[int]int{}, []string{}
	var wg sync.WaitGroup
	for c := range 8 {
		wg.Go(func() {
			for j := range jobs {
				targets := []*service{s1, s2}[c%2:][:1]
				if j.both {
					targets = []*service{s1, s2}
				}
				for _, s := range targets {
					status, body, err := s.postJSON(dept, "/api/v1/parcours", intake(j.id, j.entered))
					mu.Lock()
					statuses[status]++
					if err != nil || (status != 200 && status != 201) {
						problems = append(problems, fmt.Sprintf("%s: %d %v %v", j.id, status, err, body))
					} else if id, _ := body["id"].(string); ids[j.id] == "" || ids[j.id] == id {
						ids[j.id] = id
					} else {
						problems = append(problems, fmt.Sprintf("%s: two parcours %s and %s", j.id, ids[j.id], id))
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	require.Empty(t, problems, "every intake answered 200 or 201, one parcours per person: %v", statuses)
	require.Len(t, ids, burst+oriented)
	require.Equal(t, burst+oriented, statuses[201], "each parcours created once: %v", statuses)
	for i := range oriented {
		s := []*service{s1, s2}[i%2]
		status, body := s.call(dept, "POST", "/api/v1/parcours/"+ids[fmt.Sprintf("MA-%02d", i)]+"/orientation", map[string]any{
			"track": "social", "organism": "CCAS", "referent_id": fmt.Sprintf("ref-%d", 1+i%referents), "decided_on": today.AddDays(-55).String()})
		require.Equal(t, 200, status, body)
	}
	t.Logf("%d intakes and %d orientations made %s before the burst (answers: %v)", len(ids), oriented, time.Until(at).Round(time.Second), statuses)
	require.Greater(t, time.Until(at), time.Second,
		"the intakes ended after the instant of the burst: the machine was slower than the test allows (burstLead, %s to start the processes and make the intakes)", burstLead)

	conn := dbConn(t, url)
	var burstIDs []string
	for b, id := range ids {
		if strings.HasPrefix(b, "MB-") {
			burstIDs = append(burstIDs, id)
		}
	}
	overdue := func() int {
		return count(t, conn, `SELECT count(*) FROM tasks WHERE kind = 'orient' AND overdue_at IS NOT NULL AND parcours_id::text = ANY($1)`, burstIDs)
	}
	require.Zero(t, overdue(), "no burst parcours overdue before the burst")

	// At T: a digest (the day starting at T), then kill -9 of a worker
	// once a tenth of the burst is written.
	time.Sleep(time.Until(at)) // the instant the test is about: a wait for T itself
	trigger := func() {
		t.Helper()
		require.NoError(t, tc.ScheduleClient().GetHandle(context.Background(), "digest").Trigger(context.Background(),
			client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL}), "trigger the digest schedule")
	}
	trigger()
	within(t, 2*time.Minute, "a tenth of the burst's overdue tasks written", func() bool { return overdue() >= burst/10 })
	require.NoError(t, workers[0].cmd.Process.Kill())
	<-workers[0].done
	atKill := overdue()
	t.Logf("worker killed -9 %s after the burst's instant, %d/%d burst parcours overdue", time.Since(at).Round(time.Millisecond), atKill, burst)
	require.Less(t, atKill, burst, "the kill fell in the middle of the burst")

	// Tasks sticky on the killed worker reach the others within
	// temporal.StickyScheduleToStartTimeout (a minute).
	within(t, 4*time.Minute, "every burst parcours overdue", func() bool { return overdue() == burst })
	t.Logf("burst drained %s after its instant", time.Since(at).Round(time.Second))

	// Every parcours in the read model once, with its tasks once.
	total := burst + oriented
	require.Equal(t, total, count(t, conn, `SELECT count(*) FROM parcours`), "one parcours per person")
	require.Equal(t, total, count(t, conn, `SELECT count(DISTINCT beneficiary_id) FROM parcours`))
	within(t, time.Minute, "every parcours with its workflow started and its orient task", func() bool {
		return count(t, conn, `SELECT count(workflow_started_at) FROM parcours`) == total &&
			count(t, conn, `SELECT count(*) FROM tasks WHERE kind = 'orient'`) == total
	})
	require.Zero(t, count(t, conn, `SELECT count(*) - count(DISTINCT (parcours_id, kind, cycle)) FROM tasks`), "no task twice")
	require.Equal(t, burst, count(t, conn, `SELECT count(*) FROM tasks WHERE kind = 'orient' AND status = 'open' AND parcours_id::text = ANY($1)`, burstIDs))
	require.Equal(t, oriented, count(t, conn, `SELECT count(*) FROM tasks WHERE kind = 'sign_contract'`), "one contract task per orientation")
	require.Equal(t, burst, count(t, conn, `SELECT count(*) FROM events WHERE kind = 'deadline_overdue' AND parcours_id::text = ANY($1)`, burstIDs),
		"each burst parcours' deadline turned overdue once")
	status, list := s2.call(dept, "GET", "/api/v1/parcours?limit=500", nil)
	require.Equal(t, 200, status)
	require.Len(t, list["items"], total, "every parcours listed by the API")
	var by map[string]int
	within(t, time.Minute, "every parcours workflow running in Temporal's visibility", func() bool {
		by = workflowsBy(t, tc)
		return by["Running"] == total
	})
	for _, st := range []string{"Failed", "Terminated", "TimedOut", "Canceled", "Completed"} {
		require.Zero(t, by[st], "%s workflows: %v", st, by)
	}

	// The digests: the one triggered at T ends (on a worker, or on s1,
	// retried if the kill took it), then a second one the same day sends
	// nothing again.
	digestsDone := func(n int) func() bool {
		return func() bool {
			d := workflowsOfType(t, tc, "Digest")
			require.Zero(t, d["Failed"]+d["Terminated"]+d["TimedOut"], "digest workflows: %v", d)
			return d["Completed"] == n
		}
	}
	within(t, 5*time.Minute, "the digest triggered at T completed", digestsDone(1))
	first := sink.received()
	trigger()
	within(t, 2*time.Minute, "the second digest completed", digestsDone(2))
	got := sink.received()
	require.Equal(t, first, got, "the second digest of the day sent nothing")
	rows, err := conn.Query(context.Background(), `SELECT a.email, d.status FROM digest_sendings d JOIN accounts a ON a.id = d.account_id WHERE d.day = $1::date`,
		today.AddDays(1).String())
	require.NoError(t, err)
	sendings := map[string]string{}
	for rows.Next() {
		var email, st string
		require.NoError(t, rows.Scan(&email, &st))
		sendings[email] = st
	}
	require.NoError(t, rows.Err())
	t.Logf("digests: received %v, sendings %v", got, sendings)
	require.Len(t, sendings, referents, "one sending per référent, for the day starting at T")
	for _, email := range emails {
		switch sendings[email] {
		case "sent":
			require.Equal(t, 1, got[email], "%s: sent once", email)
		case "uncertain": // the kill fell during its SMTP conversation: never twice
			require.LessOrEqual(t, got[email], 1, email)
		default:
			t.Fatalf("%s: sending %q", email, sendings[email])
		}
	}
	for to, n := range got {
		require.Equal(t, 1, n, "%s received %d digests", to, n)
	}

	s1.interrupt()
	s2.interrupt()
	workers[1].interrupt(t)
	tp.terminate(t)
}
