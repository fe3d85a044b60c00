package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/importer"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

const importUsage = "usage : parcours import [--dry-run] [--format flux|csv|xlsx] [--feuille NOM] [--correspondance FICHIER.json] [--workers N] [--received AAAA-MM-JJ] [--rejets FICHIER.csv] FICHIER"

// mappingHint names, after a refusal for missing columns, how to map them.
const mappingHint = "Donnez les intitulés de vos colonnes : option --correspondance FICHIER.json (pour chaque champ, la liste des intitulés, par exemple {\"last_name\": [\"Nom d'usage\"], ...}), ou page Imports › Correspondance des colonnes."

// importFile imports a CAF/MSA flux or a CSV list into the running service
// (its PostgreSQL and Temporal server), with a progress bar on a terminal
// and a summary at the end.
func (m *Main) importFile(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.String("format", "", "flux, csv ou xlsx (par défaut : d'après le contenu)")
	dryRun := fs.Bool("dry-run", false, "prévisualise l'import sans rien écrire")
	sheet := fs.String("feuille", "", "feuille du classeur à lire (par défaut : la première)")
	mappingFile := fs.String("correspondance", "", "correspondance des colonnes (JSON) pour cet import")
	workers := fs.Int("workers", 8, "personnes traitées en parallèle")
	received := fs.String("received", "", "date de réception d'une liste CSV (par défaut : aujourd'hui)")
	rejects := fs.String("rejets", "", "écrit les lignes rejetées dans ce fichier CSV")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		return errors.New(importUsage)
	}
	path := fs.Arg(0)
	if st, err := os.Stat(path); err != nil {
		return fmt.Errorf("fichier %s : %w", path, err)
	} else if st.IsDir() {
		return fmt.Errorf("%s est un répertoire", path)
	}
	opt := importer.Options{Format: *format, Workers: *workers, Sheet: *sheet}
	if *mappingFile != "" {
		data, err := os.ReadFile(*mappingFile)
		if err != nil {
			return fmt.Errorf("--correspondance : %w", err)
		}
		var mp importer.Mapping
		if err := json.Unmarshal(data, &mp); err != nil {
			return fmt.Errorf("--correspondance : JSON illisible : %v", err)
		}
		if err := mp.Validate(); err != nil {
			return fmt.Errorf("--correspondance : %s", domain.ErrorMessage(err))
		}
		opt.Mapping = mp
	}
	if *received != "" {
		d, err := domain.ParseDate(*received)
		if err != nil {
			return fmt.Errorf("--received : %v", err)
		}
		opt.Received = d
	}
	cfg, logger, err := m.config()
	if err != nil {
		return err
	}
	db, _, stop, err := m.database(ctx, cfg, logger, false)
	if err != nil {
		return err
	}
	defer stop()
	actor := domain.Actor{ID: "cli:" + currentUser(), Name: "parcours import", Role: domain.RoleDepartment}
	if *dryRun {
		policy, _ := domain.LookupPolicy(cfg.Policy)
		im := &importer.Importer{Service: &app.Service{DB: db, Policy: policy, Settings: cfg.Settings(), Logger: logger}}
		pv, err := im.Preview(ctx, actor, importer.FileSource(filepath.Base(path), path), opt)
		if err != nil {
			if _, ok := pv.Info["missing_columns"]; ok {
				return fmt.Errorf("%s\n%s", domain.ErrorMessage(err), mappingHint)
			}
			return err
		}
		printPreview(m.Stdout, pv)
		return nil
	}
	svc, closeTemporal, err := liveService(ctx, cfg, db, logger)
	if err != nil {
		return err
	}
	defer closeTemporal()
	im := &importer.Importer{Service: svc}

	bar := newProgressBar(m.Stderr)
	opt.Progress = bar.show
	fmt.Fprintf(m.Stderr, "Vérification de %s…\n", filepath.Base(path))
	run, err := im.Run(ctx, actor, importer.FileSource(filepath.Base(path), path), opt)
	bar.done()
	if run.ID == "" {
		return err
	}
	printSummary(m.Stdout, run)
	if run.Status == "refused" && run.Info["missing_columns"] != nil {
		fmt.Fprintf(m.Stdout, "  %s\n", mappingHint)
	}
	if run.Rejected > 0 || infoCount(run.Info["warned"]) > 0 {
		list, lerr := db.ImportRejects(context.WithoutCancel(ctx), run.ID)
		if lerr != nil {
			return errors.Join(err, lerr)
		}
		if *rejects != "" {
			f, ferr := os.Create(*rejects)
			if ferr != nil {
				return errors.Join(err, ferr)
			}
			werr := importer.WriteRejects(f, list)
			if cerr := f.Close(); werr == nil {
				werr = cerr
			}
			if werr != nil {
				return errors.Join(err, werr)
			}
			fmt.Fprintf(m.Stdout, "Lignes rejetées écrites dans %s.\n", *rejects)
		} else {
			fmt.Fprintln(m.Stdout, "Lignes rejetées et avertissements :")
			printReport(m.Stdout, list, 20)
		}
	}
	return err
}

// printReport prints at most n report lines, their kind said.
func printReport(w io.Writer, list []postgres.ImportReject, n int) {
	for i, r := range list {
		if i == n {
			fmt.Fprintf(w, "  … et %d autres (option --rejets FICHIER.csv pour la liste entière)\n", len(list)-n)
			break
		}
		fmt.Fprintf(w, "  ligne %d (%s) : %s\n", r.Line, importer.ReportKindFrench(r.Kind), r.Reason)
	}
}

func infoCount(v any) int {
	if f, ok := v.(float64); ok {
		return int(f)
	}
	if n, ok := v.(int); ok {
		return n
	}
	return 0
}

// printPreview prints what an import would do.
func printPreview(w io.Writer, pv importer.Preview) {
	fmt.Fprintf(w, "Prévisualisation de %s : rien n'a été écrit.\n", pv.FileName)
	if warn, ok := pv.Info["warning"].(string); ok {
		fmt.Fprintf(w, "  Attention : %s\n", warn)
	}
	fmt.Fprintf(w, "  %d lignes · %d rejetées · %d avec avertissement · %d ignorées (non soumis aux droits et devoirs ou droit clos)\n",
		pv.Total, pv.Rejected, pv.Warned, pv.Ignored)
	fmt.Fprintln(w, "Parcours après l'import :")
	for _, c := range pv.Counts {
		fmt.Fprintf(w, "  %s : %d\n", c.Label, c.Count)
	}
	fmt.Fprintf(w, "  dont en retard : %d · orientation confiée à France Travail : %d · contrat dû au %s (accompagnés au 01/01/2025) : %d\n", pv.Overdue, pv.HandedOver, pv.StockDue.French(), pv.Stock)
	if len(pv.Samples) > 0 {
		fmt.Fprintln(w, "Premières lignes de chaque état :")
		for _, s := range pv.Samples {
			fmt.Fprintf(w, "  ligne %d : %s %s → %s\n", s.Line, s.LastName, s.FirstName, s.Label)
		}
	}
	if len(pv.Report) > 0 {
		fmt.Fprintln(w, "Lignes rejetées et avertissements :")
		printReport(w, pv.Report, len(pv.Report))
	}
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "inconnu"
}

func printSummary(w io.Writer, r postgres.ImportRun) {
	status := map[string]string{"done": "terminé", "refused": "refusé", "failed": "interrompu", "running": "en cours"}[r.Status]
	fmt.Fprintf(w, "Import %s (%s) : %s\n", r.ID, r.FileName, status)
	if r.Message != "" {
		fmt.Fprintf(w, "  %s\n", r.Message)
	}
	if r.Status == "refused" {
		return
	}
	if warn, ok := r.Info["warning"].(string); ok {
		fmt.Fprintf(w, "  Attention : %s\n", warn)
	}
	fmt.Fprintf(w, "  %d lus · %d créés · %d mis à jour · %d inchangés · %d ignorés (non soumis aux droits et devoirs) · %d rejetés · %d avec avertissement\n",
		r.Processed, r.Created, r.Updated, r.Unchanged, r.Ignored, r.Rejected, infoCount(r.Info["warned"]))
	for _, note := range importer.IdentityNotes(r) {
		fmt.Fprintf(w, "  %s\n", note)
	}
	if r.FinishedAt != nil {
		d := r.FinishedAt.Sub(r.StartedAt)
		fmt.Fprintf(w, "  durée %s", d.Round(100*time.Millisecond))
		if s := d.Seconds(); s > 0 {
			fmt.Fprintf(w, " (%.0f personnes/s)", float64(r.Processed)/s)
		}
		fmt.Fprintln(w)
	}
}

// progressBar draws on a terminal, and prints a line every 10 % elsewhere.
type progressBar struct {
	w        io.Writer
	terminal bool
	started  time.Time
	lastPct  int
	drawn    bool
}

func newProgressBar(w io.Writer) *progressBar {
	b := &progressBar{w: w, started: time.Now(), lastPct: -1}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			b.terminal = true
		}
	}
	return b
}

func (b *progressBar) show(r postgres.ImportRun) {
	if r.Total == 0 {
		return
	}
	pct := r.Processed * 100 / r.Total
	rate := float64(r.Processed) / max(time.Since(b.started).Seconds(), 0.001)
	if b.terminal {
		const width = 30
		fill := pct * width / 100
		fmt.Fprintf(b.w, "\r[%s%s] %3d %% %d/%d · %.0f/s · %d rejetés ", strings.Repeat("#", fill), strings.Repeat(" ", width-fill),
			pct, r.Processed, r.Total, rate, r.Rejected)
		b.drawn = true
		return
	}
	if pct/10 != b.lastPct/10 {
		b.lastPct = pct
		fmt.Fprintf(b.w, "%d %% (%d/%d, %.0f/s)\n", pct, r.Processed, r.Total, rate)
	}
}

func (b *progressBar) done() {
	if b.drawn {
		fmt.Fprintln(b.w)
	}
}
