package app

import (
	"context"
	"time"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/indicators"
)

// Indicators computes the published figures for a period; a supervisor
// sees their structure's, a référent their own.
func (s *Service) Indicators(ctx context.Context, a domain.Actor, f indicators.Filter) (indicators.Report, error) {
	switch {
	case f.From.IsZero() || f.To.IsZero():
		return indicators.Report{}, domain.FieldError("from", "La période est obligatoire : from et to (AAAA-MM-JJ).")
	case f.To.Before(f.From):
		return indicators.Report{}, domain.FieldError("to", "La fin de la période précède son début.")
	}
	switch {
	case a.SeesOnlyOwn():
		f.ReferentID, f.Structure = a.ReferentID, ""
	case a.Role == domain.RoleSupervisor && a.Structure != "":
		f.Structure = a.Structure
	}
	f.Today = s.today()
	compute := func(ctx context.Context, f indicators.Filter) (indicators.Report, error) {
		return indicators.Compute(ctx, s.DB.Pool, f)
	}
	var r indicators.Report
	var err error
	if s.Caches != nil && s.Caches.Indicators != nil {
		var at time.Time
		r, at, err = s.Caches.Indicators.Get(ctx, f, func(ctx context.Context) (indicators.Report, error) { return compute(ctx, f) })
		r.ComputedAt = at
	} else if r, err = compute(ctx, f); err == nil {
		r.ComputedAt = s.now()
	}
	if err != nil {
		return r, err
	}
	return r, s.audit(ctx, a, "list", "indicators", "", map[string]any{"from": f.From.String(), "to": f.To.String()})
}

// DefaultPeriod is the last full calendar year: what the seeds publish.
func DefaultPeriod(now time.Time) (domain.Date, domain.Date) {
	y := domain.DateOf(now).Year - 1
	return domain.NewDate(y, 1, 1), domain.NewDate(y, 12, 31)
}
