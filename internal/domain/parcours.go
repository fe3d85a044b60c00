package domain

import (
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Status is where a parcours stands.
type Status string

const (
	StatusAwaitingOrientation Status = "awaiting_orientation"
	StatusAwaitingContract    Status = "awaiting_contract"
	StatusInAccompaniment     Status = "in_accompaniment"
)

// Statuses lists the valid statuses (for list filters).
var Statuses = []Status{StatusAwaitingOrientation, StatusAwaitingContract, StatusInAccompaniment}

// French names a status for people.
func (s Status) French() string {
	switch s {
	case StatusAwaitingOrientation:
		return "en attente d'orientation"
	case StatusAwaitingContract:
		return "en attente de contrat"
	case StatusInAccompaniment:
		return "en accompagnement"
	case StatusExited:
		return "sorti des droits et devoirs"
	}
	return string(s)
}

// Track is the orientation's parcours type.
type Track string

const (
	TrackProfessional      Track = "professional"
	TrackSocioProfessional Track = "socio_professional"
	TrackSocial            Track = "social"
)

// Tracks lists the valid tracks.
var Tracks = []Track{TrackProfessional, TrackSocioProfessional, TrackSocial}

// French names a track for people.
func (t Track) French() string {
	switch t {
	case TrackProfessional:
		return "professionnel"
	case TrackSocioProfessional:
		return "socio-professionnel"
	case TrackSocial:
		return "social"
	}
	return string(t)
}

// ContractKind is the contract's legal form.
type ContractKind string

const (
	ContractCER        ContractKind = "cer"
	ContractPPAE       ContractKind = "ppae"
	ContractEngagement ContractKind = "contrat_engagement"
)

// ContractKinds lists the valid contract kinds.
var ContractKinds = []ContractKind{ContractCER, ContractPPAE, ContractEngagement}

// French names a contract kind for people.
func (k ContractKind) French() string {
	switch k {
	case ContractCER:
		return "CER"
	case ContractPPAE:
		return "PPAE"
	case ContractEngagement:
		return "contrat d'engagement"
	}
	return string(k)
}

// DeadlineStatus is where one deadline stands.
type DeadlineStatus string

const (
	DeadlinePending DeadlineStatus = "pending"
	DeadlineMet     DeadlineStatus = "met"
	DeadlineOverdue DeadlineStatus = "overdue"
)

// TaskKind is what a task asks someone to do.
type TaskKind string

const (
	TaskOrient       TaskKind = "orient"
	TaskSignContract TaskKind = "sign_contract"
)

// TaskFor is the task a deadline kind gives.
func TaskFor(k DeadlineKind) TaskKind {
	if k == DeadlineContract {
		return TaskSignContract
	}
	return TaskOrient
}

// TaskStatus is where a task stands. Overdue is not a status: an open task
// is overdue once one of its deadlines has passed.
type TaskStatus string

const (
	TaskOpen      TaskStatus = "open"
	TaskDone      TaskStatus = "done"
	TaskCancelled TaskStatus = "cancelled"
)

// Intake is the registration of a person entering droits et devoirs.
type Intake struct {
	BeneficiaryID string `json:"beneficiary_id"`
	LastName      string `json:"last_name"`
	FirstName     string `json:"first_name"`
	BirthDate     Date   `json:"birth_date"`
	EnteredAt     Date   `json:"entered_at"`
	ReceivedOn    Date   `json:"received_on"`
	NIR           string `json:"nir"`
}

var beneficiaryIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)

// Normalize trims spaces and upper-cases the NIR.
func (in *Intake) Normalize() {
	in.BeneficiaryID = strings.TrimSpace(in.BeneficiaryID)
	in.LastName = strings.TrimSpace(in.LastName)
	in.FirstName = strings.TrimSpace(in.FirstName)
	in.NIR = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(in.NIR), " ", ""))
}

// Validate checks an intake against today's date (Europe/Paris).
func (in Intake) Validate(today Date) error {
	switch {
	case in.BeneficiaryID == "":
		return FieldError("beneficiary_id", "L'identifiant du bénéficiaire est obligatoire.")
	case !beneficiaryIDPattern.MatchString(in.BeneficiaryID):
		return FieldError("beneficiary_id", "L'identifiant du bénéficiaire ne peut contenir que lettres, chiffres et . _ : - (64 caractères au plus).")
	}
	if err := validName("last_name", "nom", in.LastName); err != nil {
		return err
	}
	if err := validName("first_name", "prénom", in.FirstName); err != nil {
		return err
	}
	switch {
	case in.BirthDate.IsZero():
		return FieldError("birth_date", "La date de naissance est obligatoire.")
	case in.BirthDate.After(today):
		return FieldError("birth_date", "La date de naissance ne peut pas être dans le futur.")
	case in.BirthDate.Before(NewDate(1900, 1, 1)):
		return FieldError("birth_date", "La date de naissance est antérieure à 1900.")
	case in.EnteredAt.IsZero():
		return FieldError("entered_at", "La date d'entrée en droits et devoirs est obligatoire.")
	case in.EnteredAt.After(today):
		return FieldError("entered_at", "La date d'entrée en droits et devoirs ne peut pas être dans le futur.")
	case in.EnteredAt.Before(in.BirthDate):
		return FieldError("entered_at", "La date d'entrée est antérieure à la date de naissance.")
	case !in.ReceivedOn.IsZero() && in.ReceivedOn.Before(in.EnteredAt):
		return FieldError("received_on", "L'information ne peut pas avoir été reçue avant l'entrée en droits et devoirs.")
	case !in.ReceivedOn.IsZero() && in.ReceivedOn.After(today):
		return FieldError("received_on", "La date de réception ne peut pas être dans le futur.")
	}
	if in.NIR != "" {
		if err := ValidateNIR(in.NIR); err != nil {
			return err
		}
	}
	return nil
}

func validName(field, label, v string) error {
	switch {
	case v == "":
		return FieldError(field, "Le %s est obligatoire.", label)
	case utf8.RuneCountInString(v) > 100:
		return FieldError(field, "Le %s dépasse 100 caractères.", label)
	case strings.ContainsAny(v, "<>{}\\\x00\n\r\t"):
		return FieldError(field, "Le %s contient des caractères non admis.", label)
	}
	return nil
}

// Orientation is the département's decision placing a person on a track.
type Orientation struct {
	Track      Track  `json:"track"`
	Organism   string `json:"organism"`
	ReferentID string `json:"referent_id"`
	DecidedOn  Date   `json:"decided_on"`
	// DecidedBy is "france_travail" when France Travail orients (after the
	// hand-over of D262-65-2); the département otherwise.
	DecidedBy string `json:"decided_by,omitempty"`
	// NotifiedOn is the day the person was notified of the orientation:
	// the 2025 contract month runs from it (D5411-14-1 code du travail).
	// When the client gives none, the service records the decision's date
	// and sets NotifiedAssumed, so that the deadline says which date it
	// used; the letter's receipt replaces it later (RecordOrientationNotified).
	// Orientations recorded before these fields carry neither.
	NotifiedOn      Date `json:"notified_on,omitempty"`
	NotifiedAssumed bool `json:"notified_assumed,omitempty" api:"-"`
	Recorded
}

// AssumeNotified gives an orientation without a notification date the
// decision's date, marked as assumed.
func (o *Orientation) AssumeNotified() {
	if o.NotifiedOn.IsZero() {
		o.NotifiedOn, o.NotifiedAssumed = o.DecidedOn, true
	}
}

// validateNotified checks a notification date against its decision.
func validateNotified(notified, decided, today Date) error {
	switch {
	case notified.IsZero():
		return nil
	case notified.Before(decided):
		return FieldError("notified_on", "La notification de l'orientation ne peut précéder sa décision (%s).", decided.French())
	case notified.After(today):
		return FieldError("notified_on", "La date de notification ne peut pas être dans le futur.")
	}
	return nil
}

// OrientationNotice records, after the decision, the day the person
// received the orientation's notification (the letter's receipt): the
// 2025 contract month runs from it (D5411-14-1 code du travail).
type OrientationNotice struct {
	NotifiedOn Date `json:"notified_on"`
	Recorded
}

// Validate checks a notification on its own (the parcours checks it
// follows the decision).
func (n OrientationNotice) Validate(today Date) error {
	return pastDate("notified_on", "La date de notification", n.NotifiedOn, today)
}

// TakeNote: no free text.
func (n *OrientationNotice) TakeNote() string { return "" }

// TakeNote: an orientation has no free text.
func (o *Orientation) TakeNote() string { return "" }

// Same reports whether two orientations decide the same thing, whoever recorded them.
func (o Orientation) Same(x Orientation) bool {
	o.Recorded, x.Recorded = Recorded{}, Recorded{}
	return o == x
}

// Validate checks an orientation on its own; the parcours checks the rest.
func (o Orientation) Validate(today Date) error {
	switch {
	case o.Track == "":
		return FieldError("track", "Le type de parcours est obligatoire (professionnel, socio-professionnel ou social).")
	case !slices.Contains(Tracks, o.Track):
		return FieldError("track", "Type de parcours inconnu %q : attendu professional, socio_professional ou social.", o.Track)
	case strings.TrimSpace(o.Organism) == "":
		return FieldError("organism", "L'organisme référent est obligatoire.")
	case utf8.RuneCountInString(o.Organism) > 200:
		return FieldError("organism", "Le nom de l'organisme dépasse 200 caractères.")
	case strings.TrimSpace(o.ReferentID) == "":
		return FieldError("referent_id", "Le référent unique est obligatoire.")
	case !beneficiaryIDPattern.MatchString(o.ReferentID):
		return FieldError("referent_id", "L'identifiant du référent ne peut contenir que lettres, chiffres et . _ : - (64 caractères au plus).")
	case o.DecidedOn.IsZero():
		return FieldError("decided_on", "La date de décision est obligatoire.")
	case o.DecidedOn.After(today):
		return FieldError("decided_on", "La date de décision ne peut pas être dans le futur.")
	case o.DecidedBy != "" && o.DecidedBy != DecidedByFranceTravail:
		return FieldError("decided_by", "Seule valeur admise : france_travail (sinon, laisser vide : décision du Département).")
	}
	return validateNotified(o.NotifiedOn, o.DecidedOn, today)
}

// DecidedByFranceTravail marks an orientation decided by France Travail.
const DecidedByFranceTravail = "france_travail"

// Contract is a signed contract (CER, PPAE, contrat d'engagement).
type Contract struct {
	Kind     ContractKind `json:"kind"`
	SignedOn Date         `json:"signed_on"`
	StartsOn Date         `json:"starts_on"`
	EndsOn   Date         `json:"ends_on"`
	// Assessment of the previous contract, required for a renewal (seed 004:
	// renewed "sur la base du bilan du précédent contrat").
	Assessment string `json:"assessment,omitempty"`
	Recorded
}

// TakeNote moves the assessment out of the command.
func (c *Contract) TakeNote() string {
	v := c.Assessment
	c.Assessment = ""
	return v
}

// Same reports whether two contracts are the same, whoever recorded them.
func (c Contract) Same(x Contract) bool {
	c.Recorded, x.Recorded = Recorded{}, Recorded{}
	c.Assessment, x.Assessment = "", ""
	return c == x
}

// Validate checks a contract on its own; the parcours checks the rest.
func (c Contract) Validate(today Date) error {
	switch {
	case c.Kind == "":
		return FieldError("kind", "Le type de contrat est obligatoire (CER, PPAE ou contrat d'engagement).")
	case !slices.Contains(ContractKinds, c.Kind):
		return FieldError("kind", "Type de contrat inconnu %q : attendu cer, ppae ou contrat_engagement.", c.Kind)
	case c.SignedOn.IsZero():
		return FieldError("signed_on", "La date de signature est obligatoire.")
	case c.SignedOn.After(today):
		return FieldError("signed_on", "La date de signature ne peut pas être dans le futur.")
	case c.StartsOn.IsZero():
		return FieldError("starts_on", "La date de début est obligatoire.")
	case c.EndsOn.IsZero():
		return FieldError("ends_on", "La date de fin est obligatoire.")
	case !c.EndsOn.After(c.StartsOn):
		return FieldError("ends_on", "Le contrat doit se terminer après son début (%s).", c.StartsOn.French())
	}
	return text("assessment", "Le bilan du contrat précédent", c.Assessment, false, 4000)
}
