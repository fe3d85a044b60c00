// Package bench measures the service on the machine it runs on, side by
// side in one run: the physical floor (pgx CopyFrom of beneficiary rows)
// and the import of a generated CAF flux until every parcours workflow is
// started and has written its first tasks to the read model. `make bench`
// runs it; the table is printed and written as JSON under bench/results/.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/importer"
	"github.com/parcours-rsa/parcours/internal/pglocal"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/internal/temporal"
)

// Options say what to measure and where.
type Options struct {
	Scale      string // "" or "small": 10,000 people imported; "large": 100,000
	Dir        string // scratch directory (PostgreSQL cluster, Temporal file, flux)
	Port       int    // the scratch PostgreSQL's port
	ResultsDir string // where the JSON goes ("" for none)
	Workers    int    // people the importer applies at once (default 16)
	People     int    // people imported, over Scale's (a quick comparison: 2,000)
	// TemporalStore is the embedded server's store: temporal.StoreSQLite
	// (default) or temporal.StorePostgres (databases bench_temporal and
	// bench_temporal_visibility on the bench's cluster, recreated each run).
	TemporalStore string
	Commit        string
	Logger        *slog.Logger
	Out           io.Writer
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
	Missing   []string  `json:"not_measured"`
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
	if o.People > 0 {
		n = o.People
	}
	rep := Report{StartedAt: time.Now().UTC(), Commit: o.Commit, GoVersion: runtime.Version(), Machine: machine(), Scale: fmt.Sprint(n),
		Missing: []string{
			"deadline burst (10,000 deadlines due at once, and the SKIP LOCKED poller beside it)",
			"views under load (overdue list, dossier page, indicators with 100,000 parcours)",
			"footprint: history of a two-year parcours (TestTwoYearParcoursHistory prints it in make test)",
		}}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return rep, err
	}
	cluster := &pglocal.Cluster{Dir: filepath.Join(o.Dir, "postgres"), Port: o.Port, Database: "bench", Logger: o.Logger, Adopt: true}
	url, err := cluster.Start(ctx)
	if err != nil {
		return rep, fmt.Errorf("PostgreSQL du banc d'essai : %w", err)
	}
	defer func() { _ = cluster.Stop(context.WithoutCancel(ctx)) }()
	if err := resetDatabase(ctx, url); err != nil {
		return rep, err
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

	var floor float64
	sizes := []int{10_000, 100_000}
	if n != 10_000 && n != 100_000 {
		sizes = append([]int{n}, sizes...) // the floor of the same size as the import
	}
	for _, size := range sizes {
		rate, err := copyFloor(ctx, db, size)
		if err != nil {
			return rep, fmt.Errorf("plancher CopyFrom : %w", err)
		}
		if size == n {
			floor = rate
		}
		rep.add(o.Out, Result{Name: "floor: pgx CopyFrom of beneficiary rows", N: size, Value: rate, Unit: "rows/s"})
	}

	store := o.TemporalStore
	if store == "" {
		store = temporal.StoreSQLite
	}
	starts, rss, err := importFlux(ctx, o, db, url, n)
	if err != nil {
		return rep, fmt.Errorf("import : %w", err)
	}
	rep.add(o.Out, Result{Name: "import: CAF flux to every workflow started and visible", N: n, Value: starts, Unit: "starts/s", Target: ">= 200 starts/s (10,000)",
		Note: fmt.Sprintf("%d importer workers; embedded Temporal server on %s; each person: one transaction, update-with-start, the workflow's first write", o.Workers, store)})
	rep.add(o.Out, Result{Name: "import: ratio to the CopyFrom floor", N: n, Value: starts / floor, Unit: "ratio"})
	rep.add(o.Out, Result{Name: "footprint: RSS (server + worker + importer) with n open parcours", N: n, Value: float64(rss) / (1 << 20), Unit: "MiB",
		Target: "< 1024 MiB (100,000)", Note: "one process: embedded Temporal server, worker and importer, as parcours serve runs them"})
	var size int64
	if err := db.Pool.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&size); err != nil {
		return rep, err
	}
	rep.add(o.Out, Result{Name: "footprint: application database size per parcours", N: n, Value: float64(size) / float64(n), Unit: "bytes",
		Note: "whole read-model database after the import (the CopyFrom table is dropped), divided by n"})
	for _, m := range rep.Missing {
		fmt.Fprintf(o.Out, "  not measured yet: %s\n", m)
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
	line := fmt.Sprintf("  %-64s n=%-7d %s %-9s", r.Name, r.N, value, r.Unit)
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

// resetDatabase drops and recreates the bench database: each run starts
// from nothing.
func resetDatabase(ctx context.Context, url string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return err
	}
	if err := dropDatabase(ctx, url, cfg.Database); err != nil {
		return err
	}
	return adminExec(ctx, url, "CREATE DATABASE "+pgx.Identifier{cfg.Database}.Sanitize())
}

// dropDatabase drops the database name of url's server, if it exists.
func dropDatabase(ctx context.Context, url, name string) error {
	return adminExec(ctx, url, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}

// adminExec runs stmt in the database postgres of url's server.
func adminExec(ctx context.Context, url, stmt string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return err
	}
	cfg.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, stmt)
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

// importFlux starts an embedded Temporal server and a worker, imports a
// generated flux of n households through the importer, and waits until
// every subject person's parcours has its workflow started and its first
// write (the orientation task) in the read model. It returns starts/s over
// that whole time.
func importFlux(ctx context.Context, o Options, db *postgres.DB, url string, n int) (rate float64, rss int64, err error) {
	tdir := filepath.Join(o.Dir, "temporal")
	if err := os.RemoveAll(tdir); err != nil {
		return 0, 0, err
	}
	const temporalDB = "bench_temporal"
	if o.TemporalStore == temporal.StorePostgres {
		for _, name := range []string{temporalDB, temporalDB + "_visibility"} {
			if err := dropDatabase(ctx, url, name); err != nil {
				return 0, 0, err
			}
		}
	}
	port, err := temporal.FreePort()
	if err != nil {
		return 0, 0, err
	}
	srv, err := temporal.StartServer(temporal.ServerOptions{DataDir: tdir, Port: port, Logger: o.Logger, LogLevel: slog.LevelError,
		Store: o.TemporalStore, PostgresURL: url, Database: temporalDB})
	if err != nil {
		return 0, 0, err
	}
	defer srv.Stop()
	dialCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	tc, err := temporal.Dial(dialCtx, temporal.ClientOptions{Address: srv.Address(), Namespace: "default", Logger: o.Logger})
	cancel()
	if err != nil {
		return 0, 0, err
	}
	defer tc.Close()
	w := temporal.NewWorker(tc, db)
	if err := w.Start(); err != nil {
		return 0, 0, err
	}
	defer w.Stop()
	svc := &app.Service{DB: db, Temporal: tc, Policy: domain.PolicyDepartement, Logger: o.Logger}

	today := domain.DateOf(time.Now())
	path := filepath.Join(o.Dir, fmt.Sprintf("RSABEI-bench-%d.xml", n))
	if err := writeFlux(path, importer.Synthetic(n, uint64(time.Now().UnixNano()), today)); err != nil {
		return 0, 0, err
	}
	defer os.Remove(path)
	actor := domain.Actor{ID: "bench", Name: "make bench", Role: domain.RoleDepartment}
	im := &importer.Importer{Service: svc, Logger: o.Logger}
	start := time.Now()
	run, err := im.Run(ctx, actor, importer.FileSource(filepath.Base(path), path), importer.Options{Format: importer.FormatFlux, Workers: o.Workers})
	if err != nil {
		return 0, 0, err
	}
	if run.Created != n {
		return 0, 0, fmt.Errorf("%d personnes créées sur %d (%d rejetées)", run.Created, n, run.Rejected)
	}
	if err := waitVisible(ctx, db, n); err != nil {
		return 0, 0, err
	}
	rate = float64(n) / time.Since(start).Seconds()
	runtime.GC()
	return rate, residentBytes(), nil
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
		var visible int
		if err := db.Pool.QueryRow(ctx, `
			SELECT count(*) FROM parcours p
			WHERE p.workflow_started_at IS NOT NULL
			  AND EXISTS (SELECT 1 FROM tasks t WHERE t.parcours_id = p.id AND t.kind = 'orient')`).Scan(&visible); err != nil {
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
