// Package testenv starts, for a test binary, what the service runs on: an
// embedded Temporal server, a fresh PostgreSQL database, a worker and the
// app.Service. Tests of the HTTP API and of the web pages share it.
package testenv

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/metrics"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
	"github.com/parcours-rsa/parcours/internal/temporal"
	"github.com/parcours-rsa/parcours/internal/temporal/embedded"
	"github.com/parcours-rsa/parcours/workflows"
)

// Env is a running test environment.
type Env struct {
	DB       *postgres.DB
	Temporal client.Client
	Service  *app.Service
	Logger   *slog.Logger
	Metrics  *metrics.Metrics // the Temporal client's metrics and the task counts
	stops    []func()
}

// Start starts everything; dynamic overrides the Temporal server's dynamic
// configuration. Close stops it all.
func Start(dynamic map[string]any) (*Env, error) {
	e := &Env{Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))}
	ok := false
	defer func() {
		if !ok {
			e.Close()
		}
	}()
	ctx := context.Background()
	admin := os.Getenv(pgtest.EnvURL)
	if admin == "" {
		return nil, fmt.Errorf("%s is not set: run the tests with `make test`", pgtest.EnvURL)
	}
	url, drop, err := pgtest.Create(ctx, admin)
	if err != nil {
		return nil, err
	}
	e.stops = append(e.stops, drop)
	if e.DB, err = postgres.Open(ctx, url); err != nil {
		return nil, err
	}
	e.stops = append(e.stops, e.DB.Close)
	e.Metrics = metrics.New(e.DB.Pool, e.Logger)
	dir, err := os.MkdirTemp("", "parcours-testenv-")
	if err != nil {
		return nil, err
	}
	e.stops = append(e.stops, func() { _ = os.RemoveAll(dir) })
	port, err := temporal.FreePort()
	if err != nil {
		return nil, err
	}
	srv, err := embedded.StartServer(embedded.ServerOptions{DataDir: dir, Port: port, Logger: e.Logger, LogLevel: slog.LevelError, Dynamic: dynamic})
	if err != nil {
		return nil, err
	}
	e.stops = append(e.stops, srv.Stop)
	dialCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if e.Temporal, err = temporal.Dial(dialCtx, srv.Client(temporal.ClientOptions{Address: srv.Address(), Namespace: "default", Logger: e.Logger, Metrics: e.Metrics.Temporal()})); err != nil {
		return nil, err
	}
	e.stops = append(e.stops, e.Temporal.Close)
	w := temporal.NewWorker(e.Temporal, e.DB, workflows.ParcoursOptions{})
	if err := w.Start(); err != nil {
		return nil, err
	}
	e.stops = append(e.stops, w.Stop)
	e.Service = &app.Service{DB: e.DB, Temporal: e.Temporal, Policy: domain.PolicyDepartement, Logger: e.Logger}
	ok = true
	return e, nil
}

// Close stops everything, last started first.
func (e *Env) Close() {
	for i := len(e.stops) - 1; i >= 0; i-- {
		e.stops[i]()
	}
}

// Main is a test binary's TestMain body: it starts an Env (dynamic as for
// Start), hands it to setup, runs the tests and closes it; the result is
// the exit code.
func Main(m interface{ Run() int }, dynamic map[string]any, setup func(*Env) error) int {
	env, err := Start(dynamic)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer env.Close()
	if err := setup(env); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}
