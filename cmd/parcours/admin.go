package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/internal/temporal"
)

const adminUsage = `Usage :
  parcours admin workflow ID          l'état du workflow d'un parcours (ID du parcours, ou parcours-…, review-…) :
                                      statut, historique, tâche en attente, activités qui échouent
  parcours admin bloques [--depuis 10m] [--tout]
                                      les workflows en échec répété (marqués par le serveur) ; avec --tout,
                                      tous les workflows en cours, un par un, dont la tâche attend depuis --depuis
  parcours admin reinitialiser ID --raison TEXTE [--evenement N]
                                      nouvelle exécution depuis la dernière tâche terminée (ou l'événement N),
                                      signaux et mises à jour reçus depuis rejoués ; puis le parcours est
                                      resynchronisé (parcours resync ID, docs/resync.md)
  parcours admin arreter ID --raison TEXTE --confirmer
                                      arrête le workflow (ses délais ne tombent plus) : préférez reinitialiser
  parcours admin regles --raison TEXTE
                                      après le déploiement d'une nouvelle règle de délais, réveille tous les
                                      parcours en cours pour qu'ils l'appliquent (docs/rule-changes.md)
`

// admin runs the operators' commands on workflows (docs/engine-operations.md).
// They dial Temporal as the other commands do (liveService), and audit the
// changes they make.
func (m *Main) admin(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, adminUsage)
		return fmt.Errorf("sous-commande manquante")
	}
	fs := flag.NewFlagSet("parcours admin "+args[0], flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	since := fs.Duration("depuis", 10*time.Minute, "tâche de workflow en attente depuis plus que cette durée")
	all := fs.Bool("tout", false, "examiner tous les workflows en cours")
	reason := fs.String("raison", "", "raison, gardée dans l'historique du workflow et le journal d'audit")
	event := fs.Int64("evenement", 0, "événement WorkflowTaskCompleted où revenir (défaut : le dernier)")
	confirm := fs.Bool("confirmer", false, "confirme l'arrêt")
	cmd := args[0]
	var id string
	rest := args[1:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		id, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	needID := cmd == "workflow" || cmd == "reinitialiser" || cmd == "arreter"
	switch {
	case cmd != "bloques" && cmd != "regles" && !needID:
		fmt.Fprint(m.Stderr, adminUsage)
		return fmt.Errorf("sous-commande inconnue %q", cmd)
	case needID && id == "":
		fmt.Fprint(m.Stderr, adminUsage)
		return fmt.Errorf("parcours admin %s : indiquez l'identifiant du parcours ou du workflow", cmd)
	case cmd == "regles" && *reason == "":
		return fmt.Errorf("parcours admin regles : indiquez --raison (le décret déployé), gardée dans le journal d'audit")
	case cmd == "arreter" && !*confirm:
		return fmt.Errorf("parcours admin arreter : l'arrêt abandonne les délais du parcours ; ajoutez --confirmer (ou préférez parcours admin reinitialiser)")
	}

	cfg, svc, closeAll, err := m.connect(ctx)
	if err != nil {
		return err
	}
	defer closeAll()
	c := svc.Temporal
	wid := temporal.WorkflowID(id)
	audit := func(action string, detail map[string]any) error {
		detail["workflow_id"], detail["reason"] = wid, *reason
		return svc.DB.Audit(ctx, postgres.AuditEntry{Actor: domain.Actor{ID: "cli:" + currentUser(), Name: "parcours admin", Role: domain.RoleAdmin},
			Action: action, RecordType: "workflow", RecordID: wid, Detail: detail})
	}

	switch cmd {
	case "workflow":
		r, err := temporal.DescribeWorkflow(ctx, c, wid)
		if err != nil {
			return err
		}
		printWorkflow(m.Stdout, r, *since)
		return nil
	case "bloques":
		list, err := temporal.StuckWorkflows(ctx, c, *since, *all, func(n int) { fmt.Fprintf(m.Stderr, "%d workflows examinés…\n", n) })
		for _, r := range list {
			printWorkflow(m.Stdout, r, *since)
		}
		if err == nil {
			fmt.Fprintf(m.Stdout, "%d workflow(s) à examiner.\n", len(list))
		}
		return err
	case "regles":
		n, err := temporal.AnnounceRules(ctx, c, func(n int) { fmt.Fprintf(m.Stderr, "%d parcours réveillés…\n", n) })
		wid = "parcours"
		if err != nil {
			// The parcours already woken are in the audit log too.
			if aerr := audit("rules_announced", map[string]any{"parcours": n, "error": err.Error()}); aerr != nil {
				return errors.Join(err, aerr)
			}
			return err
		}
		fmt.Fprintf(m.Stdout, "%d parcours en cours réveillés : chacun applique les règles déployées à ses délais en cours.\n", n)
		return audit("rules_announced", map[string]any{"parcours": n})
	case "reinitialiser":
		run, err := temporal.ResetWorkflow(ctx, c, cfg.TemporalNamespace, wid, *event, *reason)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "Workflow %s réinitialisé : nouvelle exécution %s.\n", wid, run)
		if err := audit("workflow_reset", map[string]any{"event": *event, "run_id": run}); err != nil {
			return err
		}
		return m.resyncAfterReset(ctx, svc, wid)
	default: // arreter
		if err := temporal.TerminateWorkflow(ctx, c, wid, *reason); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "Workflow %s arrêté. La base garde le parcours tel que le workflow l'a écrit en dernier ; ses délais ne tombent plus.\n", wid)
		return audit("workflow_terminate", map[string]any{})
	}
}

func printWorkflow(w io.Writer, r temporal.WorkflowReport, since time.Duration) {
	fmt.Fprintf(w, "%s (exécution %s, %s)\n", r.WorkflowID, r.RunID, r.Type)
	fmt.Fprintf(w, "  statut        %s, démarré le %s\n", statusFrench(r.Status), r.Started.Format("02/01/2006 15:04:05"))
	fmt.Fprintf(w, "  historique    %d événements, %d octets\n", r.HistoryLength, r.HistorySize)
	if r.TaskAttempt > 0 {
		fmt.Fprintf(w, "  tâche         en attente depuis %s, tentative %d\n", r.TaskSince.Format("02/01/2006 15:04:05"), r.TaskAttempt)
	}
	for _, a := range r.Activities {
		fmt.Fprintf(w, "  activité      %s, tentative %d %s\n", a.Type, a.Attempt, a.LastFailure)
	}
	if why := r.Stuck(time.Now(), since); why != "" {
		fmt.Fprintf(w, "  à examiner    %s\n", why)
	}
}

// statusFrench names a workflow's status for operators.
func statusFrench(s enumspb.WorkflowExecutionStatus) string {
	switch s {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return "en cours"
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return "terminé"
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		return "en échec"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return "annulé"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return "arrêté"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		return "poursuivi dans une nouvelle exécution"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return "expiré"
	}
	return s.String()
}
