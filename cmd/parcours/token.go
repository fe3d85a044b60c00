package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/auth"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/pglocal"
)

func (m *Main) token(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("usage : parcours token create --name NOM --role admin|department|supervisor|referent [--referent ID]")
	}
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", "", "nom de la personne ou du système qui utilisera le jeton")
	role := fs.String("role", "", "admin, department, supervisor ou referent")
	referent := fs.String("referent", "", "identifiant du référent (rôle referent ; voir parcours referents)")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("token create : %w", err)
	}
	return m.withService(ctx, func(svc *app.Service) error {
		known := knownReferent(ctx, svc, *referent)
		token, err := svc.CreateToken(ctx, *name, domain.Role(*role), *referent)
		if err != nil {
			return err
		}
		m.warnNewReferent(ctx, svc, *referent, known)
		fmt.Fprintf(m.Stderr, "Jeton créé pour %q (rôle %s). Il ne sera plus affiché : conservez-le.\n", *name, *role)
		fmt.Fprintln(m.Stdout, token)
		return nil
	})
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

// account creates a web account with a generated password, shown once.
func (m *Main) account(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("usage : parcours account create --email ADRESSE --name NOM --role ROLE [--referent ID] [--structure S]")
	}
	fs := flag.NewFlagSet("account create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	email := fs.String("email", "", "adresse électronique (identifiant)")
	name := fs.String("name", "", "nom affiché")
	role := fs.String("role", "", "admin, department, supervisor ou referent")
	referent := fs.String("referent", "", "identifiant de référent (rôle referent ; voir parcours referents)")
	structure := fs.String("structure", "", "nom de la structure encadrée (page Structures)")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("account create : %w", err)
	}
	return m.withService(ctx, func(svc *app.Service) error {
		password := auth.NewSecret(12)
		known := knownReferent(ctx, svc, *referent)
		if _, err := svc.CreateAccount(ctx, domain.System, app.NewAccount{Email: *email, Name: *name, Password: password,
			Role: domain.Role(*role), ReferentID: *referent, Structure: *structure}); err != nil {
			return err
		}
		m.warnNewReferent(ctx, svc, *referent, known)
		fmt.Fprintf(m.Stderr, "Compte créé pour %s (rôle %s). Mot de passe (affiché une seule fois) :\n", *email, *role)
		fmt.Fprintln(m.Stdout, password)
		return nil
	})
}
