package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// CreateToken stores an API token's hash and returns the token's row id.
func (db *DB) CreateToken(ctx context.Context, name string, role domain.Role, referentID string, hash []byte) (int64, error) {
	var id int64
	err := db.Pool.QueryRow(ctx, `
		INSERT INTO api_tokens (name, role, referent_id, token_hash) VALUES ($1, $2, $3, $4) RETURNING id`,
		name, role, nullText(referentID), hash).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create token: %w", err)
	}
	return id, nil
}

// TokenActor finds the actor of a token hash; unknown or revoked tokens are
// EUNAUTHORIZED.
func (db *DB) TokenActor(ctx context.Context, hash []byte) (domain.Actor, error) {
	var a domain.Actor
	var id int64
	var referent *string
	err := db.Pool.QueryRow(ctx, `
		SELECT id, name, role, referent_id FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL`, hash,
	).Scan(&id, &a.Name, &a.Role, &referent)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, domain.Errorf(domain.EUNAUTHORIZED, "Jeton d'accès inconnu ou révoqué.")
	}
	if err != nil {
		return a, fmt.Errorf("find token: %w", err)
	}
	a.ID, a.ReferentID = fmt.Sprintf("token:%d", id), deref(referent)
	return a, nil
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	Actor      domain.Actor
	Action     string // read, list, create, update
	RecordType string // parcours, tasks, token
	RecordID   string
	Detail     map[string]any // identifiers and counts only, never names or NIR
}

// Audit appends to the audit log. The table refuses updates and deletes.
func (db *DB) Audit(ctx context.Context, e AuditEntry) error {
	var detail []byte
	if e.Detail != nil {
		var err error
		if detail, err = json.Marshal(e.Detail); err != nil {
			return err
		}
	}
	_, err := db.Pool.Exec(ctx, `
		INSERT INTO audit_log (actor, role, action, record_type, record_id, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
		e.Actor.ID, e.Actor.Role, e.Action, e.RecordType, nullText(e.RecordID), detail)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}
