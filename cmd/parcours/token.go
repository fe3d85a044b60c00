package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/auth"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/pglocal"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

const tokenUsage = "usage : parcours token create --name NOM --role admin|department|supervisor|referent [--referent ID] [--structure NOM | --all-structures] [--expires AAAA-MM-JJ]\n        parcours token list\n        parcours token revoke NUMÉRO"

func (m *Main) token(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New(tokenUsage)
	}
	cli := domain.Actor{ID: "cli:" + currentUser(), Name: "parcours token", Role: domain.RoleAdmin}
	switch args[0] {
	case "list":
		return m.withService(ctx, func(svc *app.Service) error {
			tokens, err := svc.Tokens(ctx, cli)
			if err != nil {
				return err
			}
			printTokens(m.Stdout, tokens)
			return nil
		})
	case "revoke":
		if len(args) != 2 {
			return errors.New(tokenUsage)
		}
		id, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil {
			return fmt.Errorf("token revoke : %q n'est pas un numéro de jeton (voir parcours token list)", args[1])
		}
		return m.withService(ctx, func(svc *app.Service) error {
			if err := svc.RevokeToken(ctx, cli, id); err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "Jeton %d révoqué : il ne donne plus accès.\n", id)
			return nil
		})
	case "create":
	default:
		return errors.New(tokenUsage)
	}
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", "", "nom de la personne ou du système qui utilisera le jeton")
	role := fs.String("role", "", "admin, department, supervisor ou referent")
	referent := fs.String("referent", "", "identifiant du référent (rôle referent ; voir parcours referents)")
	structure := fs.String("structure", "", "structure d'un jeton de superviseur")
	all := fs.Bool("all-structures", false, "un jeton de superviseur qui voit toutes les structures")
	expires := fs.String("expires", "", "date d'expiration (AAAA-MM-JJ), le jeton n'étant plus valable ce jour-là à 0 h (Europe/Paris)")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("token create : %w", err)
	}
	n := app.NewToken{Name: *name, Role: domain.Role(*role), ReferentID: *referent, Structure: *structure, AllStructures: *all}
	if *expires != "" {
		d, err := domain.ParseDate(*expires)
		if err != nil {
			return fmt.Errorf("--expires : %v", err)
		}
		n.ExpiresAt = d.Time()
	}
	return m.withService(ctx, func(svc *app.Service) error {
		known := knownReferent(ctx, svc, *referent)
		token, err := svc.CreateTokenWith(ctx, n)
		if err != nil {
			return err
		}
		m.warnNewReferent(ctx, svc, *referent, known)
		fmt.Fprintf(m.Stderr, "Jeton créé pour %q (rôle %s). Il ne sera plus affiché : conservez-le.\n", *name, *role)
		fmt.Fprintln(m.Stdout, token)
		return nil
	})
}

// printTokens lists the tokens, their scope, expiry and last use.
func printTokens(w io.Writer, tokens []postgres.Token) {
	day := func(t *time.Time) string {
		if t == nil {
			return "—"
		}
		return domain.DateOf(*t).French()
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "N°\tNom\tRôle\tPortée\tCréé le\tExpire le\tDernier usage\tÉtat")
	for _, t := range tokens {
		scope := "—"
		switch {
		case t.ReferentID != "":
			scope = "référent " + t.ReferentID
		case t.Structure != "":
			scope = "structure " + t.Structure
		case t.AllStructures:
			scope = "toutes les structures"
		}
		state := "actif"
		if t.RevokedAt != nil {
			state = "révoqué le " + day(t.RevokedAt)
		} else if t.ExpiresAt != nil && !time.Now().Before(*t.ExpiresAt) {
			state = "expiré"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role.French(), scope, day(&t.CreatedAt), day(t.ExpiresAt), day(t.LastUsedAt), state)
	}
	_ = tw.Flush()
}

// withService runs an operation with a service on the database (the local
// cluster is reused if running, and left as it was found); a field error
// reads as the flag at fault.
func (m *Main) withService(ctx context.Context, run func(*app.Service) error) error {
	cfg, logger, err := m.config()
	if err != nil {
		return err
	}
	db, _, stop, err := m.database(ctx, cfg, logger, false)
	if err != nil {
		return err
	}
	defer stop()
	err = run(&app.Service{DB: db, Logger: logger})
	if f := domain.ErrorField(err); f != "" {
		return fmt.Errorf("--%s : %s", f, domain.ErrorMessage(err))
	}
	return err
}

// postgres starts or stops the local cluster; `make test` uses it to run
// the tests against a real PostgreSQL with fsync off.
func (m *Main) postgres(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "start" && args[0] != "stop") {
		return fmt.Errorf("usage : parcours postgres start|stop [--dir DIR] [--port PORT] [--fsync-off]")
	}
	fs := flag.NewFlagSet("postgres", flag.ContinueOnError)
	cfg, logger, err := m.config()
	if err != nil {
		return err
	}
	dir := fs.String("dir", filepath.Join(cfg.DataDir, "postgres"), "répertoire de la base")
	port := fs.Int("port", cfg.PGPort, "port TCP sur 127.0.0.1")
	fsyncOff := fs.Bool("fsync-off", false, "fsync=off (tests seulement)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cluster := &pglocal.Cluster{Dir: *dir, Port: *port, FsyncOff: *fsyncOff, Logger: logger}
	if args[0] == "stop" {
		return cluster.StopAny(ctx)
	}
	url, err := cluster.Start(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, url)
	return nil
}

// healthcheck asks the running service's /healthz: the container image has
// no curl.
func (m *Main) healthcheck(ctx context.Context) error {
	cfg, _, err := m.config()
	if err != nil {
		return err
	}
	// A worker serves /healthz only on PARCOURS_METRICS_ADDR; serve on both.
	addr := cfg.Addr
	if cfg.MetricsAddr != "" {
		addr = cfg.MetricsAddr
	}
	host, port, _ := net.SplitHostPort(addr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("/healthz : %s", res.Status)
	}
	return nil
}

const accountUsage = "usage : parcours account create --email ADRESSE --name NOM --role ROLE [--referent ID] [--structure S | --all-structures]\n        parcours account reset-password --email ADRESSE"

// account creates a web account with a generated password, shown once, or
// resets an account's password.
func (m *Main) account(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New(accountUsage)
	}
	switch args[0] {
	case "create":
		return m.createAccount(ctx, args[1:])
	case "reset-password":
		return m.resetPassword(ctx, args[1:])
	}
	return errors.New(accountUsage)
}

func (m *Main) createAccount(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("account create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	email := fs.String("email", "", "adresse électronique (identifiant)")
	name := fs.String("name", "", "nom affiché")
	role := fs.String("role", "", "admin, department, supervisor ou referent")
	referent := fs.String("referent", "", "identifiant de référent (rôle referent ; voir parcours referents)")
	structure := fs.String("structure", "", "nom de la structure encadrée (page Structures)")
	allStructures := fs.Bool("all-structures", false, "un compte d'encadrement qui voit toutes les structures")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("account create : %w", err)
	}
	return m.withService(ctx, func(svc *app.Service) error {
		password := auth.NewSecret(12)
		known := knownReferent(ctx, svc, *referent)
		if _, err := svc.CreateAccount(ctx, domain.System, app.NewAccount{Email: *email, Name: *name, Password: password,
			Role: domain.Role(*role), ReferentID: *referent, Structure: *structure, AllStructures: *allStructures}); err != nil {
			return err
		}
		m.warnNewReferent(ctx, svc, *referent, known)
		fmt.Fprintf(m.Stderr, "Compte créé pour %s (rôle %s). Mot de passe (affiché une seule fois) :\n", *email, *role)
		fmt.Fprintln(m.Stdout, password)
		return nil
	})
}

// resetPassword gives an account a temporary password, shown once, to be
// changed at its next login; its sessions end. It needs no password: the
// command runs where the service's database is (the first administrator's
// lost password is reset this way).
func (m *Main) resetPassword(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("account reset-password", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	email := fs.String("email", "", "adresse électronique du compte")
	if err := fs.Parse(args); err != nil || *email == "" || fs.NArg() > 0 {
		return errors.New(accountUsage)
	}
	cli := domain.Actor{ID: "cli:" + currentUser(), Name: "parcours account", Role: domain.RoleAdmin}
	return m.withService(ctx, func(svc *app.Service) error {
		password, err := svc.ResetPasswordByEmail(ctx, cli, *email)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stderr, "Mot de passe de %s réinitialisé ; ses sessions sont fermées. Mot de passe provisoire (affiché une seule fois), à changer à la prochaine connexion :\n", *email)
		fmt.Fprintln(m.Stdout, password)
		return nil
	})
}
