package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// Token is an API token as the administrators see it (never its secret).
type Token struct {
	ID            int64
	Name          string
	Role          domain.Role
	ReferentID    string
	Structure     string
	AllStructures bool
	CreatedAt     time.Time
	ExpiresAt     *time.Time
	LastUsedAt    *time.Time
	RevokedAt     *time.Time
}

// CreateToken stores an API token's hash and returns the token's row id.
func (db *DB) CreateToken(ctx context.Context, t Token, hash []byte) (int64, error) {
	var id int64
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if err := ensureDirectory(ctx, tx, "", t.ReferentID, "", ""); err != nil {
			return err
		}
		if t.Structure != "" {
			// The record's spelling, as accounts have it: the scope compares names.
			err := tx.QueryRow(ctx, `SELECT name FROM structures WHERE lower(btrim(name)) = lower(btrim($1))`, t.Structure).Scan(&t.Structure)
			if errors.Is(err, pgx.ErrNoRows) {
				return domain.FieldError("structure", "Structure inconnue : « %s » (voir la page Structures).", t.Structure)
			}
			if err != nil {
				return err
			}
		}
		return tx.QueryRow(ctx, `
			INSERT INTO api_tokens (name, role, referent_id, token_hash, structure, all_structures, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			t.Name, t.Role, nullText(t.ReferentID), hash, nullText(t.Structure), t.AllStructures, t.ExpiresAt).Scan(&id)
	})
	if domain.ErrorCode(err) == domain.EINVALID {
		return 0, err
	}
	if err != nil {
		return 0, fmt.Errorf("create token: %w", err)
	}
	return id, nil
}

// TokenActor finds the actor of a token hash; unknown, revoked or expired
// tokens are EUNAUTHORIZED. It notes the token's use (once a minute at
// most: not a write per request).
func (db *DB) TokenActor(ctx context.Context, hash []byte) (domain.Actor, error) {
	var a domain.Actor
	var id int64
	var referent, structure *string
	var expires, used *time.Time
	err := db.Pool.QueryRow(ctx, `
		SELECT id, name, role, referent_id, structure, expires_at, last_used_at FROM api_tokens
		WHERE token_hash = $1 AND revoked_at IS NULL`, hash,
	).Scan(&id, &a.Name, &a.Role, &referent, &structure, &expires, &used)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, domain.Errorf(domain.EUNAUTHORIZED, "Jeton d'accès inconnu ou révoqué.")
	}
	if err != nil {
		return a, fmt.Errorf("find token: %w", err)
	}
	now := time.Now()
	if expires != nil && !now.Before(*expires) {
		return a, domain.Errorf(domain.EUNAUTHORIZED, "Jeton d'accès expiré le %s : demandez-en un nouveau.", domain.DateOf(*expires).French())
	}
	if used == nil || now.Sub(*used) > time.Minute {
		if _, err := db.Pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = now() WHERE id = $1`, id); err != nil {
			return a, fmt.Errorf("note token use: %w", err)
		}
	}
	a.ID, a.ReferentID, a.Structure = fmt.Sprintf("token:%d", id), deref(referent), deref(structure)
	return a, nil
}

// ListTokens lists the tokens, newest first.
func (db *DB) ListTokens(ctx context.Context) ([]Token, error) {
	rows, err := db.Pool.Query(ctx, `
		SELECT id, name, role, coalesce(referent_id, ''), coalesce(structure, ''), all_structures, created_at, expires_at, last_used_at, revoked_at
		FROM api_tokens ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Token, error) {
		var t Token
		err := r.Scan(&t.ID, &t.Name, &t.Role, &t.ReferentID, &t.Structure, &t.AllStructures, &t.CreatedAt, &t.ExpiresAt, &t.LastUsedAt, &t.RevokedAt)
		return t, err
	})
}

// RevokeToken revokes a token; ENOTFOUND when there is none of that id or
// it is revoked already.
func (db *DB) RevokeToken(ctx context.Context, id int64) error {
	tag, err := db.Pool.Exec(ctx, `UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, id)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return domain.Errorf(domain.ENOTFOUND, "Aucun jeton actif n'a le numéro %d.", id)
	}
	return nil
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
	return insertAudit(ctx, db.Pool, e)
}

// execer is a pool or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// insertAudit writes an audit row with q: in the transaction of the write
// it records, when there is one, so that neither is kept without the other.
func insertAudit(ctx context.Context, q execer, e AuditEntry) error {
	var detail []byte
	if e.Detail != nil {
		var err error
		if detail, err = json.Marshal(e.Detail); err != nil {
			return err
		}
	}
	_, err := q.Exec(ctx, `
		INSERT INTO audit_log (actor, role, action, record_type, record_id, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
		e.Actor.ID, e.Actor.Role, e.Action, e.RecordType, nullText(e.RecordID), detail)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// MinAuditRetention is the CNIL's minimum, which the database enforces.
const MinAuditRetention = 183 * 24 * time.Hour

// PurgeAudit deletes audit rows older than the retention (at least 6
// months: the database refuses anything younger).
func (db *DB) PurgeAudit(ctx context.Context, retention time.Duration) (int64, error) {
	retention = max(retention, MinAuditRetention)
	var n int64
	err := db.Pool.QueryRow(ctx, `SELECT purge_audit_log(make_interval(secs => $1))`, retention.Seconds()).Scan(&n)
	return n, err
}

// AuditFilter searches the audit log.
type AuditFilter struct {
	Actor, RecordID, Action string
	From, To                time.Time
	// Before: only lines older than this one (keyset pages, newest first).
	Before int64
	// Oldest first, from the line after After (keyset pages).
	Ascending bool
	After     int64
	Limit     int
}

// AuditRow is one line of the audit log.
type AuditRow struct {
	ID         int64
	At         time.Time
	Actor      string
	ActorName  string
	Role       string
	Action     string
	RecordType string
	RecordID   string
	Detail     string
	// Subject names the record for a reader: the person of a dossier or
	// a sanction case, the holder of an account ("" when none).
	Subject string
}

// SearchAudit reads the audit log, newest first, a page at a time.
func (db *DB) SearchAudit(ctx context.Context, f AuditFilter) ([]AuditRow, error) {
	var from, to, before any
	if !f.From.IsZero() {
		from = f.From
	}
	if !f.To.IsZero() {
		to = f.To
	}
	if f.Before > 0 {
		before = f.Before
	}
	// A parcours id also finds its sanction cases, their letters and the
	// lists it appeared in (detail.ids): one index scan per branch
	// (audit_log_record_id, audit_log_record, audit_log_ids), where one OR
	// of them all made PostgreSQL read the whole log (EXPLAIN ANALYZE by
	// hand on 600,000 synthetic lines: about 1 ms against 340 ms; not a
	// make bench figure).
	record := `($2::text IS NULL OR l.record_id = $2)`
	if uuidPattern.MatchString(f.RecordID) {
		record = `l.id IN (
			SELECT id FROM audit_log WHERE record_id = $2
			UNION ALL SELECT id FROM audit_log WHERE record_type IN ('review', 'letters')
				AND record_id IN (SELECT id FROM reviews WHERE parcours_id = $2::uuid)
			UNION ALL SELECT id FROM audit_log WHERE record_type IN ('letter', 'letter_pdf')
				AND record_id IN (SELECT id::text FROM letters WHERE parcours_id = $2::uuid)
			UNION ALL SELECT id FROM audit_log WHERE detail -> 'ids' ? $2)`
	}
	var after any
	if f.After > 0 {
		after = f.After
	}
	order := "DESC"
	if f.Ascending {
		order = "ASC"
	}
	rows, err := db.Pool.Query(ctx, `
		SELECT l.id, l.at, l.actor, coalesce(t.name, a.name, ''), l.role, l.action, l.record_type, coalesce(l.record_id, ''), coalesce(l.detail::text, '')
		FROM audit_log l
		LEFT JOIN api_tokens t ON l.actor = 'token:' || t.id
		LEFT JOIN accounts a ON l.actor = 'account:' || a.id::text
		WHERE ($1::text IS NULL OR l.actor = $1 OR a.email = $1)
		  AND `+record+`
		  AND ($3::text IS NULL OR l.action = $3)
		  AND ($4::timestamptz IS NULL OR l.at >= $4)
		  AND ($5::timestamptz IS NULL OR l.at < $5)
		  AND ($7::bigint IS NULL OR l.id < $7)
		  AND ($8::bigint IS NULL OR l.id > $8)
		ORDER BY l.id `+order+` LIMIT $6`,
		nullText(f.Actor), nullText(f.RecordID), nullText(f.Action), from, to, f.Limit, before, after)
	if err != nil {
		return nil, fmt.Errorf("search audit: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditRow, error) {
		var x AuditRow
		err := r.Scan(&x.ID, &x.At, &x.Actor, &x.ActorName, &x.Role, &x.Action, &x.RecordType, &x.RecordID, &x.Detail)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("search audit: %w", err)
	}
	return out, db.auditSubjects(ctx, out)
}

// uuidPattern matches a UUID in its text form (the ids of parcours and
// accounts): anything else cannot be one, and is not looked up.
var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// auditSubjects names the records of a page of the audit log: one query
// per kind of record, on its primary key.
func (db *DB) auditSubjects(ctx context.Context, page []AuditRow) error {
	ids := map[string][]string{}
	for _, r := range page {
		switch r.RecordType {
		case "parcours", "account":
			if uuidPattern.MatchString(r.RecordID) {
				ids[r.RecordType] = append(ids[r.RecordType], r.RecordID)
			}
		case "review":
			ids["review"] = append(ids["review"], r.RecordID)
		}
	}
	names := map[string]string{}
	for kind, query := range map[string]string{
		"parcours": `SELECT p.id::text, b.first_name || ' ' || b.last_name FROM parcours p JOIN beneficiaries b ON b.id = p.beneficiary_id WHERE p.id = ANY($1::uuid[])`,
		"account":  `SELECT id::text, name FROM accounts WHERE id = ANY($1::uuid[])`,
		"review":   `SELECT r.id, b.first_name || ' ' || b.last_name FROM reviews r JOIN parcours p ON p.id = r.parcours_id JOIN beneficiaries b ON b.id = p.beneficiary_id WHERE r.id = ANY($1::text[])`,
	} {
		if len(ids[kind]) == 0 {
			continue
		}
		rows, err := db.Pool.Query(ctx, query, ids[kind])
		if err != nil {
			return fmt.Errorf("audit subjects: %w", err)
		}
		var id, name string
		if _, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error {
			names[kind+":"+id] = name
			return nil
		}); err != nil {
			return fmt.Errorf("audit subjects: %w", err)
		}
	}
	for i, r := range page {
		page[i].Subject = names[r.RecordType+":"+r.RecordID]
	}
	return nil
}

// SearchParcours finds parcours by name (in either order, whatever the
// case and accents: « lefevre » finds « Lefèvre »), identifier (main or
// further one) or NIR, latest first. Names are matched on the folded
// beneficiaries.search_name, through its trigram index (migration 014).
func (db *DB) SearchParcours(ctx context.Context, scope Scope, q string, limit int) ([]domain.ParcoursSummary, error) {
	return db.SearchPage(ctx, SearchFilter{Scope: scope, Query: q, Limit: limit})
}

// SearchFilter is a search and the page of its results to read.
type SearchFilter struct {
	Scope
	Query string
	Sort  Sort // Column "": latest first
	Limit int
}

// searchSort are the columns search results sort on.
var searchSort = sortColumns{
	"recent":       "p.id::text",
	"beneficiaire": nameKey,
	"identifiant":  "b.external_id",
	"entree":       dateKey("p.entered_on"),
	"etat":         labelOrder("p.status", append(slices.Clone(domain.Statuses), domain.StatusExited), domain.Status.French),
	"referent":     "coalesce(lower(sr2.name), '')",
}

// searchWhere selects what a search finds ($1 the query, $2 its LIKE
// pattern), within the scope ($3, $4).
const searchWhere = `b.id IN (
			SELECT id FROM beneficiaries WHERE external_id = $1
			UNION SELECT id FROM beneficiaries WHERE nir_body = left(upper(replace($1, ' ', '')), 13)
			UNION SELECT beneficiary_id FROM beneficiary_identifiers WHERE value = $1 AND kind = 'external_id'
			UNION SELECT id FROM beneficiaries WHERE $2 <> '' AND search_name LIKE '%' || parcours_fold($2) || '%')
		  AND `

// CountSearch counts what a search finds, whatever the page.
func (db *DB) CountSearch(ctx context.Context, scope Scope, q string) (int, error) {
	q = strings.TrimSpace(q)
	var n int
	err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM parcours p JOIN beneficiaries b ON b.id = p.beneficiary_id WHERE `+searchWhere+visible(3),
		q, likeEscape(q), nullText(scope.ReferentID), nullText(scope.Structure)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count search: %w", err)
	}
	return n, nil
}

// SearchPage is a page of a search's results, in the order of f.Sort.
func (db *DB) SearchPage(ctx context.Context, f SearchFilter) ([]domain.ParcoursSummary, error) {
	q := strings.TrimSpace(f.Query)
	sort := f.Sort
	if sort.Column == "" {
		sort.Column, sort.Desc = "recent", true
	}
	cond, order, more, err := searchSort.clauses(sort, "p.id::text", 6)
	if err != nil {
		return nil, err
	}
	rows, err := db.Pool.Query(ctx, `
		SELECT p.id::text, b.external_id, p.status, b.last_name, b.first_name, p.entered_on, coalesce(p.referent_id, ''), `+searchSort.sortValue(sort)+`
		FROM parcours p JOIN beneficiaries b ON b.id = p.beneficiary_id
		LEFT JOIN referents sr2 ON sr2.id = p.referent_id
		WHERE `+searchWhere+visible(3)+` AND `+cond+`
		ORDER BY `+order+` LIMIT $5`, append([]any{q, likeEscape(q), nullText(f.Scope.ReferentID), nullText(f.Scope.Structure), f.Limit}, more...)...)
	if err != nil {
		return nil, fmt.Errorf("search parcours: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.ParcoursSummary, error) {
		var s domain.ParcoursSummary
		var entered pgtype.Date
		err := r.Scan(&s.ID, &s.BeneficiaryID, &s.Status, &s.LastName, &s.FirstName, &entered, &s.ReferentID, &s.SortKey)
		s.EnteredAt = fromPG(entered)
		return s, err
	})
}

// likeEscape quotes LIKE's wildcards (% and _) and its escape character.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}
