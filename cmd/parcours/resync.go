package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/workflows"
)

const resyncUsage = `Usage :
  parcours resync ID…                 réécrit dans la base l'état que le workflow de chaque parcours tient
  parcours resync --all               tous les parcours (par pages), après une restauration de la base
                                      ou une réinitialisation de workflows
Options :
  --concurrence N                     parcours resynchronisés en même temps (défaut 8)
  --delai 2m                          attente maximale de chaque parcours
Voir docs/resync.md : ce qu'une resynchronisation rétablit, et ce qu'elle ne peut rétablir.
`

// resyncPage is how many parcours ids --all reads per keyset page.
const resyncPage = 500

// resync sends the resync update to parcours given by id, or to all of
// them (docs/resync.md), a bounded number at once, with progress on
// stderr and one French line per parcours that could not be resynced.
func (m *Main) resync(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("parcours resync", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() { fmt.Fprint(m.Stderr, resyncUsage) }
	all := fs.Bool("all", false, "tous les parcours")
	fs.BoolVar(all, "tout", false, "tous les parcours (= --all)")
	workers := fs.Int("concurrence", 8, "parcours resynchronisés en même temps")
	fs.IntVar(workers, "concurrency", 8, "= --concurrence")
	patience := fs.Duration("delai", 2*time.Minute, "attente maximale de chaque parcours")
	// Options may come before, between or after the ids.
	var ids []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		ids, rest = append(ids, fs.Arg(0)), fs.Args()[1:]
	}
	switch {
	case *all == (len(ids) > 0):
		fmt.Fprint(m.Stderr, resyncUsage)
		return fmt.Errorf("parcours resync : indiquez soit --all, soit des identifiants de parcours")
	case *workers < 1 || *workers > 64:
		return fmt.Errorf("parcours resync : --concurrence doit être entre 1 et 64")
	}
	for _, id := range ids {
		if _, err := uuid.Parse(id); err != nil {
			return fmt.Errorf("parcours resync : « %s » n'est pas un identifiant de parcours", id)
		}
	}
	_, svc, closeAll, err := m.connect(ctx)
	if err != nil {
		return err
	}
	defer closeAll()
	total := len(ids)
	if *all {
		if total, err = svc.DB.ResyncCount(ctx); err != nil {
			return fmt.Errorf("compter les parcours : %w", err)
		}
	}
	// The epoch: the database's instant, above every epoch given before
	// (workflows.ResyncRequest), whatever this machine's clock says.
	epoch, err := svc.DB.NextEpoch(ctx)
	if err != nil {
		return fmt.Errorf("lire l'époque de la resynchronisation : %w", err)
	}
	actor := domain.Actor{ID: "cli:" + currentUser(), Name: "parcours resync", Role: domain.RoleAdmin}
	p := newResyncProgress(m.Stderr, total)
	p.named = !*all

	todo := make(chan string)
	var wg sync.WaitGroup
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range todo {
				octx, cancel := context.WithTimeout(ctx, *patience)
				rep, err := svc.Resync(octx, actor, id, epoch)
				cancel()
				p.done(id, rep, err)
			}
		}()
	}
	var walkErr error
	if *all {
		walkErr = walkParcours(ctx, svc, todo)
	} else {
		for _, id := range ids {
			todo <- id
		}
	}
	close(todo)
	wg.Wait()
	p.summary(m.Stdout)
	switch {
	case walkErr != nil:
		return fmt.Errorf("lire les parcours : %w", walkErr)
	case p.failed > 0:
		return fmt.Errorf("%d parcours non resynchronisé(s) : voir les messages ci-dessus, puis relancez parcours resync avec leurs identifiants", p.failed)
	}
	return nil
}

// walkParcours sends every parcours id to todo, by keyset pages.
func walkParcours(ctx context.Context, svc *app.Service, todo chan<- string) error {
	after := ""
	for {
		page, err := svc.DB.ResyncPage(ctx, after, resyncPage)
		if err != nil {
			return err
		}
		for _, id := range page {
			select {
			case todo <- id:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if len(page) < resyncPage {
			return nil
		}
		after = page[len(page)-1]
	}
}

// resyncProgress counts and reports, from several goroutines.
type resyncProgress struct {
	mu                            sync.Mutex
	w                             io.Writer
	total, seen, ok, ended, cases int
	failed                        int
	named                         bool // ids given one by one: say which have no workflow
	start, last                   time.Time
}

func newResyncProgress(w io.Writer, total int) *resyncProgress {
	now := time.Now()
	return &resyncProgress{w: w, total: total, start: now, last: now}
}

func (p *resyncProgress) done(id string, rep app.ResyncReport, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen++
	switch {
	case errors.Is(err, app.ErrNoWorkflow):
		p.ended++
		if p.named {
			fmt.Fprintf(p.w, "parcours %s : aucun workflow en cours (parcours terminé, arrêté ou jamais démarré) : la base garde ce qu'il a écrit\n", id)
		}
	case err != nil:
		p.failed++
		fmt.Fprintf(p.w, "parcours %s : non resynchronisé : %v\n", id, err)
	default:
		p.ok++
		p.cases += rep.Cases
	}
	if now := time.Now(); now.Sub(p.last) >= time.Second || p.seen == p.total {
		p.last = now
		rate := float64(p.seen) / max(now.Sub(p.start).Seconds(), 0.001)
		fmt.Fprintf(p.w, "resync : %d / %d parcours (%.1f/s), %d en échec\n", p.seen, p.total, rate, p.failed)
	}
}

func (p *resyncProgress) summary(w io.Writer) {
	fmt.Fprintf(w, "Resynchronisation : %d parcours réécrits (et %d dossiers de sanction en cours), %d sans workflow en cours (terminés : la base garde ce qu'ils ont écrit), %d en échec, en %s.\n",
		p.ok, p.cases, p.ended, p.failed, time.Since(p.start).Round(time.Second))
}

// resyncAfterReset resyncs a parcours whose workflow was just reset: the
// reset run's state may be older than the read model, whose version guard
// would refuse its writes; the resync's epoch makes them win
// (docs/resync.md). Other workflows (a case, the digests) are left as they
// are, with a hint.
func (m *Main) resyncAfterReset(ctx context.Context, svc *app.Service, workflowID string) error {
	id, ok := workflows.ParcoursIDOf(workflowID)
	if !ok {
		fmt.Fprintf(m.Stdout, "Pensez à resynchroniser le parcours de ce workflow : parcours resync ID-DU-PARCOURS.\n")
		return nil
	}
	actor := domain.Actor{ID: "cli:" + currentUser(), Name: "parcours admin", Role: domain.RoleAdmin}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	epoch, err := svc.DB.NextEpoch(rctx)
	if err == nil {
		_, err = svc.Resync(rctx, actor, id, epoch)
	}
	if err != nil {
		return fmt.Errorf("workflow réinitialisé, mais la base n'a pas pu être réécrite : lancez parcours resync %s : %w", id, err)
	}
	fmt.Fprintf(m.Stdout, "Parcours %s resynchronisé : la base reflète la nouvelle exécution.\n", id)
	return nil
}
