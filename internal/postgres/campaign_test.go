package postgres_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
)

// stock opens a parcours and writes its stock deadline as the workflow does.
func (tb *testBundle) stock(t *testing.T, id string, c pgtest.StockCase) string {
	t.Helper()
	res, err := tb.db.Intake(tb.ctx, domain.System, intake(id), "departement")
	require.NoError(t, err)
	c.ParcoursID = res.ParcoursID
	require.NoError(t, pgtest.WriteStock(tb.ctx, tb.db, c))
	return res.ParcoursID
}

func TestCampaignCountsListAndScope(t *testing.T) {
	tb := setup(t)
	for _, a := range []postgres.Account{
		{Email: "a@cd.fr", Name: "Alice Nord", Role: domain.RoleReferent, ReferentID: "ref-a", Structure: "Nord"},
		{Email: "b@cd.fr", Name: "Bruno Sud", Role: domain.RoleReferent, ReferentID: "ref-b", Structure: "Sud"},
	} {
		_, err := tb.db.CreateAccount(tb.ctx, a)
		require.NoError(t, err)
	}
	pending, met, overdue := domain.DeadlinePending, domain.DeadlineMet, domain.DeadlineOverdue
	ids := map[string]string{}
	for i, c := range []pgtest.StockCase{
		{Organism: "CCAS Nord", ReferentID: "ref-a", Deadline: pending},
		{Organism: "CCAS Nord", ReferentID: "ref-a", Deadline: pending},
		{Organism: "CCAS Nord", ReferentID: "ref-a", Deadline: overdue},
		{Organism: "CCAS Nord", ReferentID: "ref-a", Deadline: met, MetOn: date("2025-03-01")},
		{Organism: "Mission locale Sud", ReferentID: "ref-b", Deadline: overdue},
		{Organism: "Mission locale Sud", ReferentID: "ref-b", Deadline: met, MetOn: date("2026-02-01"), Closed: true}, // signed, then left: counts
		{Organism: "Mission locale Sud", ReferentID: "ref-b", Deadline: pending, Closed: true},                        // left unsigned: out
		{Deadline: pending}, // no référent: the département's
		{Organism: "CCAS Nord", ReferentID: "ref-a", Deadline: domain.DeadlineCancelled}, // cancelled: out
	} {
		ids[fmt.Sprint(i)] = tb.stock(t, fmt.Sprintf("CAMP-%d", i), c)
	}
	// A parcours outside the campaign (no stock deadline) is never counted.
	other, err := tb.db.Intake(tb.ctx, domain.System, intake("CAMP-OUT"), "departement")
	require.NoError(t, err)
	require.NoError(t, tb.db.ApplySync(tb.ctx, syncInput(other.ParcoursID, 1)))

	all, err := tb.db.CampaignSummary(tb.ctx, postgres.Scope{})
	require.NoError(t, err)
	require.Equal(t, postgres.CampaignCounts{ToSign: 3, Signed: 2, Overdue: 2}, all.CampaignCounts)
	require.Equal(t, []string{domain.StockRuleSet}, all.RuleSets)
	require.Len(t, all.ByStructure, 3)
	require.Equal(t, postgres.CampaignGroup{ID: "CCAS Nord", Name: "CCAS Nord", CampaignCounts: postgres.CampaignCounts{ToSign: 2, Signed: 1, Overdue: 1}}, all.ByStructure[0])
	byRef := map[string]postgres.CampaignGroup{}
	for _, g := range all.ByReferent {
		byRef[g.ID] = g
	}
	require.Equal(t, "Alice Nord", byRef["ref-a"].Name)
	require.Equal(t, postgres.CampaignCounts{ToSign: 0, Signed: 1, Overdue: 1}, byRef["ref-b"].CampaignCounts)
	require.Equal(t, "Département (sans référent)", byRef[""].Name)

	// A supervisor of Nord counts and lists Nord's parcours only.
	nord := postgres.Scope{Structure: "Nord"}
	sum, err := tb.db.CampaignSummary(tb.ctx, nord)
	require.NoError(t, err)
	require.Equal(t, postgres.CampaignCounts{ToSign: 2, Signed: 1, Overdue: 1}, sum.CampaignCounts)
	today := date("2027-01-31")
	list, next, err := tb.db.ListCampaign(tb.ctx, postgres.CampaignFilter{Scope: nord, Limit: 100}, today)
	require.NoError(t, err)
	require.Empty(t, next)
	require.Len(t, list, 4)
	for _, p := range list {
		require.Equal(t, "ref-a", p.ReferentID)
		require.Equal(t, "Alice Nord", p.ReferentName)
	}

	// Filters: status, structure, référent, none.
	list, _, err = tb.db.ListCampaign(tb.ctx, postgres.CampaignFilter{Status: overdue, Limit: 100}, today)
	require.NoError(t, err)
	require.Len(t, list, 2)
	for _, p := range list {
		require.Equal(t, 30, p.DaysOverdue)
		require.Equal(t, date("2027-01-01"), p.DueOn)
	}
	list, _, err = tb.db.ListCampaign(tb.ctx, postgres.CampaignFilter{Structure: "Mission locale Sud", Limit: 100}, today)
	require.NoError(t, err)
	require.Len(t, list, 2)
	list, _, err = tb.db.ListCampaign(tb.ctx, postgres.CampaignFilter{Status: met, ReferentID: "ref-b", Limit: 100}, today)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, date("2026-02-01"), list[0].MetOn)
	require.Equal(t, ids["5"], list[0].ParcoursID)
	list, _, err = tb.db.ListCampaign(tb.ctx, postgres.CampaignFilter{ReferentID: postgres.NoReferent, Limit: 100}, today)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, ids["7"], list[0].ParcoursID)
	require.Equal(t, "Département (sans référent)", list[0].ReferentName)

	// Keyset pages: every line once, newest first.
	seen := map[string]bool{}
	cursor, pages := "", 0
	for {
		page, next, err := tb.db.ListCampaign(tb.ctx, postgres.CampaignFilter{Cursor: cursor, Limit: 2}, today)
		require.NoError(t, err)
		pages++
		for _, p := range page {
			require.False(t, seen[p.ParcoursID])
			seen[p.ParcoursID] = true
		}
		if next == "" {
			break
		}
		cursor = next
	}
	require.Len(t, seen, 7)
	require.Equal(t, 4, pages)
	_, _, err = tb.db.ListCampaign(tb.ctx, postgres.CampaignFilter{Cursor: "abc"}, today)
	require.Equal(t, "cursor", domain.ErrorField(err))
}

func TestCampaignOverseasRuleSet(t *testing.T) {
	tb := setup(t)
	tb.stock(t, "DOM-1", pgtest.StockCase{Organism: "CCAS", ReferentID: "ref-x", Deadline: domain.DeadlinePending, Overseas: true})
	sum, err := tb.db.CampaignSummary(tb.ctx, postgres.Scope{})
	require.NoError(t, err)
	require.Equal(t, []string{domain.StockRuleSetOverseas}, sum.RuleSets)
	list, _, err := tb.db.ListCampaign(tb.ctx, postgres.CampaignFilter{}, date("2026-12-06"))
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, date("2028-01-01"), list[0].DueOn)
	require.Equal(t, "ref-x", list[0].ReferentName, "a référent without an account reads as its id")
}

// TestCampaignNamesReferentsWithoutAccount: a référent a reprise file made
// has a record and no account: the campaign shows its name, never its id.
func TestCampaignNamesReferentsWithoutAccount(t *testing.T) {
	tb := setup(t)
	st, err := tb.db.CreateStructure(tb.ctx, domain.Structure{Name: "CCAS de Lisieux", Kind: "ccas"})
	require.NoError(t, err)
	r, err := tb.db.CreateReferent(tb.ctx, domain.Referent{Name: "Agnès Martin", StructureID: st.ID})
	require.NoError(t, err)
	tb.stock(t, "CAMP-NAME", pgtest.StockCase{Organism: "CCAS de Lisieux", ReferentID: r.ID, Deadline: domain.DeadlinePending})
	all, err := tb.db.CampaignSummary(tb.ctx, postgres.Scope{})
	require.NoError(t, err)
	require.Len(t, all.ByReferent, 1)
	require.Equal(t, "Agnès Martin", all.ByReferent[0].Name)
}
