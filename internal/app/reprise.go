package app

import (
	"context"
	"fmt"
	"slices"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/workflows"
)

// applyReprise applies to an open parcours what a later reprise line
// changed since the last one (parcours.reprise), through the usual
// commands: a new orientation of a parcours awaiting one, a new référent, a
// new contract, obstacles, the stock mark. What it does not apply goes to
// out.Unapplied with the reason; a refusal of the parcours (a domain error)
// is not an error of the import.
func (s *Service) applyReprise(ctx context.Context, a domain.Actor, id string, p domain.ImportedPerson, out *ImportOutcome) error {
	r := p.Reprise
	old, err := s.DB.ParcoursReprise(ctx, id)
	if err != nil {
		return err
	}
	if old == nil {
		old = &domain.Reprise{}
	}
	v, err := s.DB.GetParcours(ctx, id, postgres.Scope{})
	if err != nil {
		return err
	}
	if v.Status == domain.StatusExited {
		return nil
	}
	on := p.ReceivedOn
	if on.IsZero() {
		on = s.today()
	}
	// refused turns a refusal of the parcours into an unapplied line.
	refused := func(what string, err error) error {
		switch domain.ErrorCode(err) {
		case domain.EINVALID, domain.ECONFLICT, domain.ENOTFOUND:
			out.Unapplied = append(out.Unapplied, "Non appliqué — "+what+" : "+domain.ErrorMessage(err))
			return nil
		}
		return err
	}
	if o := r.Orientation; o != nil && !sameOrientation(old.Orientation, o) {
		switch cur := v.Orientation; {
		case cur == nil:
			orientation := domain.Orientation{Track: o.Track, Organism: o.Organism, ReferentID: o.ReferentID, DecidedOn: o.DecidedOn}
			if nv, err := s.RecordOrientation(ctx, a, id, orientation); err != nil {
				if err := refused(fmt.Sprintf("orientation du %s", o.DecidedOn.French()), err); err != nil {
					return err
				}
			} else {
				v = nv
				out.Changes = append(out.Changes, fmt.Sprintf("Orientation enregistrée : parcours %s, décidée le %s.", o.Track.French(), o.DecidedOn.French()))
			}
		case cur.Track != o.Track || cur.DecidedOn != o.DecidedOn:
			out.Unapplied = append(out.Unapplied, fmt.Sprintf(
				"Nouvelle orientation (parcours %s, décidée le %s) non appliquée : le parcours est déjà orienté (décision du %s) ; une réorientation se décide dans le dossier.",
				o.Track.French(), o.DecidedOn.French(), cur.DecidedOn.French()))
		}
	}
	if o := r.Orientation; o != nil && o.ReferentID != "" && v.Orientation != nil && v.Orientation.ReferentID != o.ReferentID &&
		(old.Orientation == nil || old.Orientation.ReferentID != o.ReferentID) {
		re := domain.Reassignment{ReferentID: o.ReferentID, Reason: fmt.Sprintf("Reprise de l'existant : fichier du %s.", on.French()), On: on}
		if nv, err := s.ReassignReferent(ctx, a, id, re); err != nil {
			if err := refused("changement de référent", err); err != nil {
				return err
			}
		} else {
			v = nv
			name := o.ReferentID
			if names, err := s.DB.ReferentNames(ctx, []string{o.ReferentID}); err == nil && names[o.ReferentID] != "" {
				name = names[o.ReferentID] // the report names people, not ids
			}
			out.Changes = append(out.Changes, fmt.Sprintf("Nouveau référent : %s.", name))
		}
	}
	if c := r.Contract; c != nil && (old.Contract == nil || *old.Contract != *c) {
		contract := domain.Contract{Kind: c.Kind, SignedOn: c.SignedOn, StartsOn: c.StartsOn, EndsOn: c.EndsOn}
		if v.Contract == nil || !v.Contract.Same(contract) {
			if v.Contract != nil {
				contract.Assessment = fmt.Sprintf("Contrat repris du fichier du %s (reprise de l'existant) : le bilan du contrat précédent est tenu hors du service.", on.French())
			}
			if nv, err := s.RecordContract(ctx, a, id, contract); err != nil {
				if err := refused(fmt.Sprintf("contrat signé le %s", c.SignedOn.French()), err); err != nil {
					return err
				}
			} else {
				v = nv
				out.Changes = append(out.Changes, fmt.Sprintf("Nouveau contrat (%s) signé le %s, du %s au %s.",
					c.Kind.French(), c.SignedOn.French(), c.StartsOn.French(), c.EndsOn.French()))
			}
		}
	}
	if !sameSet(old.Obstacles, r.Obstacles) && !sameSet(v.Obstacles, r.Obstacles) {
		if _, err := s.RecordObstacles(ctx, a, id, domain.Obstacles{Categories: slices.Clone(r.Obstacles), On: on}); err != nil {
			if err := refused("freins", err); err != nil {
				return err
			}
		} else {
			out.Changes = append(out.Changes, "Freins mis à jour.")
		}
	}
	if act := r.Action; act != nil && (old.Action == nil || *old.Action != *act) {
		out.Unapplied = append(out.Unapplied, fmt.Sprintf(
			"Action en cours depuis le %s non reprise : pour un parcours déjà suivi, les actions s'enregistrent dans le dossier.", act.StartsOn.French()))
	}
	if r.Stock && !old.Stock {
		changed, err := s.MarkStock(ctx, a, id, true)
		if err != nil {
			if err := refused("délai du stock", err); err != nil {
				return err
			}
		} else if changed {
			out.Changes = append(out.Changes, "Personne accompagnée au 01/01/2025 : contrat dû avant la date du stock.")
		}
	}
	if len(out.Changes) > 0 && out.Kind != ImportCreated {
		out.Kind = ImportUpdated
	}
	return s.DB.SetParcoursReprise(ctx, id, r)
}

func sameOrientation(a *domain.RepriseOrientation, b *domain.RepriseOrientation) bool {
	return a != nil && b != nil && a.Track == b.Track && a.DecidedOn == b.DecidedOn && a.Organism == b.Organism
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// MarkStock gives an open parcours the stock contract deadline (mark_stock):
// entered before 1 January 2025, or marked by a reprise file, with no
// contract signed since. changed is false when it had it already or owes
// nothing.
func (s *Service) MarkStock(ctx context.Context, a domain.Actor, id string, marked bool) (changed bool, err error) {
	before, err := s.DB.GetParcours(ctx, id, postgres.ScopeOf(a))
	if err != nil {
		return false, err
	}
	m := &validMark{&workflows.StockMark{Marked: marked, On: s.today()}}
	after, _, err := s.command(ctx, a, id, workflows.MarkStockUpdate, m, func() any { return *m.StockMark }, "stock", "appliquer le délai du stock", departmentOnly)
	if err != nil {
		return false, err
	}
	return !hasStock(before) && hasStock(after), nil
}

// validMark: a stock mark has nothing to check on its own.
type validMark struct{ *workflows.StockMark }

func (validMark) Validate(domain.Date) error { return nil }

func hasStock(v domain.ParcoursView) bool {
	return slices.ContainsFunc(v.Deadlines, func(d domain.DeadlineView) bool { return d.Basis == domain.BasisStock })
}

// StockReport is what MarkStockAll did.
type StockReport struct {
	Seen, Added, Refused int
	Refusals             []string // "parcours ID : message", the first 100
}

// MarkStockAll sends mark_stock to every open parcours that may owe the
// stock contract (postgres.StockCandidates, keyset pages of 500): those
// started before this version get the deadline; the others answer
// unchanged, so running it again is harmless. progress, if set, is called
// every 100 parcours.
func (s *Service) MarkStockAll(ctx context.Context, a domain.Actor, progress func(StockReport)) (StockReport, error) {
	var rep StockReport
	if err := authorize(a, "appliquer le délai du stock", departmentOnly...); err != nil {
		return rep, err
	}
	for after := ""; ; {
		page, err := s.DB.StockCandidates(ctx, after, 500)
		if err != nil || len(page) == 0 {
			return rep, err
		}
		for _, c := range page {
			after = c.ID
			rep.Seen++
			changed, err := s.MarkStock(ctx, a, c.ID, c.Marked)
			switch code := domain.ErrorCode(err); {
			case err == nil && changed:
				rep.Added++
			case err == nil:
			case code == domain.ECONFLICT || code == domain.EINVALID || code == domain.ENOTFOUND:
				rep.Refused++
				if len(rep.Refusals) < 100 {
					rep.Refusals = append(rep.Refusals, fmt.Sprintf("parcours %s : %s", c.ID, domain.ErrorMessage(err)))
				}
			default:
				return rep, fmt.Errorf("parcours %s : %w", c.ID, err)
			}
			if progress != nil && rep.Seen%100 == 0 {
				progress(rep)
			}
		}
	}
}

// Foresee says what an imported line will become today once its parcours
// starts (the import's preview), with the service's policy and settings:
// domain.Foresee. For a person whose parcours is already open, the line
// updates it instead (see applyReprise).
func (s *Service) Foresee(p domain.ImportedPerson) domain.Foreseen {
	received := p.ReceivedOn
	if received.IsZero() {
		received = p.EnteredOn
	}
	return domain.Foresee(p.Reprise, p.EnteredOn, received, s.today(), s.Policy, s.settings().Overseas)
}
