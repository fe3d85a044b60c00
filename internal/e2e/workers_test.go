//go:build e2e

package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
	"github.com/parcours-rsa/parcours/internal/temporal"
)

// envValue is the last value of key in env (the last one wins).
func envValue(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// worker is one run of `parcours worker` joining serve's Temporal server.
type worker struct {
	cmd  *exec.Cmd
	logs *bytes.Buffer
	ops  string // http://host:port of its PARCOURS_METRICS_ADDR
	done chan error
}

// joinTemporal is the environment of a process joining serve's embedded
// Temporal server (a worker, another serve).
func joinTemporal(s *service) []string {
	creds := s.credentials()
	return []string{"TEMPORAL_ADDRESS=127.0.0.1:" + envValue(s.env, "PARCOURS_TEMPORAL_PORT"),
		// serve's embedded frontend requires its client certificate.
		"TEMPORAL_TLS_CERT=" + creds.ClientCert(), "TEMPORAL_TLS_KEY=" + creds.ClientKey(),
		"TEMPORAL_TLS_CA=" + creds.CA(), "TEMPORAL_TLS_SERVER_NAME=" + temporal.CredentialsServerName}
}

func startWorker(t *testing.T, s *service) *worker {
	t.Helper()
	return startWorkerEnv(t, s.bin, append(append([]string{}, s.env...), joinTemporal(s)...))
}

// startWorkerEnv runs `parcours worker` with env (which says which Temporal
// to join) and waits until its /readyz answers 200.
func startWorkerEnv(t *testing.T, bin string, env []string) *worker {
	t.Helper()
	port := freePort(t)
	w := &worker{logs: &bytes.Buffer{}, ops: fmt.Sprintf("http://127.0.0.1:%d", port), done: make(chan error, 1)}
	w.cmd = exec.Command(bin, "worker")
	w.cmd.Env = append(append([]string{}, env...),
		fmt.Sprintf("PARCOURS_METRICS_ADDR=127.0.0.1:%d", port),
		"PARCOURS_DATA_DIR="+t.TempDir())
	w.cmd.Stdout, w.cmd.Stderr = io.Discard, &lockedWriter{w: w.logs}
	require.NoError(t, w.cmd.Start())
	go func() { w.done <- w.cmd.Wait() }()
	t.Cleanup(func() {
		if w.cmd.ProcessState == nil {
			_ = w.cmd.Process.Kill()
			<-w.done
		}
	})
	// Generous: a worker starts in seconds, but CI runs on a loaded 2-core machine.
	deadline := time.Now().Add(readyWithin)
	for time.Now().Before(deadline) {
		select {
		case err := <-w.done:
			t.Fatalf("parcours worker exited: %v\nlogs:\n%s", err, w.logs)
		default:
		}
		if res, err := http.Get(w.ops + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return w
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("parcours worker: its /readyz (%s) did not answer 200 within %s\nlogs:\n%s", w.ops, readyWithin, w.logs)
	return nil
}

// Activities and local activities (the read model is written by local
// activities: version "localsync").
var activityCount = regexp.MustCompile(`(?m)^temporal_(?:local_)?activity_execution_latency_seconds_count\{[^}]*\} (\d+)$`)

// activities is how many activities the worker ran, from its /metrics.
func (w *worker) activities(t *testing.T) int {
	t.Helper()
	res, err := http.Get(w.ops + "/metrics")
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	n := 0
	for _, m := range activityCount.FindAllStringSubmatch(string(raw), -1) {
		k, _ := strconv.Atoi(m[1])
		n += k
	}
	return n
}

func (w *worker) interrupt(t *testing.T) {
	t.Helper()
	require.NoError(t, w.cmd.Process.Signal(os.Interrupt))
	select {
	case err := <-w.done:
		require.NoError(t, err, "clean exit after Ctrl-C; logs:\n%s", w.logs)
	case <-time.After(stopWithin):
		t.Fatalf("parcours worker: no exit within %s of Ctrl-C\nlogs:\n%s", stopWithin, w.logs)
	}
}

// One serve and two `parcours worker` processes on the same Temporal server
// and database: every parcours created (each twice, concurrently) exists
// once with one task, and both workers took part.
func TestRealBinaryServeAndTwoWorkers(t *testing.T) {
	t.Parallel()
	// serve and its workers encrypt what they hand Temporal, with one key.
	s := newService(t, map[string]string{"DATABASE_URL": pgtest.NewURL(t), "PARCOURS_DATA_DIR": t.TempDir(),
		"PARCOURS_PAYLOAD_KEYS": "e2e:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))})
	s.start()
	defer s.interrupt()
	// A worker needs a cluster to join.
	out, err := exec.Command(s.bin, "worker").CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "TEMPORAL_ADDRESS")
	// and, that cluster being external, a key to encrypt with (or encryption off on purpose).
	noKey := exec.Command(s.bin, "worker")
	noKey.Env = append(os.Environ(), "TEMPORAL_ADDRESS=127.0.0.1:"+envValue(s.env, "PARCOURS_TEMPORAL_PORT"), "PARCOURS_PAYLOAD_KEYS=")
	out, err = noKey.CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "PARCOURS_PAYLOAD_KEYS")

	workers := []*worker{startWorker(t, s), startWorker(t, s)}
	admin := s.token("--name", "Service RSA", "--role", "department")
	today := domain.DateOf(time.Now())

	const n = 24
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := range 2 * n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Entered 40 days ago: the orient task is there (and overdue) at once.
			status, _ := s.call(admin, "POST", "/api/v1/parcours", intake(fmt.Sprintf("MW-%d", i%n), today.AddDays(-40)))
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	require.Equal(t, 2*n, statuses[200]+statuses[201], statuses)
	require.Equal(t, n, statuses[201], "each parcours created once: %v", statuses)

	status, list := s.call(admin, "GET", "/api/v1/parcours?limit=500", nil)
	require.Equal(t, 200, status)
	seen, ids := map[string]int{}, map[string]bool{}
	for _, it := range list["items"].([]any) {
		p := it.(map[string]any)
		seen[p["beneficiary_id"].(string)]++
		ids[p["id"].(string)] = true
	}
	require.Len(t, seen, n)
	for b, c := range seen {
		require.Equal(t, 1, c, b)
	}
	eventually(t, "one orient task per parcours", func() bool {
		tasks := map[string]int{}
		for _, task := range tasksOf(s, admin, "?limit=1000") {
			if task["kind"] == "orient" && ids[task["parcours_id"].(string)] {
				tasks[task["parcours_id"].(string)]++
			}
		}
		for id := range ids {
			if tasks[id] != 1 {
				return false
			}
		}
		return len(tasks) == n
	})
	for i, w := range workers {
		require.Positive(t, w.activities(t), "worker %d ran no activity; logs:\n%s", i, w.logs)
	}
	for _, w := range workers {
		w.interrupt(t)
	}
}
