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
	cfg, logger, err := m.config()
	if err != nil {
		return err
	}
	db, stop, err := m.database(ctx, cfg, logger, false)
	if err != nil {
		return err
	}
	defer stop()
	svc, closeTemporal, err := liveService(ctx, cfg, db, logger)
	if err != nil {
		return err
	}
	defer closeTemporal()
	actor := domain.Actor{ID: "cli:" + currentUser(), Name: "parcours stock", Role: domain.RoleDepartment}
	var seen, added, refused int
	after := ""
	for {
		page, err := db.StockCandidates(ctx, after, 500)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			break
		}
		for _, c := range page {
			after = c.ID
			seen++
			changed, err := svc.MarkStock(ctx, actor, c.ID, c.Marked)
			switch code := domain.ErrorCode(err); {
			case err == nil && changed:
				added++
			case err == nil:
			case code == domain.ECONFLICT || code == domain.EINVALID || code == domain.ENOTFOUND:
				refused++
				fmt.Fprintf(m.Stderr, "parcours %s : %s\n", c.ID, domain.ErrorMessage(err))
			default:
				return fmt.Errorf("parcours %s : %w", c.ID, err)
			}
			if seen%100 == 0 {
				fmt.Fprintf(m.Stderr, "%d parcours vus, %d délais ajoutés…\n", seen, added)
			}
		}
	}
	due := domain.StockDeadlineFor(cfg.Overseas).DueOn
	fmt.Fprintf(m.Stdout, "Délai du stock (contrat dû le %s) : %d parcours ouverts concernés, %d délais ajoutés, %d déjà en place, %d refusés.\n",
		due.French(), seen, added, seen-added-refused, refused)
	return nil
}

// liveService is a service on the database and the running Temporal
// server, for the commands that change parcours (import, stock).
func liveService(ctx context.Context, cfg config.Config, db *postgres.DB, logger *slog.Logger) (*app.Service, func(), error) {
	address := cfg.TemporalAddress
	if cfg.Embedded() {
		address = fmt.Sprintf("127.0.0.1:%d", cfg.TemporalPort)
	}
	dialCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	tc, err := temporal.Dial(dialCtx, temporal.ClientOptions{
		Address: address, Namespace: cfg.TemporalNamespace, APIKey: cfg.TemporalAPIKey, TLS: cfg.TemporalTLSOn(), Logger: logger,
		CertFile: cfg.TemporalTLSCert, KeyFile: cfg.TemporalTLSKey, CAFile: cfg.TemporalTLSCA, ServerName: cfg.TemporalServerName,
	})
	cancel()
	if err != nil {
		return nil, nil, fmt.Errorf("le serveur Temporal (%s) ne répond pas : démarrez d'abord le service (make run) : %w", address, err)
	}
	policy, _ := domain.LookupPolicy(cfg.Policy)
	return &app.Service{DB: db, Temporal: tc, Policy: policy, Settings: cfg.Settings(), Logger: logger}, tc.Close, nil
}
