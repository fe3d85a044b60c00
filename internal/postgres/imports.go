package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// ImportResult says what importing one person did to the read model.
type ImportResult struct {
	BeneficiaryID string
	Created       bool // a new beneficiary
	Changed       bool // identity, contact or payer situation changed
	Stale         bool // the file is older than the last one applied: its situation was not applied
	Parcours      IntakeResult
	Intake        bool // an intake was made (Parcours is set)
	// Review: the line names an existing person with another name; it
	// waits in « Identités à vérifier », nothing was applied.
	Review bool
	// The open parcours, if any, before this import.
	OpenID        string
	OpenEnteredOn domain.Date
}

// ErrRetry is returned when a concurrent write took the same identity; the
// same person imported again then finds it.
var ErrRetry = errors.New("concurrent write of the same identity")

// ImportPerson finds the person by NIR (its 13-character body), by the
// département's identifier, then by allocataire number and birth date,
// creates or updates them, records the household's situation when the file
// is not older than the last one applied, and, when intake is set, finds or
// opens their parcours; the audit rows of actor a are written in the same
// transaction. Advisory locks on every identity key make concurrent imports
// of the same person meet: a person never exists twice.
func (db *DB) ImportPerson(ctx context.Context, a domain.Actor, p domain.ImportedPerson, policy string, intake bool) (ImportResult, error) {
	var res ImportResult
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		res = ImportResult{}
		// One statement; unnest reads the array in order and identityKeys
		// sorts it, so two transactions always lock in the same order.
		if _, err := tx.Exec(ctx, `SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM unnest($1::text[]) AS k`, identityKeys(p)); err != nil {
			return fmt.Errorf("lock identity: %w", err)
		}
		found, err := findIdentity(ctx, tx, p)
		if err != nil {
			return err
		}
		id, nirBody := found.id, found.nir
		if reason := identityConflict(found, p); reason != "" {
			// Another name for someone already known: the département
			// decides (« Identités à vérifier »), nothing is applied.
			if p.Identity == "" {
				res.Review, res.BeneficiaryID = true, id.String()
				return insertConflict(ctx, tx, a, id, reason, p)
			}
			if p.Identity == domain.IdentityDifferent {
				id = uuid.Nil // another person: created below, apart
			}
		}
		if found.rank == rankKeptApart || id == uuid.Nil && found.id != uuid.Nil && found.rank == rankNIR {
			// Kept apart from the person holding this NIR: the unique NIR
			// index keeps it there; this person's NIR stays on the line.
			p.NIR = ""
		}
		var last lastParcours
		if id == uuid.Nil {
			if !intake {
				return nil // nobody to follow: nothing kept
			}
			if found.id != uuid.Nil && p.ExternalID != "" {
				// Kept apart: an identifier the other person holds stays theirs.
				if p.ExternalID, err = unlessTaken(ctx, tx, p.ExternalID); err != nil {
					return err
				}
			}
			id, err = insertImported(ctx, tx, p)
			if err != nil {
				return err
			}
			res.Created, res.Changed = true, true
			if found.id != uuid.Nil && found.rank == rankNIR {
				if err := keepApart(ctx, tx, id, found.nir, p); err != nil {
					return err
				}
			}
		} else {
			if p.NIR != "" && nirBody != "" && nirBody != domain.NIRBody(p.NIR) {
				return domain.FieldError("nir", "Le NIR du fichier diffère de celui déjà enregistré pour cette personne (même numéro d'allocataire et date de naissance) : vérifiez l'identité.")
			}
			changed, stale, err := updateImported(ctx, tx, id, p)
			if err != nil {
				return err
			}
			res.Changed, res.Stale = changed, stale
			if found.rank != rankExternal {
				added, err := addExternalID(ctx, tx, id, p)
				if err != nil {
					return err
				}
				res.Changed = res.Changed || added
			}
			if last, err = findLastParcours(ctx, tx, id); err != nil {
				return err
			}
			if last.found && !last.closed {
				res.OpenID, res.OpenEnteredOn = last.id.String(), last.entered
			}
		}
		res.BeneficiaryID = id.String()
		if res.Changed {
			action := "update"
			if res.Created {
				action = "create"
			}
			if err := insertAudit(ctx, tx, AuditEntry{Actor: a, Action: action, RecordType: "beneficiary", RecordID: res.BeneficiaryID,
				Detail: map[string]any{"source": "import", "line": p.Line}}); err != nil {
				return err
			}
		}
		if !intake || res.Stale {
			return nil
		}
		in := p.Intake()
		switch {
		case res.OpenID != "":
			in.EnteredAt = res.OpenEnteredOn // the open parcours stands
		case last.found && last.exited.Valid && !in.EnteredAt.After(fromPG(last.exited)):
			// Coming back after an exit: the entry is the file's date when
			// the one computed from the household precedes the exit; a file
			// no newer than the exit opens nothing.
			if !in.ReceivedOn.After(fromPG(last.exited)) {
				return nil
			}
			in.EnteredAt = in.ReceivedOn
		}
		if res.Parcours, err = openParcours(ctx, tx, id, in, policy, last); err != nil {
			return err
		}
		if err := keepReprise(ctx, tx, &res.Parcours, p.Reprise); err != nil {
			return err
		}
		res.Intake = true
		if !res.Parcours.Created {
			return nil
		}
		return insertAudit(ctx, tx, AuditEntry{Actor: a, Action: "create", RecordType: "parcours", RecordID: res.Parcours.ParcoursID,
			Detail: map[string]any{"source": "import", "line": p.Line}})
	})
	if isUniqueViolation(err, "") {
		return res, ErrRetry
	}
	return res, err
}

// identityKeys are the advisory lock keys of a person, sorted so that two
// transactions always lock in the same order.
func identityKeys(p domain.ImportedPerson) []string {
	keys := p.IdentityKeys()
	slices.Sort(keys)
	return keys
}

// Ranks of the keys a person is found by, strongest first.
const (
	rankKeptApart = iota - 1 // NIR and first name the département kept apart from the NIR's holder
	rankNIR
	rankExternal // the département's identifier, or one of its further identifiers
	rankPayer    // allocataire number and birth date
)

// identity is the beneficiary a line names, and how it was found.
type identity struct {
	rank        int
	id          uuid.UUID
	nir         string // NIR body
	first, last string
}

// findIdentity returns the beneficiary the person is, if any (zero id if
// none). Two keys naming two different people is an error the report shows.
// One query reads every key (each arm is skipped when its key is empty).
func findIdentity(ctx context.Context, tx pgx.Tx, p domain.ImportedPerson) (identity, error) {
	apart := ""
	if p.NIR != "" {
		apart = domain.NIRBody(p.NIR) + ":" + domain.FoldName(p.FirstName)
	}
	rows, err := tx.Query(ctx, `
		SELECT 0, id, nir_body, first_name, last_name FROM beneficiaries WHERE $1 <> '' AND nir_body = $1
		UNION ALL
		SELECT 1, id, nir_body, first_name, last_name FROM beneficiaries WHERE $2 <> '' AND external_id = $2
		UNION ALL
		SELECT 1, b.id, b.nir_body, b.first_name, b.last_name FROM beneficiary_identifiers i JOIN beneficiaries b ON b.id = i.beneficiary_id
		WHERE $2 <> '' AND i.value = $2 AND i.kind = 'external_id'
		UNION ALL
		SELECT -1, b.id, b.nir_body, b.first_name, b.last_name FROM beneficiary_identifiers i JOIN beneficiaries b ON b.id = i.beneficiary_id
		WHERE $5 <> '' AND i.value = $5 AND i.kind = 'nir_first_name'
		UNION ALL
		SELECT 2, id, nir_body, first_name, last_name FROM beneficiaries
		WHERE $3 <> '' AND payer_number = $3 AND birth_date = $4 AND ($1 = '' OR nir_body IS NULL OR nir_body = $1)`,
		domain.NIRBody(p.NIR), p.ExternalID, p.PayerNumber, pgDate(p.BirthDate), apart)
	if err != nil {
		return identity{}, err
	}
	hits, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (identity, error) {
		var h identity
		var nir, first, last *string
		err := r.Scan(&h.rank, &h.id, &nir, &first, &last)
		h.nir, h.first, h.last = deref(nir), deref(first), deref(last)
		return h, err
	})
	if err != nil {
		return identity{}, err
	}
	slices.SortStableFunc(hits, func(a, b identity) int { return a.rank - b.rank })
	if len(hits) > 0 && hits[0].rank == rankKeptApart {
		// The NIR's holder is the other person of that decision.
		kept := hits[0].id
		hits = slices.DeleteFunc(hits, func(h identity) bool { return h.rank == rankNIR && h.id != kept })
	}
	// Someone with another NIR is another person of the household (the
	// query's last condition). Several people share an allocataire number
	// and birth date (twins in one household): the first name tells them
	// apart.
	byPayer := slices.IndexFunc(hits, func(h identity) bool { return h.rank == rankPayer })
	if byPayer >= 0 && len(hits)-byPayer > 1 {
		twins := slices.DeleteFunc(slices.Clone(hits[byPayer:]), func(h identity) bool { return !sameName(h.first, p.FirstName) })
		if len(twins) > 1 {
			return identity{}, domain.FieldError("payer_number", "Plusieurs personnes ont ce numéro d'allocataire, cette date de naissance et ce prénom : ajoutez le NIR pour les distinguer.")
		}
		hits = append(hits[:byPayer], twins...)
	}
	if len(hits) == 0 {
		return identity{}, nil
	}
	for _, h := range hits[1:] {
		if h.id != hits[0].id {
			return identity{}, domain.FieldError("identity", "Identité incohérente : le %s et le %s désignent deux bénéficiaires différents.", rankFrench(hits[0].rank), rankFrench(h.rank))
		}
	}
	return hits[0], nil
}

func rankFrench(rank int) string {
	switch rank {
	case rankKeptApart, rankNIR:
		return "NIR"
	case rankExternal:
		return "identifiant"
	}
	return "numéro d'allocataire"
}

func insertImported(ctx context.Context, tx pgx.Tx, p domain.ImportedPerson) (uuid.UUID, error) {
	id := uuid.Must(uuid.NewV7())
	ext := p.ExternalID
	if ext == "" && p.PayerNumber != "" && !p.BirthDate.IsZero() {
		ext = fmt.Sprintf("%s-%s-%s", cmpOr(p.Payer, "CAF"), p.PayerNumber, strings.ReplaceAll(p.BirthDate.String(), "-", ""))
	}
	for attempt := 0; ; attempt++ {
		if ext == "" || attempt > 0 {
			ext = "imp-" + uuid.NewString()
		}
		tag, err := tx.Exec(ctx, `
			INSERT INTO beneficiaries (id, external_id, nir, last_name, first_name, birth_date,
				payer, payer_number, payer_role, phone, email,
				payer_state, payer_code, payer_reason, payer_since, payer_seen_on)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
			ON CONFLICT (external_id) DO NOTHING`,
			id, ext, nullText(p.NIR), p.LastName, p.FirstName, pgDate(p.BirthDate),
			nullText(p.Payer), nullText(p.PayerNumber), nullText(p.Role), nullText(p.Phone), nullText(p.Email),
			nullText(p.Situation.State), nullText(p.Situation.Code), nullText(p.Situation.Reason), pgDate(p.Situation.Since), situationDate(p))
		if err != nil {
			return uuid.Nil, fmt.Errorf("insert beneficiary: %w", err)
		}
		if tag.RowsAffected() == 1 {
			return id, nil
		}
		if p.ExternalID != "" {
			return uuid.Nil, ErrRetry // taken meanwhile by someone not holding our locks
		}
	}
}

func situationDate(p domain.ImportedPerson) any {
	if p.Situation.State == "" {
		return nil
	}
	return pgDate(p.ReceivedOn)
}

// updateImported applies the file's values; the payer situation only when
// the file is not older than the one that last set it. changed says whether
// anything differs.
func updateImported(ctx context.Context, tx pgx.Tx, id uuid.UUID, p domain.ImportedPerson) (changed, stale bool, err error) {
	var seen pgtype.Date
	if err := tx.QueryRow(ctx, `SELECT payer_seen_on FROM beneficiaries WHERE id = $1`, id).Scan(&seen); err != nil {
		return false, false, fmt.Errorf("read beneficiary: %w", err)
	}
	sit := p.Situation
	if sit.State != "" && seen.Valid && p.ReceivedOn.Before(fromPG(seen)) {
		stale, sit = true, domain.PayerSituation{}
	}
	q := `
		UPDATE beneficiaries SET
			nir           = CASE WHEN $2::text IS NOT NULL AND (nir IS NULL OR length($2) > length(nir)) THEN $2 ELSE nir END,
			last_name     = $3,
			first_name    = $4,
			birth_date    = coalesce($5, birth_date),
			payer         = coalesce($6, payer),
			payer_number  = coalesce($7, payer_number),
			payer_role    = coalesce($8, payer_role),
			phone         = coalesce($9, phone),
			email         = coalesce($10, email),
			external_id   = CASE WHEN $11::text IS NOT NULL AND (external_id LIKE 'imp-%' OR external_id ~ '^(CAF|MSA)-') THEN $11 ELSE external_id END,
			payer_state   = CASE WHEN $12::text IS NULL THEN payer_state ELSE $12 END,
			payer_code    = CASE WHEN $12::text IS NULL THEN payer_code ELSE $13 END,
			payer_reason  = CASE WHEN $12::text IS NULL THEN payer_reason ELSE $14 END,
			payer_since   = CASE WHEN $12::text IS NULL THEN payer_since ELSE $15 END,
			payer_seen_on = CASE WHEN $12::text IS NULL THEN payer_seen_on ELSE greatest(payer_seen_on, $16) END,
			updated_at    = now()
		WHERE id = $1 AND (nir, last_name, first_name, birth_date, payer, payer_number, payer_role, phone, email, external_id,
		                   payer_state, payer_code, payer_reason, payer_since)
		    IS DISTINCT FROM (
			CASE WHEN $2::text IS NOT NULL AND (nir IS NULL OR length($2) > length(nir)) THEN $2 ELSE nir END,
			$3, $4, coalesce($5::date, birth_date), coalesce($6, payer), coalesce($7, payer_number), coalesce($8, payer_role),
			coalesce($9, phone), coalesce($10, email),
			CASE WHEN $11::text IS NOT NULL AND (external_id LIKE 'imp-%' OR external_id ~ '^(CAF|MSA)-') THEN $11 ELSE external_id END,
			CASE WHEN $12::text IS NULL THEN payer_state ELSE $12 END,
			CASE WHEN $12::text IS NULL THEN payer_code ELSE $13 END,
			CASE WHEN $12::text IS NULL THEN payer_reason ELSE $14 END,
			CASE WHEN $12::text IS NULL THEN payer_since ELSE $15::date END)`
	tag, err := tx.Exec(ctx, q, id, nullText(p.NIR), p.LastName, p.FirstName, pgDate(p.BirthDate),
		nullText(p.Payer), nullText(p.PayerNumber), nullText(p.Role), nullText(p.Phone), nullText(p.Email), nullText(p.ExternalID),
		nullText(sit.State), nullText(sit.Code), nullText(sit.Reason), pgDate(sit.Since), pgDate(p.ReceivedOn))
	if err != nil {
		return false, false, fmt.Errorf("update beneficiary: %w", err)
	}
	if tag.RowsAffected() == 0 && sit.State != "" {
		// Same values: the file date still moves forward.
		if _, err := tx.Exec(ctx, `UPDATE beneficiaries SET payer_seen_on = greatest(payer_seen_on, $2) WHERE id = $1`, id, pgDate(p.ReceivedOn)); err != nil {
			return false, false, fmt.Errorf("update beneficiary: %w", err)
		}
	}
	return tag.RowsAffected() == 1, stale, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// PayerSituationOf reads what the paying body last said of a parcours'
// beneficiary (zero when nothing was imported).
func (db *DB) PayerSituationOf(ctx context.Context, parcoursID string) (domain.PayerSituation, error) {
	var s domain.PayerSituation
	var state, code, reason *string
	var since pgtype.Date
	err := db.Pool.QueryRow(ctx, `
		SELECT b.payer_state, b.payer_code, b.payer_reason, b.payer_since
		FROM parcours p JOIN beneficiaries b ON b.id = p.beneficiary_id WHERE p.id = $1`, parcoursID,
	).Scan(&state, &code, &reason, &since)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, domain.Errorf(domain.ENOTFOUND, "Parcours introuvable.")
	}
	if err != nil {
		return s, err
	}
	s.State, s.Code, s.Reason, s.Since = deref(state), deref(code), deref(reason), fromPG(since)
	return s, nil
}

// ---- import runs --------------------------------------------------------

// ImportRun is one import: its progress while it runs, its report after.
type ImportRun struct {
	ID         string         `json:"id"`
	Kind       string         `json:"kind"`
	FileName   string         `json:"file_name"`
	SHA256     string         `json:"sha256"`
	Size       int64          `json:"size"`
	Actor      string         `json:"actor"`
	Status     string         `json:"status"`
	Message    string         `json:"message,omitempty"`
	Total      int            `json:"total"`
	Processed  int            `json:"processed"`
	Created    int            `json:"created"`
	Updated    int            `json:"updated"`
	Unchanged  int            `json:"unchanged"`
	Rejected   int            `json:"rejected"`
	Ignored    int            `json:"ignored"`
	Info       map[string]any `json:"info,omitempty"`
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt *time.Time     `json:"finished_at,omitempty"`
	// Owner names the process running the import (host and pid); Lease is
	// how long the import stays « en cours » without its progress being
	// written again (DefaultImportLease when zero): past it, any serve's
	// sweeper marks it interrupted (SweepImports).
	Owner string        `json:"-"`
	Lease time.Duration `json:"-"`
}

// DefaultImportLease: a running import writes its progress twice a second,
// which renews its lease; 30 s without a write means its process died.
const DefaultImportLease = 30 * time.Second

func (r ImportRun) lease() time.Duration {
	if r.Lease > 0 {
		return r.Lease
	}
	return DefaultImportLease
}

// ImportReject is one line of an import's report: a rejected row or
// household, or a warning or information about a line that was applied.
type ImportReject struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
	Kind   string `json:"kind"` // ReportReject, ReportWarning, ReportInfo
}

// Kinds of report lines.
const (
	ReportReject  = "reject"  // nothing was applied from the line
	ReportWarning = "warning" // a value was dropped or a default used; the line was applied
	ReportInfo    = "info"    // what the line changed, or did not apply
)

// CreateImport records an import that starts.
func (db *DB) CreateImport(ctx context.Context, r ImportRun) (string, error) {
	id := uuid.Must(uuid.NewV7()).String()
	info, _ := json.Marshal(cmpMap(r.Info))
	_, err := db.Pool.Exec(ctx, `
		INSERT INTO imports (id, kind, file_name, sha256, size, actor, status, message, total, info, owner, lease_until)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, CASE WHEN $7 = 'running' THEN now() + $12::interval END)`,
		id, r.Kind, r.FileName, r.SHA256, r.Size, r.Actor, r.Status, nullText(r.Message), r.Total, info, nullText(r.Owner), r.lease())
	return id, err
}

func cmpMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// ImportProgress writes an import's counts, its new rejects (numbered from
// seq) and, when status is not "running", its end; while it runs, each
// write renews its lease. An import the sweeper already marked interrupted
// stays so.
func (db *DB) ImportProgress(ctx context.Context, r ImportRun, rejects []ImportReject, seq int) error {
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		info, _ := json.Marshal(cmpMap(r.Info))
		_, err := tx.Exec(ctx, `
			UPDATE imports SET status = $2, message = $3, total = $4, processed = $5, created = $6, updated = $7,
				unchanged = $8, rejected = $9, ignored = $10, info = $11,
				finished_at = CASE WHEN $2 = 'running' THEN NULL ELSE now() END,
				lease_until = CASE WHEN $2 = 'running' THEN now() + $12::interval END
			WHERE id = $1 AND (status = 'running' OR $2 <> 'running')`,
			r.ID, r.Status, nullText(r.Message), r.Total, r.Processed, r.Created, r.Updated, r.Unchanged, r.Rejected, r.Ignored, info, r.lease())
		if err != nil {
			return err
		}
		if len(rejects) == 0 {
			return nil
		}
		rows := make([][]any, len(rejects))
		for i, rj := range rejects {
			rows[i] = []any{r.ID, seq + i, rj.Line, rj.Reason, cmpOr(rj.Kind, ReportReject)}
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"import_rejects"}, []string{"import_id", "seq", "line", "reason", "kind"}, pgx.CopyFromRows(rows))
		return err
	})
}

const importColumns = `id, kind, file_name, sha256, size, actor, status, coalesce(message, ''), total, processed,
	created, updated, unchanged, rejected, ignored, info, started_at, finished_at`

func scanImport(row pgx.Row) (ImportRun, error) {
	var r ImportRun
	var id uuid.UUID
	err := row.Scan(&id, &r.Kind, &r.FileName, &r.SHA256, &r.Size, &r.Actor, &r.Status, &r.Message, &r.Total, &r.Processed,
		&r.Created, &r.Updated, &r.Unchanged, &r.Rejected, &r.Ignored, &r.Info, &r.StartedAt, &r.FinishedAt)
	r.ID = id.String()
	return r, err
}

// GetImport reads one import.
func (db *DB) GetImport(ctx context.Context, id string) (ImportRun, error) {
	if _, err := uuid.Parse(id); err != nil {
		return ImportRun{}, domain.Errorf(domain.ENOTFOUND, "Import introuvable.")
	}
	r, err := scanImport(db.Pool.QueryRow(ctx, `SELECT `+importColumns+` FROM imports WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, domain.Errorf(domain.ENOTFOUND, "Import introuvable.")
	}
	return r, err
}

// ListImports lists the latest imports.
func (db *DB) ListImports(ctx context.Context, limit int) ([]ImportRun, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+importColumns+` FROM imports ORDER BY started_at DESC LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ImportRun, error) { return scanImport(r) })
}

// ImportRejects lists an import's report lines (rejects, warnings,
// information) in file order.
func (db *DB) ImportRejects(ctx context.Context, id string) ([]ImportReject, error) {
	rows, err := db.Pool.Query(ctx, `SELECT line, reason, kind FROM import_rejects WHERE import_id = $1 ORDER BY line, seq`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[ImportReject])
}

// ImportMapping reads the département's CSV column mapping (nil if none).
func (db *DB) ImportMapping(ctx context.Context) (map[string][]string, error) {
	var m map[string][]string
	err := db.Pool.QueryRow(ctx, `SELECT mapping FROM import_mapping WHERE id = 1`).Scan(&m)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return m, err
}

// SetImportMapping stores the CSV column mapping.
func (db *DB) SetImportMapping(ctx context.Context, m map[string][]string, by string) error {
	_, err := db.Pool.Exec(ctx, `
		INSERT INTO import_mapping (id, mapping, updated_by) VALUES (1, $1, $2)
		ON CONFLICT (id) DO UPDATE SET mapping = EXCLUDED.mapping, updated_by = EXCLUDED.updated_by, updated_at = now()`, m, by)
	return err
}

// SweepImports marks as interrupted the running imports whose lease has
// expired: their process died (an import of a live process, of this serve
// or another one, renews its lease twice a second). A run without a lease
// (written before migration 014) gets one minute from its start. Importing
// the file again finishes the work.
func (db *DB) SweepImports(ctx context.Context) (int64, error) {
	tag, err := db.Pool.Exec(ctx, `
		UPDATE imports SET status = 'failed', finished_at = now(), lease_until = NULL,
			message = 'Import interrompu : le processus qui l''exécutait s''est arrêté. Relancez-le : ce qui est déjà importé ne sera pas dupliqué.'
		WHERE status = 'running' AND coalesce(lease_until, started_at + interval '1 minute') < now()`)
	return tag.RowsAffected(), err
}

// AbandonImports is SweepImports, called when serve starts: it never marks
// the running imports of another live instance.
func (db *DB) AbandonImports(ctx context.Context) (int64, error) { return db.SweepImports(ctx) }
