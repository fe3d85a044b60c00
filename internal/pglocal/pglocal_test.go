package pglocal

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// openDir is a directory the postgres user can reach (t.TempDir is closed).
func openDir(t *testing.T) string {
	t.Helper()
	root, err := os.MkdirTemp("", "pglocal-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(root, 0o755))
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	return filepath.Join(root, "postgres")
}

func ping(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var one int
	require.NoError(t, conn.QueryRow(ctx, "SELECT 1").Scan(&one))
}

func TestClusterLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, port := openDir(t), freePort(t)
	c := &Cluster{Dir: dir, Port: port, FsyncOff: true}
	url, err := c.Start(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.StopAny(context.Background()) })
	require.Contains(t, url, "127.0.0.1:")
	ping(t, url)
	info, err := os.Stat(filepath.Join(dir, "password"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the password is private")

	// Another process (parcours token create) finds it running and leaves it so.
	other := &Cluster{Dir: dir, Port: port}
	url2, err := other.Start(ctx)
	require.NoError(t, err)
	require.Equal(t, url, url2, "same password, same database")
	require.NoError(t, other.Stop(ctx))
	ping(t, url)

	// Its owner stops it; the next start finds the data again.
	require.NoError(t, c.Stop(ctx))
	_, err = net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	require.Error(t, err, "stopped")
	again := &Cluster{Dir: dir, Port: port, Adopt: true}
	url3, err := again.Start(ctx)
	require.NoError(t, err)
	require.Equal(t, url, url3)
	ping(t, url3)
	require.NoError(t, again.Stop(ctx))
}

func postmasterPID(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "pgdata", "postmaster.pid"))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	require.NoError(t, err)
	return pid
}

// A service killed with -9 together with its postmaster leaves a
// postmaster.pid whose process is gone, or a zombie until PID 1 reaps it:
// the next start must not take it for a running server.
func TestStartAfterPostmasterKilled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, port := openDir(t), freePort(t)
	c := &Cluster{Dir: dir, Port: port, FsyncOff: true, Adopt: true}
	url, err := c.Start(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.StopAny(context.Background()) })
	ping(t, url)

	require.NoError(t, syscall.Kill(postmasterPID(t, dir), syscall.SIGKILL))
	again := &Cluster{Dir: dir, Port: port, FsyncOff: true, Adopt: true}
	url2, err := again.Start(ctx)
	require.NoError(t, err)
	require.Equal(t, url, url2)
	ping(t, url2)
	require.NoError(t, again.Stop(ctx))
}

// After a reboot the pid in a stale postmaster.pid may belong to another
// program: it must not pass for the server.
func TestStalePidOfAnotherProgram(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, port := openDir(t), freePort(t)
	c := &Cluster{Dir: dir, Port: port, FsyncOff: true}
	url, err := c.Start(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.StopAny(context.Background()) })
	require.NoError(t, c.StopAny(ctx))

	sleep := exec.Command("sleep", "60")
	require.NoError(t, sleep.Start())
	t.Cleanup(func() { _ = sleep.Process.Kill(); _ = sleep.Wait() })
	pidFile := filepath.Join(dir, "pgdata", "postmaster.pid")
	stale := fmt.Sprintf("%d\n%s\n0\n%d\n", sleep.Process.Pid, filepath.Join(dir, "pgdata"), port)
	require.NoError(t, os.WriteFile(pidFile, []byte(stale), 0o600))

	url2, err := c.Start(ctx)
	require.NoError(t, err)
	require.Equal(t, url, url2)
	ping(t, url2)
	require.NoError(t, c.Stop(ctx))
}

func TestBusyPortIsNamed(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	c := &Cluster{Dir: openDir(t), Port: port, FsyncOff: true}
	_, err = c.Start(context.Background())
	require.ErrorContains(t, err, "PARCOURS_PG_PORT")
}

func TestBinDir(t *testing.T) {
	t.Parallel()
	dir, err := BinDir()
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(dir, "initdb"))
}
