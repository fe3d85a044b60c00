package pglocal

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"path/filepath"
)

func TestProbeCrash(t *testing.T) {
	ctx := context.Background()
	dir, port := openDir(t), freePort(t)
	c := &Cluster{Dir: dir, Port: port, FsyncOff: true}
	url, err := c.Start(ctx)
	if err != nil { t.Fatal(err) }
	defer c.StopAny(ctx)
	b, _ := os.ReadFile(filepath.Join(dir, "pgdata", "postmaster.pid"))
	pid, _ := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	t.Logf("pid file:\n%s", b)
	syscall.Kill(pid, syscall.SIGKILL)
	time.Sleep(200 * time.Millisecond)
	out, _ := exec.Command("sh", "-c", "ps -eo pid,ppid,user,args | grep [p]ostgres: ").CombinedOutput()
	t.Logf("after kill -9:\n%s", out)
	c2 := &Cluster{Dir: dir, Port: port, FsyncOff: true, Adopt: true}
	url2, err := c2.Start(ctx)
	t.Logf("restart: %v same=%v", err, url == url2)
	if err != nil { b, _ := os.ReadFile(filepath.Join(dir, "postgres.log")); t.Logf("log:\n%s", b) }
	ping(t, url2)
	// stale pid file pointing to a live non-postgres process of the postgres user? use pid 1 (root)
	c2.StopAny(ctx)
	os.WriteFile(filepath.Join(dir, "pgdata", "postmaster.pid"), []byte("1\n"+filepath.Join(dir, "pgdata")+"\n"), 0o600)
	c3 := &Cluster{Dir: dir, Port: port, FsyncOff: true, Adopt: true}
	_, err = c3.Start(ctx)
	t.Logf("stale pid=1: %v", err)
	c3.StopAny(ctx)
}
