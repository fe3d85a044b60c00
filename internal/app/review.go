package app

import (
	"context"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/workflows"
)

// RecordRelance records a reminder sent after an overdue contract.
func (s *Service) RecordRelance(ctx context.Context, a domain.Actor, id string, r domain.Relance) (domain.ParcoursView, error) {
	v, _, err := s.command(ctx, a, id, workflows.RecordRelanceUpdate, &r, nil, "relance", "enregistrer une relance", anyRole)
	return v, err
}

// ReportBreach opens a sanction case; it returns the case's id.
// A household whose right or payment the CAF/MSA suspended is on hold:
// its suspension must end before a breach is reported.
func (s *Service) ReportBreach(ctx context.Context, a domain.Actor, id string, b domain.Breach) (domain.ParcoursView, string, error) {
	if v, err := s.DB.GetParcours(ctx, id, postgres.ScopeOf(a)); err != nil {
		return v, "", err
	} else if v.Paused() {
		return v, "", domain.Errorf(domain.ECONFLICT, "Parcours en pause (%s : %s). Aucun manquement ne peut être signalé pendant la suspension.",
			v.Payer.Body, v.Payer.Situation.Describe())
	}
	v, n, err := s.command(ctx, a, id, workflows.ReportBreachUpdate, &b, nil, "breach", "signaler un manquement", anyRole)
	return v, workflows.ReviewID(id, n), err
}

// Reviews is the review queue the actor may see.
func (s *Service) Reviews(ctx context.Context, a domain.Actor, f postgres.ReviewFilter) ([]domain.ReviewView, error) {
	f.Scope = postgres.ScopeOf(a)
	list, err := s.DB.ListReviews(ctx, f)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(list))
	for i, r := range list {
		ids[i] = r.ID
	}
	return list, s.audit(ctx, a, "list", "reviews", "", map[string]any{"ids": ids})
}

// CountReviews counts the cases of the queue a filter selects, within the
// actor's scope, whatever the page.
func (s *Service) CountReviews(ctx context.Context, a domain.Actor, f postgres.ReviewFilter) (int, error) {
	f.Scope = postgres.ScopeOf(a)
	return s.DB.CountReviews(ctx, f)
}

// Review reads one case.
func (s *Service) Review(ctx context.Context, a domain.Actor, id string) (domain.ReviewView, error) {
	v, err := s.DB.GetReview(ctx, id, postgres.ScopeOf(a))
	if err != nil {
		return v, err
	}
	return v, s.audit(ctx, a, "read", "review", id, nil)
}

// Case commands and who may record them.
func (s *Service) SendNotice(ctx context.Context, a domain.Actor, id string, n domain.Notice) (domain.ReviewView, error) {
	return s.reviewCommand(ctx, a, id, workflows.SendNoticeUpdate, &n, "notice", "envoyer le courrier d'information", departmentOnly)
}

func (s *Service) RecordHearing(ctx context.Context, a domain.Actor, id string, h domain.Hearing) (domain.ReviewView, error) {
	return s.reviewCommand(ctx, a, id, workflows.RecordHearingUpdate, &h, "hearing", "enregistrer une audition", managers)
}

func (s *Service) RecordCompliance(ctx context.Context, a domain.Actor, id string, c domain.Compliance) (domain.ReviewView, error) {
	return s.reviewCommand(ctx, a, id, workflows.RecordComplianceUpdate, &c, "compliance", "enregistrer une mise en conformité", anyRole)
}

func (s *Service) RecordLegitimateReason(ctx context.Context, a domain.Actor, id string, l domain.LegitimateReason) (domain.ReviewView, error) {
	return s.reviewCommand(ctx, a, id, workflows.RecordLegitimateReasonUpdate, &l, "legitimate_reason", "enregistrer un motif légitime", anyRole)
}

func (s *Service) Decide(ctx context.Context, a domain.Actor, id string, d domain.Decision) (domain.ReviewView, error) {
	return s.reviewCommand(ctx, a, id, workflows.DecideReviewUpdate, &decision{&d}, "decision", "décider d'une sanction", departmentOnly)
}

func (s *Service) RecordAppeal(ctx context.Context, a domain.Actor, id string, ap domain.Appeal) (domain.ReviewView, error) {
	return s.reviewCommand(ctx, a, id, workflows.RecordAppealUpdate, &ap, "appeal", "enregistrer un recours", departmentOnly)
}

func (s *Service) DecideAppeal(ctx context.Context, a domain.Actor, id string, d domain.AppealDecision) (domain.ReviewView, error) {
	return s.reviewCommand(ctx, a, id, workflows.DecideAppealUpdate, &d, "appeal_decision", "décider d'un recours", departmentOnly)
}

func (s *Service) DecideRadiation(ctx context.Context, a domain.Actor, id string, d domain.RadiationDecision) (domain.ReviewView, error) {
	return s.reviewCommand(ctx, a, id, workflows.DecideRadiationUpdate, &d, "radiation", "décider d'une radiation", departmentOnly)
}

// decision: the scale itself is checked by the case, which knows whether
// the breach is a repeat; here only what needs no case.
type decision struct{ *domain.Decision }

func (d decision) Validate(today domain.Date) error {
	switch d.Kind {
	case domain.SanctionNone, domain.SanctionSuspension, domain.SanctionSuppression:
	default:
		return domain.FieldError("kind", "Décision inconnue %q : none, suspension ou suppression.", d.Kind)
	}
	if d.Kind == domain.SanctionNone && d.Reason == "" {
		return domain.FieldError("reason", "Une décision sans sanction doit être motivée.")
	}
	if d.DecidedOn.IsZero() || d.DecidedOn.After(today) {
		return domain.FieldError("decided_on", "La date de décision est obligatoire et ne peut être dans le futur.")
	}
	return nil
}

// reviewCommand is command's twin for a sanction case's workflow.
func (s *Service) reviewCommand(ctx context.Context, a domain.Actor, id, name string, cmd validated, what, verb string,
	roles []domain.Role) (domain.ReviewView, error) {
	if err := authorize(a, verb, roles...); err != nil {
		return domain.ReviewView{}, err
	}
	if err := cmd.Validate(s.today()); err != nil {
		return domain.ReviewView{}, err
	}
	parcoursID, n, err := s.DB.ReviewParcours(ctx, id, postgres.ScopeOf(a))
	if err != nil {
		return domain.ReviewView{}, err
	}
	if _, err := s.send(ctx, a, parcoursID, reviewTarget(parcoursID, n), name, cmd, nil, what, domain.ParcoursView{}); err != nil {
		return domain.ReviewView{}, err
	}
	return s.DB.GetReview(ctx, id, postgres.Scope{})
}
