// Command parcours runs the parcours service and its operations.
//
//	parcours serve                     HTTP API + worker (+ embedded Temporal and PostgreSQL by default)
//	parcours worker                    worker only, for an existing Temporal cluster
//	parcours temporal                  the embedded Temporal server alone, for serve ×N and worker ×M
//	parcours migrate                   apply the database migrations
//	parcours token create --name N --role R [--referent ID]
//	parcours import [--format flux|csv] FILE   CAF/MSA flux or CSV list, into the running service
//	parcours stock                     the stock contract deadline for the open parcours started before it
//	parcours admin …                   describe, list stuck, reset or terminate workflows (docs/engine-operations.md)
//	parcours resync [--all | ID…]      rewrite the read model from the workflows' state (docs/resync.md)
//	parcours postgres start|stop       the local PostgreSQL cluster (used by make test)
//	parcours healthcheck               asks the running service's /healthz (containers)
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := &Main{Getenv: os.Getenv, Stdout: os.Stdout, Stderr: os.Stderr}
	if err := m.Run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "parcours:", err)
		os.Exit(1)
	}
}

const usage = `parcours — suivi des parcours d'insertion RSA

Usage :
  parcours serve                      démarre le service (API, interface, worker)
  parcours worker                     démarre seulement un worker (TEMPORAL_ADDRESS requis)
  parcours temporal                   démarre seulement le serveur Temporal embarqué, que des
                                      parcours serve et parcours worker rejoignent (TEMPORAL_ADDRESS)
  parcours migrate                    applique les migrations de la base
  parcours token create --name NOM --role admin|department|supervisor|referent [--referent ID]
                                      crée un jeton d'accès à l'API (affiché une seule fois)
  parcours account create --email ADRESSE --name NOM --role admin|department|supervisor|referent [--referent ID] [--structure S | --all-structures]
                                      crée un compte de l'interface web (mot de passe affiché une seule fois)
  parcours account reset-password --email ADRESSE
                                      donne au compte un mot de passe provisoire (affiché une seule fois),
                                      à changer à la connexion suivante ; ferme ses sessions. Sert aussi
                                      au premier administrateur (admin@parcours.local) dont le mot de
                                      passe est perdu
  parcours referents [--q TEXTE] [--structure NOM]
                                      liste les référents actifs (identifiant, nom, structure) à nommer par --referent
  parcours import [--format flux|csv] [--rejets R.csv] FICHIER
                                      importe un flux bénéficiaires CAF/MSA (XML) ou une liste CSV
                                      dans le service démarré (barre de progression, bilan à la fin)
  parcours stock                      applique le délai du stock (contrat dû le 01/01/2027, 01/01/2028
                                      outre-mer) aux parcours ouverts entrés avant le 01/01/2025 sans
                                      contrat signé depuis ; peut être relancée sans effet de bord
  parcours admin workflow|bloques|reinitialiser|arreter …
                                      exploitation des workflows (parcours admin pour le détail)
  parcours resync [--all | ID…]       réécrit la base depuis l'état des workflows (docs/resync.md)
  parcours postgres start|stop        démarre ou arrête la base PostgreSQL locale
  parcours healthcheck                interroge /healthz du service (pour les conteneurs)
  parcours bench [--scale small|large]
                                      mesure ce service sur cette machine (make bench)

Configuration : variables d'environnement, voir docs/configuration.md.
`

// Main is the program, testable without a process: its inputs and outputs
// are fields.
type Main struct {
	Getenv func(string) string
	Stdout io.Writer
	Stderr io.Writer
}

// Run dispatches a command line.
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return fmt.Errorf("commande manquante")
	}
	switch args[0] {
	case "serve":
		return m.serve(ctx, true)
	case "worker":
		return m.serve(ctx, false)
	case "temporal":
		return m.temporalServer(ctx, args[1:])
	case "migrate":
		return m.migrate(ctx)
	case "token":
		return m.token(ctx, args[1:])
	case "account":
		return m.account(ctx, args[1:])
	case "referents":
		return m.referents(ctx, args[1:])
	case "postgres":
		return m.postgres(ctx, args[1:])
	case "import":
		return m.importFile(ctx, args[1:])
	case "stock":
		return m.stock(ctx, args[1:])
	case "admin":
		return m.admin(ctx, args[1:])
	case "resync":
		return m.resync(ctx, args[1:])
	case "healthcheck":
		return m.healthcheck(ctx)
	case "bench":
		return m.bench(ctx, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(m.Stdout, usage)
		return nil
	}
	fmt.Fprint(m.Stderr, usage)
	return fmt.Errorf("commande inconnue %q", args[0])
}
