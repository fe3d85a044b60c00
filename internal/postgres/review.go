package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// ApplyReview writes a sanction case, its new steps and its tasks, in one
// transaction, skipped whole when an older version arrives late.
func (db *DB) ApplyReview(ctx context.Context, in domain.SyncReviewInput) error {
	st := in.State
	state, err := json.Marshal(st)
	if err != nil {
		return err
	}
	var noticeSent, noticeReceived, decided, effective domain.Date
	var kind string
	var percent, months *int
	if n := st.Notice; n != nil {
		noticeSent, noticeReceived = n.SentOn, n.ReceivedOn
	}
	if d := st.Decision; d != nil {
		decided, effective, kind = d.DecidedOn, d.EffectiveOn, string(d.Kind)
		percent, months = &d.Percent, &d.Months
	}
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			INSERT INTO reviews (id, parcours_id, number, status, breach_kind, obligation, facts_note_id, reported_on, repeat,
				notice_sent_on, notice_received_on, observation_ends_on, decided_on, sanction_kind, percent, months, effective_on,
				payback_cents, appeal_due_on, state, version, obligation_note_id, epoch)
			VALUES ($1, $2, $3, $4, $5, $6, `+noteRef(7)+`, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, `+noteRef(22)+`, $23)
			ON CONFLICT (id) DO UPDATE SET
				status = EXCLUDED.status, notice_sent_on = EXCLUDED.notice_sent_on, notice_received_on = EXCLUDED.notice_received_on,
				observation_ends_on = EXCLUDED.observation_ends_on, decided_on = EXCLUDED.decided_on, sanction_kind = EXCLUDED.sanction_kind,
				percent = EXCLUDED.percent, months = EXCLUDED.months, effective_on = EXCLUDED.effective_on,
				payback_cents = EXCLUDED.payback_cents, appeal_due_on = EXCLUDED.appeal_due_on, state = EXCLUDED.state,
				version = EXCLUDED.version, epoch = EXCLUDED.epoch, updated_at = now()
			WHERE reviews.epoch < EXCLUDED.epoch OR reviews.epoch = EXCLUDED.epoch AND reviews.version <= EXCLUDED.version`,
			in.ReviewID, in.ParcoursID, in.Number, st.Status, in.Breach.Kind, nullText(in.Breach.Obligation), nullText(in.Breach.NoteID),
			pgDate(in.Breach.ReportedOn), in.Repeat, pgDate(noticeSent), pgDate(noticeReceived), pgDate(st.ObservationEnds),
			pgDate(decided), nullText(kind), percent, months, pgDate(effective), st.PaybackCents, pgDate(st.AppealDueOn), state, st.Version,
			nullText(in.Breach.ObligationID), st.Epoch)
		if err != nil {
			return fmt.Errorf("upsert review: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return nil // a newer state is already there
		}
		b := &pgx.Batch{}
		for _, e := range in.Steps {
			b.Queue(`
				INSERT INTO review_steps (review_id, seq, kind, occurred_on, at, summary, actor, note_id)
				VALUES ($1, $2, $3, $4, $5, $6, $7, `+noteRef(8)+`) ON CONFLICT (review_id, seq) DO NOTHING`,
				in.ReviewID, e.Seq, e.Kind, pgDate(e.OccurredOn), e.At, e.Summary, nullText(e.Actor), nullText(e.NoteID))
		}
		for _, t := range st.Tasks {
			b.Queue(`
				INSERT INTO tasks (parcours_id, kind, cycle, due_on, status, assignee, overdue_at, done_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				ON CONFLICT (parcours_id, kind, cycle) DO UPDATE SET
					due_on = EXCLUDED.due_on, status = EXCLUDED.status, done_at = EXCLUDED.done_at, updated_at = now()
				WHERE (tasks.status, tasks.done_at) IS DISTINCT FROM (EXCLUDED.status, EXCLUDED.done_at)`,
				in.ParcoursID, t.Kind, t.Cycle, pgDate(t.DueOn), t.Status, nullText(t.Assignee), nullTime(t.OverdueAt), nullTime(t.DoneAt))
		}
		return tx.SendBatch(ctx, b).Close()
	})
}

// ReviewFilter selects cases for the review queue.
type ReviewFilter struct {
	Scope
	Status     string
	ParcoursID string
	Limit      int
	Sort       Sort // Column "": oldest report first (the queue's order)
}

// reviewSort are the columns the queue sorts on; « echeance » is the next
// date due, as domain.ReviewNextDue computes it from the same dates (the
// observation period's end and the appeal's, as the case recorded them).
var reviewSort = sortColumns{
	"signale":  dateKey("r.reported_on"),
	"personne": nameKey,
	"referent": "coalesce(lower(rr.name), '')",
	"etape":    labelOrder("r.status", domain.ReviewStatuses, domain.ReviewStatusFrench),
	"echeance": dateKey(`CASE r.status
		WHEN 'observation' THEN r.observation_ends_on
		WHEN 'awaiting_decision' THEN r.observation_ends_on + 1
		WHEN 'sanction' THEN CASE
			WHEN r.state->>'decision_notified_on' IS NULL THEN NULL
			WHEN r.appeal_due_on >= (now() AT TIME ZONE 'Europe/Paris')::date THEN r.appeal_due_on
			ELSE (r.effective_on + make_interval(months => r.months))::date - 1 END
		END`),
}

// reviewWhere selects the queue's cases ($1 status, $2 parcours, $3 and
// $4 the scope).
var reviewWhere = `($1::text IS NULL OR r.status = $1)
		  AND ($2::uuid IS NULL OR r.parcours_id = $2)
		  AND ` + visible(3)

// CountReviews counts the cases a filter selects, whatever the page.
func (db *DB) CountReviews(ctx context.Context, f ReviewFilter) (int, error) {
	var n int
	err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM reviews r JOIN parcours p ON p.id = r.parcours_id WHERE `+reviewWhere,
		nullText(f.Status), nullText(f.ParcoursID), nullText(f.Scope.ReferentID), nullText(f.Scope.Structure)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count reviews: %w", err)
	}
	return n, nil
}

// ListReviews lists cases, oldest report first (the queue's order), or in
// the order of f.Sort, a page at a time.
func (db *DB) ListReviews(ctx context.Context, f ReviewFilter) ([]domain.ReviewView, error) {
	var out []domain.ReviewView
	err := db.batch(ctx, func(b *pgx.Batch) error { return queueReviews(b, f, &out) })
	return out, err
}

// queueReviews queues ListReviews' read into *out.
func queueReviews(b *pgx.Batch, f ReviewFilter, out *[]domain.ReviewView) error {
	sort := f.Sort
	if sort.Column == "" {
		sort.Column = "signale"
	}
	cond, order, more, err := reviewSort.clauses(sort, "r.id::text", 6)
	if err != nil {
		return err
	}
	rowsInto(b, out, "list reviews", scanReview, reviewSelect(reviewSort.sortValue(sort))+`
		WHERE `+reviewWhere+` AND `+cond+`
		ORDER BY `+order+` LIMIT $5`,
		append([]any{nullText(f.Status), nullText(f.ParcoursID), nullText(f.Scope.ReferentID), nullText(f.Scope.Structure), f.Limit}, more...)...)
	return nil
}

// GetReview reads one case with its steps; outside the scope it is not found.
func (db *DB) GetReview(ctx context.Context, id string, scope Scope) (domain.ReviewView, error) {
	rows, err := db.Pool.Query(ctx, reviewSelect("''")+` WHERE r.id = $1 AND `+visible(2), append([]any{id}, scope.args()...)...)
	if err != nil {
		return domain.ReviewView{}, err
	}
	list, err := pgx.CollectRows(rows, scanReview)
	if err != nil {
		return domain.ReviewView{}, err
	}
	if len(list) == 0 {
		return domain.ReviewView{}, domain.Errorf(domain.ENOTFOUND, "Dossier de sanction introuvable.")
	}
	v := list[0]
	v.Steps, err = db.timeline(ctx, "review_steps", "review_id", id)
	return v, err
}

// ReviewParcours is the parcours of a case, if the scope may see it.
func (db *DB) ReviewParcours(ctx context.Context, id string, scope Scope) (parcoursID string, number int, err error) {
	err = db.Pool.QueryRow(ctx, `
		SELECT r.parcours_id::text, r.number FROM reviews r JOIN parcours p ON p.id = r.parcours_id
		WHERE r.id = $1 AND `+visible(2), append([]any{id}, scope.args()...)...).Scan(&parcoursID, &number)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", 0, domain.Errorf(domain.ENOTFOUND, "Dossier de sanction introuvable.")
	}
	return parcoursID, number, err
}

// reviewSelect reads cases, with sortValue as their sort value.
func reviewSelect(sortValue string) string {
	return `
	SELECT r.id, r.parcours_id::text, r.number, r.status, r.breach_kind, coalesce(o.body, r.obligation, ''), r.reported_on, r.repeat,
	       r.notice_sent_on, r.notice_received_on, r.observation_ends_on, r.decided_on, coalesce(r.sanction_kind, ''),
	       coalesce(r.percent, 0), coalesce(r.months, 0), r.effective_on, coalesce(r.payback_cents, 0), r.appeal_due_on,
	       coalesce(n.body, ''), p.referent_id, r.updated_at, (r.state->>'decision_notified_on')::date,
	       b.last_name, b.first_name, coalesce(nt.kind, ''), nt.due_on, ` + sortValue + `
	FROM reviews r JOIN parcours p ON p.id = r.parcours_id JOIN beneficiaries b ON b.id = p.beneficiary_id
	LEFT JOIN referents rr ON rr.id = p.referent_id
	LEFT JOIN notes n ON n.id = r.facts_note_id
	LEFT JOIN notes o ON o.id = r.obligation_note_id
	LEFT JOIN LATERAL (
		SELECT t.kind, t.due_on FROM tasks t
		WHERE t.parcours_id = r.parcours_id AND t.cycle = r.number AND t.status = 'open'
		  AND t.kind IN ('send_notice', 'record_notice_receipt', 'decide_review', 'decide_appeal', 'decide_radiation', 'record_decision_notified')
		ORDER BY t.due_on NULLS LAST, t.id DESC LIMIT 1) nt ON true`
}

func scanReview(r pgx.CollectableRow) (domain.ReviewView, error) {
	var v domain.ReviewView
	var reported, sent, received, obs, decided, effective, appeal, notified, next pgtype.Date
	var referent *string
	var updated time.Time
	err := r.Scan(&v.ID, &v.ParcoursID, &v.Number, &v.Status, &v.BreachKind, &v.Obligation, &reported, &v.Repeat,
		&sent, &received, &obs, &decided, &v.SanctionKind, &v.Percent, &v.Months, &effective, &v.PaybackCents, &appeal,
		&v.Facts, &referent, &updated, &notified, &v.LastName, &v.FirstName, &v.NextTask, &next, &v.SortKey)
	v.NextDueOn = fromPG(next)
	v.ReportedOn, v.NoticeSentOn, v.NoticeReceivedOn, v.ObservationEndsOn = fromPG(reported), fromPG(sent), fromPG(received), fromPG(obs)
	v.DecidedOn, v.EffectiveOn, v.AppealDueOn = fromPG(decided), fromPG(effective), fromPG(appeal)
	v.DecisionNotifiedOn = fromPG(notified)
	v.AppealWindow = domain.AppealWindowFrench(domain.SanctionKind(v.SanctionKind), v.DecisionNotifiedOn, v.AppealDueOn)
	v.ReferentID, v.UpdatedAt = deref(referent), updated
	v.Steps = []domain.EventView{}
	return v, err
}
