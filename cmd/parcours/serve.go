package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/parcours-rsa/parcours/activities"
	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/config"
	"github.com/parcours-rsa/parcours/internal/digest"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/httpapi"
	"github.com/parcours-rsa/parcours/internal/importer"
	"github.com/parcours-rsa/parcours/internal/metrics"
	"github.com/parcours-rsa/parcours/internal/payloadcodec"
	"github.com/parcours-rsa/parcours/internal/pglocal"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/internal/temporal"
	"github.com/parcours-rsa/parcours/internal/temporal/embedded"
	"github.com/parcours-rsa/parcours/internal/web"
	"github.com/parcours-rsa/parcours/workflows"
)

func (m *Main) config() (config.Config, *slog.Logger, error) {
	return m.configFrom(m.Getenv)
}

// configFrom is config read through getenv.
func (m *Main) configFrom(getenv func(string) string) (config.Config, *slog.Logger, error) {
	cfg, err := config.FromEnv(getenv)
	logger := slog.New(slog.NewJSONHandler(m.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	if err == nil && cfg.TestCalendarOffset != nil {
		// End-to-end tests only: a midnight at an instant of the test's
		// choosing, for the parcours this process starts (cfg.Settings:
		// domain.Settings.ZoneOffset; domain.Paris never moves).
		logger.Warn("PARCOURS_TEST_CALENDAR_OFFSET is set: calendar dates are NOT Europe/Paris's (tests only)", "offset_seconds", *cfg.TestCalendarOffset)
	}
	return cfg, logger, err
}

// database opens the application database: DATABASE_URL, or the local
// cluster under the data directory, started if needed. stop undoes what
// database started.
// With own, a cluster found running (left by a killed service) is adopted
// and stopped at the end.
//
// The migrations run as the owner of the tables (the local cluster's
// superuser, or PARCOURS_MIGRATE_DATABASE_URL); the service then connects
// as its own role, which may only insert and read the audit log (issue 20).
// ownerURL is the owner's connection, for what needs more (Temporal's own
// databases on PostgreSQL).
func (m *Main) database(ctx context.Context, cfg config.Config, logger *slog.Logger, own bool) (db *postgres.DB, ownerURL string, stop func(), err error) {
	ownerURL, serviceURL := cmp.Or(cfg.MigrateURL, cfg.DatabaseURL), cfg.DatabaseURL
	stopCluster, servicePassword := func() {}, ""
	if cfg.DatabaseURL == "" {
		cluster := &pglocal.Cluster{Dir: filepath.Join(cfg.DataDir, "postgres"), Port: cfg.PGPort, Logger: logger, Adopt: own}
		if ownerURL, err = cluster.Start(ctx); err != nil {
			return nil, "", nil, fmt.Errorf("PostgreSQL local : %w", err)
		}
		stopCluster = func() {
			if err := cluster.Stop(context.Background()); err != nil {
				logger.Error("stop local PostgreSQL", "error", err)
			}
		}
		if servicePassword, err = cluster.ServicePassword(); err == nil {
			serviceURL, err = postgres.WithRole(ownerURL, pglocal.ServiceRole, servicePassword)
		}
		if err != nil {
			stopCluster()
			return nil, "", nil, err
		}
	}
	fail := func(err error) (*postgres.DB, string, func(), error) {
		stopCluster()
		return nil, "", nil, err
	}
	owner, err := postgres.Open(ctx, ownerURL)
	if err != nil {
		return fail(err)
	}
	err = m.prepare(ctx, owner, serviceURL, servicePassword)
	owner.Close()
	if err != nil {
		return fail(err)
	}
	if db, err = postgres.Open(ctx, serviceURL); err != nil {
		return fail(err)
	}
	return db, ownerURL, func() { db.Close(); stopCluster() }, nil
}

// prepare migrates the database as its owner and grants the service's role
// what it needs (creating the role first on the local cluster, when
// password is given). Nothing to grant when the service connects as the
// owner (DATABASE_URL alone).
func (m *Main) prepare(ctx context.Context, owner *postgres.DB, serviceURL, password string) error {
	if err := owner.Migrate(ctx, postgres.LatestVersion()); err != nil {
		return fmt.Errorf("migrations : %w", err)
	}
	ownerRole, err := postgres.RoleOf(owner.Pool.Config().ConnString())
	if err != nil {
		return err
	}
	role, err := postgres.RoleOf(serviceURL)
	if err != nil || role == ownerRole {
		return err
	}
	if password != "" {
		if err := owner.EnsureLoginRole(ctx, role, password); err != nil {
			return err
		}
	}
	return owner.GrantService(ctx, role)
}

// serve runs the service: with http, the API and the worker; without, the
// worker only (for scaling out against an existing Temporal cluster).
func (m *Main) serve(ctx context.Context, withHTTP bool) error {
	cfg, logger, err := m.config()
	if err != nil {
		return err
	}
	if !withHTTP && cfg.Embedded() {
		return &config.Error{Var: "TEMPORAL_ADDRESS", Msg: "parcours worker rejoint un serveur Temporal existant : indiquez son adresse"}
	}
	policy, _ := domain.LookupPolicy(cfg.Policy)
	limit, gc := setMemory(m.Getenv, cfg.MemoryLimitMiB, cfg.GCPercent)
	logger.Info("memory", "limit_mib", limit>>20, "gc_percent", gc)

	// Bind the HTTP address first: a busy port fails before anything starts.
	var ln net.Listener
	if withHTTP {
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return &config.Error{Var: "PARCOURS_ADDR", Msg: err.Error()}
		}
		defer ln.Close()
	}
	var opsLn net.Listener
	if cfg.MetricsAddr != "" {
		if opsLn, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return &config.Error{Var: "PARCOURS_METRICS_ADDR", Msg: err.Error()}
		}
		defer opsLn.Close()
	}

	db, ownerURL, stopDB, err := m.database(ctx, cfg, logger, withHTTP)
	if err != nil {
		return err
	}
	defer stopDB()

	reg := metrics.New(db.Pool, logger)
	address := cfg.TemporalAddress
	if cfg.Embedded() {
		opts := embedded.ServerOptions{
			DataDir: embeddedTemporalDir(cfg), IP: cfg.TemporalIP, Port: cfg.TemporalPort,
			Namespace: cfg.TemporalNamespace, Logger: logger,
			Store: cfg.TemporalStore, Database: cfg.TemporalDatabase, Shards: cfg.TemporalShards,
		}
		if cfg.TemporalStore == config.StorePostgres {
			// The application's server (DATABASE_URL, or the local cluster), Temporal's own databases.
			opts.PostgresURL = ownerURL
		}
		srv, err := embedded.StartServer(opts)
		if err != nil {
			return err
		}
		defer srv.Stop()
		address = srv.Address()
		logger.Info("embedded Temporal server started", "store", cfg.TemporalStore, "shards", srv.Shards())
	}
	to, err := temporalClient(cfg, logger)
	if err != nil {
		return err
	}
	to.Address, to.Metrics = address, reg.Temporal()
	logPayloadEncryption(cfg, logger)
	dialCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	tc, err := temporal.Dial(dialCtx, to)
	cancel()
	if err != nil {
		return err
	}
	defer tc.Close()

	// The worker's activities on a pool of their own: a burst of deadlines
	// does not make the HTTP requests wait for a connection.
	wdb, err := db.Apart(ctx)
	if err != nil {
		return err
	}
	defer wdb.Close()
	w := temporal.NewWorker(tc, wdb, workflows.ParcoursOptions{SyncLocalLimit: cfg.SyncLocalLimit})
	if cfg.SMTPHost != "" {
		// The processes with SMTP own the digests: their schedule and
		// queue (temporal.StartDigests); the others leave them alone.
		d := &activities.Digests{Store: wdb, PublicURL: cfg.PublicURL, Logger: logger, Sender: digest.SMTP{
			Host: cfg.SMTPHost, Port: cfg.SMTPPort, User: cfg.SMTPUser, Password: cfg.SMTPPassword, From: cfg.SMTPFrom}}
		// Digests started on the service's queue before it had its own.
		temporal.RegisterDigest(w, d)
		dw, err := temporal.StartDigests(ctx, tc, d, cfg.DigestHour, workflows.DigestStart{ZoneOffset: cfg.TestCalendarOffset})
		if err != nil {
			return err
		}
		defer dw.Stop()
		logger.Info("staff digests scheduled", "hour", cfg.DigestHour, "smtp", cfg.SMTPHost)
	} else {
		logger.Info("staff digests not sent by this process: SMTP_HOST is not set")
	}
	if err := w.Start(); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	defer w.Stop()

	svc := &app.Service{DB: db, Temporal: tc, Policy: policy, Settings: cfg.Settings(), Logger: logger}
	svc.Caches = app.NewCaches(cfg.IndicatorsCache, cfg.CountsCache)
	go reconcileLoop(ctx, svc, logger)
	go purgeLoop(ctx, db, time.Duration(cfg.AuditRetentionDays)*24*time.Hour, logger)
	if opsLn != nil {
		ops := &http.Server{Handler: opsHandler(reg, svc)}
		httpapi.ServerTimeouts(ops)
		go func() {
			if err := ops.Serve(opsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("metrics listener", "error", err)
			}
		}()
		defer ops.Close()
	}

	if !withHTTP {
		logger.Info("worker started", "temporal", address, "namespace", cfg.TemporalNamespace)
		<-ctx.Done()
		return nil
	}
	uploads := filepath.Join(cfg.DataDir, "imports")
	if err := os.MkdirAll(uploads, 0o700); err != nil {
		return fmt.Errorf("répertoire des imports : %w", err)
	}
	// Imports whose process died are marked interrupted once their lease
	// expires, by whichever serve runs: never another live instance's.
	go importer.SweepLoop(ctx, db, importer.DefaultSweepEvery, logger)
	im := &importer.Importer{Service: svc, Logger: logger, TempDir: uploads, Counted: reg.ImportCounted}
	api := &httpapi.Handler{Service: svc, Logger: logger, Importer: im, Metrics: reg}
	router := api.Routes()
	https := strings.HasPrefix(cfg.PublicURL, "https://")
	site := &web.Handler{Service: svc, Logger: logger, Secure: cfg.CookieSecure || https, Importer: im}
	if cfg.OIDCIssuer != "" {
		site.OIDC = &web.OIDC{Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCClientSecret,
			RedirectURL: cfg.PublicURL + "/connexion/oidc/retour", Label: cfg.OIDCLabel}
	}
	if err := site.Routes(router); err != nil {
		return err
	}
	hs := &http.Server{Handler: httpapi.Protection{HTTPS: https}.Wrap(router)}
	httpapi.ServerTimeouts(hs)
	email, password, created, err := svc.EnsureFirstAdmin(ctx)
	if err != nil {
		return fmt.Errorf("premier administrateur : %w", err)
	}
	if created {
		fmt.Fprintf(m.Stdout, "\nPremier compte administrateur créé (affiché une seule fois) :\n  identifiant  %s\n  mot de passe %s\n"+
			"Ce mot de passe est provisoire : choisissez-en un autre à la première connexion (page « Mon compte »).\n"+
			"Perdu : parcours account reset-password --email %s\n", email, password, email)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	m.banner(cfg, address)
	select {
	case err := <-errc:
		return fmt.Errorf("HTTP: %w", err)
	case <-ctx.Done():
	}
	fmt.Fprintln(m.Stdout, "Arrêt en cours…")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("HTTP shutdown", "error", err)
	}
	return nil
}

// opsHandler serves, on PARCOURS_METRICS_ADDR, what probes and Prometheus
// ask of any process, worker included: /metrics, /healthz and /readyz.
func opsHandler(reg *metrics.Metrics, svc *app.Service) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", reg.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"status":"ok"}`)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "application/json")
		if err := svc.Ready(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "{\"status\":\"unavailable\",\"error\":%q}\n", err.Error())
			return
		}
		fmt.Fprintln(w, `{"status":"ready"}`)
	})
	return mux
}

// reconcileLoop starts, every 30 seconds, the workflows of parcours that
// were written but whose start was interrupted.
func reconcileLoop(ctx context.Context, svc *app.Service, logger *slog.Logger) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		if n, err := svc.Reconcile(ctx, 20*time.Second); err != nil && ctx.Err() == nil {
			logger.Warn("reconcile unstarted parcours", "started", n, "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// purgeLoop deletes, once a day, the audit rows older than the retention.
func purgeLoop(ctx context.Context, db *postgres.DB, retention time.Duration, logger *slog.Logger) {
	t := time.NewTicker(24 * time.Hour)
	defer t.Stop()
	for {
		if n, err := db.PurgeAudit(ctx, retention); err != nil && ctx.Err() == nil {
			logger.Warn("audit log purge", "error", err)
		} else if n > 0 {
			logger.Info("audit log purged", "rows", n, "retention_days", int(retention.Hours()/24))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// temporalClient are the options of every client of the service's
// Temporal: the cluster's address and credentials (TEMPORAL_*), or the
// embedded server's, with its generated client certificate; and the
// payload codec when PARCOURS_PAYLOAD_KEYS is set.
func temporalClient(cfg config.Config, logger *slog.Logger) (temporal.ClientOptions, error) {
	o := temporal.ClientOptions{Address: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace, Logger: logger,
		APIKey: cfg.TemporalAPIKey, TLS: cfg.TemporalTLSOn(),
		CertFile: cfg.TemporalTLSCert, KeyFile: cfg.TemporalTLSKey, CAFile: cfg.TemporalTLSCA, ServerName: cfg.TemporalServerName}
	if cfg.Embedded() {
		o.Address = net.JoinHostPort(cfg.TemporalIP, strconv.Itoa(cfg.TemporalPort))
		creds := temporal.EmbeddedCredentials(embeddedTemporalDir(cfg))
		if _, err := os.Stat(creds.ClientCert()); err != nil {
			return o, fmt.Errorf("certificat client du serveur Temporal embarqué absent (%s) : démarrez d'abord le service (parcours serve), qui le crée", creds.ClientCert())
		}
		o = creds.Client(o)
	}
	if cfg.PayloadEncrypted() {
		codec, err := payloadcodec.New(cfg.PayloadKeys)
		if err != nil {
			return o, &config.Error{Var: "PARCOURS_PAYLOAD_KEYS", Msg: err.Error()}
		}
		o.Codec = codec
	}
	return o, nil
}

// embeddedTemporalDir is the embedded server's data directory.
func embeddedTemporalDir(cfg config.Config) string { return filepath.Join(cfg.DataDir, "temporal") }

// logPayloadEncryption says whether what Temporal stores is encrypted
// (never the keys, their ids only).
func logPayloadEncryption(cfg config.Config, logger *slog.Logger) {
	switch {
	case cfg.PayloadEncrypted():
		ids := make([]string, len(cfg.PayloadKeys))
		for i, k := range cfg.PayloadKeys {
			ids[i] = k.ID
		}
		logger.Info("Temporal payloads encrypted", "encrypting_key", ids[0], "keys", ids)
	case !cfg.Embedded():
		logger.Warn("Temporal payloads NOT encrypted (PARCOURS_PAYLOAD_ENCRYPTION=off): the external Temporal cluster stores them in clear")
	}
}

func (m *Main) banner(cfg config.Config, temporalAddress string) {
	db := "DATABASE_URL"
	if cfg.DatabaseURL == "" {
		db = fmt.Sprintf("PostgreSQL local (127.0.0.1:%d, données dans %s)", cfg.PGPort, filepath.Join(cfg.DataDir, "postgres"))
	}
	tmp := "Temporal " + temporalAddress
	if cfg.Embedded() {
		tmp = fmt.Sprintf("Temporal embarqué (%s, données dans %s)", temporalAddress, filepath.Join(cfg.DataDir, "temporal"))
		if cfg.TemporalStore == config.StorePostgres {
			tmp = fmt.Sprintf("Temporal embarqué (%s, données dans PostgreSQL : bases %s et %s_visibility)", temporalAddress, cfg.TemporalDatabase, cfg.TemporalDatabase)
		}
	}
	fmt.Fprintf(m.Stdout, `
parcours est prêt : http://%s  (interface web : connexion avec un compte)
  API           http://%s/api/v1  (santé : /healthz, disponibilité : /readyz)
  Base          %s
  Moteur        %s
  Règle         %s
Comptes : ./bin/parcours account create --email … --name … --role referent --referent ID
Jeton d'accès à l'API : dans un autre terminal,
  ./bin/parcours token create --name "mon nom" --role admin
puis : curl -H "Authorization: Bearer <jeton>" http://%s/api/v1/tasks
Ctrl-C arrête tout proprement ; les données restent dans %s.
`, cfg.Addr, cfg.Addr, db, tmp, cfg.Policy, cfg.Addr, cfg.DataDir)
}

func (m *Main) migrate(ctx context.Context) error {
	cfg, logger, err := m.config()
	if err != nil {
		return err
	}
	db, _, stop, err := m.database(ctx, cfg, logger, false)
	if err != nil {
		return err
	}
	defer stop()
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Base à jour (migration %03d).\n", v)
	return nil
}

// setMemory sets the Go runtime's soft memory limit to mib MiB, unless
// GOMEMLIMIT set one (the runtime read it at start) or mib is 0, and the
// collector's target to gcPercent, unless GOGC set one. It returns the
// limit in force (bytes, 0 for none) and the target in force (-1: off).
func setMemory(getenv func(string) string, mib, gcPercent int) (limit int64, gc int) {
	if getenv("GOMEMLIMIT") == "" && mib > 0 {
		debug.SetMemoryLimit(int64(mib) << 20)
	}
	if getenv("GOGC") == "" && gcPercent > 0 {
		debug.SetGCPercent(gcPercent)
	}
	gc = debug.SetGCPercent(-1)
	debug.SetGCPercent(gc)
	if limit = debug.SetMemoryLimit(-1); limit == math.MaxInt64 {
		limit = 0
	}
	return limit, gc
}
