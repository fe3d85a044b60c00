package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/config"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/internal/temporal"
)

// stock sends mark_stock to every open parcours entered before 1 January
// 2025 (or marked so by a reprise file) without a contract signed since:
// the parcours started before this version get the stock contract deadline
// (décret 2024-1244). Those that have it already do not change: running it
// again is harmless.
func (m *Main) stock(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("usage : parcours stock")
	}
	cfg, svc, closeAll, err := m.connect(ctx)
	if err != nil {
		return err
	}
	defer closeAll()
	actor := domain.Actor{ID: "cli:" + currentUser(), Name: "parcours stock", Role: domain.RoleDepartment}
	rep, err := svc.MarkStockAll(ctx, actor, func(r app.StockReport) {
		fmt.Fprintf(m.Stderr, "%d parcours vus, %d délais ajoutés…\n", r.Seen, r.Added)
	})
	for _, line := range rep.Refusals {
		fmt.Fprintln(m.Stderr, line)
	}
	due := domain.StockDeadlineFor(cfg.Overseas).DueOn
	fmt.Fprintf(m.Stdout, "Délai du stock (contrat dû le %s) : %d parcours ouverts concernés, %d délais ajoutés, %d déjà en place, %d refusés.\n",
		due.French(), rep.Seen, rep.Added, rep.Seen-rep.Added-rep.Refused, rep.Refused)
	return err
}

// liveService is a service on the database and the running Temporal
// server, for the commands that change parcours (import, stock).
// connect is what the commands that act on the running service need: the
// configuration, the database and a Service joined to Temporal; close
// ends both.
func (m *Main) connect(ctx context.Context) (config.Config, *app.Service, func(), error) {
	cfg, logger, err := m.config()
	if err != nil {
		return cfg, nil, nil, err
	}
	db, _, stop, err := m.database(ctx, cfg, logger, false)
	if err != nil {
		return cfg, nil, nil, err
	}
	svc, closeTemporal, err := liveService(ctx, cfg, db, logger)
	if err != nil {
		stop()
		return cfg, nil, nil, err
	}
	return cfg, svc, func() { closeTemporal(); stop() }, nil
}

func liveService(ctx context.Context, cfg config.Config, db *postgres.DB, logger *slog.Logger) (*app.Service, func(), error) {
	o, err := temporalClient(cfg, logger)
	if err != nil {
		return nil, nil, err
	}
	dialCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	tc, err := temporal.Dial(dialCtx, o)
	cancel()
	if err != nil {
		return nil, nil, fmt.Errorf("le serveur Temporal (%s) ne répond pas : démarrez d'abord le service (make run) : %w", o.Address, err)
	}
	policy, _ := domain.LookupPolicy(cfg.Policy)
	return &app.Service{DB: db, Temporal: tc, Policy: policy, Settings: cfg.Settings(), Logger: logger}, tc.Close, nil
}
