package app

import (
	"context"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// IdentityConflicts lists the lines of imports waiting in « Identités à
// vérifier » (département only), one page at a time, and how many wait.
func (s *Service) IdentityConflicts(ctx context.Context, a domain.Actor, cursor string, limit int) (items []postgres.IdentityConflict, next string, total int, err error) {
	if err := authorize(a, "vérifier les identités", domain.RoleDepartment); err != nil {
		return nil, "", 0, err
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	if items, next, err = s.DB.IdentityConflicts(ctx, cursor, limit); err != nil {
		return nil, "", 0, err
	}
	if total, err = s.DB.CountIdentityConflicts(ctx); err != nil {
		return nil, "", 0, err
	}
	ids := make([]string, len(items))
	for i, c := range items {
		ids[i] = c.ID
	}
	return items, next, total, s.audit(ctx, a, "read", "identity_conflict", "", map[string]any{"ids": ids})
}

// CountIdentityConflicts is how many lines wait for a decision (0 for the
// roles that may not decide).
func (s *Service) CountIdentityConflicts(ctx context.Context, a domain.Actor) (int, error) {
	if a.Role != domain.RoleDepartment {
		return 0, nil
	}
	return s.DB.CountIdentityConflicts(ctx)
}

// ResolveIdentity applies the département's decision on a waiting line:
//   - domain.IdentitySame (« Même personne »): the line's data are applied
//     to the existing person, names included;
//   - domain.IdentityDifferent (« Personnes différentes »): the line makes
//     another person, kept apart from the first (see docs/identity.md for
//     the NIR they share).
//
// It returns the beneficiary the line was applied to ("" when the line
// concerned someone no longer followed). The decision and its author go to
// the audit log. Applying again is harmless: a decided line is refused.
func (s *Service) ResolveIdentity(ctx context.Context, a domain.Actor, id, decision string) (string, error) {
	if err := authorize(a, "vérifier les identités", domain.RoleDepartment); err != nil {
		return "", err
	}
	defer s.Caches.written() // a new or changed parcours: the counts kept are no longer right
	if decision != domain.IdentitySame && decision != domain.IdentityDifferent {
		return "", domain.FieldError("decision", "Choisissez « Même personne » ou « Personnes différentes ».")
	}
	c, err := s.DB.GetIdentityConflict(ctx, id)
	if err != nil {
		return "", err
	}
	if c.Decision != "" {
		return "", domain.Errorf(domain.ECONFLICT, "Cette identité a déjà été traitée (%s).", domain.IdentityDecisionFrench(c.Decision))
	}
	p := c.Person
	p.ImportID, p.Identity = c.ImportID, decision
	_, result, err := s.applyImported(ctx, a, p)
	if err != nil {
		return "", err
	}
	return result, s.DB.DecideIdentityConflict(ctx, a, id, decision, result)
}
