package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// IntakeResult says what an intake did.
type IntakeResult struct {
	ParcoursID string
	Created    bool // a new parcours row was written
	Started    bool // its workflow is known to have started
	// Start is what starting its workflow needs, when not Started.
	Start Unstarted
}

// Intake records a person entering droits et devoirs: the beneficiary (one
// per external identifier and per NIR) and their open parcours (at most one),
// with the audit row of actor a in the same transaction. Repeating the same
// intake finds the same parcours; two racing intakes of the same person meet
// on the unique indexes and find the same row.
func (db *DB) Intake(ctx context.Context, a domain.Actor, in domain.Intake, policy string) (IntakeResult, error) {
	var res IntakeResult
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if err := nirHeldElsewhere(ctx, tx, in); err != nil {
			return err
		}
		var benID uuid.UUID
		var nirBody *string
		err := tx.QueryRow(ctx, `
			INSERT INTO beneficiaries (id, external_id, nir, last_name, first_name, birth_date)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (external_id) DO UPDATE SET
				nir        = coalesce(beneficiaries.nir, EXCLUDED.nir),
				last_name  = EXCLUDED.last_name,
				first_name = EXCLUDED.first_name,
				birth_date = EXCLUDED.birth_date,
				updated_at = CASE WHEN (beneficiaries.last_name, beneficiaries.first_name, beneficiaries.birth_date, beneficiaries.nir)
				                       IS DISTINCT FROM (EXCLUDED.last_name, EXCLUDED.first_name, EXCLUDED.birth_date, coalesce(beneficiaries.nir, EXCLUDED.nir))
				                  THEN now() ELSE beneficiaries.updated_at END
			RETURNING id, nir_body`,
			uuid.Must(uuid.NewV7()), in.BeneficiaryID, nullText(in.NIR), in.LastName, in.FirstName, pgDate(in.BirthDate),
		).Scan(&benID, &nirBody)
		if isUniqueViolation(err, "beneficiaries_nir_body") {
			return domain.FieldError("nir", "Ce NIR est déjà enregistré pour un autre bénéficiaire.")
		}
		if err != nil {
			return fmt.Errorf("upsert beneficiary: %w", err)
		}
		if in.NIR != "" && nirBody != nil && *nirBody != domain.NIRBody(in.NIR) {
			return domain.FieldError("nir", "Ce NIR diffère de celui déjà enregistré pour ce bénéficiaire.")
		}
		last, err := findLastParcours(ctx, tx, benID)
		if err != nil {
			return err
		}
		if res, err = openParcours(ctx, tx, benID, in, policy, last); err != nil {
			return err
		}
		return insertAudit(ctx, tx, AuditEntry{Actor: a, Action: "create", RecordType: "parcours", RecordID: res.ParcoursID,
			Detail: map[string]any{"created": res.Created}})
	})
	return res, err
}

// nirHeldElsewhere refuses an intake whose NIR another beneficiary holds,
// by looking first, under the advisory lock the importer takes on the same
// NIR (so that two intakes never race to it): the unique index would refuse
// it too, but PostgreSQL writes a unique violation's key, the NIR, to its
// server log (issue 20, item 7: no NIR in any log).
func nirHeldElsewhere(ctx context.Context, tx pgx.Tx, in domain.Intake) error {
	if in.NIR == "" {
		return nil
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, domain.NIRIdentityKey(in.NIR)); err != nil {
		return fmt.Errorf("lock NIR: %w", err)
	}
	var elsewhere bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM beneficiaries WHERE nir_body = $1 AND external_id <> $2)`,
		domain.NIRBody(in.NIR), in.BeneficiaryID).Scan(&elsewhere); err != nil {
		return fmt.Errorf("find NIR: %w", err)
	}
	if elsewhere {
		return domain.FieldError("nir", "Ce NIR est déjà enregistré pour un autre bénéficiaire.")
	}
	return nil
}

// lastParcours is a beneficiary's open parcours, or else their latest one.
type lastParcours struct {
	found    bool
	id       uuid.UUID
	policy   string
	entered  domain.Date
	received domain.Date
	exited   pgtype.Date
	closed   bool
	started  bool // its workflow is known to have started
}

func findLastParcours(ctx context.Context, tx pgx.Tx, benID uuid.UUID) (lastParcours, error) {
	var l lastParcours
	var entered, received pgtype.Date
	err := tx.QueryRow(ctx, `
		SELECT id, policy, entered_on, received_on, exited_on, closed_at IS NOT NULL, workflow_started_at IS NOT NULL FROM parcours
		WHERE beneficiary_id = $1 ORDER BY closed_at IS NULL DESC, created_at DESC LIMIT 1`, benID,
	).Scan(&l.id, &l.policy, &entered, &received, &l.exited, &l.closed, &l.started)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return l, nil
	case err != nil:
		return l, fmt.Errorf("find last parcours: %w", err)
	}
	l.found, l.entered, l.received = true, fromPG(entered), fromPG(received)
	return l, nil
}

// openParcours finds or opens the parcours of an intake for beneficiary
// benID, in transaction tx; last is what findLastParcours found (zero for a
// beneficiary just created).
func openParcours(ctx context.Context, tx pgx.Tx, benID uuid.UUID, in domain.Intake, policy string, last lastParcours) (IntakeResult, error) {
	received := in.ReceivedOn
	if received.IsZero() {
		received = in.EnteredAt
	}
	// A person who left and comes back gets a new parcours linked to the
	// previous one; the same intake repeated finds the parcours it made.
	var previousID any
	switch {
	case !last.found:
	case !last.closed:
		return openFound(last.id, last.entered, last.received, last.started, in, last.policy)
	case last.entered == in.EnteredAt:
		return IntakeResult{ParcoursID: last.id.String(), Started: true}, nil
	case last.exited.Valid && !in.EnteredAt.After(fromPG(last.exited)):
		return IntakeResult{}, domain.FieldError("entered_at", "Une nouvelle entrée doit suivre la sortie du parcours précédent (%s).", fromPG(last.exited).French())
	default:
		previousID = last.id
	}
	var id uuid.UUID
	err := tx.QueryRow(ctx, `
		INSERT INTO parcours (id, beneficiary_id, entered_on, received_on, policy, status, previous_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (beneficiary_id) WHERE closed_at IS NULL DO NOTHING
		RETURNING id`,
		uuid.Must(uuid.NewV7()), benID, pgDate(in.EnteredAt), pgDate(received), policy, domain.StatusAwaitingOrientation, previousID,
	).Scan(&id)
	if err == nil {
		return IntakeResult{ParcoursID: id.String(), Created: true,
			Start: Unstarted{ID: id.String(), Policy: policy, EnteredOn: in.EnteredAt, ReceivedOn: received}}, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return IntakeResult{}, fmt.Errorf("insert parcours: %w", err)
	}
	// Opened meanwhile by a transaction not holding our locks.
	var entered, rcv pgtype.Date
	var started bool
	var openPolicy string
	if err := tx.QueryRow(ctx, `
		SELECT id, entered_on, received_on, workflow_started_at IS NOT NULL, policy FROM parcours
		WHERE beneficiary_id = $1 AND closed_at IS NULL`, benID,
	).Scan(&id, &entered, &rcv, &started, &openPolicy); err != nil {
		return IntakeResult{}, fmt.Errorf("find open parcours: %w", err)
	}
	return openFound(id, fromPG(entered), fromPG(rcv), started, in, openPolicy)
}

// openFound is the intake's answer when the person has an open parcours.
func openFound(id uuid.UUID, entered, received domain.Date, started bool, in domain.Intake, policy string) (IntakeResult, error) {
	if entered != in.EnteredAt {
		return IntakeResult{}, domain.Errorf(domain.ECONFLICT,
			"Ce bénéficiaire a déjà un parcours ouvert (%s), entré en droits et devoirs le %s.", id, entered.French())
	}
	return IntakeResult{ParcoursID: id.String(), Started: started,
		Start: Unstarted{ID: id.String(), Policy: policy, EnteredOn: entered, ReceivedOn: received}}, nil
}

// MarkStarted records that the parcours' workflow runs.
func (db *DB) MarkStarted(ctx context.Context, parcoursID string) error {
	_, err := db.Pool.Exec(ctx, `UPDATE parcours SET workflow_started_at = now() WHERE id = $1 AND workflow_started_at IS NULL`, parcoursID)
	return err
}

// Unstarted is a parcours whose workflow may not have been started (the
// process stopped between the intake's commit and the start).
type Unstarted struct {
	ID         string
	Policy     string
	EnteredOn  domain.Date
	ReceivedOn domain.Date
	Reprise    *domain.Reprise // the reprise file's situation (parcours.reprise), if any
}

// ListUnstarted lists parcours created before `before` with no started workflow.
func (db *DB) ListUnstarted(ctx context.Context, before time.Time, limit int) ([]Unstarted, error) {
	rows, err := db.Pool.Query(ctx, `
		SELECT id, policy, entered_on, received_on, reprise FROM parcours
		WHERE workflow_started_at IS NULL AND created_at < $1
		ORDER BY created_at LIMIT $2`, before, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Unstarted, error) {
		var u Unstarted
		var id uuid.UUID
		var e, rcv pgtype.Date
		var reprise []byte
		if err := r.Scan(&id, &u.Policy, &e, &rcv, &reprise); err != nil {
			return u, err
		}
		u.ID, u.EnteredOn, u.ReceivedOn = id.String(), fromPG(e), fromPG(rcv)
		var err error
		u.Reprise, err = decodeReprise(reprise)
		return u, err
	})
}

// ErrUnknownParcours is returned by ApplySync for a parcours with no row
// that cannot be recreated (no parcours_identity row: a PostgreSQL restored
// from a backup older than the intake), or whose person has another open
// parcours meanwhile.
var ErrUnknownParcours = errors.New("unknown parcours")

// ApplySync writes a workflow's state to the read model in one transaction.
// A write older than the row's (epoch, version) is skipped whole, so a
// retried or late activity never moves the read model backwards; a resync
// raises the epoch, so its write wins whatever the versions (docs/resync.md).
// A missing parcours row is recreated from parcours_identity and the write.
func (db *DB) ApplySync(ctx context.Context, in domain.SyncInput) error {
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		applied, err := updateParcours(ctx, tx, in)
		if err != nil {
			return err
		}
		if !applied {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM parcours WHERE id = $1)`, in.ParcoursID).Scan(&exists); err != nil {
				return err
			}
			if exists {
				return nil // a newer state is already there
			}
			if err := recreateParcours(ctx, tx, in.ParcoursID, in.Exit != nil); err != nil {
				return err
			}
			if applied, err = updateParcours(ctx, tx, in); err != nil {
				return err
			}
			if !applied {
				return fmt.Errorf("%w %s: row recreated but not written", ErrUnknownParcours, in.ParcoursID)
			}
		}
		b := &pgx.Batch{}
		for _, d := range in.Deadlines {
			b.Queue(`
				INSERT INTO deadlines (parcours_id, kind, basis, cycle, rule_set, due_on, anchor, anchor_on, rule, status, met_on, overdue_at, task, opens_on)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
				ON CONFLICT (parcours_id, kind, basis, cycle) DO UPDATE SET
					rule_set = EXCLUDED.rule_set, due_on = EXCLUDED.due_on, anchor = EXCLUDED.anchor,
					anchor_on = EXCLUDED.anchor_on, rule = EXCLUDED.rule, status = EXCLUDED.status,
					met_on = EXCLUDED.met_on, overdue_at = EXCLUDED.overdue_at, task = EXCLUDED.task, opens_on = EXCLUDED.opens_on`,
				in.ParcoursID, d.Kind, d.Basis, d.Cycle, d.RuleSet, pgDate(d.DueOn), d.Anchor, pgDate(d.AnchorOn),
				d.Rule, d.Status, pgDate(d.MetOn), nullTime(d.OverdueAt), d.TaskKind(), pgDate(d.OpensOn))
		}
		for _, t := range in.Tasks {
			b.Queue(`
				INSERT INTO tasks (parcours_id, kind, cycle, due_on, status, assignee, overdue_at, done_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				ON CONFLICT (parcours_id, kind, cycle) DO UPDATE SET
					due_on = EXCLUDED.due_on, status = EXCLUDED.status, assignee = EXCLUDED.assignee,
					overdue_at = EXCLUDED.overdue_at, done_at = EXCLUDED.done_at, updated_at = now()
				WHERE (tasks.due_on, tasks.status, tasks.assignee, tasks.overdue_at, tasks.done_at)
				      IS DISTINCT FROM (EXCLUDED.due_on, EXCLUDED.status, EXCLUDED.assignee, EXCLUDED.overdue_at, EXCLUDED.done_at)`,
				in.ParcoursID, t.Kind, t.Cycle, pgDate(t.DueOn), t.Status, nullText(t.Assignee), nullTime(t.OverdueAt), nullTime(t.DoneAt))
		}
		for _, e := range in.Events {
			b.Queue(`
				INSERT INTO events (parcours_id, seq, kind, occurred_on, at, summary, actor, note_id)
				VALUES ($1, $2, $3, $4, $5, $6, $7, `+noteRef(8)+`) ON CONFLICT (parcours_id, seq) DO NOTHING`,
				in.ParcoursID, e.Seq, e.Kind, pgDate(e.OccurredOn), e.At, e.Summary, nullText(e.Actor), nullText(e.NoteID))
		}
		queueRows(b, in)
		if in.Full {
			queueForget(b, in)
		}
		return tx.SendBatch(ctx, b).Close()
	})
}

// updateParcours writes the parcours row under the guard; false: no row,
// or a row of a newer (epoch, version).
func updateParcours(ctx context.Context, tx pgx.Tx, in domain.SyncInput) (bool, error) {
	var contract []byte
	if in.Contract != nil {
		var err error
		if contract, err = json.Marshal(in.Contract); err != nil {
			return false, err
		}
	}
	var track, organism, referent string
	var oriented, notified domain.Date
	var assumed bool
	if o := in.Orientation; o != nil {
		track, organism, referent, oriented = string(o.Track), o.Organism, o.ReferentID, o.DecidedOn
		notified, assumed = o.NotifiedOn, o.NotifiedAssumed
	}
	var exitReason string
	var exitedOn domain.Date
	if e := in.Exit; e != nil {
		exitReason, exitedOn = e.Reason, e.On
	}
	tag, err := tx.Exec(ctx, `
		UPDATE parcours SET status = $2, track = $3, organism = $4, referent_id = $5, oriented_on = $6,
			contract = $7, version = $8, updated_at = now(),
			exit_reason = $9, exited_on = $10,
			closed_at = CASE WHEN $9::text IS NULL THEN NULL ELSE coalesce(closed_at, now()) END,
			orientation_notified_on = $11, orientation_notified_assumed = $12, epoch = $13
		WHERE id = $1 AND (epoch < $13 OR epoch = $13 AND version <= $8)`,
		in.ParcoursID, in.Status, nullText(track), nullText(organism), nullText(referent), pgDate(oriented), contract, in.Version,
		nullText(exitReason), pgDate(exitedOn), pgDate(notified), assumed, in.Epoch)
	if err != nil {
		return false, fmt.Errorf("update parcours: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

// recreateParcours puts back a deleted parcours row from parcours_identity
// (who it belongs to, its dates and policy); the write that follows gives
// it its status and records. Its reprise line (names) is not restored.
// closed: the parcours is exited, so that it does not take the place of
// the person's open parcours (one open parcours per person).
func recreateParcours(ctx context.Context, tx pgx.Tx, id string, closed bool) error {
	tag, err := tx.Exec(ctx, `
		INSERT INTO parcours (id, beneficiary_id, entered_on, received_on, policy, status, previous_id, created_at, workflow_started_at, closed_at)
		SELECT i.parcours_id, i.beneficiary_id, i.entered_on, i.received_on, i.policy, $2, p.id, i.created_at, now(),
		       CASE WHEN $3 THEN now() END
		FROM parcours_identity i LEFT JOIN parcours p ON p.id = i.previous_id
		WHERE i.parcours_id = $1
		ON CONFLICT DO NOTHING`, id, domain.StatusAwaitingOrientation, closed)
	if err != nil {
		return fmt.Errorf("recreate parcours: %w", err)
	}
	if tag.RowsAffected() == 0 {
		var known, otherOpen bool
		if err := tx.QueryRow(ctx, `
			SELECT EXISTS (SELECT 1 FROM parcours_identity WHERE parcours_id = $1),
			       EXISTS (SELECT 1 FROM parcours_identity i JOIN parcours p ON p.beneficiary_id = i.beneficiary_id
			               WHERE i.parcours_id = $1 AND p.closed_at IS NULL)`, id).Scan(&known, &otherOpen); err != nil {
			return err
		}
		if otherOpen {
			return fmt.Errorf("%w %s: its person has another open parcours", ErrUnknownParcours, id)
		}
		return fmt.Errorf("%w %s: no parcours_identity row (a backup older than the intake?)", ErrUnknownParcours, id)
	}
	return nil
}

// noteRef is the SQL of note id parameter n, or NULL when the note is not
// in the database (a PostgreSQL restored from a backup older than the
// note): the workflow's ids outlive the notes, and a write must not fail
// on the foreign key for ever. The text of such a note is lost.
func noteRef(n int) string { return fmt.Sprintf("(SELECT id FROM notes WHERE id = $%d::uuid)", n) }

// reviewTaskKinds are the tasks the sanction cases write (SyncReview): a
// parcours' full write leaves them alone.
var reviewTaskKinds = []string{"send_notice", "record_notice_receipt", "decide_review", "decide_appeal", "decide_radiation", "record_decision_notified"}

// queueForget removes, on a full write (a resync), the open deadlines and
// tasks of the parcours the write does not carry: the workflow holds every
// open one, so any other comes from a state that no longer exists (a
// Temporal reset, a restored backup). Closed rows stay: the workflow forgot
// them once written, and the read model is their only record.
func queueForget(b *pgx.Batch, in domain.SyncInput) {
	var dKind, dBasis []string
	var dCycle []int
	for _, d := range in.Deadlines {
		dKind, dBasis, dCycle = append(dKind, string(d.Kind)), append(dBasis, string(d.Basis)), append(dCycle, d.Cycle)
	}
	b.Queue(`
		DELETE FROM deadlines WHERE parcours_id = $1 AND status IN ('pending', 'overdue')
		  AND (kind, basis, cycle) NOT IN (SELECT * FROM unnest($2::text[], $3::text[], $4::int[]))`,
		in.ParcoursID, dKind, dBasis, dCycle)
	var tKind []string
	var tCycle []int
	for _, t := range in.Tasks {
		tKind, tCycle = append(tKind, string(t.Kind)), append(tCycle, t.Cycle)
	}
	b.Queue(`
		DELETE FROM tasks WHERE parcours_id = $1 AND status = 'open' AND kind <> ALL($4::text[])
		  AND (kind, cycle) NOT IN (SELECT * FROM unnest($2::text[], $3::int[]))`,
		in.ParcoursID, tKind, tCycle, reviewTaskKinds)
}

// queueRows upserts the orientations, contracts, actions and follow-ups a
// write carries.
func queueRows(b *pgx.Batch, in domain.SyncInput) {
	for _, r := range in.Orientations {
		o := r.Orientation
		b.Queue(`
			INSERT INTO orientations (parcours_id, seq, track, organism, referent_id, decided_on, previous_on, within_6_months, note_id, recorded_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, `+noteRef(9)+`, $10)
			ON CONFLICT (parcours_id, seq) DO NOTHING`,
			in.ParcoursID, r.Seq, o.Track, o.Organism, o.ReferentID, pgDate(o.DecidedOn), pgDate(r.PreviousOn), r.Within6Months,
			nullText(r.NoteID), nullText(o.RecordedBy))
	}
	for _, r := range in.Contracts {
		c := r.Contract
		b.Queue(`
			INSERT INTO contracts (parcours_id, seq, kind, signed_on, starts_on, ends_on, assessment_note_id, recorded_by)
			VALUES ($1, $2, $3, $4, $5, $6, `+noteRef(7)+`, $8)
			ON CONFLICT (parcours_id, seq) DO NOTHING`,
			in.ParcoursID, r.Seq, c.Kind, pgDate(c.SignedOn), pgDate(c.StartsOn), pgDate(c.EndsOn), nullText(c.NoteID), nullText(c.RecordedBy))
	}
	for _, r := range in.Actions {
		a := r.Action
		var ended domain.Date
		var category, detail string
		if o := r.Outcome; o != nil {
			ended, category, detail = o.EndedOn, o.Category, o.Detail
		}
		b.Queue(`
			INSERT INTO actions (parcours_id, seq, name, kind, structure, starts_on, planned_end_on, ended_on, outcome_category, outcome_detail,
				name_note_id, structure_note_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, `+noteRef(11)+`, `+noteRef(12)+`)
			ON CONFLICT (parcours_id, seq) DO UPDATE SET
				ended_on = EXCLUDED.ended_on, outcome_category = EXCLUDED.outcome_category, outcome_detail = EXCLUDED.outcome_detail`,
			in.ParcoursID, r.Seq, a.Name, a.Kind, a.Structure, pgDate(a.StartsOn), pgDate(a.PlannedEndOn),
			pgDate(ended), nullText(category), nullText(detail), nullText(a.NameID), nullText(a.StructureID))
	}
	for _, c := range in.Cases {
		b.Queue(`
			INSERT INTO reviews (id, parcours_id, number, status, breach_kind, obligation, facts_note_id, reported_on, repeat, state, version,
				obligation_note_id)
			VALUES ($1, $2, $3, 'reported', $4, $5, `+noteRef(6)+`, $7, $8, '{}', 0, `+noteRef(9)+`)
			ON CONFLICT (id) DO NOTHING`,
			domain.ReviewID(in.ParcoursID, c.Number), in.ParcoursID, c.Number, c.Breach.Kind, nullText(c.Breach.Obligation),
			nullText(c.Breach.NoteID), pgDate(c.Breach.ReportedOn), c.Repeat, nullText(c.Breach.ObligationID))
	}
	for _, f := range in.FollowUps {
		var answered domain.Date
		var situation, kind, note string
		if a := f.Answer; a != nil {
			answered, situation, kind, note = a.AnsweredOn, a.Situation, a.EmploymentKind, a.NoteID
		}
		b.Queue(`
			INSERT INTO follow_ups (parcours_id, action_seq, months, opens_on, due_on, answered_on, situation, employment_kind, note_id, cancelled)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, `+noteRef(9)+`, $10)
			ON CONFLICT (parcours_id, action_seq, months) DO UPDATE SET
				answered_on = EXCLUDED.answered_on, situation = EXCLUDED.situation, employment_kind = EXCLUDED.employment_kind,
				note_id = EXCLUDED.note_id, cancelled = EXCLUDED.cancelled`,
			in.ParcoursID, f.Action, f.Months, pgDate(f.OpensOn), pgDate(f.DueOn), pgDate(answered),
			nullText(situation), nullText(kind), nullText(note), f.Cancelled)
	}
}

// Scope limits what a query returns to what an actor may see.
type Scope struct {
	ReferentID string // when set: only the parcours assigned to this référent
	Structure  string // when set: only the parcours of the référents of this structure
}

// ScopeOf is the scope of an actor.
func ScopeOf(a domain.Actor) Scope {
	switch {
	case a.SeesOnlyOwn():
		return Scope{ReferentID: a.ReferentID}
	case a.Role == domain.RoleSupervisor:
		return Scope{Structure: a.Structure}
	}
	return Scope{}
}

// visible is the SQL condition of a scope on parcours p, with its two
// parameters at $n and $n+1 (see args).
func visible(n int) string {
	return fmt.Sprintf(`($%d::text IS NULL OR p.referent_id = $%d) AND ($%d::text IS NULL OR p.referent_id IN
		(%s))`, n, n, n+1, StructureReferents(n+1))
}

// StructureReferents is the SQL query of the ids of the référents of the
// structure named by parameter $n (a supervisor's scope).
func StructureReferents(n int) string {
	return fmt.Sprintf(`SELECT sr.id FROM referents sr JOIN structures ss ON ss.id = sr.structure_id WHERE ss.name = $%d`, n)
}

func (s Scope) args() []any { return []any{nullText(s.ReferentID), nullText(s.Structure)} }

// GetParcours reads one parcours with its deadlines, open tasks and events.
// A parcours outside the scope is not found.
func (db *DB) GetParcours(ctx context.Context, id string, scope Scope) (domain.ParcoursView, error) {
	var v domain.ParcoursView
	if _, err := uuid.Parse(id); err != nil {
		return v, domain.Errorf(domain.ENOTFOUND, "Parcours introuvable.")
	}
	var birth, entered, received, oriented, exited, notified pgtype.Date
	var assumed bool
	var track, organism, referent, exitReason *string
	var contract []byte
	var payer domain.PayerView
	var payerSince, payerSeen pgtype.Date
	b := &pgx.Batch{}
	found := false
	b.Queue(`
		SELECT p.id::text, b.external_id, p.status, b.last_name, b.first_name, b.birth_date, p.entered_on, p.received_on,
		       p.policy, p.track, p.organism, p.referent_id, p.oriented_on, p.contract, p.created_at,
		       coalesce(p.previous_id::text, ''), p.exit_reason, p.exited_on, p.obstacles,
		       coalesce(b.payer, ''), coalesce(b.payer_number, ''), coalesce(b.payer_role, ''), coalesce(b.phone, ''), coalesce(b.email, ''),
		       coalesce(b.payer_state, ''), coalesce(b.payer_code, ''), coalesce(b.payer_reason, ''), b.payer_since, b.payer_seen_on,
		       p.orientation_notified_on, p.orientation_notified_assumed
		FROM parcours p JOIN beneficiaries b ON b.id = p.beneficiary_id
		WHERE p.id = $1 AND `+visible(2), append([]any{id}, scope.args()...)...,
	).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&v.ID, &v.BeneficiaryID, &v.Status, &v.LastName, &v.FirstName, &birth, &entered, &received,
			&v.Policy, &track, &organism, &referent, &oriented, &contract, &v.CreatedAt,
			&v.PreviousID, &exitReason, &exited, &v.Obstacles,
			&payer.Body, &payer.Number, &payer.Role, &payer.Phone, &payer.Email,
			&payer.Situation.State, &payer.Situation.Code, &payer.Situation.Reason, &payerSince, &payerSeen,
			&notified, &assumed)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // not found, or not in the scope: the other results are dropped
		}
		if err != nil {
			return fmt.Errorf("load parcours %s: %w", id, err)
		}
		found = true
		return nil
	})
	// The rest of the dossier in the same batch: one round trip in all
	// (there were ten, each waiting for a busy machine's scheduler in a
	// burst of deadlines: issue 21 item 8).
	queueDeadlines(b, id, &v.Deadlines)
	queueChildren(b, id, &v)
	if err := queueReviews(b, ReviewFilter{ParcoursID: id, Limit: 100}, &v.Reviews); err != nil {
		return v, err
	}
	if err := queueTasks(b, TaskFilter{ParcoursID: id, Status: "open", Limit: 100}, &v.Tasks); err != nil {
		return v, err
	}
	queueTimeline(b, "events", "parcours_id", id, &v.Events)
	if err := db.Pool.SendBatch(ctx, b).Close(); err != nil {
		return v, err
	}
	if !found {
		return domain.ParcoursView{}, domain.Errorf(domain.ENOTFOUND, "Parcours introuvable.")
	}
	v.BirthDate, v.EnteredAt, v.ReceivedOn = fromPG(birth), fromPG(entered), fromPG(received)
	if payer != (domain.PayerView{}) {
		payer.Situation.Since, payer.SeenOn = fromPG(payerSince), fromPG(payerSeen)
		v.Payer = &payer
	}
	if referent != nil {
		v.ReferentID = *referent
	}
	if track != nil {
		v.Orientation = &domain.Orientation{Track: domain.Track(*track), Organism: deref(organism), ReferentID: v.ReferentID, DecidedOn: fromPG(oriented),
			NotifiedOn: fromPG(notified), NotifiedAssumed: assumed}
	}
	if contract != nil {
		v.Contract = &domain.Contract{}
		if err := json.Unmarshal(contract, v.Contract); err != nil {
			return v, fmt.Errorf("parcours %s contract: %w", id, err)
		}
	}
	if exitReason != nil {
		v.Exit = &domain.ExitView{Reason: *exitReason, On: fromPG(exited)}
	}
	return v, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// queueDeadlines queues the read of a parcours' deadlines into *out.
func queueDeadlines(b *pgx.Batch, id string, out *[]domain.DeadlineView) {
	rowsInto(b, out, "deadlines", func(r pgx.CollectableRow) (domain.DeadlineView, error) {
		var d domain.DeadlineView
		var due, met, opens pgtype.Date
		err := r.Scan(&d.Kind, &d.Basis, &d.Cycle, &due, &d.Status, &d.Rule, &d.RuleSet, &met, &d.OverdueAt, &opens)
		d.DueOn, d.MetOn, d.OpensOn = fromPG(due), fromPG(met), fromPG(opens)
		d.Explanation = domain.Deadline{Kind: d.Kind, DueOn: d.DueOn, Rule: d.Rule}.Explain()
		return d, err
	}, `
		SELECT kind, basis, cycle, due_on, status, rule, rule_set, met_on, overdue_at, opens_on
		FROM deadlines WHERE parcours_id = $1 ORDER BY due_on, kind, basis, cycle`, id)
}

// batch sends the reads queue puts in a batch, in one round trip, and reads
// their results (each query's callback) before it returns.
func (db *DB) batch(ctx context.Context, queue func(*pgx.Batch) error) error {
	b := &pgx.Batch{}
	if err := queue(b); err != nil {
		return err
	}
	return db.Pool.SendBatch(ctx, b).Close()
}

// rowsInto queues sql on b: its rows, scanned by scan, fill *out when the
// batch's results are read.
func rowsInto[T any](b *pgx.Batch, out *[]T, what string, scan pgx.RowToFunc[T], sql string, args ...any) {
	b.Queue(sql, args...).Query(func(rows pgx.Rows) error {
		list, err := pgx.CollectRows(rows, scan)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		*out = list
		return nil
	})
}

// timeline reads a table of dated, attributed steps (events of a parcours,
// steps of a case) with their author's name and note.
func (db *DB) timeline(ctx context.Context, table, key, id string) ([]domain.EventView, error) {
	var out []domain.EventView
	err := db.batch(ctx, func(b *pgx.Batch) error {
		queueTimeline(b, table, key, id, &out)
		return nil
	})
	return out, err
}

// queueTimeline queues timeline's read into *out.
func queueTimeline(b *pgx.Batch, table, key, id string, out *[]domain.EventView) {
	rowsInto(b, out, table+" of "+id, func(r pgx.CollectableRow) (domain.EventView, error) {
		var e domain.EventView
		var on pgtype.Date
		err := r.Scan(&e.Seq, &e.Kind, &on, &e.At, &e.Summary, &e.RecordedBy, &e.Author, &e.Note)
		e.OccurredOn = fromPG(on)
		return e, err
	}, `
		SELECT e.seq, e.kind, e.occurred_on, e.at, e.summary, coalesce(e.actor, ''), coalesce(t.name, a.name, ''), coalesce(n.body, '')
		FROM `+table+` e
		LEFT JOIN api_tokens t ON e.actor = 'token:' || t.id
		LEFT JOIN accounts a ON e.actor = 'account:' || a.id::text
		LEFT JOIN notes n ON n.id = e.note_id
		WHERE e.`+key+` = $1 ORDER BY e.seq`, id)
}

// ParcoursFilter selects a page of parcours.
type ParcoursFilter struct {
	Scope
	Status     domain.Status
	Overdue    bool
	ReferentID string
	Cursor     string // the last id of the previous page
	Limit      int
}

// ListParcours lists parcours, newest first, one page at a time.
func (db *DB) ListParcours(ctx context.Context, f ParcoursFilter) (items []domain.ParcoursSummary, next string, err error) {
	var cursor any
	if f.Cursor != "" {
		c, err := uuid.Parse(f.Cursor)
		if err != nil {
			return nil, "", domain.FieldError("cursor", "Curseur de pagination invalide.")
		}
		cursor = c
	}
	rows, err := db.Pool.Query(ctx, `
		SELECT p.id::text, b.external_id, p.status, b.last_name, b.first_name, p.entered_on, p.referent_id,
		       t.next_due, coalesce(t.overdue, false)
		FROM parcours p
		JOIN beneficiaries b ON b.id = p.beneficiary_id
		LEFT JOIN LATERAL (
			SELECT min(due_on) AS next_due, bool_or(`+TaskOverdue("tasks")+`) AS overdue
			FROM tasks WHERE parcours_id = p.id AND status = 'open'
		) t ON true
		WHERE ($1::text IS NULL OR p.status = $1)
		  AND ($2::text IS NULL OR p.referent_id = $2)
		  AND (NOT $3 OR EXISTS (SELECT 1 FROM tasks o WHERE o.parcours_id = p.id AND o.status = 'open' AND `+TaskOverdue("o")+`))
		  AND ($4::uuid IS NULL OR p.id < $4)
		  AND `+visible(6)+`
		ORDER BY p.id DESC
		LIMIT $5`,
		nullText(string(f.Status)), nullText(f.ReferentID), f.Overdue, cursor, f.Limit+1, nullText(f.Scope.ReferentID), nullText(f.Scope.Structure))
	if err != nil {
		return nil, "", fmt.Errorf("list parcours: %w", err)
	}
	items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.ParcoursSummary, error) {
		var s domain.ParcoursSummary
		var entered, due pgtype.Date
		var referent *string
		err := r.Scan(&s.ID, &s.BeneficiaryID, &s.Status, &s.LastName, &s.FirstName, &entered, &referent, &due, &s.Overdue)
		s.EnteredAt, s.NextDueOn, s.ReferentID = fromPG(entered), fromPG(due), deref(referent)
		return s, err
	})
	if err != nil {
		return nil, "", err
	}
	if len(items) > f.Limit {
		items = items[:f.Limit]
		next = items[len(items)-1].ID
	}
	return items, next, nil
}

// Workload counts, per référent in the scope, their parcours and tasks:
// open, overdue, and due within the next days.
func (db *DB) Workload(ctx context.Context, scope Scope, days int) ([]domain.Workload, error) {
	// Parcours and open tasks are counted apart, each by a hash aggregate:
	// one join of parcours with every task counted parcours DISTINCT,
	// sorting them all (446 ms over 88,000 parcours with référents, 150 ms
	// this way, on a copy of make bench's data).
	rows, err := db.Pool.Query(ctx, `
		WITH parc AS (
			SELECT p.referent_id, count(*) AS parcours
			FROM parcours p
			WHERE p.referent_id IS NOT NULL AND p.closed_at IS NULL AND `+visible(1)+`
			GROUP BY p.referent_id),
		open AS (
			SELECT p.referent_id, count(*) AS open,
			       count(*) FILTER (WHERE `+TaskOverdue("t")+`) AS overdue,
			       count(*) FILTER (WHERE NOT `+TaskOverdue("t")+` AND t.due_on <= `+ParisToday+` + $3::int) AS soon
			FROM tasks t JOIN parcours p ON p.id = t.parcours_id
			WHERE t.status = 'open' AND p.referent_id IS NOT NULL AND p.closed_at IS NULL AND `+visible(1)+`
			GROUP BY p.referent_id)
		SELECT parc.referent_id, coalesce(r.name, 'référent inconnu'), coalesce(s.name, ''), parc.parcours,
		       coalesce(open.open, 0), coalesce(open.overdue, 0), coalesce(open.soon, 0)
		FROM parc
		LEFT JOIN open ON open.referent_id = parc.referent_id
		LEFT JOIN referents r ON r.id = parc.referent_id
		LEFT JOIN structures s ON s.id = r.structure_id
		ORDER BY 6 DESC, 7 DESC, 1`, nullText(scope.ReferentID), nullText(scope.Structure), days)
	if err != nil {
		return nil, fmt.Errorf("workload: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.Workload, error) {
		var w domain.Workload
		err := r.Scan(&w.ReferentID, &w.Name, &w.Structure, &w.Parcours, &w.Open, &w.Overdue, &w.DueSoon)
		return w, err
	})
}

// TaskFilter selects tasks.
type TaskFilter struct {
	Scope
	ParcoursID string
	Status     string // open, overdue (open and overdue), done; "" for open
	Assignee   string
	DueWithin  int // with Status "open": only tasks overdue or due within this many days
	Kind       domain.TaskKind
	// LateBy: only tasks overdue by more than this many days (0: no bound).
	LateBy int
	// After: the page after this task, in the list's order (keyset).
	After *TaskCursor
	Limit int
	// Sort, when its Column is set (TaskSortColumns), replaces the list's
	// order (overdue first, then by due date) and After.
	Sort Sort
	// Structure (a structure's name): only parcours whose référent belongs
	// to it; Track: only parcours oriented to that track.
	Structure string
	Track     domain.Track
}

// taskMore adds the structure and track filters to a task query whose
// parameters are args: their own come after every other (the sort's
// included), so that taskWhere's numbering stays as it is.
func taskMore(f TaskFilter, args []any) (string, []any) {
	sql := ""
	if f.Structure != "" {
		args = append(args, f.Structure)
		sql += " AND p.referent_id IN (" + StructureReferents(len(args)) + ")"
	}
	if f.Track != "" {
		args = append(args, string(f.Track))
		sql += fmt.Sprintf(" AND p.track = $%d", len(args))
	}
	return sql, args
}

// taskSort are the columns a task list sorts on.
var taskSort = sortColumns{
	"echeance":     dateKey("t.due_on"),
	"tache":        labelOrder("t.kind", domain.TaskKinds(), domain.TaskKind.French),
	"beneficiaire": nameKey,
	"referent":     "coalesce(lower(ar.name), '')",
}

// TaskCursor is a task's place in the list's order: tasks the workflow
// has marked overdue first (Later false), then by due date and id. A task
// overdue at read time but not yet marked (its workflow writes seconds
// after midnight) comes right after them: its due date is past, so it
// precedes every task not overdue.
type TaskCursor struct {
	Later bool
	DueOn domain.Date
	ID    int64
}

// CursorOf is the place of t in the list's order.
func CursorOf(t domain.TaskView) TaskCursor {
	return TaskCursor{Later: t.OverdueAt == nil, DueOn: t.DueOn, ID: t.ID}
}

// ParisToday is today's date in Europe/Paris when PostgreSQL reads it.
const ParisToday = `(now() AT TIME ZONE 'Europe/Paris')::date`

// TaskOverdue is the condition, on the tasks row named alias, that an
// open task is overdue at read time: its due date has passed in
// Europe/Paris (a deadline is overdue from 00:00 the day after it), or its
// workflow marked it overdue. It is NULL for a task with no due date
// that is not marked (false in a WHERE or FILTER). The lists and counts do not wait for the
// workflow's own write, which can come seconds or minutes after midnight
// when many deadlines fall due together. Both terms can use an index of
// open tasks (tasks_open_by_urgency, tasks_open_by_due).
func TaskOverdue(alias string) string {
	return "(" + alias + ".overdue_at IS NOT NULL OR " + alias + ".due_on < " + ParisToday + ")"
}

// taskOverdueT is TaskOverdue of the tasks row t.
var taskOverdueT = TaskOverdue("t")

// taskWhere is the condition of a task filter, its parameters from $1 on
// (nine of them).
var taskWhere = `t.status = $1
		  AND (NOT $2 OR ` + taskOverdueT + `)
		  AND ($3::text IS NULL OR t.assignee = $3)
		  AND ($4::uuid IS NULL OR t.parcours_id = $4)
		  AND ` + "%s" + `
		  AND ($7::int IS NULL OR ` + taskOverdueT + ` OR t.due_on <= ` + ParisToday + ` + $7::int)
		  AND ($8::text IS NULL OR t.kind = $8)
		  AND ($9::int IS NULL OR t.due_on < ` + ParisToday + ` - $9::int)`

// taskArgs are taskWhere's nine parameters.
func taskArgs(f TaskFilter) []any {
	var within, lateBy any
	if f.DueWithin > 0 {
		within = f.DueWithin
	}
	if f.LateBy > 0 {
		lateBy = f.LateBy
	}
	status, overdueOnly := f.Status, false
	switch f.Status {
	case "", "open":
		status = "open"
	case "overdue":
		status, overdueOnly = "open", true
	}
	return []any{status, overdueOnly, nullText(f.Assignee), nullText(f.ParcoursID), nullText(f.Scope.ReferentID),
		nullText(f.Scope.Structure), within, nullText(string(f.Kind)), lateBy}
}

// CountTasks counts the tasks a filter selects, and the overdue ones among
// them, whatever the page.
func (db *DB) CountTasks(ctx context.Context, f TaskFilter) (total, overdue int, err error) {
	more, args := taskMore(f, taskArgs(f))
	err = db.Pool.QueryRow(ctx, `
		SELECT count(*), count(*) FILTER (WHERE `+taskOverdueT+`)
		FROM tasks t JOIN parcours p ON p.id = t.parcours_id
		WHERE `+fmt.Sprintf(taskWhere, visible(5))+more, args...).Scan(&total, &overdue)
	if err != nil {
		return 0, 0, fmt.Errorf("count tasks: %w", err)
	}
	return total, overdue, nil
}

// ListTasks lists tasks by due date, the most urgent first.
func (db *DB) ListTasks(ctx context.Context, f TaskFilter) ([]domain.TaskView, error) {
	var out []domain.TaskView
	err := db.batch(ctx, func(b *pgx.Batch) error { return queueTasks(b, f, &out) })
	return out, err
}

// queueTasks queues ListTasks' read into *out.
func queueTasks(b *pgx.Batch, f TaskFilter, out *[]domain.TaskView) error {
	args := taskArgs(f)
	var later, due, id any
	if c := f.After; c != nil {
		later, due, id = c.Later, pgDate(c.DueOn), c.ID
	}
	args = append(args, f.Limit, later, due, id)
	keyset, order := `($11::bool IS NULL OR ((t.overdue_at IS NULL), coalesce(t.due_on, 'infinity'::date), t.id) > ($11, coalesce($12::date, 'infinity'::date), $13::bigint))`,
		`(t.overdue_at IS NULL), t.due_on NULLS LAST, t.id`
	if f.Sort.Column != "" {
		cond, by, more, err := taskSort.clauses(f.Sort, "lpad(t.id::text, 20, '0')", 11)
		if err != nil {
			return err
		}
		args, keyset, order = append(args[:10], more...), cond, by
	}
	filters, args := taskMore(f, args)
	sql := `
		SELECT t.id, t.parcours_id::text, t.kind, t.cycle, t.due_on, t.status, t.overdue_at, coalesce(` + taskOverdueT + `, false), t.assignee, b.last_name, b.first_name,
		       ` + taskSort.sortValue(f.Sort) + `
		FROM tasks t JOIN parcours p ON p.id = t.parcours_id JOIN beneficiaries b ON b.id = p.beneficiary_id
		LEFT JOIN referents ar ON ar.id = t.assignee
		WHERE ` + fmt.Sprintf(taskWhere, visible(5)) + filters + `
		  AND ` + keyset + `
		ORDER BY ` + order + `
		LIMIT $10`
	rowsInto(b, out, "list tasks", func(r pgx.CollectableRow) (domain.TaskView, error) {
		var t domain.TaskView
		var due pgtype.Date
		var overdue bool
		err := r.Scan(&t.ID, &t.ParcoursID, &t.Kind, &t.Cycle, &due, &t.Status, &t.OverdueAt, &overdue, &t.Assignee, &t.LastName, &t.FirstName, &t.SortKey)
		t.DueOn, t.Overdue = fromPG(due), overdue && t.Status == domain.TaskOpen
		return t, err
	}, sql, args...)
	return nil
}

// ResyncPage lists the parcours known to parcours_identity (those whose
// row was deleted included) after id `after`, in id order: the keyset pages
// of `parcours resync --all`.
func (db *DB) ResyncPage(ctx context.Context, after string, limit int) ([]string, error) {
	if after == "" {
		after = uuid.Nil.String()
	}
	rows, err := db.Pool.Query(ctx, `
		SELECT parcours_id::text FROM parcours_identity WHERE parcours_id > $1::uuid ORDER BY parcours_id LIMIT $2`, after, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// NextEpoch is the epoch of a new resync: the database's clock in
// milliseconds, or above every epoch a parcours or a case holds when one
// is ahead of it (a resync run from a machine whose clock ran ahead).
func (db *DB) NextEpoch(ctx context.Context) (int64, error) {
	var e int64
	err := db.Pool.QueryRow(ctx, `
		SELECT greatest((extract(epoch FROM clock_timestamp()) * 1000)::bigint,
			(SELECT coalesce(max(epoch), 0) + 1 FROM parcours), (SELECT coalesce(max(epoch), 0) + 1 FROM reviews))`).Scan(&e)
	return e, err
}

// ResyncCount is how many parcours ResyncPage walks.
func (db *DB) ResyncCount(ctx context.Context) (int, error) {
	var n int
	err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM parcours_identity`).Scan(&n)
	return n, err
}
