package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/config"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/importer"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/internal/temporal"
	"github.com/parcours-rsa/parcours/internal/temporal/embedded"
	"github.com/parcours-rsa/parcours/workflows"
)

// benchTemporalDatabase is the embedded server's database on the bench's
// PostgreSQL with --temporal-store postgres.
const benchTemporalDatabase = "bench_temporal"

// rig is what `parcours serve` runs, in this process: an embedded Temporal
// server, a worker and the app.Service, on the bench database.
type rig struct {
	o      Options
	db     *postgres.DB // the importer's and the views' pool
	wdb    *postgres.DB // the worker's, apart, as in parcours serve
	srv    *embedded.Server
	tc     client.Client
	worker worker.Worker
	svc    *app.Service
}

func startRig(ctx context.Context, o Options, db *postgres.DB, url string) (*rig, error) {
	r := &rig{o: o, db: db}
	tdir := filepath.Join(o.Dir, "temporal")
	if err := os.RemoveAll(tdir); err != nil {
		return nil, err
	}
	so := embedded.ServerOptions{DataDir: tdir, Store: o.TemporalStore, Shards: o.TemporalShards, Logger: o.Logger, LogLevel: slog.LevelError,
		Dynamic: map[string]any{"frontend.WorkflowTimeSkippingEnabled": true}}
	if o.TemporalStore == embedded.StorePostgres {
		// A new store each run, as the SQLite file is.
		cfg, err := pgx.ParseConfig(url)
		if err != nil {
			return nil, err
		}
		so.PostgresURL, so.Database = url, benchTemporalDatabase
		for _, name := range []string{benchTemporalDatabase, benchTemporalDatabase + "_visibility"} {
			if err := recreate(ctx, cfg, name, false); err != nil {
				return nil, fmt.Errorf("base %s : %w", name, err)
			}
		}
	}
	port, err := temporal.FreePort()
	if err != nil {
		return nil, err
	}
	// Time skipping lets the two-year parcours live two years of server
	// time in seconds (history.go); it acts only on an execution that asks.
	so.Port = port
	if r.srv, err = embedded.StartServer(so); err != nil {
		return nil, err
	}
	dialCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	r.tc, err = temporal.Dial(dialCtx, r.srv.Client(temporal.ClientOptions{Address: r.srv.Address(), Namespace: "default", Logger: o.Logger}))
	cancel()
	if err != nil {
		r.srv.Stop()
		return nil, err
	}
	if r.wdb, err = db.Apart(ctx); err != nil {
		r.tc.Close()
		r.srv.Stop()
		return nil, err
	}
	r.worker = temporal.NewWorker(r.tc, r.wdb, workflows.ParcoursOptions{})
	if err := r.worker.Start(); err != nil {
		r.wdb.Close()
		r.tc.Close()
		r.srv.Stop()
		return nil, err
	}
	// The caches as parcours serve has them by default
	// (PARCOURS_INDICATORS_CACHE, PARCOURS_COUNTS_CACHE); the bench also
	// samples the views without them.
	r.svc = &app.Service{DB: db, Temporal: r.tc, Policy: domain.PolicyDepartement, Logger: o.Logger,
		Caches: app.NewCaches(config.DefaultIndicatorsCache, config.DefaultCountsCache)}
	return r, nil
}

// stop stops the worker, the client and the server.
func (r *rig) stop() {
	r.worker.Stop()
	r.wdb.Close()
	r.tc.Close()
	r.srv.Stop()
}

// setZone makes the parcours started from now on count their calendar
// dates in the fixed zone loc (domain.Settings.ZoneOffset): the service's
// own zone, domain.Paris, never moves. The workflows already open keep
// Europe/Paris.
func (r *rig) setZone(loc *time.Location) {
	_, off := time.Now().In(loc).Zone()
	settings := r.svc.Settings
	if settings == (domain.Settings{}) {
		settings = domain.DefaultSettings()
	}
	settings.ZoneOffset = &off
	r.svc.Settings = settings
}

// importFlux imports the generated flux g through the importer and waits
// until every subject person's parcours has its workflow started and its
// first write (the orientation task) in the read model, want parcours in
// all. It returns the time that took.
func (r *rig) importFlux(ctx context.Context, g importer.GenFlux, n, want int) (time.Duration, error) {
	path := filepath.Join(r.o.Dir, fmt.Sprintf("RSABEI-bench-%d-%d.xml", n, time.Now().UnixNano()))
	if err := writeFlux(path, g); err != nil {
		return 0, err
	}
	defer os.Remove(path)
	actor := domain.Actor{ID: "bench", Name: "make bench", Role: domain.RoleDepartment}
	im := &importer.Importer{Service: r.svc, Logger: r.o.Logger}
	start := time.Now()
	run, err := im.Run(ctx, actor, importer.FileSource(filepath.Base(path), path), importer.Options{Format: importer.FormatFlux, Workers: r.o.Workers})
	if err != nil {
		return 0, err
	}
	if run.Created != n {
		return 0, fmt.Errorf("%d personnes créées sur %d (%d rejetées)", run.Created, n, run.Rejected)
	}
	if err := waitVisible(ctx, r.db, want); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// rss is this process's resident set size after a collection.
func rss() int64 {
	runtime.GC()
	return residentBytes()
}
