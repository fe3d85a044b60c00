package domain

import (
	"net/mail"
	"strings"
)

// StructureKind is what kind of body a structure is.
type StructureKind string

// Structure kinds; « autre » is what the upgrade gives an organism whose
// kind its name does not tell.
const (
	StructureCCAS          StructureKind = "ccas"
	StructureMissionLocale StructureKind = "mission_locale"
	StructureFranceTravail StructureKind = "france_travail"
	StructureAssociation   StructureKind = "association"
	StructureDepartement   StructureKind = "departement"
	StructureOther         StructureKind = "autre"
)

// StructureKinds lists the kinds, in the order forms offer them.
var StructureKinds = []StructureKind{StructureCCAS, StructureMissionLocale, StructureFranceTravail, StructureAssociation, StructureDepartement, StructureOther}

// French is the kind's label.
func (k StructureKind) French() string {
	switch k {
	case StructureCCAS:
		return "CCAS"
	case StructureMissionLocale:
		return "mission locale"
	case StructureFranceTravail:
		return "agence France Travail"
	case StructureAssociation:
		return "association"
	case StructureDepartement:
		return "service du Département"
	case StructureOther:
		return "autre (à préciser)"
	}
	return "non précisé"
}

// ParseStructureKind reads a kind as a file may give it: the code
// (mission_locale) or the French label, without regard to case, accents or
// spaces (« Mission Locale », « agence France Travail », « France Travail »,
// « Pôle emploi », « CCAS », « service du Département », « Département »).
func ParseStructureKind(s string) (StructureKind, bool) {
	key := strings.Join(strings.Fields(strings.ToLower(strings.NewReplacer("é", "e", "è", "e", "ô", "o", "à", "a", "É", "e", "Ô", "o", "_", " ", "-", " ").Replace(s))), " ")
	switch key {
	case "ccas", "centre communal d'action sociale":
		return StructureCCAS, true
	case "mission locale":
		return StructureMissionLocale, true
	case "france travail", "agence france travail", "pole emploi":
		return StructureFranceTravail, true
	case "association":
		return StructureAssociation, true
	case "departement", "service du departement", "conseil departemental":
		return StructureDepartement, true
	case "autre", "autre (a preciser)":
		return StructureOther, true
	}
	return "", false
}

// Structure is a body référents belong to (the orientation's organisme
// référent, a supervisor's structure).
type Structure struct {
	ID      string        `json:"id" api:"-"`
	Name    string        `json:"name"`
	Kind    StructureKind `json:"kind"`
	Address string        `json:"address"`
}

// Normalize trims the fields.
func (s *Structure) Normalize() {
	s.Name, s.Address = strings.Join(strings.Fields(s.Name), " "), strings.TrimSpace(s.Address)
	s.Kind = StructureKind(strings.TrimSpace(string(s.Kind)))
}

// Validate checks a structure on its own.
func (s Structure) Validate() error {
	if err := text("name", "Le nom de la structure", s.Name, true, 200); err != nil {
		return err
	}
	if !validKind(s.Kind) {
		return FieldError("kind", "Type de structure inconnu : CCAS, mission locale, agence France Travail, association ou service du Département.")
	}
	return text("address", "L'adresse", s.Address, false, 500)
}

func validKind(k StructureKind) bool {
	for _, v := range StructureKinds {
		if v == k {
			return true
		}
	}
	return false
}

// Referent is a référent unique: a person who follows beneficiaries for a
// structure. Its ID goes into workflow histories, so it never carries a
// name; the name and e-mail stay in PostgreSQL.
type Referent struct {
	ID            string `json:"id" api:"-"`
	Name          string `json:"name"`
	Email         string `json:"email,omitempty"`
	StructureID   string `json:"structure_id"`
	StructureName string `json:"structure_name,omitempty" api:"-"` // read only
	AccountID     string `json:"account_id,omitempty" api:"-"`     // read only: the web account that is this référent
	Active        bool   `json:"active"`
}

// Normalize trims the fields and lower-cases the e-mail.
func (r *Referent) Normalize() {
	r.Name = strings.Join(strings.Fields(r.Name), " ")
	r.Email = strings.ToLower(strings.TrimSpace(r.Email))
	r.StructureID = strings.TrimSpace(r.StructureID)
}

// Validate checks a référent on its own.
func (r Referent) Validate() error {
	if err := text("name", "Le nom du référent", r.Name, true, 200); err != nil {
		return err
	}
	if r.Email != "" {
		if a, err := mail.ParseAddress(r.Email); err != nil || a.Address != r.Email {
			return FieldError("email", "Adresse électronique invalide : %s.", r.Email)
		}
	}
	if r.StructureID == "" {
		return FieldError("structure_id", "Choisissez la structure du référent.")
	}
	return nil
}

// ReferentNames resolves référent ids to names, for a page.
type ReferentNames map[string]string

// Of is the name of référent id: « non désigné » without one, « référent
// inconnu » for an id no record holds (never the raw id).
func (n ReferentNames) Of(id string) string {
	switch name, ok := n[id]; {
	case id == "":
		return "non désigné"
	case ok:
		return name
	}
	return "référent inconnu"
}

// ReferentRef is how a line of a reprise file names its structure and its
// référent: by id, e-mail or name, any of them possibly empty.
type ReferentRef struct {
	StructureID   string
	StructureName string
	StructureKind StructureKind // for a structure to create; "" : autre
	ReferentID    string
	ReferentEmail string
	ReferentName  string
}

// ReferentResolution is what resolving a ReferentRef found or created.
type ReferentResolution struct {
	StructureID      string
	StructureName    string
	ReferentID       string // "" when the line names no référent
	CreatedStructure bool
	CreatedReferent  bool
}
