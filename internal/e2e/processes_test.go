//go:build e2e

package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
)

// Two `parcours serve` (the first with the embedded Temporal server, the
// second joining it, as behind a proxy) and two `parcours worker` on one
// database; one worker killed with -9 in the middle of the intakes: every
// parcours exists once with its one orient task, and a command retried on
// the other serve with its Idempotency-Key is applied once. (Issue 21 item
// 5's full test, with a standalone Temporal process, a deadline burst and
// the digests, is TestRealBinaryStandaloneTemporalCluster.)
func TestRealBinaryTwoServesTwoWorkersKill9(t *testing.T) {
	t.Parallel()
	url := pgtest.NewURL(t)
	// One payload key for all: the second serve and the workers join serve's
	// Temporal through TEMPORAL_ADDRESS, where encryption is required.
	payloadKey := "e2e:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	s1 := newService(t, map[string]string{"DATABASE_URL": url, "PARCOURS_DATA_DIR": t.TempDir(), "PARCOURS_PAYLOAD_KEYS": payloadKey})
	s1.start()
	defer s1.interrupt()
	s2 := newService(t, map[string]string{"DATABASE_URL": url, "PARCOURS_DATA_DIR": t.TempDir(), "PARCOURS_PAYLOAD_KEYS": payloadKey})
	s2.env = append(s2.env, joinTemporal(s1)...)
	s2.start()
	defer s2.interrupt()
	workers := []*worker{startWorker(t, s1), startWorker(t, s1)}
	dept := s1.token("--name", "Service RSA", "--role", "department")
	s1.token("--name", "Référente Tremplin", "--role", "referent", "--referent", "ref-7") // a référent to orient to
	today := domain.DateOf(time.Now())

	const n = 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	intakes := func(from, to int) {
		for i := from; i < to; i++ {
			for _, s := range []*service{s1, s2} { // each intake twice, once on each serve
				wg.Add(1)
				go func() {
					defer wg.Done()
					status, _ := s.call(dept, "POST", "/api/v1/parcours", intake(fmt.Sprintf("MP-%d", i), today.AddDays(-40)))
					mu.Lock()
					statuses[status]++
					mu.Unlock()
				}()
			}
		}
		wg.Wait()
	}
	intakes(0, n/2)
	// kill -9 one worker in the middle.
	require.NoError(t, workers[0].cmd.Process.Kill())
	<-workers[0].done
	intakes(n/2, n)
	require.Equal(t, 2*n, statuses[200]+statuses[201], statuses)
	require.Equal(t, n, statuses[201], "each parcours created once: %v", statuses)

	status, list := s2.call(dept, "GET", "/api/v1/parcours?limit=500", nil)
	require.Equal(t, 200, status)
	ids := map[string]bool{}
	for _, it := range list["items"].([]any) {
		ids[it.(map[string]any)["id"].(string)] = true
	}
	require.Len(t, ids, n)
	// Tasks sticky on the killed worker go to the others within
	// temporal.StickyScheduleToStartTimeout (a minute).
	within(t, 3*time.Minute, "one orient task per parcours", func() bool {
		tasks := map[string]int{}
		for _, task := range tasksOf(s1, dept, "?limit=1000") {
			if task["kind"] == "orient" && ids[task["parcours_id"].(string)] {
				tasks[task["parcours_id"].(string)]++
			}
		}
		for id := range ids {
			if tasks[id] != 1 {
				return false
			}
		}
		return true
	})

	// A command sent to one serve and retried on the other with its key.
	var pid string
	for id := range ids {
		pid = id
		break
	}
	orient := map[string]any{"track": "social", "organism": "CCAS", "referent_id": "ref-7", "decided_on": today.AddDays(-35).String()}
	key := uuid.NewString()
	for _, s := range []*service{s1, s2} {
		status, body := s.callWith(dept, "POST", "/api/v1/parcours/"+pid+"/orientation", orient, http.Header{"Idempotency-Key": {key}})
		require.Equal(t, 200, status, body)
	}
	status, view := s2.call(dept, "GET", "/api/v1/parcours/"+pid, nil)
	require.Equal(t, 200, status)
	require.Len(t, view["orientations"], 1, "one orientation: %v", view["orientations"])
	workers[1].interrupt(t)
}
