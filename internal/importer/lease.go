package importer

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/parcours-rsa/parcours/internal/postgres"
)

// owner names this process in the imports it runs.
var owner = func() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}()

// DefaultSweepEvery: with postgres.DefaultImportLease (30 s), an import
// whose process died is marked interrupted within 40 s.
const DefaultSweepEvery = 10 * time.Second

// SweepLoop marks, every interval, the imports whose lease expired (their
// process died: see postgres.SweepImports), until ctx ends. Every serve
// runs it; an import of a live process is never marked, whichever serve
// runs it.
func SweepLoop(ctx context.Context, db *postgres.DB, every time.Duration, logger *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := db.SweepImports(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Warn("import sweeper", "error", err)
		case n > 0:
			logger.Warn("imports interrupted: their process stopped", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
