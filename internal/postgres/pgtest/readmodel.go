package pgtest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// The read-model tests of docs/resync.md: delete a parcours' rows, or
// rewind them to an earlier state (a restored backup), then compare.

// Beginner is a pool or a connection.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// parcoursTables are the tables holding a parcours' rows, parents first,
// with the condition that selects its rows ($1: the parcours id); written:
// the workflows write it (the read model proper), as opposed to what only
// PostgreSQL holds (notes, letters).
var parcoursTables = []struct {
	name, where string
	written     bool
}{
	{"parcours", "id = $1", true},
	{"notes", "parcours_id = $1", false},
	{"events", "parcours_id = $1", true},
	{"deadlines", "parcours_id = $1", true},
	{"tasks", "parcours_id = $1", true},
	{"orientations", "parcours_id = $1", true},
	{"contracts", "parcours_id = $1", true},
	{"actions", "parcours_id = $1", true},
	{"follow_ups", "parcours_id = $1", true},
	{"reviews", "parcours_id = $1", true},
	{"review_steps", "review_id IN (SELECT id FROM reviews WHERE parcours_id = $1)", true},
	{"letters", "parcours_id = $1", false},
}

// replica runs fn with triggers and foreign keys off, as a restore does.
func replica(ctx context.Context, db Beginner, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
			return err
		}
		return fn(tx)
	})
}

// DeleteParcours deletes the rows the workflows wrote of parcours id:
// a lost or wiped dossier. Its beneficiary, parcours_identity and what only
// PostgreSQL holds (notes, letters) stay.
func DeleteParcours(ctx context.Context, db Beginner, id string) error {
	return deleteRows(ctx, db, id, false)
}

func deleteRows(ctx context.Context, db Beginner, id string, all bool) error {
	return replica(ctx, db, func(tx pgx.Tx) error {
		for i := len(parcoursTables) - 1; i >= 0; i-- {
			t := parcoursTables[i]
			if !t.written && !all {
				continue
			}
			if _, err := tx.Exec(ctx, fmt.Sprintf(`DELETE FROM %s WHERE %s`, t.name, t.where), id); err != nil {
				return fmt.Errorf("delete %s: %w", t.name, err)
			}
		}
		return nil
	})
}

// Dump is a copy of some parcours' rows, table by table (JSON arrays).
type Dump struct {
	ids  []string
	rows map[string][]string // parcours id → one JSON array per table
}

// DumpParcours copies the rows of parcours ids, to be restored later.
func DumpParcours(ctx context.Context, db Beginner, ids ...string) (Dump, error) {
	d := Dump{ids: ids, rows: map[string][]string{}}
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		for _, id := range ids {
			for _, t := range parcoursTables {
				var rows string
				if err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]')::text FROM %s t WHERE %s`, t.name, t.where),
					id).Scan(&rows); err != nil {
					return fmt.Errorf("dump %s: %w", t.name, err)
				}
				d.rows[id] = append(d.rows[id], rows)
			}
		}
		return nil
	})
	return d, err
}

// Restore puts the dumped rows back in place of today's: what restoring
// an older backup does to these parcours.
func (d Dump) Restore(ctx context.Context, db Beginner) error {
	for _, id := range d.ids {
		if err := deleteRows(ctx, db, id, true); err != nil {
			return err
		}
		err := replica(ctx, db, func(tx pgx.Tx) error {
			for i, t := range parcoursTables {
				if _, err := tx.Exec(ctx, fmt.Sprintf(`INSERT INTO %[1]s OVERRIDING SYSTEM VALUE SELECT * FROM jsonb_populate_recordset(NULL::%[1]s, $1::jsonb)`, t.name),
					d.rows[id][i]); err != nil {
					return fmt.Errorf("restore %s: %w", t.name, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// ReadModel is what the read model holds of a parcours, row by row as
// JSON, without the columns a rewrite changes by nature (versions, epochs,
// times of writing, identity keys).
type ReadModel struct {
	Parcours                                           string
	Deadlines, Tasks, Orientations, Contracts, Actions []string
	FollowUps, Reviews, Events                         []string
}

// volatile are the columns a rewrite may change without changing the
// dossier.
var volatile = `ARRAY['version', 'epoch', 'updated_at', 'created_at', 'workflow_started_at', 'closed_at', 'id', 'state']`

// ReadModelOf reads parcours id's rows.
func ReadModelOf(ctx context.Context, db Beginner, id string) (ReadModel, error) {
	var m ReadModel
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		read := func(table, where string) ([]string, error) {
			rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT (to_jsonb(t) - %s)::text FROM %s t WHERE %s ORDER BY 1`, volatile, table, where), id)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", table, err)
			}
			return pgx.CollectRows(rows, pgx.RowTo[string])
		}
		var err error
		var p []string
		if p, err = read("parcours", "id = $1"); err != nil {
			return err
		}
		if len(p) == 1 {
			m.Parcours = p[0]
		}
		for _, r := range []struct {
			to    *[]string
			table string
		}{
			{&m.Deadlines, "deadlines"}, {&m.Tasks, "tasks"}, {&m.Orientations, "orientations"}, {&m.Contracts, "contracts"},
			{&m.Actions, "actions"}, {&m.FollowUps, "follow_ups"}, {&m.Reviews, "reviews"}, {&m.Events, "events"},
		} {
			if *r.to, err = read(r.table, "parcours_id = $1"); err != nil {
				return err
			}
		}
		return nil
	})
	return m, err
}

// Open is what a resync restores whole (docs/resync.md): the parcours row,
// its open deadlines and tasks, the actions and follow-ups not yet
// answered, and its cases' rows.
func (m ReadModel) Open() ReadModel {
	keep := func(rows []string, open func(map[string]any) bool) []string {
		var out []string
		for _, r := range rows {
			var v map[string]any
			if json.Unmarshal([]byte(r), &v) == nil && open(v) {
				out = append(out, r)
			}
		}
		return out
	}
	status := func(ok ...string) func(map[string]any) bool {
		return func(v map[string]any) bool { s, _ := v["status"].(string); return slices.Contains(ok, s) }
	}
	return ReadModel{
		Parcours:  m.Parcours,
		Deadlines: keep(m.Deadlines, status("pending", "overdue")),
		Tasks:     keep(m.Tasks, status("open")),
		Actions:   keep(m.Actions, func(v map[string]any) bool { return v["ended_on"] == nil }),
		FollowUps: keep(m.FollowUps, func(v map[string]any) bool { return v["answered_on"] == nil && v["cancelled"] != true }),
		Reviews:   m.Reviews,
	}
}
