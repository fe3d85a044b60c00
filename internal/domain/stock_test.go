package domain

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStockDeadlineBoundaries(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name             string
		entered, signed  Date
		marked, overseas bool
		due              string
	}{
		{"entered 31/12/2024", NewDate(2024, 12, 31), Date{}, false, false, "2027-01-01"},
		{"entered 01/01/2025", NewDate(2025, 1, 1), Date{}, false, false, ""},
		{"entered 2025, marked", NewDate(2025, 6, 30), Date{}, true, false, "2027-01-01"},
		{"CER signed 31/12/2024", NewDate(2023, 1, 31), NewDate(2024, 12, 31), false, false, "2027-01-01"},
		{"contract signed 01/01/2025", NewDate(2023, 1, 31), NewDate(2025, 1, 1), false, false, ""},
		{"overseas", NewDate(2024, 12, 31), Date{}, false, true, "2028-01-01"},
	} {
		d, ok := StockDeadline(c.entered, c.marked, c.signed, c.overseas)
		if c.due == "" {
			require.False(t, ok, c.name)
			continue
		}
		require.True(t, ok, c.name)
		require.Equal(t, c.due, d.DueOn.String(), c.name)
		require.Equal(t, BasisStock, d.Basis)
	}
	require.Equal(t, "contrat dû le 01/01/2027 — délai légal (stock : personnes accompagnées au 01/01/2025, décret 2024-1244)", StockDeadlineFor(false).Explain())
	require.Contains(t, StockDeadlineFor(true).Explain(), "contrat dû le 01/01/2028 — délai légal (stock outre-mer")
	require.Contains(t, StockDeadlineFor(true).Explain(), "décret 2025-816")
	require.Equal(t, StockRuleSetOverseas, StockDeadlineFor(true).RuleSet)
	require.NotEqual(t, string(TaskStockContract), TaskStockContract.French())
	require.NotEqual(t, string(BasisStock), BasisStock.French())
}

func TestForesee(t *testing.T) {
	t.Parallel()
	today := NewDate(2026, 12, 6)
	orient := &RepriseOrientation{Track: TrackProfessional, Organism: "France Travail", ReferentID: "ref-1", DecidedOn: NewDate(2025, 7, 31)}
	contract := &RepriseContract{Kind: ContractEngagement, SignedOn: NewDate(2025, 8, 29), StartsOn: NewDate(2025, 9, 1), EndsOn: NewDate(2027, 3, 31)}
	for _, c := range []struct {
		name              string
		r                 *Reprise
		entered, received Date
		overseas          bool
		want              Foreseen
	}{
		{"received 01/09/2026, nothing: handed over", nil, NewDate(2026, 9, 1), NewDate(2026, 9, 1), false,
			Foreseen{Status: StatusAwaitingOrientation, Overdue: true, HandedOver: true}},
		{"received last week", &Reprise{}, NewDate(2026, 11, 30), NewDate(2026, 11, 30), false,
			Foreseen{Status: StatusAwaitingOrientation}},
		{"oriented and under contract", &Reprise{Orientation: orient, Contract: contract}, NewDate(2025, 6, 30), NewDate(2025, 6, 30), false,
			Foreseen{Status: StatusInAccompaniment}},
		{"oriented in 2025 without contract", &Reprise{Orientation: orient}, NewDate(2025, 6, 30), NewDate(2025, 6, 30), false,
			Foreseen{Status: StatusAwaitingContract, Overdue: true}},
		{"oriented last week", &Reprise{Orientation: &RepriseOrientation{Track: TrackSocial, DecidedOn: NewDate(2026, 11, 30)}},
			NewDate(2026, 11, 15), NewDate(2026, 11, 15), false, Foreseen{Status: StatusAwaitingContract}},
		{"old CER: stock", &Reprise{Orientation: orient, Contract: &RepriseContract{Kind: ContractCER, SignedOn: NewDate(2024, 12, 31),
			StartsOn: NewDate(2024, 12, 31), EndsOn: NewDate(2027, 6, 30)}}, NewDate(2024, 3, 31), NewDate(2024, 3, 31), true,
			Foreseen{Status: StatusInAccompaniment, Stock: true}},
		{"2025 contract: no stock", &Reprise{Stock: true, Orientation: orient, Contract: contract}, NewDate(2024, 3, 31), NewDate(2024, 3, 31), false,
			Foreseen{Status: StatusInAccompaniment}},
	} {
		require.Equal(t, c.want, Foresee(c.r, c.entered, c.received, today, PolicyDepartement, c.overseas), c.name)
	}
}

func TestRepriseValidate(t *testing.T) {
	t.Parallel()
	today := NewDate(2026, 12, 6)
	entered := NewDate(2024, 1, 31)
	orient := &RepriseOrientation{Track: TrackSocial, Organism: "CCAS", DecidedOn: NewDate(2024, 2, 29)}
	okContract := RepriseContract{Kind: ContractCER, SignedOn: NewDate(2024, 3, 1), StartsOn: NewDate(2024, 3, 1), EndsOn: NewDate(2025, 3, 1)}
	var nilReprise *Reprise
	require.NoError(t, nilReprise.Validate(entered, today))
	require.NoError(t, (&Reprise{Orientation: orient, Contract: &okContract, Obstacles: []string{"health"}}).Validate(entered, today))
	bad := func(r *Reprise, field, contains string) {
		t.Helper()
		err := r.Validate(entered, today)
		require.Error(t, err)
		require.Equal(t, field, ErrorField(err))
		require.Contains(t, ErrorMessage(err), contains)
	}
	future := okContract
	future.SignedOn = NewDate(2026, 12, 7)
	bad(&Reprise{Orientation: orient, Contract: &future}, "contract_signed_on", "futur")
	ends := okContract
	ends.EndsOn = ends.StartsOn
	bad(&Reprise{Orientation: orient, Contract: &ends}, "contract_ends_on", "terminer après")
	bad(&Reprise{Contract: &okContract}, "contract_kind", "suppose une orientation")
	bad(&Reprise{Orientation: &RepriseOrientation{Track: "pro", DecidedOn: NewDate(2024, 2, 1)}}, "orientation_track", "inconnu")
	bad(&Reprise{Orientation: &RepriseOrientation{Track: TrackSocial, DecidedOn: NewDate(2027, 1, 1)}}, "orientation_decided_on", "futur")
	kind := okContract
	kind.Kind = "cdi"
	bad(&Reprise{Orientation: orient, Contract: &kind}, "contract_kind", "inconnu")
	bad(&Reprise{Orientation: orient, Obstacles: []string{"debt"}}, "obstacles", "Frein inconnu")
}
