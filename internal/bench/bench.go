// Package bench measures the service on the machine it runs on, side by
// side in one run: the physical floor (pgx CopyFrom of beneficiary rows)
// and the import of a generated CAF flux until every parcours workflow is
// started and has written its first tasks to the read model. `make bench`
// runs it; the table is printed and written as JSON under bench/results/.
package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/importer"
	"github.com/parcours-rsa/parcours/internal/pglocal"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/internal/temporal/embedded"
)

// Options say what to measure and where.
type Options struct {
	Scale      string // "" or "small": 10,000 people imported; "large": 100,000
	Dir        string // scratch directory (PostgreSQL cluster, Temporal file, flux)
	Port       int    // the scratch PostgreSQL's port
	ResultsDir string // where the JSON goes ("" for none)
	Workers    int    // people the importer applies at once (default 16)
	Commit     string
	Logger     *slog.Logger
	Out        io.Writer
	// For short runs (tests, trials): people imported instead of the
	// scale's, the burst's size (default: min(people, 10,000)), and the
	// time between the burst import's predicted end and its deadlines
	// (default 60 s).
	N, Burst int
	Lead     time.Duration
	// Updates each parcours of the second burst receives before its
	// deadline (default 6; negative: no second burst).
	Updates int
	// DatabaseURL, for tests: an existing, migrated database to use
	// instead of the bench's own cluster.
	DatabaseURL string
	// ProfileDir, when set, gets a CPU profile of the first import
	// (import.cpu.pprof), a heap profile after it (import.heap.pprof), a
	// CPU profile of the deadline burst (burst.cpu.pprof) and a heap
	// profile once it is drained (burst.heap.pprof).
	ProfileDir string
	// TemporalStore is where the embedded server persists: "" or
	// embedded.StoreSQLite (a file under Dir/temporal), or
	// embedded.StorePostgres (databases bench_temporal and
	// bench_temporal_visibility of the bench's PostgreSQL, made anew).
	TemporalStore string
	// TemporalShards is the number of history shards of that new store
	// (0: embedded.DefaultShards on SQLite, embedded.DefaultPostgresShards on PostgreSQL).
	TemporalShards int
	// MemoryLimit is the Go soft memory limit in force (bytes, 0: none),
	// as parcours serve sets it: for the RSS line's note.
	MemoryLimit int64
	// GCPercent is the collector's target in force (-1: off).
	GCPercent int
}

// Result is one line of the table.
type Result struct {
	Name   string  `json:"name"`
	N      int     `json:"n"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Target string  `json:"target,omitempty"`
	Note   string  `json:"note,omitempty"`
}

// Report is what a run wrote.
type Report struct {
	StartedAt time.Time `json:"started_at"`
	Commit    string    `json:"commit"`
	GoVersion string    `json:"go_version"`
	Machine   Machine   `json:"machine"`
	Scale     string    `json:"scale"`
	Results   []Result  `json:"results"`
}

// Machine describes where the figures come from.
type Machine struct {
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpu_model"`
	MemoryKB int64  `json:"memory_kb"`
	Kernel   string `json:"kernel"`
	Postgres string `json:"postgres"`
}

// Run measures and reports.
func Run(ctx context.Context, o Options) (Report, error) {
	if o.Workers <= 0 {
		o.Workers = 16
	}
	n := 10_000
	if o.Scale == "large" {
		n = 100_000
	}
	floors := []int{10_000, 100_000}
	if o.N > 0 {
		n, floors = o.N, []int{o.N}
	}
	burst := min(n, 10_000)
	if o.Burst > 0 {
		burst = o.Burst
	}
	if o.Lead <= 0 {
		o.Lead = time.Minute
	}
	if o.Updates == 0 {
		o.Updates = 6
	}
	rep := Report{StartedAt: time.Now().UTC(), Commit: o.Commit, GoVersion: runtime.Version(), Machine: machine(), Scale: fmt.Sprint(n)}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return rep, err
	}
	url := o.DatabaseURL
	if url == "" {
		cluster := &pglocal.Cluster{Dir: filepath.Join(o.Dir, "postgres"), Port: o.Port, Database: "bench", Logger: o.Logger, Adopt: true}
		var err error
		if url, err = cluster.Start(ctx); err != nil {
			return rep, fmt.Errorf("PostgreSQL du banc d'essai : %w", err)
		}
		defer func() { _ = cluster.Stop(context.WithoutCancel(ctx)) }()
		if err := resetDatabase(ctx, url); err != nil {
			return rep, err
		}
	}
	db, err := postgres.Open(ctx, url)
	if err != nil {
		return rep, err
	}
	defer db.Close()
	if err := db.Migrate(ctx, postgres.LatestVersion()); err != nil {
		return rep, err
	}
	var pgVersion string
	_ = db.Pool.QueryRow(ctx, `SHOW server_version`).Scan(&pgVersion)
	rep.Machine.Postgres = pgVersion

	// (1) The physical floor.
	var floor float64
	for _, size := range floors {
		rate, err := copyFloor(ctx, db, size)
		if err != nil {
			return rep, fmt.Errorf("plancher CopyFrom : %w", err)
		}
		if size == n {
			floor = rate
		}
		rep.add(o.Out, Result{Name: "floor: pgx CopyFrom of beneficiary rows", N: size, Value: rate, Unit: "rows/s"})
	}

	// (2) The import, and the footprint of n open parcours.
	r, err := startRig(ctx, o, db, url)
	if err != nil {
		return rep, err
	}
	defer r.stop()
	seed := uint64(time.Now().UnixNano())
	stopProfile, err := cpuProfile(o.ProfileDir, "import.cpu.pprof")
	if err != nil {
		return rep, err
	}
	cpu0 := readCPU(ctx, db)
	took, err := r.importFlux(ctx, importer.Synthetic(n, seed, domain.DateOf(time.Now())), n, n)
	cpu1 := readCPU(ctx, db)
	stopProfile()
	if err != nil {
		return rep, fmt.Errorf("import : %w", err)
	}
	if err := heapProfile(o.ProfileDir, "import.heap.pprof"); err != nil {
		return rep, err
	}
	starts := float64(n) / took.Seconds()
	resident := rss()
	rep.add(o.Out, Result{Name: "import: CAF flux to every workflow started and visible", N: n, Value: starts, Unit: "starts/s", Target: ">= 200 starts/s (10,000)",
		Note: fmt.Sprintf("%d importer workers; each person: one transaction (with its audit rows), update-with-start, the workflow's first write; embedded Temporal server on %s, %d history shard(s)",
			o.Workers, cmp.Or(o.TemporalStore, embedded.StoreSQLite), r.srv.Shards())})
	rep.add(o.Out, Result{Name: "import: ratio to the CopyFrom floor", N: n, Value: starts / floor, Unit: "ratio"})
	// (2b) The same server's raw rate: n empty workflows, as many callers.
	raw, err := startRawWorker(r.tc)
	if err != nil {
		return rep, err
	}
	defer raw.stop()
	rawRate, rawDone, err := rawStarts(ctx, r.tc, n, o.Workers, "import")
	if err != nil {
		return rep, err
	}
	rep.add(o.Out, Result{Name: "raw Temporal: empty workflows started", N: n, Value: rawRate, Unit: "starts/s",
		Note: fmt.Sprintf("the same embedded server, right after the import: %d callers starting workflows with no code (task queue of its own, a worker of this process with the service worker's settings), until the last start returned; all %d had run and completed %.1f s after the first start", o.Workers, n, rawDone)})
	rep.add(o.Out, Result{Name: "import: ratio to the raw start rate of empty workflows", N: n, Value: starts / rawRate, Unit: "ratio", Target: ">= 0.90"})
	perStart := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(n) }
	rep.add(o.Out, Result{Name: "import: CPU of this process per start", N: n, Value: perStart(cpu1.self - cpu0.self), Unit: "ms",
		Note: fmt.Sprintf("user + system time of the embedded server, worker and importer during the import (getrusage), divided by n; %.1f s of CPU in %.1f s on %d cores",
			(cpu1.self - cpu0.self).Seconds(), took.Seconds(), runtime.NumCPU())})
	if cpu0.pgKnown && cpu1.pgKnown {
		rep.add(o.Out, Result{Name: "import: CPU of PostgreSQL per start", N: n, Value: perStart(cpu1.postgres - cpu0.postgres), Unit: "ms",
			Note: "user + system time of the server's processes during the import (/proc: the postmaster, its processes, those that exited), divided by n"})
	}
	rep.add(o.Out, Result{Name: "footprint: RSS (server + worker + importer) with n open parcours", N: n, Value: float64(resident) / (1 << 20), Unit: "MiB",
		Target: "< 1024 MiB (100,000)", Note: "one process: embedded Temporal server, worker and importer, as parcours serve runs them; " + memoryNote(o.MemoryLimit, o.GCPercent)})
	var size int64
	if err := db.Pool.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&size); err != nil {
		return rep, err
	}
	rep.add(o.Out, Result{Name: "footprint: application database size per parcours", N: n, Value: float64(size) / float64(n), Unit: "bytes",
		Note: "whole read-model database after the import (the CopyFrom table is dropped), divided by n"})

	// (5) The history of a two-year parcours.
	s, err := startSite(ctx, r)
	if err != nil {
		return rep, err
	}
	defer s.close()
	h, err := twoYearParcours(ctx, r, s)
	if err != nil {
		return rep, fmt.Errorf("parcours de deux ans : %w", err)
	}
	note := fmt.Sprintf("%d run(s), %d days of server time from first to last event by %d fast-forwards of the server's time skipping, %d timers fired each at its own instant; "+
		"without the %d events (%d bytes) time skipping adds", h.runs, int(h.span.Hours()/24), h.skips, h.timers, h.skipping, h.skipBytes)
	rep.add(o.Out, Result{Name: "footprint: history events of a two-year parcours", N: 1, Value: float64(h.events), Unit: "events",
		Target: "< 51,200 per run (Temporal's limit)", Note: note})
	rep.add(o.Out, Result{Name: "footprint: history bytes of a two-year parcours", N: 1, Value: float64(h.bytes), Unit: "bytes",
		Target: "< 50 MB per run (Temporal's limit)", Note: note + "; protobuf size of every event"})

	// (3) and (4) The deadline burst, the views alone and during it, and
	// the SQL poller on the same deadlines.
	b, err := runBurst(ctx, o, r, s, burst, starts, disjointSeed(seed, burst, n), o.Lead, orientationBurst)
	if err != nil {
		return rep, fmt.Errorf("rafale d'échéances : %w", err)
	}
	total := n + burst
	drained := ""
	if !b.drained {
		drained = "NOT DRAINED after 10 minutes; "
	}
	rep.add(o.Out, Result{Name: "burst (Temporal timers): last overdue task in the read model after the due instant", N: burst, Value: b.last, Unit: "s",
		Target: "<= 60 s", Note: drained + "n orientation deadlines due at one instant, as n durable timers of the embedded server; time from that instant to the last task's write (tasks.updated_at)"})
	rep.add(o.Out, Result{Name: "burst (Temporal timers): lateness p50", N: burst, Value: b.p50, Unit: "s", Note: "tasks.updated_at minus the due instant"})
	rep.add(o.Out, Result{Name: "burst (Temporal timers): lateness p99", N: burst, Value: b.p99, Unit: "s",
		Note: fmt.Sprintf("tasks.updated_at minus the due instant; the workflows' own clock (tasks.overdue_at) p99 %.1f s", b.fire99)})
	rep.add(o.Out, Result{Name: "footprint: RSS peak during the burst", N: total, Value: float64(b.peakRSS) / (1 << 20), Unit: "MiB",
		Note: "highest VmRSS of the process from the due instant until the burst is drained, read every 100 ms (no forced collection); n: parcours in the database, " + strconv.Itoa(burst) + " of them woken; " + memoryNote(o.MemoryLimit, o.GCPercent)})
	rep.addViews(o, "during the burst", total, b.samples, b.during, true, "; "+b.poolWait)
	rep.addViews(o, "alone (after the burst)", total, b.samples, b.alone, false, "")
	last, p50, p99, err := pollerBurst(ctx, db, b.due, burst)
	if err != nil {
		return rep, err
	}
	pollNote := fmt.Sprintf("the same n deadlines in a bench table; %d pollers, batches of %d with FOR UPDATE SKIP LOCKED, a task row each, %s sleep when idle", pollers, pollBatch, pollInterval)
	rep.add(o.Out, Result{Name: "burst (SQL poller, SKIP LOCKED): last task after the due instant", N: burst, Value: last, Unit: "s", Note: pollNote})
	rep.add(o.Out, Result{Name: "burst (SQL poller, SKIP LOCKED): lateness p50", N: burst, Value: p50, Unit: "s", Note: pollNote})
	rep.add(o.Out, Result{Name: "burst (SQL poller, SKIP LOCKED): lateness p99", N: burst, Value: p99, Unit: "s", Note: pollNote})

	// (6) Parcours that each received several updates before their
	// deadline.
	var u burstResult
	updated := fmt.Sprintf("burst after %d updates each (Temporal timers)", o.Updates)
	if o.Updates > 0 {
		spec := burstSpec{months: 2, task: domain.TaskSignContract, updates: o.Updates}
		u, err = runBurst(ctx, o, r, s, burst, starts, disjointSeed(disjointSeed(seed, burst, n), burst, n+burst), o.Lead, spec)
		if err != nil {
			return rep, fmt.Errorf("rafale après mises à jour : %w", err)
		}
		total += burst
		note := fmt.Sprintf("n contract deadlines due at one instant, of parcours that each received %d updates before it through the service (the orientation, its notification, %d changes of référent), none meeting it; ",
			o.Updates, o.Updates-2)
		drained := ""
		if !u.drained {
			drained = "NOT DRAINED after 10 minutes; "
		}
		rep.add(o.Out, Result{Name: "burst after updates: the updates before the deadline", N: burst * o.Updates, Value: u.updated, Unit: "updates/s",
			Note: fmt.Sprintf("%d updates to each of the burst's parcours, %d callers, each one parcours' updates in order", o.Updates, o.Workers)})
		rep.add(o.Out, Result{Name: updated + ": last overdue task in the read model after the due instant", N: burst, Value: u.last, Unit: "s", Target: "<= 60 s",
			Note: drained + note + "time from that instant to the last sign_contract task's write (tasks.updated_at)"})
		rep.add(o.Out, Result{Name: updated + ": lateness p50", N: burst, Value: u.p50, Unit: "s", Note: "tasks.updated_at minus the due instant"})
		rep.add(o.Out, Result{Name: updated + ": lateness p99", N: burst, Value: u.p99, Unit: "s",
			Note: fmt.Sprintf("tasks.updated_at minus the due instant; the workflows' own clock (tasks.overdue_at) p99 %.1f s", u.fire99)})
		rep.addViews(o, "during the burst after updates", total, u.samples, u.during, true, "; "+u.poolWait)
	}

	// (7) The raw burst: as many empty workflows sleeping until one
	// instant, on the same server.
	rb, err := rawBurst(ctx, raw, r.tc, burst, o.Workers, rawRate, o.Lead)
	if err != nil {
		return rep, err
	}
	rawNote := "n workflows with no code of their own sleeping until one instant (n durable timers of the same server), each then running one local activity that records the time; "
	if !rb.drained {
		rawNote = "NOT DRAINED after 10 minutes; " + rawNote
	}
	rep.add(o.Out, Result{Name: "raw Temporal burst: last empty workflow woken after the instant", N: burst, Value: rb.last, Unit: "s", Note: rawNote + "the last one's lateness"})
	rep.add(o.Out, Result{Name: "raw Temporal burst: lateness p50", N: burst, Value: rb.p50, Unit: "s", Note: rawNote})
	rep.add(o.Out, Result{Name: "raw Temporal burst: lateness p99", N: burst, Value: rb.p99, Unit: "s", Note: rawNote})
	if rb.last > 0 {
		rep.add(o.Out, Result{Name: "burst (Temporal timers): ratio to the raw burst", N: burst, Value: b.last / rb.last, Unit: "ratio",
			Note: "last overdue task of the parcours burst over the last empty workflow woken"})
		if o.Updates > 0 {
			rep.add(o.Out, Result{Name: updated + ": ratio to the raw burst", N: burst, Value: u.last / rb.last, Unit: "ratio",
				Note: "last overdue task of the burst after updates over the last empty workflow woken"})
		}
	}
	if o.ResultsDir != "" {
		if err := rep.write(o.ResultsDir); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func (rep *Report) add(w io.Writer, r Result) {
	rep.Results = append(rep.Results, r)
	value := fmt.Sprintf("%12.1f", r.Value)
	if r.Value < 10 {
		value = fmt.Sprintf("%12.4f", r.Value)
	}
	line := fmt.Sprintf("  %-84s n=%-7d %s %-9s", r.Name, r.N, value, r.Unit)
	if r.Target != "" {
		line += "  target " + r.Target
	}
	fmt.Fprintln(w, line)
}

func (rep *Report) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	short := rep.Commit
	if len(short) > 12 {
		short = short[:12]
	}
	name := filepath.Join(dir, fmt.Sprintf("%s-%s-%s.json", rep.StartedAt.Format("20060102T150405Z"), short, rep.Scale))
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(name, append(b, '\n'), 0o644)
}

// memoryNote says which memory settings of the Go runtime were in force.
func memoryNote(limit int64, gcPercent int) string {
	gc := fmt.Sprintf("GC target %d %% (PARCOURS_GC_PERCENT or GOGC)", gcPercent)
	if gcPercent < 0 {
		gc = "GC off (GOGC)"
	}
	if limit <= 0 {
		return "no Go memory limit, " + gc
	}
	return fmt.Sprintf("Go memory limit %d MiB (PARCOURS_MEMORY_LIMIT_MIB or GOMEMLIMIT), %s", limit>>20, gc)
}

// resetDatabase drops and recreates the bench database: each run starts
// from nothing.
func resetDatabase(ctx context.Context, url string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return err
	}
	return recreate(ctx, cfg, cfg.Database, true)
}

// recreate drops the database name of cfg's server if it exists, and
// creates it again when create is set.
func recreate(ctx context.Context, cfg *pgx.ConnConfig, name string, create bool) error {
	cfg = cfg.Copy()
	cfg.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil || !create {
		return err
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+ident)
	return err
}

// copyFloor copies n beneficiary rows with CopyFrom into a copy of the
// beneficiaries table (same columns, indexes and constraints) and returns
// rows per second.
func copyFloor(ctx context.Context, db *postgres.DB, n int) (float64, error) {
	if _, err := db.Pool.Exec(ctx, `DROP TABLE IF EXISTS bench_floor; CREATE TABLE bench_floor (LIKE beneficiaries INCLUDING ALL)`); err != nil {
		return 0, err
	}
	defer func() { _, _ = db.Pool.Exec(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS bench_floor`) }()
	g := importer.Synthetic(n, 7, domain.DateOf(time.Now()))
	rows := make([][]any, 0, n)
	for i, h := range g.Households {
		p := h.Persons[0]
		rows = append(rows, []any{uuid.New(), fmt.Sprintf("B-%d", i), p.NIR, p.LastName, p.FirstName, p.BirthDate.Time()})
	}
	start := time.Now()
	copied, err := db.Pool.CopyFrom(ctx, pgx.Identifier{"bench_floor"},
		[]string{"id", "external_id", "nir", "last_name", "first_name", "birth_date"}, pgx.CopyFromRows(rows))
	if err != nil {
		return 0, err
	}
	return float64(copied) / time.Since(start).Seconds(), nil
}

func writeFlux(path string, g importer.GenFlux) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := importer.WriteFlux(f, g); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// waitVisible polls until n parcours have a started workflow and their
// orientation task written by the workflow.
func waitVisible(ctx context.Context, db *postgres.DB, n int) error {
	deadline := time.Now().Add(30 * time.Minute)
	for {
		visible, err := visibleCount(ctx, db)
		if err != nil {
			return err
		}
		if visible >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d parcours visibles sur %d après 30 minutes", visible, n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// visibleCount is the number of parcours with a started workflow and their
// orientation task written by the workflow.
func visibleCount(ctx context.Context, db *postgres.DB) (int, error) {
	var visible int
	err := db.Pool.QueryRow(ctx, `
		SELECT count(*) FROM parcours p
		WHERE p.workflow_started_at IS NOT NULL
		  AND EXISTS (SELECT 1 FROM tasks t WHERE t.parcours_id = p.id AND t.kind = 'orient')`).Scan(&visible)
	return visible, err
}

// residentBytes is this process's resident set size (VmRSS).
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				m.MemoryKB, _ = strconv.ParseInt(f[1], 10, 64)
			}
		}
	}
	if out, err := exec.Command("uname", "-sr").Output(); err == nil {
		m.Kernel = strings.TrimSpace(string(out))
	}
	return m
}

// cpuProfile starts a CPU profile into dir/name ("" dir: none); the
// function returned stops it.
func cpuProfile(dir, name string) (func(), error) {
	if dir == "" {
		return func() {}, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// heapProfile writes the live heap into dir/name ("" dir: nothing).
func heapProfile(dir, name string) error {
	if dir == "" {
		return nil
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	defer f.Close()
	runtime.GC()
	return pprof.Lookup("heap").WriteTo(f, 0)
}
