package indicators_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/indicators"
	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
)

func date(s string) domain.Date {
	d, err := domain.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// The data set, and the figures computed by hand (period Q1 2026, today 1 June 2026):
//
//	A entered 10/01, oriented 20/01 (10 days, professional, référent r-a of structure Nord),
//	  contract 15/02 (36 days), renewal 30/03; an action ended 01/03 (insertion_durable),
//	  its 3-month follow-up answered 30/03 (employment).
//	B entered 31/01, oriented 05/03 (33 days: not within 1 month, as 31/01 + 1 month = 28/02;
//	  within 6 weeks = 14/03 and 45 days), re-oriented 20/03 within 6 months (social);
//	  a case reported 10/03, decided 25/03 (suspension).
//	C entered 20/03, oriented 25/03 (5 days, social).
//	D entered 15/12/2025 (before the period), social, still open.
//	E entered 01/02, left 15/03, never oriented; handed over to France Travail on 15/03.
func TestIndicatorsOnAFixedDataSet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	exec := func(sql string, args ...any) {
		t.Helper()
		_, err := db.Pool.Exec(ctx, sql, args...)
		require.NoError(t, err)
	}
	ids := map[string]uuid.UUID{}
	add := func(name, entered, track, referent, exited string) {
		b, p := uuid.New(), uuid.New()
		ids[name] = p
		exec(`INSERT INTO beneficiaries (id, external_id, last_name, first_name, birth_date) VALUES ($1, $2, 'X', 'Y', '1980-01-01')`, b, name)
		exec(`INSERT INTO parcours (id, beneficiary_id, entered_on, received_on, policy, status, track, referent_id, exited_on)
		      VALUES ($1, $2, $3, $3, 'departement', 'in_accompaniment', nullif($4, ''), nullif($5, ''), nullif($6, '')::date)`,
			p, b, entered, track, referent, exited)
	}
	add("A", "2026-01-10", "professional", "r-a", "")
	add("B", "2026-01-31", "social", "r-b", "")
	add("C", "2026-03-20", "social", "r-c", "")
	add("D", "2025-12-15", "social", "r-d", "")
	add("E", "2026-02-01", "", "", "2026-03-15")
	// r-a belongs to the structure Nord (migration 013: référents are records).
	exec(`INSERT INTO structures (id, name, kind) VALUES ('str-nord', 'Nord', 'departement')`)
	exec(`INSERT INTO referents (id, name, structure_id) VALUES ('r-a', 'A', 'str-nord')`)
	orient := func(p string, seq int, on string, within bool) {
		exec(`INSERT INTO orientations (parcours_id, seq, track, organism, referent_id, decided_on, within_6_months) VALUES ($1, $2, 'social', 'CCAS', 'r', $3, $4)`,
			ids[p], seq, on, within)
	}
	orient("A", 1, "2026-01-20", false)
	orient("B", 1, "2026-03-05", false)
	orient("B", 2, "2026-03-20", true)
	orient("C", 1, "2026-03-25", false)
	exec(`INSERT INTO contracts (parcours_id, seq, kind, signed_on, starts_on, ends_on) VALUES ($1, 1, 'cer', '2026-02-15', '2026-02-15', '2026-08-14'),
	      ($1, 2, 'cer', '2026-03-30', '2026-03-30', '2026-09-29')`, ids["A"])
	exec(`INSERT INTO actions (parcours_id, seq, name, kind, structure, starts_on, planned_end_on, ended_on, outcome_category, outcome_detail)
	      VALUES ($1, 1, 'Atelier', 'training', 'AFPA', '2026-02-01', '2026-03-01', '2026-03-01', 'insertion_durable', 'qualifying_training_450h')`, ids["A"])
	exec(`INSERT INTO follow_ups (parcours_id, action_seq, months, opens_on, due_on, answered_on, situation) VALUES ($1, 1, 3, '2026-06-01', '2026-07-01', '2026-03-30', 'employment')`, ids["A"])
	exec(`INSERT INTO reviews (id, parcours_id, number, status, breach_kind, reported_on, repeat, decided_on, sanction_kind, percent, months, state, version)
	      VALUES ('rB', $1, 1, 'sanction', 'refusal_contract', '2026-03-10', false, '2026-03-25', 'suspension', 30, 1, '{}', 1)`, ids["B"])
	exec(`INSERT INTO events (parcours_id, seq, kind, occurred_on, at, summary) VALUES ($1, 1, 'orientation_handed_over', '2026-03-15', now(), 's')`, ids["E"])

	r, err := indicators.Compute(ctx, db.Pool, indicators.Filter{From: date("2026-01-01"), To: date("2026-03-31"), Today: date("2026-06-01")})
	require.NoError(t, err)
	got := map[string]indicators.Indicator{}
	for _, it := range r.Items {
		require.NotEmpty(t, it.Definition, it.Key)
		got[it.Key] = it
	}
	value := func(k string) int { return got[k].Value }
	share := func(k string) [2]int { return [2]int{got[k].Value, *got[k].Cohort} }

	require.Equal(t, 4, value("beneficiaries"), "A, B, C, D: E left before the end")
	require.Equal(t, 4, value("new_entrants"), "A, B, C, E")
	require.Equal(t, [2]int{2, 4}, share("oriented_15_days"), "A and C")
	require.Equal(t, [2]int{2, 4}, share("oriented_30_days"))
	require.Equal(t, [2]int{2, 4}, share("oriented_1_month"), "B: 31/01 + 1 month = 28/02 < 05/03")
	require.Equal(t, [2]int{3, 4}, share("oriented_6_weeks"), "B: 05/03 ≤ 14/03")
	require.Equal(t, [2]int{3, 4}, share("oriented_45_days"))
	require.Equal(t, 10.0, *got["oriented_1_month"].Median, "median of 10, 33 and 5 days")
	require.Equal(t, 0.5, *got["oriented_1_month"].Share)
	require.Equal(t, [2]int{1, 4}, share("contract_2_months"))
	require.Equal(t, 36.0, *got["contract_2_months"].Median)
	require.Equal(t, 2, value("contracts_signed"))
	require.Equal(t, 1, value("reorientations"))
	require.Equal(t, 1, value("reorientations_6_months"))
	require.Equal(t, 1, value("handed_over"))
	require.Equal(t, []indicators.Part{{"professional", "professionnel", 1}, {"social", "social", 3}}, got["accompaniment_by_track"].Parts)
	require.Equal(t, 1, value("cases_opened"))
	require.Equal(t, []indicators.Part{{"suspension", "Suspension", 1}}, got["decisions_by_kind"].Parts)
	require.Equal(t, []indicators.Part{{"social", "social", 1}}, got["sanctions_by_track"].Parts)
	require.Equal(t, []indicators.Part{{"insertion_durable", "Insertion durable", 1}}, got["exits_by_outcome"].Parts)
	require.Equal(t, []indicators.Part{{"3:employment", "à 3 mois : En emploi", 1}}, got["follow_ups"].Parts)

	// Maturity: on 15/04, C (entered 20/03) is not mature for 1 month yet.
	r, err = indicators.Compute(ctx, db.Pool, indicators.Filter{From: date("2026-01-01"), To: date("2026-03-31"), Today: date("2026-04-15")})
	require.NoError(t, err)
	for _, it := range r.Items {
		if it.Key == "oriented_1_month" {
			require.Equal(t, 3, *it.Cohort, "A, B, E")
			require.Equal(t, 1, it.Value, "A")
		}
	}

	// A structure: only its référents' parcours.
	r, err = indicators.Compute(ctx, db.Pool, indicators.Filter{From: date("2026-01-01"), To: date("2026-03-31"), Today: date("2026-06-01"), Structure: "Nord"})
	require.NoError(t, err)
	require.Equal(t, "new_entrants", r.Items[1].Key)
	require.Equal(t, 1, r.Items[1].Value, "A only")
}
