package postgres

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// SaveNote keeps a command's free text; the workflow only gets its id.
// id names the note ("": a new id); a note saved again under its id (the
// retry of a command with an idempotency key) is not saved twice.
// inserted is false when a note of that id was there already (a command's
// retry, which must not delete what the first call saved).
func (db *DB) SaveNote(ctx context.Context, id, parcoursID, kind, body, author string) (_ string, inserted bool, _ error) {
	if id == "" {
		id = uuid.Must(uuid.NewV7()).String()
	}
	tag, err := db.Pool.Exec(ctx, `INSERT INTO notes (id, parcours_id, kind, body, author) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO NOTHING`,
		id, parcoursID, kind, body, author)
	if err != nil {
		return "", false, fmt.Errorf("save note: %w", err)
	}
	return id, tag.RowsAffected() == 1, nil
}

// DeleteNote removes the note of a command the workflow refused: nothing is
// recorded when a command is refused.
func (db *DB) DeleteNote(ctx context.Context, id string) error {
	_, err := db.Pool.Exec(ctx, `DELETE FROM notes WHERE id = $1`, id)
	return err
}

// SetObstacles records the L262-31 categories (special-category data: kept
// here only).
func (db *DB) SetObstacles(ctx context.Context, parcoursID string, categories []string) error {
	if categories == nil {
		categories = []string{}
	}
	_, err := db.Pool.Exec(ctx, `UPDATE parcours SET obstacles = $2, updated_at = now() WHERE id = $1`, parcoursID, categories)
	return err
}

// children reads a parcours' orientations, contracts, actions and follow-ups.
// queueChildren queues the reads of a parcours' orientations, contracts,
// actions and their follow-ups (queued after the actions they join).
func queueChildren(b *pgx.Batch, id string, v *domain.ParcoursView) {
	rowsInto(b, &v.Orientations, "orientations", func(r pgx.CollectableRow) (domain.OrientationView, error) {
		var o domain.OrientationView
		var on pgtype.Date
		err := r.Scan(&o.Seq, &o.Track, &o.Organism, &o.ReferentID, &on, &o.Within6Months, &o.Reason)
		o.DecidedOn = fromPG(on)
		return o, err
	}, `
		SELECT o.seq, o.track, o.organism, o.referent_id, o.decided_on, o.within_6_months, coalesce(n.body, '')
		FROM orientations o LEFT JOIN notes n ON n.id = o.note_id
		WHERE o.parcours_id = $1 ORDER BY o.seq`, id)
	rowsInto(b, &v.Contracts, "contracts", func(r pgx.CollectableRow) (domain.ContractView, error) {
		var c domain.ContractView
		var signed, starts, ends pgtype.Date
		err := r.Scan(&c.Seq, &c.Kind, &signed, &starts, &ends, &c.Assessment)
		c.SignedOn, c.StartsOn, c.EndsOn = fromPG(signed), fromPG(starts), fromPG(ends)
		return c, err
	}, `
		SELECT c.seq, c.kind, c.signed_on, c.starts_on, c.ends_on, coalesce(n.body, '')
		FROM contracts c LEFT JOIN notes n ON n.id = c.assessment_note_id
		WHERE c.parcours_id = $1 ORDER BY c.seq`, id)
	rowsInto(b, &v.Actions, "actions", func(r pgx.CollectableRow) (domain.ActionView, error) {
		var a domain.ActionView
		var starts, planned, ended pgtype.Date
		err := r.Scan(&a.Number, &a.Name, &a.Kind, &a.Structure, &starts, &planned, &ended, &a.Category, &a.Detail)
		a.StartsOn, a.PlannedEndOn, a.EndedOn = fromPG(starts), fromPG(planned), fromPG(ended)
		a.FollowUps = []domain.FollowUpView{}
		return a, err
	}, `
		SELECT a.seq, coalesce(nn.body, a.name), a.kind, coalesce(sn.body, a.structure), a.starts_on, a.planned_end_on, a.ended_on,
		       coalesce(a.outcome_category, ''), coalesce(a.outcome_detail, '')
		FROM actions a LEFT JOIN notes nn ON nn.id = a.name_note_id LEFT JOIN notes sn ON sn.id = a.structure_note_id
		WHERE a.parcours_id = $1 ORDER BY a.seq`, id)
	b.Queue(`
		SELECT f.action_seq, f.months, f.opens_on, f.due_on, f.answered_on, coalesce(f.situation, ''),
		       coalesce(f.employment_kind, ''), coalesce(n.body, ''), f.cancelled
		FROM follow_ups f LEFT JOIN notes n ON n.id = f.note_id
		WHERE f.parcours_id = $1 ORDER BY f.action_seq, f.months`, id).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var f domain.FollowUpView
			var action int
			var opens, due, answered pgtype.Date
			if err := rows.Scan(&action, &f.Months, &opens, &due, &answered, &f.Situation, &f.EmploymentKind, &f.Note, &f.Cancelled); err != nil {
				return fmt.Errorf("follow-ups: %w", err)
			}
			f.OpensOn, f.DueOn, f.AnsweredOn = fromPG(opens), fromPG(due), fromPG(answered)
			for i := range v.Actions {
				if v.Actions[i].Number == action {
					v.Actions[i].FollowUps = append(v.Actions[i].FollowUps, f)
				}
			}
		}
		return rows.Err()
	})
}
