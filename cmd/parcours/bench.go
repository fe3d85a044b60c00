package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/parcours-rsa/parcours/internal/bench"
	"github.com/parcours-rsa/parcours/internal/config"
	"github.com/parcours-rsa/parcours/internal/temporal/embedded"
)

const benchUsage = "usage : parcours bench [--scale small|large] [--dir DIR] [--port N] [--workers N] [--results DIR] [--profile DIR] [--temporal-store sqlite|postgres] [--temporal-shards N]"

// bench measures the service on this machine (make bench).
func (m *Main) bench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	scale := fs.String("scale", m.Getenv("BENCH_SCALE"), "small (10 000 personnes) ou large (100 000)")
	dir := fs.String("dir", "/tmp/parcours-bench", "répertoire de travail (PostgreSQL, Temporal, fichiers)")
	port := fs.Int("port", 54369, "port du PostgreSQL du banc d'essai")
	workers := fs.Int("workers", 16, "personnes importées en parallèle")
	results := fs.String("results", "bench/results", "où écrire le résultat JSON")
	// For short trial runs; make bench uses neither.
	n := fs.Int("n", 0, "personnes importées au lieu de celles de l'échelle (essais)")
	burst := fs.Int("burst", 0, "échéances de la rafale (défaut : min(n, 10 000))")
	profile := fs.String("profile", "", "répertoire des profils CPU et mémoire de l'import et de la rafale (pprof)")
	lead := fs.Duration("lead", 0, "avance entre la fin prévue de l'import de la rafale et ses échéances (défaut 1 min)")
	updates := fs.Int("updates", 0, "mises à jour de chaque parcours de la seconde rafale avant son échéance (défaut 6, négatif : pas de seconde rafale)")
	store := fs.String("temporal-store", "", "stockage du serveur Temporal embarqué : sqlite (défaut) ou postgres")
	shards := fs.Int("temporal-shards", 0, "partitions d'historique (history shards) du serveur Temporal embarqué")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return errors.New(benchUsage)
	}
	if (*scale != "" && *scale != "small" && *scale != "large") || (*store != "" && *store != embedded.StoreSQLite && *store != embedded.StorePostgres) {
		return errors.New(benchUsage)
	}
	mib, err := config.MemoryLimitMiB(m.Getenv)
	if err != nil {
		return err
	}
	gcPercent, err := config.GCPercent(m.Getenv)
	if err != nil {
		return err
	}
	// The memory settings of parcours serve: the RSS measured is serve's.
	limit, gc := setMemory(m.Getenv, mib, gcPercent)
	logger := slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	_, err = bench.Run(ctx, bench.Options{Scale: *scale, Dir: abs, Port: *port, ResultsDir: *results, Workers: *workers,
		Commit: commit(), Logger: logger, Out: m.Stdout, N: *n, Burst: *burst, Lead: *lead, Updates: *updates, ProfileDir: *profile,
		TemporalStore: *store, TemporalShards: *shards, MemoryLimit: limit, GCPercent: gc})
	return err
}

// commit is the revision the binary was built from, "+dirty" when the
// tree had changes.
func commit() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if rev != "" {
			return rev + dirty
		}
	}
	if out, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
		return strings.TrimSpace(string(out))
	}
	return "unknown"
}
