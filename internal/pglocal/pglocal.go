// Package pglocal runs a private PostgreSQL cluster from the system's server
// binaries (Debian's postgresql package): data under the project's data
// directory, listening on 127.0.0.1 only, on a port of its own. As root, the
// server runs as the postgres user (initdb and postgres refuse root).
package pglocal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Cluster is one local PostgreSQL cluster.
type Cluster struct {
	Dir      string // root: pgdata/, run/, password, postgres.log
	Port     int
	Database string // created if missing; default "parcours"
	FsyncOff bool   // fsync=off and friends: for tests only
	Logger   *slog.Logger
	// Adopt makes a cluster found already running ours to stop, as after a
	// kill -9 of the service; without it Stop leaves such a cluster running
	// (parcours token create beside a running service).
	Adopt bool

	startedHere bool
}

const superuser = "parcours"

// ServiceRole is the role the service connects as on the local cluster:
// neither owner of the tables nor superuser (the migrations run as the
// superuser, which owns them). Its password is kept beside the cluster's.
const ServiceRole = "parcours_service"

// ServicePassword is the service role's password, made at the first call.
func (c *Cluster) ServicePassword() (string, error) {
	if err := c.defaults(); err != nil {
		return "", err
	}
	path := filepath.Join(c.Dir, "service-password")
	if pw, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(pw)), nil
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	pw := hex.EncodeToString(b)
	if err := os.WriteFile(path, []byte(pw+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("mot de passe du rôle de service : %w", err)
	}
	return pw, nil
}

// BinDir finds the server binaries: pg_config's bindir when it has initdb,
// else the newest /usr/lib/postgresql/*/bin.
func BinDir() (string, error) {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	if len(dirs) > 0 {
		return filepath.Dir(dirs[0]), nil
	}
	return "", errors.New("binaires du serveur PostgreSQL introuvables : lancez `make deps` (apt-get install postgresql) ou donnez DATABASE_URL")
}

func version(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

func (c *Cluster) defaults() error {
	if c.Database == "" {
		c.Database = "parcours"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	abs, err := filepath.Abs(c.Dir)
	if err != nil {
		return err
	}
	c.Dir = abs
	return nil
}

func (c *Cluster) pgdata() string { return filepath.Join(c.Dir, "pgdata") }

// URL is the connection URL of the cluster's database (the password is in
// Dir/password, made at the first start).
func (c *Cluster) URL() (string, error) {
	if err := c.defaults(); err != nil {
		return "", err
	}
	pw, err := os.ReadFile(filepath.Join(c.Dir, "password"))
	if err != nil {
		return "", fmt.Errorf("mot de passe de la base locale : %w", err)
	}
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", superuser, strings.TrimSpace(string(pw)), c.Port, c.Database), nil
}

// Start initialises the cluster on first use, starts it unless it already
// runs (then it is reused, and Stop leaves it running), creates the database
// and returns its URL.
func (c *Cluster) Start(ctx context.Context) (string, error) {
	if err := c.defaults(); err != nil {
		return "", err
	}
	bin, err := BinDir()
	if err != nil {
		return "", err
	}
	runAs, err := serverUser()
	if err != nil {
		return "", err
	}
	// Parents must stay traversable by the server's user; the cluster's own
	// directory is closed to everyone else.
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return "", err
	}
	if err := os.Chmod(c.Dir, 0o700); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(c.Dir, "run"), 0o700); err != nil {
		return "", err
	}
	if runAs != nil {
		if err := chownTree(c.Dir, runAs); err != nil {
			return "", err
		}
		if err := reachable(c.Dir, runAs); err != nil {
			return "", err
		}
	}
	if _, err := os.Stat(filepath.Join(c.pgdata(), "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := c.initdb(ctx, bin, runAs); err != nil {
			return "", err
		}
	}
	if err := c.writeConf(runAs); err != nil {
		return "", err
	}
	// After a kill -9 the old postmaster may linger a moment (a zombie, or
	// children still exiting): try again for a while before giving up.
	deadline := time.Now().Add(45 * time.Second)
	for {
		err := c.startOrAdopt(ctx, bin, runAs)
		if err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil || errors.Is(err, errPortTaken) {
			return "", err
		}
		c.Logger.Warn("local PostgreSQL not ready yet, trying again", "dir", c.Dir, "error", err)
		time.Sleep(time.Second)
	}
	url, err := c.URL()
	if err != nil {
		return "", err
	}
	return url, c.createDatabase(ctx, bin)
}

var errPortTaken = errors.New("port pris")

// startOrAdopt adopts the cluster running in Dir if it answers, or starts it.
func (c *Cluster) startOrAdopt(ctx context.Context, bin string, runAs *account) error {
	if port, ok := c.running(); ok {
		if port != 0 && port != c.Port {
			// Ours, started with another port: use it; the new port applies at the next start.
			c.Logger.Warn("local PostgreSQL already running on another port", "dir", c.Dir, "port", port, "configured_port", c.Port)
			c.Port = port
		}
		c.Logger.Info("local PostgreSQL already running", "dir", c.Dir, "port", c.Port)
		if err := c.waitReady(ctx, bin, 10*time.Second); err != nil {
			return err
		}
		c.startedHere = c.Adopt
	} else {
		if conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", c.Port), time.Second); err == nil {
			conn.Close()
			return fmt.Errorf("%w : le port %d est déjà pris par un autre programme : choisissez-en un autre (PARCOURS_PG_PORT)", errPortTaken, c.Port)
		}
		out, err := c.command(ctx, runAs, filepath.Join(bin, "pg_ctl"), "-D", c.pgdata(), "-l", filepath.Join(c.Dir, "postgres.log"), "-w", "-t", "60", "start").CombinedOutput()
		if err != nil {
			return fmt.Errorf("pg_ctl start: %w: %s (voir %s)", err, strings.TrimSpace(string(out)), filepath.Join(c.Dir, "postgres.log"))
		}
		c.startedHere = true
		c.Logger.Info("local PostgreSQL started", "dir", c.Dir, "port", c.Port)
	}
	return nil
}

// Stop stops the cluster if this Cluster started it; a cluster found
// running (another process's) is left alone. Use StopAny to stop it anyway.
func (c *Cluster) Stop(ctx context.Context) error {
	if !c.startedHere {
		return nil
	}
	c.startedHere = false
	return c.StopAny(ctx)
}

// StopAny stops the cluster whoever started it; no error if it is not running.
func (c *Cluster) StopAny(ctx context.Context) error {
	if err := c.defaults(); err != nil {
		return err
	}
	bin, err := BinDir()
	if err != nil {
		return err
	}
	runAs, err := serverUser()
	if err != nil {
		return err
	}
	if _, ok := c.running(); !ok {
		return nil
	}
	out, err := c.command(ctx, runAs, filepath.Join(bin, "pg_ctl"), "-D", c.pgdata(), "-m", "fast", "-w", "-t", "60", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %w: %s", err, strings.TrimSpace(string(out)))
	}
	c.Logger.Info("local PostgreSQL stopped", "dir", c.Dir, "port", c.Port)
	return nil
}

// running tells whether the cluster's postmaster is alive, and on which
// port (from postmaster.pid). A pid file left by a crash is removed when its
// process is gone, a zombie (a postmaster killed with -9 stays one until
// PID 1 reaps it, which some containers' init never does) or another
// program that reused the pid: pg_ctl and postgres only ask kill(pid, 0),
// which says yes to all three, and would refuse to start.
func (c *Cluster) running() (port int, ok bool) {
	file := filepath.Join(c.pgdata(), "postmaster.pid")
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	// Lines: pid, data directory, start time, port, socket directory, ...
	lines := strings.Split(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(lines[0]))
	if len(lines) > 3 {
		port, _ = strconv.Atoi(strings.TrimSpace(lines[3]))
	}
	if pid > 0 && postmasterAlive(pid, c.pgdata()) {
		return port, true
	}
	// The socket's lock file in Dir/run (ours alone) names the dead pid too.
	stale, _ := filepath.Glob(filepath.Join(c.Dir, "run", ".s.PGSQL.*"))
	for _, f := range append(stale, file) {
		_ = os.Remove(f)
	}
	c.Logger.Warn("stale postmaster.pid removed (the server had stopped without cleaning up)", "dir", c.Dir, "pid", pid)
	return 0, false
}

// postmasterAlive tells whether pid is a live (not zombie) postgres process
// working in pgdata (a postmaster's working directory is its data directory).
func postmasterAlive(pid int, pgdata string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		if _, err := os.Stat("/proc/self/stat"); err != nil {
			return syscall.Kill(pid, 0) == nil // no /proc: the best we can do
		}
		return false // no such process
	}
	// "pid (comm) state ...": comm may hold spaces and parentheses.
	stat := string(b)
	open, end := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
	if open < 0 || end < open || len(stat) < end+3 {
		return false
	}
	comm, state := stat[open+1:end], stat[end+2]
	if (comm != "postgres" && comm != "postmaster") || state == 'Z' || state == 'X' {
		return false
	}
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if err != nil {
		return true // not ours to read: trust the name
	}
	real, err := filepath.EvalSymlinks(pgdata)
	return err != nil || cwd == real
}

// waitReady waits until the server accepts connections on 127.0.0.1 (a
// cluster found running may still be starting, or recovering after a crash).
// waitReady asks pg_isready until the server accepts connections: it
// answers 2 at once while nothing listens yet (a postmaster still starting,
// or cleaning up after a kill -9), 1 while it starts up.
func (c *Cluster) waitReady(ctx context.Context, bin string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		out, err := exec.CommandContext(ctx, filepath.Join(bin, "pg_isready"), "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(c.Port), "-t", "5").CombinedOutput()
		if err == nil {
			return nil
		}
		var exit *exec.ExitError
		retry := errors.As(err, &exit) && (exit.ExitCode() == 1 || exit.ExitCode() == 2)
		if !retry || time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("pg_isready (port %d): %w: %s (voir %s)", c.Port, err, strings.TrimSpace(string(out)), filepath.Join(c.Dir, "postgres.log"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *Cluster) initdb(ctx context.Context, bin string, runAs *account) error {
	pw := make([]byte, 24)
	if _, err := rand.Read(pw); err != nil {
		return err
	}
	password := hex.EncodeToString(pw)
	pwFile := filepath.Join(c.Dir, "password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		return err
	}
	tmp := filepath.Join(c.Dir, "run", "initdb-password")
	if err := os.WriteFile(tmp, []byte(password+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(tmp)
	if runAs != nil {
		if err := os.Chown(tmp, runAs.uid, runAs.gid); err != nil {
			return err
		}
	}
	args := []string{"-D", c.pgdata(), "-U", superuser, "--auth=scram-sha-256", "--pwfile=" + tmp, "-E", "UTF8"}
	out, err := c.command(ctx, runAs, filepath.Join(bin, "initdb"), append(args, "--locale=C.UTF-8")...).CombinedOutput()
	if err != nil {
		_ = os.RemoveAll(c.pgdata())
		out, err = c.command(ctx, runAs, filepath.Join(bin, "initdb"), append(args, "--locale=C")...).CombinedOutput()
	}
	if err != nil {
		_ = os.RemoveAll(c.pgdata())
		return fmt.Errorf("initdb: %w: %s", err, strings.TrimSpace(string(out)))
	}
	c.Logger.Info("local PostgreSQL initialised", "dir", c.Dir)
	return nil
}

// writeConf (re)writes the settings the project owns, included by
// postgresql.conf; the port follows the configuration at every start.
func (c *Cluster) writeConf(runAs *account) error {
	conf := fmt.Sprintf(`# Written by parcours at every start; edit PARCOURS_PG_PORT rather than this file.
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = '%s'
max_connections = 200
shared_buffers = 128MB
# Look for tables to analyze every 15 s (PostgreSQL's default: 1 min): a
# midnight's overdue tasks change the plans of the task lists (make bench).
autovacuum_naptime = 15s
# No personal data in the server log (issue 20, item 7): an error's DETAIL
# names the values (a unique violation's key: a NIR), and bind parameters
# would print them if statement logging were ever turned on.
log_error_verbosity = terse
log_parameter_max_length = 0
log_parameter_max_length_on_error = 0
`, c.Port, filepath.Join(c.Dir, "run"))
	if c.FsyncOff {
		conf += "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
	}
	file := filepath.Join(c.pgdata(), "parcours.conf")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		return err
	}
	main := filepath.Join(c.pgdata(), "postgresql.conf")
	b, err := os.ReadFile(main)
	if err != nil {
		return err
	}
	if !strings.Contains(string(b), "include_if_exists = 'parcours.conf'") {
		b = append(b, []byte("\ninclude_if_exists = 'parcours.conf'\n")...)
		if err := os.WriteFile(main, b, 0o600); err != nil {
			return err
		}
	}
	if runAs != nil {
		for _, f := range []string{file, main} {
			if err := os.Chown(f, runAs.uid, runAs.gid); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *Cluster) createDatabase(ctx context.Context, bin string) error {
	pw, err := os.ReadFile(filepath.Join(c.Dir, "password"))
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "createdb"), "-h", "127.0.0.1", "-p", strconv.Itoa(c.Port), "-U", superuser, c.Database)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+strings.TrimSpace(string(pw)))
	out, err := cmd.CombinedOutput()
	if err != nil && !strings.Contains(string(out), "already exists") {
		return fmt.Errorf("createdb %s: %w: %s", c.Database, err, strings.TrimSpace(string(out)))
	}
	return nil
}

type account struct {
	uid, gid int
	name     string
}

// serverUser is the account the server runs as: nil for the current user,
// the postgres user when we are root.
func serverUser() (*account, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("l'utilisateur système postgres est introuvable : installez le paquet postgresql (make deps)")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &account{uid: uid, gid: gid, name: u.Username}, nil
}

func (c *Cluster) command(ctx context.Context, runAs *account, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = c.Dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "LC_ALL=C.UTF-8"}
	if runAs != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(runAs.uid), Gid: uint32(runAs.gid)}}
		cmd.Env = append(cmd.Env, "HOME="+c.Dir, "USER="+runAs.name)
	}
	// The server must outlive neither a Ctrl-C in the terminal nor us: pg_ctl
	// detaches it; its own process group keeps the terminal's signal away, so
	// that Stop shuts it down cleanly instead.
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	return cmd
}

func chownTree(dir string, a *account) error {
	return filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if path == filepath.Join(dir, "password") {
			return nil // stays root's
		}
		return os.Lchown(path, a.uid, a.gid)
	})
}

// reachable checks that the server's user can traverse every parent of dir.
func reachable(dir string, a *account) error {
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		info, err := os.Stat(d)
		if err != nil {
			return err
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		mode := info.Mode().Perm()
		canX := mode&0o001 != 0 || (ok && int(st.Uid) == a.uid && mode&0o100 != 0) || (ok && int(st.Gid) == a.gid && mode&0o010 != 0)
		if !canX {
			return fmt.Errorf("l'utilisateur %s ne peut pas atteindre %s (le répertoire %s lui est fermé) : choisissez un PARCOURS_DATA_DIR ailleurs, par exemple sous /var/tmp", a.name, dir, d)
		}
		if d == "/" {
			return nil
		}
	}
}
