//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// pgCluster runs `parcours postgres start|stop` on a private cluster.
func pgCluster(t *testing.T, bin, action, dir string, port int) string {
	t.Helper()
	cmd := exec.Command(bin, "postgres", action, "--dir", dir, "--port", fmt.Sprint(port), "--fsync-off")
	if action == "stop" {
		cmd = exec.Command(bin, "postgres", action, "--dir", dir, "--port", fmt.Sprint(port))
	}
	cmd.Env = append(os.Environ(), "PARCOURS_LOG_LEVEL=warn")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	require.NoError(t, cmd.Run(), errb.String())
	return strings.TrimSpace(out.String())
}

func readyStatus(url string) int {
	res, err := http.Get(url + "/readyz")
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

// While PostgreSQL is stopped, /readyz (on the API and on the metrics
// listener) answers 503 and the process keeps running; once PostgreSQL is
// back, 200 again and the service works.
func TestRealBinaryReadinessFollowsPostgreSQL(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	root, err := os.MkdirTemp("", "parcours-e2e-ready-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(root, 0o755)) // the postgres user must reach it
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	dir, port := filepath.Join(root, "postgres"), freePort(t)
	url := pgCluster(t, bin, "start", dir, port)
	t.Cleanup(func() { pgCluster(t, bin, "stop", dir, port) })

	opsPort := freePort(t)
	ops := fmt.Sprintf("http://127.0.0.1:%d", opsPort)
	s := newService(t, map[string]string{"DATABASE_URL": url, "PARCOURS_DATA_DIR": t.TempDir(), "PARCOURS_METRICS_ADDR": fmt.Sprintf("127.0.0.1:%d", opsPort)})
	s.start()
	defer s.interrupt()
	admin := s.token("--name", "admin", "--role", "admin")
	eventually(t, "/readyz 200 on the metrics listener too", func() bool { return readyStatus(ops) == 200 })

	pgCluster(t, bin, "stop", dir, port)
	eventually(t, "/readyz 503 while PostgreSQL is down", func() bool {
		return readyStatus(s.base) == 503 && readyStatus(ops) == 503
	})
	select {
	case err := <-s.done:
		t.Fatalf("serve exited while PostgreSQL was down: %v\nlogs:\n%s", err, s.logs)
	default:
	}
	res, err := http.Get(ops + "/metrics")
	require.NoError(t, err)
	var body bytes.Buffer
	_, _ = body.ReadFrom(res.Body)
	res.Body.Close()
	require.Contains(t, body.String(), "parcours_database_up 0")

	pgCluster(t, bin, "start", dir, port)
	eventually(t, "/readyz 200 once PostgreSQL is back", func() bool {
		return readyStatus(s.base) == 200 && readyStatus(ops) == 200
	})
	status, p := s.call(admin, "POST", "/api/v1/parcours", intake("READY-1", domain.DateOf(time.Now()).AddDays(-40)))
	require.Equal(t, 201, status, p)
	pid := p["id"].(string)
	eventually(t, "its orient task", func() bool {
		for _, task := range tasksOf(s, admin, "?limit=1000") {
			if task["parcours_id"] == pid && task["kind"] == "orient" {
				return true
			}
		}
		return false
	})
}
