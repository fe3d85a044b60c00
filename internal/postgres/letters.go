package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// Letterhead is the département's letterhead; ok is false while it has
// never been saved (the default is returned).
func (db *DB) Letterhead(ctx context.Context) (h domain.Letterhead, ok bool, err error) {
	var raw []byte
	err = db.Pool.QueryRow(ctx, `SELECT head FROM letterhead`).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.DefaultLetterhead(), false, nil
	}
	if err != nil {
		return h, false, fmt.Errorf("letterhead: %w", err)
	}
	return h, true, json.Unmarshal(raw, &h)
}

// SaveLetterhead replaces the letterhead.
func (db *DB) SaveLetterhead(ctx context.Context, h domain.Letterhead, by string) error {
	raw, err := json.Marshal(h)
	if err != nil {
		return err
	}
	_, err = db.Pool.Exec(ctx, `
		INSERT INTO letterhead (head, updated_by) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET head = excluded.head, updated_at = now(), updated_by = excluded.updated_by`, raw, by)
	return err
}

// LetterBodies are the bodies the département edited, by kind.
func (db *DB) LetterBodies(ctx context.Context) (map[domain.LetterKind]string, error) {
	rows, err := db.Pool.Query(ctx, `SELECT kind, body FROM letter_templates`)
	if err != nil {
		return nil, fmt.Errorf("letter templates: %w", err)
	}
	out := map[domain.LetterKind]string{}
	var kind domain.LetterKind
	var body string
	_, err = pgx.ForEachRow(rows, []any{&kind, &body}, func() error {
		out[kind] = body
		return nil
	})
	return out, err
}

// SaveLetterBody replaces the body of a kind; "" goes back to the default.
func (db *DB) SaveLetterBody(ctx context.Context, kind domain.LetterKind, body, by string) error {
	if body == "" {
		_, err := db.Pool.Exec(ctx, `DELETE FROM letter_templates WHERE kind = $1`, kind)
		return err
	}
	_, err := db.Pool.Exec(ctx, `
		INSERT INTO letter_templates (kind, body, updated_by) VALUES ($1, $2, $3)
		ON CONFLICT (kind) DO UPDATE SET body = excluded.body, updated_at = now(), updated_by = excluded.updated_by`, kind, body, by)
	return err
}

// LetterSubject is what a letter says of its case and person (PostgreSQL only).
type LetterSubject struct {
	Review     domain.ReviewView
	State      domain.ReviewState
	FirstName  string
	LastName   string
	Address    string // the postal address last typed
	ReferentID string
}

// LetterSubject reads the case a letter is about, if the scope may see it.
func (db *DB) LetterSubject(ctx context.Context, reviewID string, scope Scope) (LetterSubject, error) {
	var s LetterSubject
	v, err := db.GetReview(ctx, reviewID, scope)
	if err != nil {
		return s, err
	}
	s.Review = v
	var state []byte
	var addr *string
	err = db.Pool.QueryRow(ctx, `
		SELECT r.state, b.first_name, b.last_name, b.postal_address
		FROM reviews r JOIN parcours p ON p.id = r.parcours_id JOIN beneficiaries b ON b.id = p.beneficiary_id
		WHERE r.id = $1`, reviewID).Scan(&state, &s.FirstName, &s.LastName, &addr)
	if err != nil {
		return s, fmt.Errorf("letter subject: %w", err)
	}
	if addr != nil {
		s.Address = *addr
	}
	return s, json.Unmarshal(state, &s.State)
}

// LetterDraft is a letter to store as a draft. Render gets the letter's
// number (kept when a draft is produced again) and gives its PDF.
type LetterDraft struct {
	ReviewID   string
	ParcoursID string
	Kind       domain.LetterKind
	DatedOn    domain.Date
	Address    string // saved as the person's postal address
	Params     domain.LetterRequest
	CreatedBy  string
	Render     func(number string) ([]byte, error)
}

// SaveLetterDraft stores a draft of a case's letter: the draft of the same
// kind, if any, is replaced and keeps its number; otherwise the year's
// next number is taken. A kind already sent may still get a new letter
// (a second notice after a change of the planned sanction, say): the sent
// one is never touched.
func (db *DB) SaveLetterDraft(ctx context.Context, d LetterDraft, pdfHash func([]byte) string) (domain.LetterView, error) {
	var id string
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		// One producer at a time per case: the advisory lock covers the
		// first draft, which has no row to lock yet.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('letter:' || $1))`, d.ReviewID); err != nil {
			return err
		}
		var number string
		err := tx.QueryRow(ctx, `SELECT id::text, number FROM letters WHERE review_id = $1 AND kind = $2 AND status = 'draft'`,
			d.ReviewID, d.Kind).Scan(&id, &number)
		if errors.Is(err, pgx.ErrNoRows) {
			var last int
			if err := tx.QueryRow(ctx, `
				INSERT INTO letter_numbers (year, last) VALUES ($1, 1)
				ON CONFLICT (year) DO UPDATE SET last = letter_numbers.last + 1 RETURNING last`, d.DatedOn.Year).Scan(&last); err != nil {
				return fmt.Errorf("letter number: %w", err)
			}
			number, id = fmt.Sprintf("%d-%06d", d.DatedOn.Year, last), ""
		} else if err != nil {
			return err
		}
		pdf, err := d.Render(number)
		if err != nil {
			return err
		}
		params := d.Params
		params.Address = ""
		raw, err := json.Marshal(params)
		if err != nil {
			return err
		}
		if id == "" {
			u, err := uuid.NewV7()
			if err != nil {
				return err
			}
			id = u.String()
			_, err = tx.Exec(ctx, `
				INSERT INTO letters (id, review_id, parcours_id, kind, number, dated_on, params, status, pdf, sha256, created_by)
				VALUES ($1, $2, $3, $4, $5, $6, $7, 'draft', $8, $9, $10)`,
				id, d.ReviewID, d.ParcoursID, d.Kind, number, pgDate(d.DatedOn), raw, pdf, pdfHash(pdf), d.CreatedBy)
			if err != nil {
				return fmt.Errorf("insert letter: %w", err)
			}
		} else if _, err := tx.Exec(ctx, `
				UPDATE letters SET dated_on = $2, params = $3, pdf = $4, sha256 = $5, created_at = now(), created_by = $6 WHERE id = $1`,
			id, pgDate(d.DatedOn), raw, pdf, pdfHash(pdf), d.CreatedBy); err != nil {
			return fmt.Errorf("update letter: %w", err)
		}
		_, err = tx.Exec(ctx, `
			UPDATE beneficiaries SET postal_address = $2, updated_at = now()
			WHERE id = (SELECT beneficiary_id FROM parcours WHERE id = $1) AND postal_address IS DISTINCT FROM $2`,
			d.ParcoursID, d.Address)
		return err
	})
	if err != nil {
		return domain.LetterView{}, err
	}
	return db.GetLetter(ctx, id, Scope{})
}

const letterSelect = `
	SELECT l.id::text, l.review_id, l.parcours_id::text, l.kind, l.number, l.dated_on, l.status, l.sha256, length(l.pdf),
	       coalesce(l.mode, ''), l.sent_on, l.received_on, l.created_at, l.created_by, l.params
	FROM letters l JOIN parcours p ON p.id = l.parcours_id`

func scanLetter(r pgx.CollectableRow) (domain.LetterView, error) {
	var v domain.LetterView
	var dated, sent, received pgtype.Date
	var params []byte
	err := r.Scan(&v.ID, &v.ReviewID, &v.ParcoursID, &v.Kind, &v.Number, &dated, &v.Status, &v.SHA256, &v.Size,
		&v.Mode, &sent, &received, &v.CreatedAt, &v.CreatedBy, &params)
	if err == nil {
		err = json.Unmarshal(params, &v.Params)
	}
	v.DatedOn, v.SentOn, v.ReceivedOn = fromPG(dated), fromPG(sent), fromPG(received)
	v.Title = v.Kind.French()
	return v, err
}

// GetLetter reads a letter (without its PDF), if the scope may see its parcours.
func (db *DB) GetLetter(ctx context.Context, id string, scope Scope) (domain.LetterView, error) {
	if _, err := uuid.Parse(id); err != nil {
		return domain.LetterView{}, domain.Errorf(domain.ENOTFOUND, "Courrier introuvable.")
	}
	rows, err := db.Pool.Query(ctx, letterSelect+` WHERE l.id = $1 AND `+visible(2), append([]any{id}, scope.args()...)...)
	if err != nil {
		return domain.LetterView{}, err
	}
	v, err := pgx.CollectExactlyOneRow(rows, scanLetter)
	if errors.Is(err, pgx.ErrNoRows) {
		return v, domain.Errorf(domain.ENOTFOUND, "Courrier introuvable.")
	}
	return v, err
}

// LetterPDF is a letter's stored PDF.
func (db *DB) LetterPDF(ctx context.Context, id string, scope Scope) ([]byte, domain.LetterView, error) {
	v, err := db.GetLetter(ctx, id, scope)
	if err != nil {
		return nil, v, err
	}
	var pdf []byte
	err = db.Pool.QueryRow(ctx, `SELECT pdf FROM letters WHERE id = $1`, id).Scan(&pdf)
	return pdf, v, err
}

// Letters lists a case's letters, the oldest first.
func (db *DB) Letters(ctx context.Context, reviewID string) ([]domain.LetterView, error) {
	rows, err := db.Pool.Query(ctx, letterSelect+` WHERE l.review_id = $1 ORDER BY l.created_at, l.number`, reviewID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanLetter)
}

// RecordLetterSent marks a draft as sent. apply runs while the row is
// locked, before the commit: it carries the sending to the workflow (with
// an update ID of its own, so that a retry after a failed commit is
// answered with the first answer). A letter already sent is a conflict.
func (db *DB) RecordLetterSent(ctx context.Context, id string, s domain.LetterSending, by string, apply func(domain.LetterView) error) error {
	return db.lockLetter(ctx, id, func(tx pgx.Tx, v domain.LetterView) error {
		if v.Status == domain.LetterSent {
			return domain.Errorf(domain.ECONFLICT, "Le courrier n° %s est déjà enregistré comme envoyé le %s : il ne change plus.", v.Number, v.SentOn.French())
		}
		if s.SentOn.Before(v.DatedOn) {
			return domain.FieldError("sent_on", "L'envoi ne peut précéder la date du courrier (%s).", v.DatedOn.French())
		}
		if err := apply(v); err != nil {
			return err
		}
		received, receivedBy := pgDate(s.ReceivedOn), nullText("")
		if !s.ReceivedOn.IsZero() {
			receivedBy = by
		}
		_, err := tx.Exec(ctx, `UPDATE letters SET status = 'sent', mode = $2, sent_on = $3, sent_by = $4, received_on = $5, received_by = $6 WHERE id = $1`,
			id, s.Mode, pgDate(s.SentOn), by, received, receivedBy)
		return err
	})
}

// RecordLetterReceived records the receipt of a sent letter, once.
func (db *DB) RecordLetterReceived(ctx context.Context, id string, on domain.Date, by string, apply func(domain.LetterView) error) error {
	return db.lockLetter(ctx, id, func(tx pgx.Tx, v domain.LetterView) error {
		switch {
		case v.Status != domain.LetterSent:
			return domain.Errorf(domain.ECONFLICT, "Le courrier n° %s n'est pas enregistré comme envoyé.", v.Number)
		case !v.ReceivedOn.IsZero():
			return domain.Errorf(domain.ECONFLICT, "La réception du courrier n° %s est déjà enregistrée (le %s).", v.Number, v.ReceivedOn.French())
		case on.Before(v.SentOn):
			return domain.FieldError("received_on", "La réception précède l'envoi (%s).", v.SentOn.French())
		}
		if err := apply(v); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE letters SET received_on = $2, received_by = $3 WHERE id = $1`, id, pgDate(on), by)
		return err
	})
}

func (db *DB) lockLetter(ctx context.Context, id string, do func(pgx.Tx, domain.LetterView) error) error {
	if _, err := uuid.Parse(id); err != nil {
		return domain.Errorf(domain.ENOTFOUND, "Courrier introuvable.")
	}
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, letterSelect+` WHERE l.id = $1 FOR UPDATE OF l`, id)
		if err != nil {
			return err
		}
		v, err := pgx.CollectExactlyOneRow(rows, scanLetter)
		if errors.Is(err, pgx.ErrNoRows) {
			return domain.Errorf(domain.ENOTFOUND, "Courrier introuvable.")
		}
		if err != nil {
			return err
		}
		return do(tx, v)
	})
}
