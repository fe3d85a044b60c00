package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// Account is a web account.
type Account struct {
	ID           string
	Email        string
	Name         string
	Role         domain.Role
	ReferentID   string
	Structure    string
	PasswordHash string
	Disabled     bool
	OIDCSubject  string // "<issuer> <sub>" once bound (first OpenID Connect login)
	// AllStructures: a supervisor without a structure sees every structure,
	// said explicitly at its creation.
	AllStructures bool
	// MustChangePassword: the password is a temporary one (an
	// administrator's reset, the first administrator's printed one); the
	// account's sessions reach only « Mon compte » until it is changed.
	MustChangePassword bool
}

// Actor is who the account is for the service.
func (a Account) Actor() domain.Actor {
	return domain.Actor{ID: "account:" + a.ID, Name: a.Name, Role: a.Role, ReferentID: a.ReferentID, Structure: a.Structure}
}

// CreateAccount stores an account; email and référent are unique.
func (db *DB) CreateAccount(ctx context.Context, a Account) (string, error) {
	id := uuid.Must(uuid.NewV7()).String()
	a.Structure = strings.Join(strings.Fields(a.Structure), " ")
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		// The structure and the référent are records (migration 013): the
		// forms choose existing ones; other callers get them created.
		if err := ensureDirectory(ctx, tx, a.Structure, a.ReferentID, a.Name, a.Email); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `
			INSERT INTO accounts (id, email, name, role, referent_id, structure, password_hash, all_structures, must_change_password)
			VALUES ($1, $2, $3, $4, $5, (SELECT name FROM structures WHERE lower(btrim(name)) = lower($6)), $7, $8, $9)`,
			id, strings.ToLower(strings.TrimSpace(a.Email)), a.Name, a.Role, nullText(a.ReferentID), nullText(a.Structure), nullText(a.PasswordHash), a.AllStructures,
			a.MustChangePassword)
		return err
	})
	switch {
	case isUniqueViolation(err, "accounts_email_key"):
		return "", domain.FieldError("email", "Un compte existe déjà pour %s.", a.Email)
	case isUniqueViolation(err, "accounts_referent_id_key"):
		return "", domain.FieldError("referent", "Ce référent a déjà un compte.")
	case err != nil:
		return "", fmt.Errorf("create account: %w", err)
	}
	return id, nil
}

// CountAccounts is the number of accounts.
func (db *DB) CountAccounts(ctx context.Context) (int, error) {
	var n int
	err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM accounts`).Scan(&n)
	return n, err
}

// AccountByEmail finds an active account.
func (db *DB) AccountByEmail(ctx context.Context, email string) (Account, error) {
	return db.accountWhere(ctx, `email = $1`, strings.ToLower(strings.TrimSpace(email)))
}

// AccountByOIDCSubject finds the active account bound to a provider's subject.
func (db *DB) AccountByOIDCSubject(ctx context.Context, subject string) (Account, error) {
	return db.accountWhere(ctx, `oidc_subject = $1`, subject)
}

func (db *DB) accountWhere(ctx context.Context, where string, arg any) (Account, error) {
	var a Account
	var referent, structure, hash, subject *string
	err := db.Pool.QueryRow(ctx, `
		SELECT id::text, email, name, role, referent_id, structure, password_hash, oidc_subject, must_change_password FROM accounts
		WHERE `+where+` AND disabled_at IS NULL`, arg,
	).Scan(&a.ID, &a.Email, &a.Name, &a.Role, &referent, &structure, &hash, &subject, &a.MustChangePassword)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, domain.Errorf(domain.EUNAUTHORIZED, "Identifiant ou mot de passe incorrect.")
	}
	a.ReferentID, a.Structure, a.PasswordHash, a.OIDCSubject = deref(referent), deref(structure), deref(hash), deref(subject)
	return a, err
}

// AccountByID finds an active account; a malformed id is not found.
func (db *DB) AccountByID(ctx context.Context, id string) (Account, error) {
	if _, err := uuid.Parse(id); err != nil {
		return Account{}, domain.Errorf(domain.ENOTFOUND, "Compte introuvable ou désactivé.")
	}
	a, err := db.accountWhere(ctx, `id = $1`, id)
	if domain.ErrorCode(err) == domain.EUNAUTHORIZED {
		return a, domain.Errorf(domain.ENOTFOUND, "Compte introuvable ou désactivé.")
	}
	return a, err
}

// SetPassword replaces an active account's password hash and ends its
// sessions but the one keep hashes (nil: every one), with the audit row e in the same
// transaction. mustChange flags a temporary password (an administrator's
// reset); false clears the flag (the holder chose the password). It
// returns the number of sessions ended.
func (db *DB) SetPassword(ctx context.Context, id, hash string, mustChange bool, keep []byte, e AuditEntry) (int64, error) {
	if _, err := uuid.Parse(id); err != nil {
		return 0, domain.Errorf(domain.ENOTFOUND, "Compte introuvable ou désactivé.")
	}
	var ended int64
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			UPDATE accounts SET password_hash = $2, must_change_password = $3, password_changed_at = now()
			WHERE id = $1 AND disabled_at IS NULL`, id, hash, mustChange)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return domain.Errorf(domain.ENOTFOUND, "Compte introuvable ou désactivé.")
		}
		if tag, err = tx.Exec(ctx, `DELETE FROM sessions WHERE account_id = $1 AND token_hash IS DISTINCT FROM $2`, id, keep); err != nil {
			return err
		}
		ended = tag.RowsAffected()
		if e.Detail == nil {
			e.Detail = map[string]any{}
		}
		e.Detail["sessions_ended"] = ended
		return insertAudit(ctx, tx, e)
	})
	if err != nil && domain.ErrorCode(err) == domain.EINTERNAL {
		return 0, fmt.Errorf("set password: %w", err)
	}
	return ended, err
}

// BindOIDCSubject binds an account, not yet bound, to a provider's subject;
// false when it is bound already (to this subject or another).
func (db *DB) BindOIDCSubject(ctx context.Context, accountID, subject string) (bool, error) {
	tag, err := db.Pool.Exec(ctx, `UPDATE accounts SET oidc_subject = $2 WHERE id = $1 AND oidc_subject IS NULL`, accountID, subject)
	if isUniqueViolation(err, "") {
		return false, nil
	}
	return tag.RowsAffected() == 1, err
}

// CreateSession stores a session (the cookie's hash, never the cookie).
func (db *DB) CreateSession(ctx context.Context, accountID string, tokenHash []byte, csrf string, expires time.Time) error {
	_, err := db.Pool.Exec(ctx, `INSERT INTO sessions (token_hash, account_id, csrf, expires_at) VALUES ($1, $2, $3, $4)`,
		tokenHash, accountID, csrf, expires)
	return err
}

// SessionAccount finds the account of a live session and its CSRF token.
func (db *DB) SessionAccount(ctx context.Context, tokenHash []byte) (Account, string, error) {
	var a Account
	var referent, structure *string
	var csrf string
	err := db.Pool.QueryRow(ctx, `
		SELECT a.id::text, a.email, a.name, a.role, a.referent_id, a.structure, a.must_change_password, s.csrf
		FROM sessions s JOIN accounts a ON a.id = s.account_id
		WHERE s.token_hash = $1 AND s.expires_at > now() AND a.disabled_at IS NULL`, tokenHash,
	).Scan(&a.ID, &a.Email, &a.Name, &a.Role, &referent, &structure, &a.MustChangePassword, &csrf)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, "", domain.Errorf(domain.EUNAUTHORIZED, "Session expirée : reconnectez-vous.")
	}
	a.ReferentID, a.Structure = deref(referent), deref(structure)
	return a, csrf, err
}

// DeleteSession ends a session; expired ones go with it.
func (db *DB) DeleteSession(ctx context.Context, tokenHash []byte) error {
	_, err := db.Pool.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1 OR expires_at < now()`, tokenHash)
	return err
}

// ListAccounts lists the accounts, active first.
func (db *DB) ListAccounts(ctx context.Context) ([]Account, error) {
	rows, err := db.Pool.Query(ctx, `
		SELECT id::text, email, name, role, coalesce(referent_id, ''), coalesce(structure, ''), disabled_at IS NOT NULL, must_change_password
		FROM accounts ORDER BY disabled_at IS NOT NULL, role, name`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Account, error) {
		var a Account
		err := r.Scan(&a.ID, &a.Email, &a.Name, &a.Role, &a.ReferentID, &a.Structure, &a.Disabled, &a.MustChangePassword)
		return a, err
	})
}

// DisableAccount closes an account and its sessions.
func (db *DB) DisableAccount(ctx context.Context, id string) error {
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE accounts SET disabled_at = now() WHERE id = $1 AND disabled_at IS NULL`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return domain.Errorf(domain.ENOTFOUND, "Compte introuvable ou déjà désactivé.")
		}
		_, err = tx.Exec(ctx, `DELETE FROM sessions WHERE account_id = $1`, id)
		return err
	})
}
