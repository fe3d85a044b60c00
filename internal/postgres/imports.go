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
		id, nirBody, err := findIdentity(ctx, tx, p)
		if err != nil {
			return err
		}
		var last lastParcours
		if id == uuid.Nil {
			if !intake {
				return nil // nobody to follow: nothing kept
			}
			id, err = insertImported(ctx, tx, p)
			if err != nil {
				return err
			}
			res.Created, res.Changed = true, true
		} else {
			if p.NIR != "" && nirBody != "" && nirBody != domain.NIRBody(p.NIR) {
				return domain.FieldError("nir", "Le NIR du fichier diffère de celui déjà enregistré pour cette personne (même numéro d'allocataire et date de naissance) : vérifiez l'identité.")
			}
			changed, stale, err := updateImported(ctx, tx, id, p)
			if err != nil {
				return err
			}
			res.Changed, res.Stale = changed, stale
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

// findIdentity returns the beneficiary the person is, if any, and their NIR
// body. Two keys naming two different people is an error the report shows.
// One query reads the three keys (each arm is skipped when its key is empty).
func findIdentity(ctx context.Context, tx pgx.Tx, p domain.ImportedPerson) (uuid.UUID, string, error) {
	type hit struct {
		rank       int // 0 NIR, 1 identifiant, 2 numéro d'allocataire
		id         uuid.UUID
		nir, first string
	}
	rows, err := tx.Query(ctx, `
		SELECT 0, id, nir_body, first_name FROM beneficiaries WHERE $1 <> '' AND nir_body = $1
		UNION ALL
		SELECT 1, id, nir_body, first_name FROM beneficiaries WHERE $2 <> '' AND external_id = $2
		UNION ALL
		SELECT 2, id, nir_body, first_name FROM beneficiaries
		WHERE $3 <> '' AND payer_number = $3 AND birth_date = $4 AND ($1 = '' OR nir_body IS NULL OR nir_body = $1)`,
		domain.NIRBody(p.NIR), p.ExternalID, p.PayerNumber, pgDate(p.BirthDate))
	if err != nil {
		return uuid.Nil, "", err
	}
	hits, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (hit, error) {
		var h hit
		var nir, first *string
		err := r.Scan(&h.rank, &h.id, &nir, &first)
		h.nir, h.first = deref(nir), deref(first)
		return h, err
	})
	if err != nil {
		return uuid.Nil, "", err
	}
	slices.SortStableFunc(hits, func(a, b hit) int { return a.rank - b.rank })
	// Someone with another NIR is another person of the household (the
	// query's last condition). Several people share an allocataire number
	// and birth date (twins in one household): the first name tells them
	// apart.
	byPayer := slices.IndexFunc(hits, func(h hit) bool { return h.rank == 2 })
	if byPayer >= 0 && len(hits)-byPayer > 1 {
		twins := slices.DeleteFunc(slices.Clone(hits[byPayer:]), func(h hit) bool { return !strings.EqualFold(h.first, p.FirstName) })
		if len(twins) > 1 {
			return uuid.Nil, "", domain.FieldError("payer_number", "Plusieurs personnes ont ce numéro d'allocataire, cette date de naissance et ce prénom : ajoutez le NIR pour les distinguer.")
		}
		hits = append(hits[:byPayer], twins...)
	}
	if len(hits) == 0 {
		return uuid.Nil, "", nil
	}
	by := [...]string{"NIR", "identifiant", "numéro d'allocataire"}
	for _, h := range hits[1:] {
		if h.id != hits[0].id {
			return uuid.Nil, "", domain.FieldError("identity", "Identité incohérente : le %s et le %s désignent deux bénéficiaires différents.", by[hits[0].rank], by[h.rank])
		}
	}
	return hits[0].id, hits[0].nir, nil
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
		INSERT INTO imports (id, kind, file_name, sha256, size, actor, status, message, total, info)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		id, r.Kind, r.FileName, r.SHA256, r.Size, r.Actor, r.Status, nullText(r.Message), r.Total, info)
	return id, err
}

func cmpMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// ImportProgress writes an import's counts, its new rejects (numbered from
// seq) and, when status is not "running", its end.
func (db *DB) ImportProgress(ctx context.Context, r ImportRun, rejects []ImportReject, seq int) error {
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		info, _ := json.Marshal(cmpMap(r.Info))
		_, err := tx.Exec(ctx, `
			UPDATE imports SET status = $2, message = $3, total = $4, processed = $5, created = $6, updated = $7,
				unchanged = $8, rejected = $9, ignored = $10, info = $11,
				finished_at = CASE WHEN $2 = 'running' THEN NULL ELSE now() END
			WHERE id = $1`,
			r.ID, r.Status, nullText(r.Message), r.Total, r.Processed, r.Created, r.Updated, r.Unchanged, r.Rejected, r.Ignored, info)
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

// AbandonImports marks as interrupted the imports left running by a stopped
// process (called at start). Importing the file again finishes the work.
func (db *DB) AbandonImports(ctx context.Context) (int64, error) {
	tag, err := db.Pool.Exec(ctx, `
		UPDATE imports SET status = 'failed', finished_at = now(),
			message = 'Import interrompu par l''arrêt du service. Relancez-le : ce qui est déjà importé ne sera pas dupliqué.'
		WHERE status = 'running' AND started_at < now() - interval '5 seconds'`)
	return tag.RowsAffected(), err
}
