package app

import (
	"context"
	"encoding/csv"
	"io"
	"slices"
	"strconv"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// The 1 January 2027 campaign's view (issue 19): for supervisors (their
// structure), the département and administrators (everything). A référent
// follows their own stock tasks in their inbox.

// campaignRoles may see the campaign.
var campaignRoles = managers

// CampaignExportMax bounds a CSV export: a département's whole stock.
const CampaignExportMax = 200000

// Campaign counts the campaign in the actor's scope.
func (s *Service) Campaign(ctx context.Context, a domain.Actor) (postgres.CampaignSummary, error) {
	if err := authorize(a, "voir la campagne du 1er janvier 2027", campaignRoles...); err != nil {
		return postgres.CampaignSummary{}, err
	}
	scope := postgres.ScopeOf(a)
	var sum postgres.CampaignSummary
	var err error
	if s.Caches == nil || s.Caches.Campaign == nil {
		sum, err = s.DB.CampaignSummary(ctx, scope)
	} else { // kept with the counts: the pages only read it
		sum, _, err = s.Caches.Campaign.Get(ctx, scope, func(ctx context.Context) (postgres.CampaignSummary, error) {
			return s.DB.CampaignSummary(ctx, scope)
		})
	}
	if err != nil {
		return sum, err
	}
	return sum, s.audit(ctx, a, "list", "campaign", "", map[string]any{"total": sum.Total()})
}

// CampaignList reads a page of the campaign's list in the actor's scope.
func (s *Service) CampaignList(ctx context.Context, a domain.Actor, f postgres.CampaignFilter) ([]postgres.CampaignPerson, string, error) {
	if err := s.campaignFilter(a, &f); err != nil {
		return nil, "", err
	}
	items, next, err := s.DB.ListCampaign(ctx, f, s.today())
	if err != nil {
		return nil, "", err
	}
	return items, next, s.audit(ctx, a, "list", "campaign", "", map[string]any{"ids": campaignIDs(items)})
}

// CampaignExport reads the whole filtered list in the actor's scope, for
// a CSV export; the audit log records each parcours exported.
func (s *Service) CampaignExport(ctx context.Context, a domain.Actor, f postgres.CampaignFilter) ([]postgres.CampaignPerson, error) {
	if err := s.campaignFilter(a, &f); err != nil {
		return nil, err
	}
	var all []postgres.CampaignPerson
	f.Cursor, f.Limit = "", 5000
	for len(all) < CampaignExportMax {
		page, next, err := s.DB.ListCampaign(ctx, f, s.today())
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if next == "" {
			break
		}
		f.Cursor = next
	}
	return all, s.audit(ctx, a, "export", "campaign", "", map[string]any{"ids": campaignIDs(all),
		"status": string(f.Status), "structure": f.Structure, "referent_id": f.ReferentID})
}

// campaignFilter authorizes and checks a filter, and puts the actor's scope on it.
func (s *Service) campaignFilter(a domain.Actor, f *postgres.CampaignFilter) error {
	if err := authorize(a, "voir la campagne du 1er janvier 2027", campaignRoles...); err != nil {
		return err
	}
	if f.Status != "" && !slices.Contains(domain.CampaignStatuses, f.Status) {
		return domain.FieldError("status", "Statut inconnu %q : pending (à signer), met (signé) ou overdue (en retard).", f.Status)
	}
	f.Scope = postgres.ScopeOf(a)
	return nil
}

func campaignIDs(items []postgres.CampaignPerson) []string {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ParcoursID
	}
	return ids
}

// WriteCampaignCSV writes the campaign's list as a CSV file for a
// spreadsheet (UTF-8 with BOM, « ; »): one line per person, in French.
// dossierURL prefixes the link to each dossier ("" for a path).
func WriteCampaignCSV(w io.Writer, items []postgres.CampaignPerson, dossierURL string) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Comma = ';'
	if err := cw.Write([]string{"nom", "prénom", "identifiant", "référent", "structure", "échéance", "statut", "signé le",
		"jours de retard", "dossier"}); err != nil {
		return err
	}
	date := func(d domain.Date) string {
		if d.IsZero() {
			return ""
		}
		return d.French()
	}
	for _, p := range items {
		line := []string{p.LastName, p.FirstName, p.BeneficiaryID, p.ReferentName, p.StructureName, date(p.DueOn),
			domain.CampaignStatusFr(p.Status), date(p.MetOn), strconv.Itoa(p.DaysOverdue), dossierURL + "/dossiers/" + p.ParcoursID}
		for i, cell := range line {
			line[i] = domain.SpreadsheetSafe(cell)
		}
		if err := cw.Write(line); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
