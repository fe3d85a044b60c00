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

// DigestRecipient is an account that receives the daily digest: an active
// référent, supervisor or département account who has not opted out. A
// supervisor without a structure sees every parcours on the dashboard, and
// so in the digest. A département account's digest carries the 1 January
// 2027 campaign's line only (DigestCampaign).
type DigestRecipient struct {
	AccountID  string
	Email      string
	Name       string
	Role       domain.Role
	ReferentID string
	Structure  string
}

// DigestRecipients lists the accounts to consider for a digest.
func (db *DB) DigestRecipients(ctx context.Context) ([]DigestRecipient, error) {
	rows, err := db.Pool.Query(ctx, `
		SELECT id::text, email, name, role, coalesce(referent_id, ''), coalesce(structure, '')
		FROM accounts
		WHERE disabled_at IS NULL AND NOT digest_opt_out
		  AND role IN ('referent', 'supervisor', 'department')
		ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("digest recipients: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (DigestRecipient, error) {
		var x DigestRecipient
		err := r.Scan(&x.AccountID, &x.Email, &x.Name, &x.Role, &x.ReferentID, &x.Structure)
		return x, err
	})
}

// DigestTask is an open task in a digest: identifiers and dates only.
type DigestTask struct {
	ParcoursID string
	Kind       domain.TaskKind
	DueOn      domain.Date
	Overdue    bool
}

// DigestTasks lists the open tasks of the recipient's parcours (a référent's
// own, a supervisor's structure's) that are overdue on day or due within the
// following days, the most urgent first.
func (db *DB) DigestTasks(ctx context.Context, r DigestRecipient, day domain.Date, days int) ([]DigestTask, error) {
	scope := Scope{}
	switch r.Role {
	case domain.RoleReferent:
		scope.ReferentID = r.ReferentID
	case domain.RoleSupervisor:
		scope.Structure = r.Structure
	default:
		return nil, nil
	}
	rows, err := db.Pool.Query(ctx, `
		SELECT t.parcours_id::text, t.kind, t.due_on, (t.overdue_at IS NOT NULL OR t.due_on < $1::date)
		FROM tasks t JOIN parcours p ON p.id = t.parcours_id
		WHERE t.status = 'open' AND p.closed_at IS NULL AND p.referent_id IS NOT NULL
		  AND (t.overdue_at IS NOT NULL OR t.due_on <= $1::date + $2::int)
		  AND `+visible(3)+`
		ORDER BY 4 DESC, t.due_on NULLS LAST, t.id`,
		day.String(), days, nullText(scope.ReferentID), nullText(scope.Structure))
	if err != nil {
		return nil, fmt.Errorf("digest tasks: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (DigestTask, error) {
		var t DigestTask
		var due pgtype.Date
		err := r.Scan(&t.ParcoursID, &t.Kind, &due, &t.Overdue)
		t.DueOn = fromPG(due)
		return t, err
	})
}

// DigestCounts is what a sending records: counts and kinds only.
type DigestCounts struct {
	Overdue int
	DueSoon int
	Kinds   map[domain.TaskKind]int
}

// Digest sending states.
const (
	DigestSending   = "sending"
	DigestSent      = "sent"
	DigestFailed    = "failed"
	DigestUncertain = "uncertain"
)

// BeginDigest claims the sending of one account's digest for one day and
// says whether to send it. A new row, or one whose last attempt failed
// before the SMTP server accepted the message, is (re)claimed as 'sending'.
// A row found 'sending' belongs to an attempt that crashed during or after
// the SMTP conversation: the message may have been delivered, so it becomes
// 'uncertain' and is not sent again (never twice, at the risk of once
// missing a digest; the next working day's digest repeats what is overdue).
func (db *DB) BeginDigest(ctx context.Context, accountID string, day domain.Date, c DigestCounts) (bool, error) {
	kinds, err := json.Marshal(c.Kinds)
	if err != nil {
		return false, err
	}
	var proceed bool
	err = pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var status string
		err := tx.QueryRow(ctx, `SELECT status FROM digest_sendings WHERE account_id = $1 AND day = $2 FOR UPDATE`, accountID, day.String()).Scan(&status)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			tag, err := tx.Exec(ctx, `
				INSERT INTO digest_sendings (account_id, day, status, overdue, due_soon, kinds) VALUES ($1, $2, 'sending', $3, $4, $5)
				ON CONFLICT DO NOTHING`, accountID, day.String(), c.Overdue, c.DueSoon, kinds)
			proceed = err == nil && tag.RowsAffected() == 1
			return err
		case err != nil:
			return err
		case status == DigestFailed:
			_, err := tx.Exec(ctx, `
				UPDATE digest_sendings SET status = 'sending', attempts = attempts + 1, overdue = $3, due_soon = $4, kinds = $5
				WHERE account_id = $1 AND day = $2`, accountID, day.String(), c.Overdue, c.DueSoon, kinds)
			proceed = err == nil
			return err
		case status == DigestSending:
			_, err := tx.Exec(ctx, `
				UPDATE digest_sendings SET status = 'uncertain', error = 'tentative interrompue pendant l''envoi : non renvoyé'
				WHERE account_id = $1 AND day = $2`, accountID, day.String())
			return err
		}
		return nil // sent or uncertain: nothing to do
	})
	if err != nil {
		return false, fmt.Errorf("begin digest: %w", err)
	}
	return proceed, nil
}

// FinishDigest records the outcome of a claimed sending: 'sent', or
// 'failed' with the SMTP error.
func (db *DB) FinishDigest(ctx context.Context, accountID string, day domain.Date, status, errMsg string) error {
	_, err := db.Pool.Exec(ctx, `
		UPDATE digest_sendings SET status = $3, error = $4, sent_at = CASE WHEN $3 = 'sent' THEN now() END
		WHERE account_id = $1 AND day = $2 AND status = 'sending'`, accountID, day.String(), status, nullText(errMsg))
	if err != nil {
		return fmt.Errorf("finish digest: %w", err)
	}
	return nil
}

// DigestRecord is one recorded sending, for the admin.
type DigestRecord struct {
	Day       domain.Date             `json:"day"`
	AccountID string                  `json:"account_id"`
	Email     string                  `json:"email"`
	Name      string                  `json:"name"`
	Status    string                  `json:"status"`
	Overdue   int                     `json:"overdue"`
	DueSoon   int                     `json:"due_soon"`
	Kinds     map[domain.TaskKind]int `json:"kinds"`
	Attempts  int                     `json:"attempts"`
	Error     string                  `json:"error,omitempty"`
	CreatedAt time.Time               `json:"created_at"`
	SentAt    *time.Time              `json:"sent_at"`
}

// ListDigestSendings lists the sendings, newest day first.
func (db *DB) ListDigestSendings(ctx context.Context, limit int) ([]DigestRecord, error) {
	rows, err := db.Pool.Query(ctx, `
		SELECT d.day, d.account_id::text, a.email, a.name, d.status, d.overdue, d.due_soon, d.kinds, d.attempts,
		       coalesce(d.error, ''), d.created_at, d.sent_at
		FROM digest_sendings d JOIN accounts a ON a.id = d.account_id
		ORDER BY d.day DESC, a.name, d.account_id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list digests: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (DigestRecord, error) {
		var x DigestRecord
		var day pgtype.Date
		var kinds []byte
		err := r.Scan(&day, &x.AccountID, &x.Email, &x.Name, &x.Status, &x.Overdue, &x.DueSoon, &kinds, &x.Attempts, &x.Error, &x.CreatedAt, &x.SentAt)
		if err == nil {
			err = json.Unmarshal(kinds, &x.Kinds)
		}
		x.Day = fromPG(day)
		return x, err
	})
}

// DigestOptOut says whether the account opted out of the digest.
func (db *DB) DigestOptOut(ctx context.Context, accountID string) (bool, error) {
	var out bool
	err := db.Pool.QueryRow(ctx, `SELECT digest_opt_out FROM accounts WHERE id = $1`, accountID).Scan(&out)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, domain.Errorf(domain.ENOTFOUND, "Compte introuvable.")
	}
	return out, err
}

// SetDigestOptOut records the account's choice.
func (db *DB) SetDigestOptOut(ctx context.Context, accountID string, out bool) error {
	tag, err := db.Pool.Exec(ctx, `UPDATE accounts SET digest_opt_out = $2 WHERE id = $1`, accountID, out)
	if err != nil {
		return fmt.Errorf("digest opt-out: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return domain.Errorf(domain.ENOTFOUND, "Compte introuvable.")
	}
	return nil
}
