// Package indicators computes, from the read model, the figures the
// départements publish (domain.md, "Indicators"; seeds 000-004), each with
// its definition. A share is computed over a mature cohort only: people who
// entered long enough ago for the delay to have passed.
package indicators

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// Filter chooses the period and, optionally, a structure or a référent.
type Filter struct {
	From, To   domain.Date
	Today      domain.Date // maturity is judged against it
	Structure  string
	ReferentID string
}

// Part is one line of a breakdown.
type Part struct {
	Code  string `json:"code"`  // what the breakdown counts by: a track, a decision, an outcome…
	Label string `json:"label"` // its French label
	Value int    `json:"value"`
}

// Indicator is one published figure.
type Indicator struct {
	Key        string   `json:"key"`
	Label      string   `json:"label"`
	Definition string   `json:"definition"`
	Value      int      `json:"value"`
	Cohort     *int     `json:"mature_cohort,omitempty"` // the denominator of Share
	Share      *float64 `json:"share,omitempty"`         // Value / Cohort
	Median     *float64 `json:"median_days,omitempty"`
	Parts      []Part   `json:"breakdown,omitempty"`
}

// Report is every indicator of a period.
type Report struct {
	From       domain.Date `json:"from"`
	To         domain.Date `json:"to"`
	Structure  string      `json:"structure,omitempty"`
	ReferentID string      `json:"referent_id,omitempty"`
	Items      []Indicator `json:"indicators"`
	// ComputedAt is when the figures were computed: a report may come from
	// the cache (Cache), up to its TTL old.
	ComputedAt time.Time `json:"computed_at"`
}

// scope is the condition on parcours p of the filter's structure or
// référent, with its parameters at $3 and $4 (after from and to).
// Every query names its four parameters, typed, so that PostgreSQL knows them.
const scope = `$1::date <= $2::date
	AND ($3::text IS NULL OR p.referent_id IN
		(SELECT sr.id FROM referents sr JOIN structures ss ON ss.id = sr.structure_id WHERE ss.name = $3))
	AND ($4::text IS NULL OR p.referent_id = $4)`

// first is the date of a parcours' first orientation and first contract.
const first = `
	WITH base AS (
		SELECT p.id, p.entered_on, p.track,
		       coalesce((SELECT decided_on FROM orientations o WHERE o.parcours_id = p.id AND o.seq = 1), p.oriented_on) AS oriented_on,
		       coalesce((SELECT signed_on FROM contracts c WHERE c.parcours_id = p.id AND c.seq = 1), (p.contract->>'signed_on')::date) AS contracted_on
		FROM parcours p
		WHERE p.entered_on BETWEEN $1 AND $2 AND ` + scope + `)`

// delay is an indicator of the share of a cohort reaching a step in time.
type delay struct {
	key, label string
	column     string // of first's base: oriented_on or contracted_on
	interval   string // PostgreSQL interval
	fr         string // the interval in the definition's words
}

// Compute computes the report.
func Compute(ctx context.Context, pool *pgxpool.Pool, f Filter) (Report, error) {
	r := Report{From: f.From, To: f.To, Structure: f.Structure, ReferentID: f.ReferentID}
	args := []any{f.From.String(), f.To.String(), nullable(f.Structure), nullable(f.ReferentID)}
	// Every figure is one query of a batch: one round trip to PostgreSQL
	// for the whole report (13 queries one after the other waited 13 times
	// for a busy machine's scheduler: issue 21 item 8). Each query's
	// callback appends its figure, in the order they were queued.
	b := &pgx.Batch{}
	count := func(key, label, definition, sql string) {
		b.Queue(sql, args...).QueryRow(func(row pgx.Row) error {
			var n int
			if err := row.Scan(&n); err != nil {
				return fmt.Errorf("indicator %s: %w", key, err)
			}
			r.Items = append(r.Items, Indicator{Key: key, Label: label, Definition: definition, Value: n})
			return nil
		})
	}
	// breakdown counts by the code the query's first column gives, each
	// with its French label.
	breakdown := func(key, label, definition, sql string, french func(string) string) {
		b.Queue(sql, args...).Query(func(rows pgx.Rows) error {
			parts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Part, error) {
				var p Part
				err := row.Scan(&p.Code, &p.Value)
				p.Label = french(p.Code)
				return p, err
			})
			if err != nil {
				return fmt.Errorf("indicator %s: %w", key, err)
			}
			total := 0
			for _, p := range parts {
				total += p.Value
			}
			r.Items = append(r.Items, Indicator{Key: key, Label: label, Definition: definition, Value: total, Parts: parts})
			return nil
		})
	}
	// within reads, in one pass over the entrants of the period, each
	// delay's cohort: those whose cohort is mature (entered on or before
	// today - delay), and among them those with the event (column of base)
	// on or before entry + delay, with the median delay of all who had it.
	within := func(delays []delay) {
		var cols []string
		for _, d := range delays {
			mature := fmt.Sprintf(`(entered_on + interval '%s')::date < $5`, d.interval)
			cols = append(cols, fmt.Sprintf(`
				count(*) FILTER (WHERE %[1]s AND %[2]s IS NOT NULL AND %[2]s <= (entered_on + interval '%[3]s')::date),
				count(*) FILTER (WHERE %[1]s),
				percentile_cont(0.5) WITHIN GROUP (ORDER BY %[2]s - entered_on) FILTER (WHERE %[1]s AND %[2]s IS NOT NULL)`,
				mature, d.column, d.interval))
		}
		b.Queue(first+` SELECT `+strings.Join(cols, ",")+` FROM base`, append(args, f.Today.String())...).QueryRow(func(row pgx.Row) error {
			n, mature, median := make([]int, len(delays)), make([]int, len(delays)), make([]*float64, len(delays))
			var dest []any
			for i := range delays {
				dest = append(dest, &n[i], &mature[i], &median[i])
			}
			if err := row.Scan(dest...); err != nil {
				return fmt.Errorf("indicators %s…: %w", delays[0].key, err)
			}
			for i, d := range delays {
				it := Indicator{Key: d.key, Label: d.label, Value: n[i], Cohort: &mature[i], Median: median[i],
					Definition: fmt.Sprintf("Parmi les personnes entrées en droits et devoirs sur la période et entrées depuis plus de %s (cohorte mûre), "+
						"celles dont l'événement a eu lieu au plus %s après l'entrée (délais comptés selon l'art. 641 CPC). La médiane porte sur toutes celles qui l'ont eu.", d.fr, d.fr)}
				if mature[i] > 0 {
					share := float64(n[i]) / float64(mature[i])
					it.Share = &share
				}
				r.Items = append(r.Items, it)
			}
			return nil
		})
	}
	steps := []func(){
		func() {
			count("beneficiaries", "Bénéficiaires en droits et devoirs",
				"Parcours ouverts à la fin de la période : entrés au plus tard à cette date et sans sortie antérieure.",
				`SELECT count(*) FROM parcours p WHERE p.entered_on <= $2 AND (p.exited_on IS NULL OR p.exited_on > $2) AND `+scope)
		},
		func() {
			count("new_entrants", "Nouveaux entrants",
				"Personnes entrées en droits et devoirs pendant la période (chaque parcours compte, une réentrée aussi).",
				`SELECT count(*) FROM parcours p WHERE p.entered_on BETWEEN $1 AND $2 AND `+scope)
		},
		func() {
			within([]delay{
				{"oriented_15_days", "Orientés en 15 jours", "oriented_on", "15 days", "15 jours"},
				{"oriented_30_days", "Orientés en 30 jours", "oriented_on", "30 days", "30 jours"},
				{"oriented_1_month", "Orientés en 1 mois", "oriented_on", "1 month", "1 mois"},
				{"oriented_6_weeks", "Orientés en 6 semaines", "oriented_on", "42 days", "6 semaines"},
				{"oriented_45_days", "Orientés en 45 jours", "oriented_on", "45 days", "45 jours"},
				{"contract_2_months", "Avec un contrat en 2 mois", "contracted_on", "2 months", "2 mois"},
			})
		},
		func() {
			count("contracts_signed", "Contrats signés",
				"Contrats (CER, PPAE, contrats d'engagement) signés pendant la période, renouvellements compris.",
				`SELECT count(*) FROM contracts c JOIN parcours p ON p.id = c.parcours_id WHERE c.signed_on BETWEEN $1 AND $2 AND `+scope)
		},
		func() {
			count("reorientations", "Réorientations",
				"Réorientations décidées pendant la période (orientations autres que la première d'un parcours).",
				`SELECT count(*) FROM orientations o JOIN parcours p ON p.id = o.parcours_id WHERE o.seq > 1 AND o.decided_on BETWEEN $1 AND $2 AND `+scope)
		},
		func() {
			count("reorientations_6_months", "Réorientations dans les 6 mois",
				"Parmi les réorientations de la période, celles décidées moins de 6 mois après l'orientation précédente.",
				`SELECT count(*) FROM orientations o JOIN parcours p ON p.id = o.parcours_id WHERE o.seq > 1 AND o.within_6_months AND o.decided_on BETWEEN $1 AND $2 AND `+scope)
		},
		func() {
			count("handed_over", "Orientations passées à France Travail",
				"Parcours dont les 6 semaines légales après la réception de l'information ont passé sans orientation pendant la période (D262-65-2 CASF).",
				`SELECT count(*) FROM events e JOIN parcours p ON p.id = e.parcours_id WHERE e.kind = 'orientation_handed_over' AND e.occurred_on BETWEEN $1 AND $2 AND `+scope)
		},
		func() {
			breakdown("accompaniment_by_track", "Personnes accompagnées, par type de parcours",
				"Parcours orientés et ouverts à la fin de la période, selon le type de parcours de l'orientation en cours.",
				`SELECT p.track, count(*)::int FROM parcours p WHERE p.track IS NOT NULL AND p.entered_on <= $2
				   AND (p.exited_on IS NULL OR p.exited_on > $2) AND `+scope+` GROUP BY 1 ORDER BY 1`, trackFrench)
		},
		func() {
			count("cases_opened", "Dossiers de sanction ouverts",
				"Manquements signalés pendant la période (dossiers d'examen ouverts).",
				`SELECT count(*) FROM reviews r JOIN parcours p ON p.id = r.parcours_id WHERE r.reported_on BETWEEN $1 AND $2 AND `+scope)
		},
		func() {
			breakdown("decisions_by_kind", "Décisions, par nature",
				"Décisions prises pendant la période : pas de sanction, suspension, suppression.",
				`SELECT r.sanction_kind, count(*)::int FROM reviews r JOIN parcours p ON p.id = r.parcours_id
				 WHERE r.decided_on BETWEEN $1 AND $2 AND `+scope+` GROUP BY 1 ORDER BY 1`,
				func(k string) string { return domain.SanctionKind(k).French() })
		},
		func() {
			breakdown("sanctions_by_track", "Sanctions, par type de parcours",
				"Suspensions et suppressions décidées pendant la période, selon le parcours de la personne.",
				`SELECT coalesce(p.track, 'none'), count(*)::int FROM reviews r JOIN parcours p ON p.id = r.parcours_id
				 WHERE r.decided_on BETWEEN $1 AND $2 AND r.sanction_kind IN ('suspension', 'suppression') AND `+scope+` GROUP BY 1 ORDER BY 1`, trackFrench)
		},
		func() {
			breakdown("exits_by_outcome", "Sorties d'action, par catégorie",
				"Actions terminées pendant la période, selon les quatre catégories du PDI de l'Hérault.",
				`SELECT a.outcome_category, count(*)::int FROM actions a JOIN parcours p ON p.id = a.parcours_id
				 WHERE a.ended_on BETWEEN $1 AND $2 AND `+scope+` GROUP BY 1 ORDER BY 1`, domain.OutcomeFrench)
		},
		func() {
			breakdown("follow_ups", "Suivis à 3 et 6 mois, par situation",
				"Suivis post-accompagnement faits pendant la période, par échéance (3 ou 6 mois) et situation de la personne.",
				`SELECT f.months || ':' || f.situation, count(*)::int FROM follow_ups f JOIN parcours p ON p.id = f.parcours_id
				 WHERE f.answered_on BETWEEN $1 AND $2 AND `+scope+` GROUP BY 1 ORDER BY 1`, followUpFrench)
		},
	}
	for _, step := range steps {
		step()
	}
	if err := pool.SendBatch(ctx, b).Close(); err != nil {
		return Report{}, err
	}
	return r, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// WriteCSV writes the report as CSV for French spreadsheets: ';' between
// fields, decimal commas, one line per figure and per breakdown part.
func (r Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Comma = ';'
	num := func(f *float64, digits int) string {
		if f == nil {
			return ""
		}
		return strings.Replace(strconv.FormatFloat(*f, 'f', digits, 64), ".", ",", 1)
	}
	if err := cw.Write([]string{"indicateur", "libellé", "détail", "valeur", "cohorte mûre", "part", "médiane (jours)", "définition"}); err != nil {
		return err
	}
	for _, it := range r.Items {
		cohort := ""
		if it.Cohort != nil {
			cohort = strconv.Itoa(*it.Cohort)
		}
		if err := cw.Write([]string{it.Key, it.Label, "", strconv.Itoa(it.Value), cohort, num(it.Share, 3), num(it.Median, 1), it.Definition}); err != nil {
			return err
		}
		for _, p := range it.Parts {
			if err := cw.Write([]string{it.Key, it.Label, p.Label, strconv.Itoa(p.Value), "", "", "", ""}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// trackFrench labels a track; "none": not oriented.
func trackFrench(code string) string {
	if code == "none" {
		return "non orienté"
	}
	return domain.Track(code).French()
}

// followUpFrench labels "3:job_search" as « à 3 mois : En recherche d'emploi ».
func followUpFrench(code string) string {
	months, situation, _ := strings.Cut(code, ":")
	return "à " + months + " mois : " + domain.FollowUpSituationFrench(situation)
}
