package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// The 1 January 2027 campaign (issue 19): the parcours whose contract
// deadline has basis domain.BasisStock, as the workflow writes it into
// deadlines, counted and listed within an actor's scope.
//
// A parcours counts while it is open; one closed after its stock contract
// was signed still counts as signed.

// NoReferent is the référent filter value of the parcours without a
// référent (their stock task goes to the département).
const NoReferent = "aucun"

// CampaignCounts are the campaign's three counts.
type CampaignCounts struct {
	ToSign  int `json:"to_sign"` // deadline pending
	Signed  int `json:"signed"`  // deadline met
	Overdue int `json:"overdue"` // deadline passed with no contract
}

// Total is the number of parcours in the campaign.
func (c CampaignCounts) Total() int { return c.ToSign + c.Signed + c.Overdue }

func (c *CampaignCounts) add(status domain.DeadlineStatus, n int) {
	switch status {
	case domain.DeadlinePending:
		c.ToSign += n
	case domain.DeadlineMet:
		c.Signed += n
	case domain.DeadlineOverdue:
		c.Overdue += n
	}
}

// CampaignGroup is the counts of one structure or one référent. ID is the
// structure (parcours.organism) or the référent id, "" for none.
type CampaignGroup struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	CampaignCounts
}

// CampaignSummary is the campaign in a scope: counts, by structure and by
// référent, and the rule sets its deadlines follow.
type CampaignSummary struct {
	CampaignCounts
	RuleSets    []string        `json:"rule_sets"`
	ByStructure []CampaignGroup `json:"by_structure"`
	ByReferent  []CampaignGroup `json:"by_referent"`
	cells       []campaignCell
}

// campaignCell is one count of the summary's query.
type campaignCell struct {
	structure, referent string
	status              domain.DeadlineStatus
	ruleSet             string
	n                   int
}

// Matching counts the parcours a list filter selects (its scope aside:
// the summary's own), without another query.
func (s CampaignSummary) Matching(f CampaignFilter) int {
	n := 0
	for _, c := range s.cells {
		switch {
		case f.Status != "" && c.status != f.Status,
			f.Structure != "" && c.structure != f.Structure,
			f.ReferentID == NoReferent && c.referent != "",
			f.ReferentID != "" && f.ReferentID != NoReferent && c.referent != f.ReferentID:
			continue
		}
		n += c.n
	}
	return n
}

// campaignRows is the SQL condition of the campaign's deadlines d on
// parcours p (a deadline cancelled, whatever the reason, is out of the campaign).
const campaignRows = `d.kind = 'contract' AND d.basis = 'stock' AND d.status IN ('pending', 'met', 'overdue')
	AND (p.closed_at IS NULL OR d.status = 'met')`

// CampaignSummary counts the campaign's parcours in scope.
func (db *DB) CampaignSummary(ctx context.Context, scope Scope) (CampaignSummary, error) {
	// One pass over the stock deadlines, grouped by the pairs (structure,
	// référent): a département has a few hundred of them at most.
	rows, err := db.Pool.Query(ctx, `
		SELECT coalesce(p.organism, ''), coalesce(p.referent_id, ''), d.status, d.rule_set, count(*)
		FROM deadlines d JOIN parcours p ON p.id = d.parcours_id
		WHERE `+campaignRows+` AND `+visible(1)+`
		GROUP BY 1, 2, 3, 4`, scope.args()...)
	if err != nil {
		return CampaignSummary{}, fmt.Errorf("campaign summary: %w", err)
	}
	cells, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (campaignCell, error) {
		var c campaignCell
		err := r.Scan(&c.structure, &c.referent, &c.status, &c.ruleSet, &c.n)
		return c, err
	})
	if err != nil {
		return CampaignSummary{}, fmt.Errorf("campaign summary: %w", err)
	}
	s := CampaignSummary{RuleSets: []string{}, cells: cells}
	byStructure, byReferent := map[string]*CampaignGroup{}, map[string]*CampaignGroup{}
	group := func(m map[string]*CampaignGroup, id string) *CampaignGroup {
		if g, ok := m[id]; ok {
			return g
		}
		g := &CampaignGroup{ID: id}
		m[id] = g
		return g
	}
	for _, c := range cells {
		s.add(c.status, c.n)
		group(byStructure, c.structure).add(c.status, c.n)
		group(byReferent, c.referent).add(c.status, c.n)
		if !slices.Contains(s.RuleSets, c.ruleSet) {
			s.RuleSets = append(s.RuleSets, c.ruleSet)
		}
	}
	slices.Sort(s.RuleSets)
	s.ByStructure, s.ByReferent = sortedGroups(byStructure), sortedGroups(byReferent)
	names, err := db.campaignNames(ctx, s.ByReferent, s.ByStructure)
	if err != nil {
		return s, err
	}
	for i := range s.ByReferent {
		s.ByReferent[i].Name = names.referent(s.ByReferent[i].ID)
	}
	for i := range s.ByStructure {
		s.ByStructure[i].Name = names.structure(s.ByStructure[i].ID)
	}
	return s, nil
}

// sortedGroups orders groups by overdue, then to sign, then id: the ones
// that need attention first.
func sortedGroups(m map[string]*CampaignGroup) []CampaignGroup {
	out := make([]CampaignGroup, 0, len(m))
	for _, g := range m {
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b CampaignGroup) int {
		if a.Overdue != b.Overdue {
			return b.Overdue - a.Overdue
		}
		if a.ToSign != b.ToSign {
			return b.ToSign - a.ToSign
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// CampaignFilter selects a page of the campaign's list.
type CampaignFilter struct {
	Scope
	Status     domain.DeadlineStatus // "" for all
	Structure  string                // parcours.organism
	ReferentID string                // a référent id, or NoReferent
	Cursor     string                // the last parcours id of the previous page
	Limit      int
}

// CampaignPerson is one line of the campaign's list.
type CampaignPerson struct {
	ParcoursID    string                `json:"parcours_id"`
	BeneficiaryID string                `json:"beneficiary_id"`
	LastName      string                `json:"last_name"`
	FirstName     string                `json:"first_name"`
	ReferentID    string                `json:"referent_id"`
	ReferentName  string                `json:"referent_name"`
	Structure     string                `json:"structure"`
	StructureName string                `json:"structure_name"`
	RuleSet       string                `json:"rule_set"`
	DueOn         domain.Date           `json:"due_on"`
	Status        domain.DeadlineStatus `json:"status"`
	MetOn         domain.Date           `json:"met_on,omitempty"`
	// DaysOverdue is how many days the deadline has passed, for an
	// overdue one (0 otherwise).
	DaysOverdue int `json:"days_overdue"`
}

// ListCampaign lists the campaign's parcours in scope, newest first, one
// keyset page at a time (the cursor is the last parcours id of a page, as
// for ListParcours). today dates the days overdue.
func (db *DB) ListCampaign(ctx context.Context, f CampaignFilter, today domain.Date) (items []CampaignPerson, next string, err error) {
	var cursor any
	if f.Cursor != "" {
		c, err := uuid.Parse(f.Cursor)
		if err != nil {
			return nil, "", domain.FieldError("cursor", "Curseur de pagination invalide.")
		}
		cursor = c
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	referent, noReferent := nullText(f.ReferentID), f.ReferentID == NoReferent
	if noReferent {
		referent = nil
	}
	rows, err := db.Pool.Query(ctx, `
		SELECT p.id::text, b.external_id, b.last_name, b.first_name, coalesce(p.referent_id, ''), coalesce(p.organism, ''),
		       d.rule_set, d.due_on, d.status, d.met_on
		FROM deadlines d
		JOIN parcours p ON p.id = d.parcours_id
		JOIN beneficiaries b ON b.id = p.beneficiary_id
		WHERE `+campaignRows+`
		  AND ($1::text IS NULL OR d.status = $1)
		  AND ($2::text IS NULL OR p.organism = $2)
		  AND ($3::text IS NULL OR p.referent_id = $3)
		  AND (NOT $4 OR p.referent_id IS NULL)
		  AND ($5::uuid IS NULL OR d.parcours_id < $5)
		  AND `+visible(7)+`
		ORDER BY d.parcours_id DESC
		LIMIT $6`,
		nullText(string(f.Status)), nullText(f.Structure), referent, noReferent, cursor, f.Limit+1,
		nullText(f.Scope.ReferentID), nullText(f.Scope.Structure))
	if err != nil {
		return nil, "", fmt.Errorf("list campaign: %w", err)
	}
	items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (CampaignPerson, error) {
		var c CampaignPerson
		var due, met pgtype.Date
		err := r.Scan(&c.ParcoursID, &c.BeneficiaryID, &c.LastName, &c.FirstName, &c.ReferentID, &c.Structure,
			&c.RuleSet, &due, &c.Status, &met)
		c.DueOn, c.MetOn = fromPG(due), fromPG(met)
		if c.Status == domain.DeadlineOverdue && c.DueOn.Before(today) {
			c.DaysOverdue = c.DueOn.DaysUntil(today)
		}
		return c, err
	})
	if err != nil {
		return nil, "", fmt.Errorf("list campaign: %w", err)
	}
	if len(items) > f.Limit {
		items = items[:f.Limit]
		next = items[len(items)-1].ParcoursID
	}
	var refs, structs []CampaignGroup
	for _, it := range items {
		refs = append(refs, CampaignGroup{ID: it.ReferentID})
		structs = append(structs, CampaignGroup{ID: it.Structure})
	}
	names, err := db.campaignNames(ctx, refs, structs)
	if err != nil {
		return nil, "", err
	}
	for i := range items {
		items[i].ReferentName, items[i].StructureName = names.referent(items[i].ReferentID), names.structure(items[i].Structure)
	}
	return items, next, nil
}

// campaignNameBook holds the names of référents and structures.
type campaignNameBook struct{ referents map[string]string }

// referent is the name shown for a référent id: its record's name,
// else the id; "" (none) reads « Département (sans référent) ».
func (n campaignNameBook) referent(id string) string {
	if id == "" {
		return "Département (sans référent)"
	}
	if name := n.referents[id]; name != "" {
		return name
	}
	return id
}

// structure is the name shown for a structure: today the organism as the
// orientation recorded it.
func (n campaignNameBook) structure(id string) string {
	if id == "" {
		return "Sans structure"
	}
	return id
}

// campaignNames resolves the names of the référents shown, from their
// records (référents made by a reprise file have no account).
func (db *DB) campaignNames(ctx context.Context, referents, _ []CampaignGroup) (campaignNameBook, error) {
	var ids []string
	for _, g := range referents {
		if g.ID != "" && !slices.Contains(ids, g.ID) {
			ids = append(ids, g.ID)
		}
	}
	names, err := db.ReferentNames(ctx, ids)
	if err != nil {
		return campaignNameBook{}, fmt.Errorf("campaign names: %w", err)
	}
	return campaignNameBook{referents: names}, nil
}

// DigestCampaign counts the campaign for a digest's recipient: a
// supervisor's structure, or the whole département; nothing for a
// référent (their stock tasks are in their digest's tasks).
func (db *DB) DigestCampaign(ctx context.Context, r DigestRecipient) (CampaignCounts, error) {
	var c CampaignCounts
	scope := Scope{}
	switch r.Role {
	case domain.RoleSupervisor:
		scope.Structure = r.Structure
	case domain.RoleDepartment, domain.RoleAdmin:
	default:
		return c, nil
	}
	err := db.Pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE d.status = 'pending'), count(*) FILTER (WHERE d.status = 'met'),
		       count(*) FILTER (WHERE d.status = 'overdue')
		FROM deadlines d JOIN parcours p ON p.id = d.parcours_id
		WHERE `+campaignRows+` AND `+visible(1), scope.args()...).Scan(&c.ToSign, &c.Signed, &c.Overdue)
	if err != nil {
		return c, fmt.Errorf("digest campaign: %w", err)
	}
	return c, nil
}
