package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// referents lists the active référents, to choose the --referent of
// `token create` and `account create` from.
func (m *Main) referents(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("referents", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	q := fs.String("q", "", "partie du nom ou de l'adresse")
	structure := fs.String("structure", "", "nom exact de la structure")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("referents : %w", err)
	}
	return m.withService(ctx, func(svc *app.Service) error {
		w := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "IDENTIFIANT\tNOM\tSTRUCTURE\tADRESSE")
		f := postgres.DirectoryFilter{Q: *q, Structure: *structure, ActiveOnly: true, Limit: 500}
		for {
			list, next, err := svc.DB.ListReferents(ctx, f)
			if err != nil {
				return err
			}
			for _, r := range list {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.ID, r.Name, r.StructureName, r.Email)
			}
			if next == "" {
				return w.Flush()
			}
			f.Cursor = next
		}
	})
}

// warnNewReferent tells, after a token or an account naming a référent id
// no record held, that a record was made for it, to be completed.
func (m *Main) warnNewReferent(ctx context.Context, svc *app.Service, id string, known bool) {
	if id == "" || known {
		return
	}
	if r, err := svc.DB.GetReferent(ctx, id); err == nil {
		fmt.Fprintf(m.Stderr, "Référent %s inconnu jusqu'ici : créé sous le nom « %s » dans « %s ». Complétez-le sur la page Référents (parcours referents liste les référents existants).\n",
			id, r.Name, r.StructureName)
	}
}

// knownReferent says whether a référent id has a record.
func knownReferent(ctx context.Context, svc *app.Service, id string) bool {
	if id == "" {
		return true
	}
	_, err := svc.DB.GetReferent(ctx, id)
	return domain.ErrorCode(err) != domain.ENOTFOUND
}
