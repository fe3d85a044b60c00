package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/parcours-rsa/parcours/internal/config"
	"github.com/parcours-rsa/parcours/internal/httpapi"
	"github.com/parcours-rsa/parcours/internal/temporal"
	"github.com/parcours-rsa/parcours/internal/temporal/embedded"
)

// temporalServer runs the embedded Temporal server alone, as its own
// process (`parcours temporal`): the same server, store and mutual TLS as
// serve's, which `parcours serve` ×N and `parcours worker` ×M join with
// TEMPORAL_ADDRESS and the client certificate it made. It prints where it
// listens and what its clients need, then runs until SIGTERM or Ctrl-C.
// TEMPORAL_ADDRESS is ignored: the processes sharing one environment file
// set it to this server.
func (m *Main) temporalServer(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("parcours temporal ne prend pas d'argument (configuration : PARCOURS_DATA_DIR, PARCOURS_TEMPORAL_*, voir docs/engine-operations.md)")
	}
	cfg, logger, err := m.configFrom(func(k string) string {
		if k == "TEMPORAL_ADDRESS" {
			return ""
		}
		return m.Getenv(k)
	})
	if err != nil {
		return err
	}
	opts := embedded.ServerOptions{
		DataDir: embeddedTemporalDir(cfg), IP: cfg.TemporalIP, Port: cfg.TemporalPort,
		Namespace: cfg.TemporalNamespace, Logger: logger,
		Store: cfg.TemporalStore, Database: cfg.TemporalDatabase, Shards: cfg.TemporalShards,
	}
	if cfg.TemporalStore == config.StorePostgres {
		// Temporal's own databases on the server of the owner's URL; this
		// process starts no local cluster and runs no migration of the
		// application's database.
		if opts.PostgresURL = cmp.Or(cfg.MigrateURL, cfg.DatabaseURL); opts.PostgresURL == "" {
			return &config.Error{Var: "PARCOURS_TEMPORAL_STORE", Msg: "postgres avec parcours temporal : indiquez le serveur PostgreSQL (DATABASE_URL ou PARCOURS_MIGRATE_DATABASE_URL)"}
		}
	}
	srv, err := embedded.StartServer(opts)
	if err != nil {
		return err
	}
	defer srv.Stop()
	// Ready once a client with the generated certificate is served.
	to, err := temporalClient(cfg, logger)
	if err != nil {
		return err
	}
	to.Codec = nil // nothing is sent: no payload key needed here
	dialCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	tc, err := temporal.Dial(dialCtx, to)
	cancel()
	if err != nil {
		return fmt.Errorf("le serveur Temporal démarré ne répond pas : %w", err)
	}
	defer tc.Close()
	if cfg.MetricsAddr != "" {
		// Probes: /healthz while the process runs, /readyz while its
		// frontend answers (parcours healthcheck asks /healthz here).
		ln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return &config.Error{Var: "PARCOURS_METRICS_ADDR", Msg: err.Error()}
		}
		mux := http.NewServeMux()
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintln(w, `{"status":"ok"}`)
		})
		mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
			defer cancel()
			w.Header().Set("Content-Type", "application/json")
			if _, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintln(w, `{"status":"unavailable","error":"Temporal ne répond pas."}`)
				return
			}
			fmt.Fprintln(w, `{"status":"ready"}`)
		})
		probes := &http.Server{Handler: mux}
		httpapi.ServerTimeouts(probes)
		go func() {
			if err := probes.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("probes listener", "error", err)
			}
		}()
		defer probes.Close()
	}
	logger.Info("standalone Temporal server started", "address", srv.Address(), "store", cfg.TemporalStore, "shards", srv.Shards())
	creds := temporal.EmbeddedCredentials(opts.DataDir)
	where := "données dans " + opts.DataDir
	if cfg.TemporalStore == config.StorePostgres {
		where = fmt.Sprintf("données dans PostgreSQL : bases %s et %s_visibility", cfg.TemporalDatabase, cfg.TemporalDatabase)
	}
	fmt.Fprintf(m.Stdout, `Serveur Temporal prêt : %s (espace de noms %s, %d shards d'historique, %s)
Les processus parcours serve et parcours worker le rejoignent avec (et la même PARCOURS_PAYLOAD_KEYS) :
TEMPORAL_ADDRESS=%s
TEMPORAL_NAMESPACE=%s
TEMPORAL_TLS_CERT=%s
TEMPORAL_TLS_KEY=%s
TEMPORAL_TLS_CA=%s
TEMPORAL_TLS_SERVER_NAME=%s
SIGTERM ou Ctrl-C l'arrête proprement.
`, srv.Address(), cfg.TemporalNamespace, srv.Shards(), where,
		srv.Address(), cfg.TemporalNamespace, creds.ClientCert(), creds.ClientKey(), creds.CA(), temporal.CredentialsServerName)
	<-ctx.Done()
	fmt.Fprintln(m.Stdout, "Arrêt du serveur Temporal…")
	return nil
}
