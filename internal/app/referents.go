package app

import (
	"context"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// The directory of structures and référents: the département manages it
// (administration page, API, reprise file); supervisors read their
// structure's part of it.

// MaxPickList is how many référents or structures a form's list offers.
const MaxPickList = 2000

// Structures lists a page of structures.
func (s *Service) Structures(ctx context.Context, a domain.Actor, f postgres.DirectoryFilter) ([]domain.Structure, string, error) {
	if err := authorize(a, "consulter les structures", managers...); err != nil {
		return nil, "", err
	}
	f.Limit = pageLimit(f.Limit)
	return s.DB.ListStructures(ctx, f)
}

// Structure reads one structure.
func (s *Service) Structure(ctx context.Context, a domain.Actor, id string) (domain.Structure, error) {
	if err := authorize(a, "consulter les structures", managers...); err != nil {
		return domain.Structure{}, err
	}
	return s.DB.GetStructure(ctx, id)
}

// CreateStructure creates a structure; a second one of the same name is refused.
func (s *Service) CreateStructure(ctx context.Context, a domain.Actor, st domain.Structure) (domain.Structure, error) {
	if err := authorize(a, "gérer les structures", departmentOnly...); err != nil {
		return st, err
	}
	st.Normalize()
	if err := st.Validate(); err != nil {
		return st, err
	}
	st, err := s.DB.CreateStructure(ctx, st)
	if err != nil {
		return st, err
	}
	return st, s.audit(ctx, a, "create", "structure", st.ID, nil)
}

// UpdateStructure changes a structure (the accounts of a renamed structure follow).
func (s *Service) UpdateStructure(ctx context.Context, a domain.Actor, id string, st domain.Structure) (domain.Structure, error) {
	if err := authorize(a, "gérer les structures", departmentOnly...); err != nil {
		return st, err
	}
	st.ID = id
	st.Normalize()
	if err := st.Validate(); err != nil {
		return st, err
	}
	if err := s.DB.UpdateStructure(ctx, st); err != nil {
		return st, err
	}
	return st, s.audit(ctx, a, "update", "structure", id, nil)
}

// ReferentsPage lists a page of référents: a supervisor's structure's only.
func (s *Service) ReferentsPage(ctx context.Context, a domain.Actor, f postgres.DirectoryFilter) ([]domain.Referent, string, error) {
	if err := authorize(a, "consulter les référents", managers...); err != nil {
		return nil, "", err
	}
	f.Structure = postgres.ScopeOf(a).Structure
	f.Limit = pageLimit(f.Limit)
	list, next, err := s.DB.ListReferents(ctx, f)
	if err != nil {
		return nil, "", err
	}
	return list, next, s.audit(ctx, a, "list", "referent", "", map[string]any{"rows": len(list)})
}

// Referent reads one référent the actor may see.
func (s *Service) Referent(ctx context.Context, a domain.Actor, id string) (domain.Referent, error) {
	if err := authorize(a, "consulter les référents", managers...); err != nil {
		return domain.Referent{}, err
	}
	r, err := s.DB.GetReferent(ctx, id)
	if err != nil {
		return r, err
	}
	if st := postgres.ScopeOf(a).Structure; st != "" && r.StructureName != st {
		return domain.Referent{}, domain.Errorf(domain.ENOTFOUND, "Référent introuvable.")
	}
	return r, s.audit(ctx, a, "read", "referent", id, nil)
}

// CreateReferent creates a référent under a fresh opaque id.
func (s *Service) CreateReferent(ctx context.Context, a domain.Actor, r domain.Referent) (domain.Referent, error) {
	if err := authorize(a, "gérer les référents", departmentOnly...); err != nil {
		return r, err
	}
	r.Normalize()
	if err := r.Validate(); err != nil {
		return r, err
	}
	id, replay, err := s.createOnce(ctx, "referent", func(ctx context.Context) (string, error) {
		created, err := s.DB.CreateReferent(ctx, r)
		return created.ID, err
	})
	if err != nil {
		return r, err
	}
	if r, err = s.DB.GetReferent(ctx, id); err != nil || replay {
		return r, err
	}
	return r, s.audit(ctx, a, "create", "referent", r.ID, map[string]any{"structure": r.StructureID})
}

// UpdateReferent changes a référent's name, e-mail, structure or active
// flag (deactivating: Active false). Its parcours stay with it.
func (s *Service) UpdateReferent(ctx context.Context, a domain.Actor, id string, r domain.Referent) (domain.Referent, error) {
	if err := authorize(a, "gérer les référents", departmentOnly...); err != nil {
		return r, err
	}
	r.ID = id
	r.Normalize()
	if err := r.Validate(); err != nil {
		return r, err
	}
	if err := s.DB.UpdateReferent(ctx, r); err != nil {
		return r, err
	}
	if err := s.audit(ctx, a, "update", "referent", id, map[string]any{"structure": r.StructureID, "active": r.Active}); err != nil {
		return r, err
	}
	return s.DB.GetReferent(ctx, id)
}

// Referents lists the active référents the actor may assign, for a form's
// list: a supervisor's structure's, the département's all.
func (s *Service) Referents(ctx context.Context, a domain.Actor) ([]domain.Referent, error) {
	if err := authorize(a, "réaffecter des parcours", managers...); err != nil {
		return nil, err
	}
	list, _, err := s.DB.ListReferents(ctx, postgres.DirectoryFilter{Structure: postgres.ScopeOf(a).Structure, ActiveOnly: true, Limit: MaxPickList})
	return list, err
}

// AllStructures lists the structures for a form's list.
func (s *Service) AllStructures(ctx context.Context, a domain.Actor) ([]domain.Structure, error) {
	list, _, err := s.Structures(ctx, a, postgres.DirectoryFilter{Limit: MaxPickList})
	return list, err
}

// ReferentNames resolves référent ids to names, in one query for a whole
// page: every page shows names, never ids.
func (s *Service) ReferentNames(ctx context.Context, ids ...string) (domain.ReferentNames, error) {
	seen := map[string]bool{}
	uniq := ids[:0:0]
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	return s.DB.ReferentNames(ctx, uniq)
}

// CheckAssignable refuses a référent the actor may not give a parcours to:
// unknown, deactivated, or (for a supervisor) of another structure.
func (s *Service) CheckAssignable(ctx context.Context, a domain.Actor, referentID string) error {
	r, err := s.DB.GetReferent(ctx, referentID)
	switch {
	case domain.ErrorCode(err) == domain.ENOTFOUND:
		return domain.FieldError("referent_id", "Référent inconnu : choisissez le référent dans la liste.")
	case err != nil:
		return err
	case !r.Active:
		return domain.FieldError("referent_id", "Le référent « %s » est désactivé : choisissez un référent actif.", r.Name)
	}
	if st := postgres.ScopeOf(a).Structure; a.Role == domain.RoleSupervisor && st != "" && r.StructureName != st {
		return &domain.Error{Code: domain.EFORBIDDEN, Field: "referent_id",
			Message: "Vous ne pouvez confier un parcours qu'à un référent de votre structure (« " + st + " »)."}
	}
	return nil
}

// ResolveReferent finds, or creates, the structure and the référent a line
// of a reprise file names (by id, e-mail or name); see
// postgres.DB.ResolveReferent for what it refuses. The import calls it once
// per line, before starting the line's parcours with the référent id.
func (s *Service) ResolveReferent(ctx context.Context, a domain.Actor, ref domain.ReferentRef) (domain.ReferentResolution, error) {
	if err := authorize(a, "importer un fichier de reprise", departmentOnly...); err != nil {
		return domain.ReferentResolution{}, err
	}
	res, err := s.DB.ResolveReferent(ctx, ref)
	if err != nil {
		return res, err
	}
	if res.CreatedStructure {
		if err := s.audit(ctx, a, "create", "structure", res.StructureID, map[string]any{"by": "reprise"}); err != nil {
			return res, err
		}
	}
	if res.CreatedReferent {
		if err := s.audit(ctx, a, "create", "referent", res.ReferentID, map[string]any{"by": "reprise"}); err != nil {
			return res, err
		}
	}
	return res, nil
}

func pageLimit(n int) int {
	if n <= 0 || n > 500 {
		return 100
	}
	return n
}
