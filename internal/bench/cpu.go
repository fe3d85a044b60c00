package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/parcours-rsa/parcours/internal/postgres"
)

// cpuUse is the CPU time (user + system) used so far by this process and by
// the PostgreSQL server the bench writes to, when that server runs on this
// machine: its postmaster, its live processes, and the processes that
// exited (a process's time is added to its parent's when it is reaped).
type cpuUse struct {
	self, postgres time.Duration
	pgKnown        bool
}

// clockTick is the unit of /proc's times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

func readCPU(ctx context.Context, db *postgres.DB) cpuUse {
	var u cpuUse
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		u.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	var backend int
	if db.Pool.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&backend) != nil {
		return u
	}
	st, ok := procStat(backend)
	if !ok || st.comm != "postgres" {
		return u // another machine's server, or no /proc
	}
	postmaster, ok := procStat(st.ppid)
	if !ok {
		return u
	}
	u.postgres, u.pgKnown = postmaster.own+postmaster.children, true
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		if s, ok := procStat(pid); ok && s.ppid == st.ppid {
			u.postgres += s.own
		}
	}
	return u
}

type stat struct {
	comm          string
	ppid          int
	own, children time.Duration // utime + stime; cutime + cstime
}

// procStat reads /proc/pid/stat: "pid (comm) state ppid ... utime stime
// cutime cstime ..." (fields 14 to 17), comm possibly holding spaces.
func procStat(pid int) (stat, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return stat{}, false
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return stat{}, false
	}
	f := strings.Fields(s[end+1:]) // f[0] is field 3 (state)
	if len(f) < 15 {
		return stat{}, false
	}
	n := func(i int) time.Duration { v, _ := strconv.ParseInt(f[i], 10, 64); return time.Duration(v) * clockTick }
	ppid, _ := strconv.Atoi(f[1])
	return stat{comm: s[open+1 : end], ppid: ppid, own: n(11) + n(12), children: n(13) + n(14)}, true
}
