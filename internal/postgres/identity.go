package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// sameName: two spellings of one name (case, accents, hyphens aside).
func sameName(a, b string) bool { return domain.FoldName(a) == domain.FoldName(b) }

// firstNamesAgree: the same first name, or one lists the other's first
// names and more (« Marie » and « Marie Claire »).
func firstNamesAgree(a, b string) bool {
	a, b = domain.FoldName(a), domain.FoldName(b)
	return a == b || strings.HasPrefix(a, b+" ") || strings.HasPrefix(b, a+" ")
}

// identityConflict says why a line found by one of its keys may name
// someone else, or "" when its names agree with the person found:
//   - found by NIR with another first name ("first_name": CAF files give a
//     household's NIR to another of its members);
//   - found by allocataire number and birth date with another name ("name").
//
// Found by the département's own identifier, the names are the file's.
func identityConflict(found identity, p domain.ImportedPerson) string {
	if found.id == uuid.Nil {
		return ""
	}
	switch found.rank {
	case rankNIR:
		if !firstNamesAgree(found.first, p.FirstName) {
			return "first_name"
		}
	case rankPayer:
		if !firstNamesAgree(found.first, p.FirstName) || !sameName(found.last, p.LastName) {
			return "name"
		}
	}
	return ""
}

// conflictKey names who a line is about, so that the same line coming in
// every day's file waits once.
func conflictKey(p domain.ImportedPerson) string {
	return domain.FoldName(p.LastName) + "|" + domain.FoldName(p.FirstName) + "|" + p.BirthDate.String()
}

func nullUUID(s string) any {
	if id, err := uuid.Parse(s); err == nil {
		return id
	}
	return nil
}

// insertConflict puts a line in « Identités à vérifier » (or refreshes the
// pending one that names the same person the same way).
func insertConflict(ctx context.Context, tx pgx.Tx, a domain.Actor, id uuid.UUID, reason string, p domain.ImportedPerson) error {
	person, err := json.Marshal(p)
	if err != nil {
		return err
	}
	var cid uuid.UUID
	err = tx.QueryRow(ctx, `
		INSERT INTO identity_conflicts (id, import_id, line, beneficiary_id, reason, key, person)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (beneficiary_id, key) WHERE decision IS NULL
		DO UPDATE SET import_id = EXCLUDED.import_id, line = EXCLUDED.line, reason = EXCLUDED.reason, person = EXCLUDED.person
		RETURNING id`,
		uuid.Must(uuid.NewV7()), nullUUID(p.ImportID), p.Line, id, reason, conflictKey(p), person).Scan(&cid)
	if err != nil {
		return fmt.Errorf("insert identity conflict: %w", err)
	}
	return insertAudit(ctx, tx, AuditEntry{Actor: a, Action: "create", RecordType: "identity_conflict", RecordID: cid.String(),
		Detail: map[string]any{"source": "import", "line": p.Line, "beneficiary": id.String(), "reason": reason}})
}

// keepApart remembers that the person id, created from a line sharing the
// NIR body nir with someone else, is another person: later lines with
// that NIR and first name find them (they hold no NIR: the NIR index is
// unique and stays the first holder's).
func keepApart(ctx context.Context, tx pgx.Tx, id uuid.UUID, nir string, p domain.ImportedPerson) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO beneficiary_identifiers (value, kind, beneficiary_id, import_id) VALUES ($1, 'nir_first_name', $2, $3)
		ON CONFLICT (value) DO NOTHING`, nir+":"+domain.FoldName(p.FirstName), id, nullUUID(p.ImportID))
	if err != nil {
		return fmt.Errorf("keep apart: %w", err)
	}
	return nil
}

// addExternalID keeps the line's département identifier beside the one the
// person already has (a person may have several). added says whether it is
// new.
func addExternalID(ctx context.Context, tx pgx.Tx, id uuid.UUID, p domain.ImportedPerson) (bool, error) {
	if p.ExternalID == "" {
		return false, nil
	}
	tag, err := tx.Exec(ctx, `
		INSERT INTO beneficiary_identifiers (value, kind, beneficiary_id, import_id)
		SELECT $1, 'external_id', $2, $3 WHERE NOT EXISTS (SELECT 1 FROM beneficiaries WHERE external_id = $1)
		ON CONFLICT (value) DO NOTHING`, p.ExternalID, id, nullUUID(p.ImportID))
	if err != nil {
		return false, fmt.Errorf("add identifier: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// unlessTaken is ext, or "" when a beneficiary already holds it.
func unlessTaken(ctx context.Context, tx pgx.Tx, ext string) (string, error) {
	var taken bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM beneficiaries WHERE external_id = $1)
		OR EXISTS (SELECT 1 FROM beneficiary_identifiers WHERE value = $1)`, ext).Scan(&taken)
	if err != nil || taken {
		return "", err
	}
	return ext, nil
}

// BeneficiaryIdentifiers lists a beneficiary's identifiers: the main one
// first, then the further ones in the order they came.
func (db *DB) BeneficiaryIdentifiers(ctx context.Context, beneficiaryID string) ([]string, error) {
	rows, err := db.Pool.Query(ctx, `
		SELECT external_id FROM (
			SELECT external_id, 0 AS o, created_at FROM beneficiaries WHERE id = $1
			UNION ALL
			SELECT value, 1, created_at FROM beneficiary_identifiers WHERE beneficiary_id = $1 AND kind = 'external_id'
		) x ORDER BY o, created_at, external_id`, nullUUID(beneficiaryID))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// PersonIdentity is what the review page shows of a person: never the
// full NIR.
type PersonIdentity struct {
	ExternalID  string      `json:"external_id,omitempty"`
	LastName    string      `json:"last_name"`
	FirstName   string      `json:"first_name"`
	BirthDate   domain.Date `json:"birth_date"`
	NIRMasked   string      `json:"nir_masked,omitempty"`
	Payer       string      `json:"payer,omitempty"`
	PayerNumber string      `json:"payer_number,omitempty"`
}

// IdentityConflict is a line waiting in « Identités à vérifier », or
// decided.
type IdentityConflict struct {
	ID            string         `json:"id"`
	ImportID      string         `json:"import_id,omitempty"`
	FileName      string         `json:"file_name,omitempty"`
	Line          int            `json:"line"`
	Reason        string         `json:"reason"`
	CreatedAt     time.Time      `json:"created_at"`
	BeneficiaryID string         `json:"beneficiary_id"`
	Existing      PersonIdentity `json:"existing"`
	Incoming      PersonIdentity `json:"incoming"`
	Decision      string         `json:"decision,omitempty"`
	DecidedBy     string         `json:"decided_by,omitempty"`
	DecidedAt     *time.Time     `json:"decided_at,omitempty"`
	ResultID      string         `json:"result_id,omitempty"` // the beneficiary the line was applied to
	// Person is the line as read, for applying it (full NIR: never shown).
	Person domain.ImportedPerson `json:"-"`
}

const conflictColumns = `c.id, c.import_id, coalesce(i.file_name, ''), c.line, c.reason, c.created_at, c.beneficiary_id,
	b.external_id, b.last_name, b.first_name, b.birth_date, coalesce(b.nir, ''), coalesce(b.payer, ''), coalesce(b.payer_number, ''),
	c.person, coalesce(c.decision, ''), coalesce(c.decided_by, ''), c.decided_at, c.result_id`

const conflictFrom = ` FROM identity_conflicts c JOIN beneficiaries b ON b.id = c.beneficiary_id LEFT JOIN imports i ON i.id = c.import_id `

func scanConflict(row pgx.Row) (IdentityConflict, error) {
	var c IdentityConflict
	var id, bid uuid.UUID
	var importID, result *uuid.UUID
	var birth pgtype.Date
	var nir string
	err := row.Scan(&id, &importID, &c.FileName, &c.Line, &c.Reason, &c.CreatedAt, &bid,
		&c.Existing.ExternalID, &c.Existing.LastName, &c.Existing.FirstName, &birth, &nir, &c.Existing.Payer, &c.Existing.PayerNumber,
		&c.Person, &c.Decision, &c.DecidedBy, &c.DecidedAt, &result)
	if err != nil {
		return c, err
	}
	c.ID, c.BeneficiaryID = id.String(), bid.String()
	if importID != nil {
		c.ImportID = importID.String()
	}
	if result != nil {
		c.ResultID = result.String()
	}
	c.Existing.BirthDate, c.Existing.NIRMasked = fromPG(birth), domain.MaskNIR(nir)
	p := c.Person
	c.Incoming = PersonIdentity{ExternalID: p.ExternalID, LastName: p.LastName, FirstName: p.FirstName, BirthDate: p.BirthDate,
		NIRMasked: domain.MaskNIR(p.NIR), Payer: p.Payer, PayerNumber: p.PayerNumber}
	return c, nil
}

// IdentityConflicts lists the lines waiting for a decision, oldest first,
// one page at a time (cursor: the last id of the previous page).
func (db *DB) IdentityConflicts(ctx context.Context, cursor string, limit int) (items []IdentityConflict, next string, err error) {
	var after any
	if cursor != "" {
		c, err := uuid.Parse(cursor)
		if err != nil {
			return nil, "", domain.FieldError("cursor", "Curseur de pagination invalide.")
		}
		after = c
	}
	rows, err := db.Pool.Query(ctx, `SELECT `+conflictColumns+conflictFrom+`
		WHERE c.decision IS NULL AND ($1::uuid IS NULL OR c.id > $1) ORDER BY c.id LIMIT $2`, after, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list identity conflicts: %w", err)
	}
	items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (IdentityConflict, error) { return scanConflict(r) })
	if err != nil {
		return nil, "", err
	}
	if len(items) > limit {
		items = items[:limit]
		next = items[len(items)-1].ID
	}
	return items, next, nil
}

// CountIdentityConflicts counts the lines waiting for a decision.
func (db *DB) CountIdentityConflicts(ctx context.Context) (int, error) {
	var n int
	err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM identity_conflicts WHERE decision IS NULL`).Scan(&n)
	return n, err
}

// GetIdentityConflict reads one line of the list, pending or decided.
func (db *DB) GetIdentityConflict(ctx context.Context, id string) (IdentityConflict, error) {
	cid, err := uuid.Parse(id)
	if err != nil {
		return IdentityConflict{}, domain.Errorf(domain.ENOTFOUND, "Identité à vérifier introuvable.")
	}
	c, err := scanConflict(db.Pool.QueryRow(ctx, `SELECT `+conflictColumns+conflictFrom+` WHERE c.id = $1`, cid))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, domain.Errorf(domain.ENOTFOUND, "Identité à vérifier introuvable.")
	}
	return c, err
}

// DecideIdentityConflict records the département's decision on a pending
// line and the person it was applied to, with an audit row naming its
// author. A line already decided is refused.
func (db *DB) DecideIdentityConflict(ctx context.Context, a domain.Actor, id, decision, resultID string) error {
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			UPDATE identity_conflicts SET decision = $2, decided_by = $3, decided_at = now(), result_id = $4
			WHERE id = $1 AND decision IS NULL`, nullUUID(id), decision, a.ID, nullUUID(resultID))
		if err != nil {
			return fmt.Errorf("decide identity conflict: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return domain.Errorf(domain.ECONFLICT, "Cette identité a déjà été traitée.")
		}
		return insertAudit(ctx, tx, AuditEntry{Actor: a, Action: "resolve", RecordType: "identity_conflict", RecordID: id,
			Detail: map[string]any{"decision": decision, "beneficiary": resultID}})
	})
}
