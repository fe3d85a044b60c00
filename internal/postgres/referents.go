package postgres

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// Structures and référents (migration 013). A référent's id is text: the
// ids already in use (ref-42) stay, new ones are opaque (NewReferentID),
// since they go into workflow histories and must never carry a name.

// UnspecifiedStructure is where a référent goes when nothing says its
// structure (the upgrade, a token naming an unknown référent).
const UnspecifiedStructure = "Structure à préciser"

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func newID(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + idEncoding.EncodeToString(b)
}

// NewReferentID is a fresh opaque référent id (ref- and 13 letters or digits).
func NewReferentID() string { return newID("ref-") }

// queryer is a pool or a transaction.
type queryer interface {
	execer
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func structureError(err error, s domain.Structure) error {
	if isUniqueViolation(err, "structures_name_key") || isUniqueViolation(err, "structures_name_ci") {
		return &domain.Error{Code: domain.ECONFLICT, Field: "name", Message: fmt.Sprintf("Une structure s'appelle déjà « %s » : choisissez-la plutôt que d'en créer une seconde.", s.Name)}
	}
	return err
}

func referentError(err error, r domain.Referent) error {
	switch {
	case isUniqueViolation(err, "referents_email"):
		return &domain.Error{Code: domain.ECONFLICT, Field: "email", Message: fmt.Sprintf("Un référent a déjà l'adresse %s.", r.Email)}
	case isForeignKeyViolation(err, "referents_structure_id_fkey"):
		return domain.FieldError("structure_id", "Structure inconnue : choisissez-la dans la liste.")
	}
	return err
}

// CreateStructure stores a new structure and returns it with its id.
func (db *DB) CreateStructure(ctx context.Context, s domain.Structure) (domain.Structure, error) {
	s.ID = newID("str-")
	_, err := db.Pool.Exec(ctx, `INSERT INTO structures (id, name, kind, address) VALUES ($1, $2, $3, $4)`, s.ID, s.Name, s.Kind, s.Address)
	if err != nil {
		return s, fmt.Errorf("create structure: %w", structureError(err, s))
	}
	return s, nil
}

// UpdateStructure changes a structure; its accounts follow a rename.
func (db *DB) UpdateStructure(ctx context.Context, s domain.Structure) error {
	tag, err := db.Pool.Exec(ctx, `UPDATE structures SET name = $2, kind = $3, address = $4, updated_at = now() WHERE id = $1`,
		s.ID, s.Name, s.Kind, s.Address)
	if err != nil {
		return fmt.Errorf("update structure: %w", structureError(err, s))
	}
	if tag.RowsAffected() == 0 {
		return domain.Errorf(domain.ENOTFOUND, "Structure introuvable.")
	}
	return nil
}

const structureColumns = `s.id, s.name, s.kind, s.address`

func scanStructure(r pgx.Row) (domain.Structure, error) {
	var s domain.Structure
	err := r.Scan(&s.ID, &s.Name, &s.Kind, &s.Address)
	return s, err
}

// GetStructure reads one structure.
func (db *DB) GetStructure(ctx context.Context, id string) (domain.Structure, error) {
	s, err := scanStructure(db.Pool.QueryRow(ctx, `SELECT `+structureColumns+` FROM structures s WHERE s.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return s, domain.Errorf(domain.ENOTFOUND, "Structure introuvable.")
	}
	return s, err
}

// DirectoryFilter selects a page of structures or référents, by name.
type DirectoryFilter struct {
	Q           string // part of the name (or of the e-mail, for référents)
	StructureID string // référents: of this structure only
	Structure   string // référents: of the structure of this name only (a supervisor's scope)
	ActiveOnly  bool   // référents: active ones only
	Cursor      string // the last id of the previous page
	Limit       int
}

// ListStructures lists structures by name, one page at a time.
func (db *DB) ListStructures(ctx context.Context, f DirectoryFilter) ([]domain.Structure, string, error) {
	rows, err := db.Pool.Query(ctx, `
		SELECT `+structureColumns+` FROM structures s
		WHERE ($1::text IS NULL OR s.name ILIKE '%' || $1 || '%')
		  AND ($2::text IS NULL OR (lower(s.name), s.id) > (SELECT lower(name), id FROM structures WHERE id = $2))
		ORDER BY lower(s.name), s.id LIMIT $3`, nullText(strings.TrimSpace(f.Q)), nullText(f.Cursor), f.Limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list structures: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.Structure, error) { return scanStructure(r) })
	if err != nil {
		return nil, "", err
	}
	return page(list, f.Limit, func(s domain.Structure) string { return s.ID })
}

func page[T any](list []T, limit int, id func(T) string) ([]T, string, error) {
	if len(list) > limit {
		list = list[:limit]
		return list, id(list[len(list)-1]), nil
	}
	return list, "", nil
}

// CreateReferent stores a new référent under a fresh opaque id.
func (db *DB) CreateReferent(ctx context.Context, r domain.Referent) (domain.Referent, error) {
	r.ID, r.Active = NewReferentID(), true
	_, err := db.Pool.Exec(ctx, `INSERT INTO referents (id, name, email, structure_id) VALUES ($1, $2, $3, $4)`,
		r.ID, r.Name, nullText(r.Email), r.StructureID)
	if err != nil {
		return r, fmt.Errorf("create referent: %w", referentError(err, r))
	}
	return db.GetReferent(ctx, r.ID)
}

// UpdateReferent changes a référent: name, e-mail, structure, active.
func (db *DB) UpdateReferent(ctx context.Context, r domain.Referent) error {
	tag, err := db.Pool.Exec(ctx, `
		UPDATE referents SET name = $2, email = $3, structure_id = $4, active = $5, updated_at = now() WHERE id = $1`,
		r.ID, r.Name, nullText(r.Email), r.StructureID, r.Active)
	if err != nil {
		return fmt.Errorf("update referent: %w", referentError(err, r))
	}
	if tag.RowsAffected() == 0 {
		return domain.Errorf(domain.ENOTFOUND, "Référent introuvable.")
	}
	return nil
}

const referentSelect = `
	SELECT r.id, r.name, coalesce(r.email, ''), r.structure_id, s.name, coalesce(a.id::text, ''), r.active
	FROM referents r JOIN structures s ON s.id = r.structure_id
	LEFT JOIN accounts a ON a.referent_id = r.id`

func scanReferent(row pgx.Row) (domain.Referent, error) {
	var r domain.Referent
	err := row.Scan(&r.ID, &r.Name, &r.Email, &r.StructureID, &r.StructureName, &r.AccountID, &r.Active)
	return r, err
}

// GetReferent reads one référent.
func (db *DB) GetReferent(ctx context.Context, id string) (domain.Referent, error) {
	return getReferent(ctx, db.Pool, id)
}

func getReferent(ctx context.Context, q queryer, id string) (domain.Referent, error) {
	r, err := scanReferent(q.QueryRow(ctx, referentSelect+` WHERE r.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, domain.Errorf(domain.ENOTFOUND, "Référent introuvable.")
	}
	return r, err
}

// ListReferents lists référents by name, one page at a time.
func (db *DB) ListReferents(ctx context.Context, f DirectoryFilter) ([]domain.Referent, string, error) {
	rows, err := db.Pool.Query(ctx, referentSelect+`
		WHERE ($1::text IS NULL OR r.name ILIKE '%' || $1 || '%' OR r.email ILIKE '%' || $1 || '%')
		  AND ($2::text IS NULL OR r.structure_id = $2)
		  AND ($3::text IS NULL OR s.name = $3)
		  AND (NOT $4 OR r.active)
		  AND ($5::text IS NULL OR (lower(r.name), r.id) > (SELECT lower(name), id FROM referents WHERE id = $5))
		ORDER BY lower(r.name), r.id LIMIT $6`,
		nullText(strings.TrimSpace(f.Q)), nullText(f.StructureID), nullText(f.Structure), f.ActiveOnly, nullText(f.Cursor), f.Limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list referents: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.Referent, error) { return scanReferent(r) })
	if err != nil {
		return nil, "", err
	}
	return page(list, f.Limit, func(r domain.Referent) string { return r.ID })
}

// ReferentNames resolves référent ids to names in one query, whatever the
// number of rows of the page that names them.
func (db *DB) ReferentNames(ctx context.Context, ids []string) (domain.ReferentNames, error) {
	out := domain.ReferentNames{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := db.Pool.Query(ctx, `SELECT id, name FROM referents WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("referent names: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, err
		}
		out[id] = name
	}
	return out, rows.Err()
}

// ensureDirectory makes sure the structure named and the référent id an
// account or a token names exist, creating them when absent (a référent
// named after name, in structure, else in UnspecifiedStructure). It never
// moves an existing référent.
func ensureDirectory(ctx context.Context, q queryer, structure, referentID, name, email string) error {
	if structure != "" {
		if _, err := q.Exec(ctx, `INSERT INTO structures (id, name, kind) VALUES ($1, $2, 'autre') ON CONFLICT DO NOTHING`,
			newID("str-"), structure); err != nil {
			return fmt.Errorf("ensure structure: %w", err)
		}
	}
	if referentID == "" {
		return nil
	}
	where := structure
	if where == "" {
		where = UnspecifiedStructure
		if _, err := q.Exec(ctx, `INSERT INTO structures (id, name, kind) VALUES ($1, $2, 'autre') ON CONFLICT DO NOTHING`,
			newID("str-"), where); err != nil {
			return fmt.Errorf("ensure structure: %w", err)
		}
	}
	if name == "" {
		name = "Référent " + referentID
	}
	_, err := q.Exec(ctx, `
		INSERT INTO referents (id, name, email, structure_id)
		SELECT $1, $2, CASE WHEN NOT EXISTS (SELECT 1 FROM referents WHERE email = $3) THEN $3 END, id
		FROM structures WHERE lower(btrim(name)) = lower($4)
		ON CONFLICT (id) DO NOTHING`, referentID, name, nullText(strings.ToLower(email)), where)
	if err != nil {
		return fmt.Errorf("ensure referent: %w", err)
	}
	return nil
}

// EnsureReferentID makes sure a référent of that id exists (« Référent ID »,
// in structure, else in UnspecifiedStructure), without moving an existing one.
func (db *DB) EnsureReferentID(ctx context.Context, structure, id string) error {
	return ensureDirectory(ctx, db.Pool, structure, id, "", "")
}

// ResolveReferent finds the structure and the référent a line of a reprise
// file names, by id, e-mail or name, and creates them when absent. It
// refuses, with a French reason, what would make a second record of the
// same name (homonyms) or move an existing référent to another structure.
// Creations are serialized, so that two lines naming the same new référent
// make one.
func (db *DB) ResolveReferent(ctx context.Context, ref domain.ReferentRef) (res domain.ReferentResolution, err error) {
	err = pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7236013)`); err != nil {
			return err
		}
		res, err = resolveReferent(ctx, tx, ref)
		return err
	})
	return res, err
}

func resolveReferent(ctx context.Context, tx pgx.Tx, ref domain.ReferentRef) (res domain.ReferentResolution, err error) {
	sid, sname := strings.TrimSpace(ref.StructureID), strings.Join(strings.Fields(ref.StructureName), " ")
	rid, email, rname := strings.TrimSpace(ref.ReferentID), strings.ToLower(strings.TrimSpace(ref.ReferentEmail)), strings.Join(strings.Fields(ref.ReferentName), " ")
	// The structure, when the line names one.
	var st domain.Structure
	switch {
	case sid != "":
		if st, err = scanStructure(tx.QueryRow(ctx, `SELECT `+structureColumns+` FROM structures s WHERE s.id = $1`, sid)); errors.Is(err, pgx.ErrNoRows) {
			return res, domain.FieldError("structure", "Structure inconnue : aucune structure n'a l'identifiant « %s ».", sid)
		}
	case sname != "":
		st, err = scanStructure(tx.QueryRow(ctx, `SELECT `+structureColumns+` FROM structures s WHERE lower(btrim(s.name)) = lower($1)`, sname))
		if errors.Is(err, pgx.ErrNoRows) {
			st = domain.Structure{Name: sname, Kind: ref.StructureKind}
			if st.Kind == "" {
				st.Kind = domain.StructureOther
			}
			if err = st.Validate(); err != nil {
				return res, domain.FieldError("structure", "Structure « %s » : %s", sname, domain.ErrorMessage(err))
			}
			st.ID = newID("str-")
			_, err = tx.Exec(ctx, `INSERT INTO structures (id, name, kind, address) VALUES ($1, $2, $3, '')`, st.ID, st.Name, st.Kind)
			res.CreatedStructure = true
		}
	}
	if err != nil {
		return res, fmt.Errorf("resolve structure: %w", err)
	}
	res.StructureID, res.StructureName = st.ID, st.Name
	// The référent: an existing one is used as it is, in its structure.
	var found []domain.Referent
	switch {
	case rid != "":
		if found, err = referentsWhere(ctx, tx, `r.id = $1`, rid); err == nil && len(found) == 0 {
			return res, domain.FieldError("referent", "Référent inconnu : aucun référent n'a l'identifiant « %s » ; nommez-le par son adresse électronique et son nom pour le créer.", rid)
		}
	case email != "":
		found, err = referentsWhere(ctx, tx, `r.email = $1`, email)
	case rname != "":
		if st.ID != "" {
			found, err = referentsWhere(ctx, tx, `lower(r.name) = lower($1) AND r.structure_id = $2`, rname, st.ID)
		} else {
			found, err = referentsWhere(ctx, tx, `lower(r.name) = lower($1)`, rname)
		}
	default:
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("resolve referent: %w", err)
	}
	switch {
	case len(found) > 1:
		where := ""
		if st.Name != "" {
			where = " dans la structure « " + st.Name + " »"
		}
		return res, domain.FieldError("referent", "Plusieurs référents s'appellent « %s »%s : indiquez l'adresse électronique du bon référent pour les distinguer.", rname, where)
	case len(found) == 1:
		r := found[0]
		if st.ID != "" && r.StructureID != st.ID {
			return res, domain.FieldError("referent", "Le référent « %s » appartient à la structure « %s », et non à « %s » : un fichier ne change pas la structure d'un référent (faites-le sur la page Référents).",
				r.Name, r.StructureName, st.Name)
		}
		res.ReferentID, res.StructureID, res.StructureName = r.ID, r.StructureID, r.StructureName
		return res, nil
	}
	// A référent to create.
	if st.ID == "" {
		return res, domain.FieldError("structure", "Le référent « %s » n'existe pas encore : la ligne doit nommer sa structure pour le créer.", firstOf(rname, email))
	}
	if rname == "" {
		return res, domain.FieldError("referent", "Le référent d'adresse %s n'existe pas encore : la ligne doit donner son nom pour le créer.", email)
	}
	homonyms, err := referentsWhere(ctx, tx, `lower(r.name) = lower($1) AND r.structure_id = $2`, rname, st.ID)
	if err != nil {
		return res, err
	}
	if len(homonyms) > 0 {
		return res, domain.FieldError("referent", "Un référent « %s » existe déjà dans la structure « %s » avec une autre adresse électronique : vérifiez l'adresse, ou distinguez les homonymes sur la page Référents avant de reprendre la ligne.", rname, st.Name)
	}
	r := domain.Referent{ID: NewReferentID(), Name: rname, Email: email, StructureID: st.ID}
	if err := r.Validate(); err != nil {
		return res, domain.FieldError("referent", "Référent « %s » : %s", rname, domain.ErrorMessage(err))
	}
	if _, err := tx.Exec(ctx, `INSERT INTO referents (id, name, email, structure_id) VALUES ($1, $2, $3, $4)`, r.ID, r.Name, nullText(r.Email), r.StructureID); err != nil {
		return res, fmt.Errorf("create referent: %w", referentError(err, r))
	}
	res.ReferentID, res.CreatedReferent = r.ID, true
	return res, nil
}

func referentsWhere(ctx context.Context, q queryer, cond string, args ...any) ([]domain.Referent, error) {
	rows, err := q.Query(ctx, referentSelect+` WHERE `+cond+` ORDER BY r.id LIMIT 5`, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.Referent, error) { return scanReferent(r) })
}

func firstOf(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
