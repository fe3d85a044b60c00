package domain

import (
	"strings"
	"time"
)

// Letters of the sanction procedure (issue #9, part 2): the notice of the
// facts and the planned sanction (L262-37 III), the convocation to a
// hearing, and the decision. Each is a PDF stored with its SHA-256; once
// its sending is recorded it never changes.

// LetterKind names a letter.
type LetterKind string

const (
	LetterNotice      LetterKind = "notice"      // courrier d'information préalable
	LetterConvocation LetterKind = "convocation" // convocation à un entretien
	LetterDecision    LetterKind = "decision"    // notification de la décision
)

// LetterKinds in the order of the procedure.
var LetterKinds = []LetterKind{LetterNotice, LetterConvocation, LetterDecision}

// French is the letter's title.
func (k LetterKind) French() string {
	switch k {
	case LetterNotice:
		return "Courrier d'information préalable à une sanction"
	case LetterConvocation:
		return "Convocation à un entretien"
	case LetterDecision:
		return "Notification de décision"
	}
	return string(k)
}

// Valid says whether k is a known kind.
func (k LetterKind) Valid() bool {
	for _, v := range LetterKinds {
		if k == v {
			return true
		}
	}
	return false
}

// Letterhead is what the département edits: who writes and signs.
type Letterhead struct {
	Departement    string `json:"departement"`     // "Département de l'Hérault"
	Service        string `json:"service"`         // "Direction de l'insertion"
	Address        string `json:"address"`         // several lines
	City           string `json:"city"`            // "Fait à <city>, le ..."
	SignatoryName  string `json:"signatory_name"`  // "Marie Martin"
	SignatoryTitle string `json:"signatory_title"` // "Pour le Président du conseil départemental et par délégation, ..."
}

// DefaultLetterhead is shown until the département fills its own.
func DefaultLetterhead() Letterhead {
	return Letterhead{
		Departement:    "Département",
		Service:        "Direction de l'insertion",
		Address:        "Hôtel du Département",
		City:           "",
		SignatoryName:  "",
		SignatoryTitle: "Pour le Président du conseil départemental et par délégation",
	}
}

// Validate checks a letterhead.
func (l Letterhead) Validate() error {
	for _, f := range []struct {
		field, label, v string
		required        bool
		max             int
	}{
		{"departement", "Le nom du Département", l.Departement, true, 120},
		{"service", "Le service", l.Service, false, 120},
		{"address", "L'adresse", l.Address, true, 400},
		{"city", "La ville de signature", l.City, true, 80},
		{"signatory_name", "Le nom du signataire", l.SignatoryName, true, 120},
		{"signatory_title", "La qualité du signataire", l.SignatoryTitle, true, 200},
	} {
		if err := text(f.field, f.label, f.v, f.required, f.max); err != nil {
			return err
		}
	}
	return nil
}

// LetterRequest asks for a letter of a case. The planned sanction is for
// the notice; the appointment for the convocation; the decision letter
// reads the recorded decision.
type LetterRequest struct {
	Kind           LetterKind   `json:"kind"`
	Address        string       `json:"address,omitempty"` // the person's postal address, several lines; kept in PostgreSQL
	PlannedKind    SanctionKind `json:"planned_kind"`
	PlannedPercent int          `json:"planned_percent"`
	PlannedMonths  int          `json:"planned_months"`
	AppointmentOn  Date         `json:"appointment_on"`
	AppointmentAt  string       `json:"appointment_at"` // "14:30"
	Place          string       `json:"place"`
}

// Validate checks a request on its own (the case checks its state).
func (r LetterRequest) Validate(today Date) error {
	if !r.Kind.Valid() {
		return FieldError("kind", "Courrier inconnu %q : notice, convocation ou decision.", r.Kind)
	}
	if err := text("address", "L'adresse postale de la personne", r.Address, true, 400); err != nil {
		return err
	}
	if strings.Count(strings.TrimSpace(r.Address), "\n") > 5 {
		return FieldError("address", "L'adresse postale tient en six lignes au plus.")
	}
	switch r.Kind {
	case LetterNotice:
		n := Notice{PlannedKind: r.PlannedKind, PlannedPercent: r.PlannedPercent, PlannedMonths: r.PlannedMonths}
		if err := n.validatePlanned(); err != nil {
			return err
		}
	case LetterConvocation:
		if r.AppointmentOn.IsZero() {
			return FieldError("appointment_on", "La date de l'entretien est requise.")
		}
		if r.AppointmentOn.Before(today) {
			return FieldError("appointment_on", "La date de l'entretien (%s) est passée.", r.AppointmentOn.French())
		}
		if _, err := time.Parse("15:04", r.AppointmentAt); err != nil {
			return FieldError("appointment_at", "Heure attendue au format HH:MM (par exemple 14:30).")
		}
		if err := text("place", "Le lieu de l'entretien", r.Place, true, 300); err != nil {
			return err
		}
	}
	return nil
}

// LetterModes are how a letter travels; only some make the receipt date certain.
var LetterModes = map[string]string{
	"recommande_ar": "lettre recommandée avec accusé de réception",
	"remise_main":   "remise en main propre contre récépissé",
	"simple":        "lettre simple",
	"electronique":  "envoi recommandé électronique",
}

// LetterSending records that a letter left (and, when known, arrived).
type LetterSending struct {
	SentOn     Date   `json:"sent_on"`
	ReceivedOn Date   `json:"received_on"` // optional: the date on the acknowledgment of receipt
	Mode       string `json:"mode"`
}

// Validate checks a sending.
func (s LetterSending) Validate(today Date) error {
	if _, ok := LetterModes[s.Mode]; !ok {
		return FieldError("mode", "Mode d'envoi inconnu %q : recommande_ar, remise_main, simple ou electronique.", s.Mode)
	}
	if err := pastDate("sent_on", "La date d'envoi", s.SentOn, today); err != nil {
		return err
	}
	if s.ReceivedOn.IsZero() {
		return nil
	}
	return LetterReceipt{ReceivedOn: s.ReceivedOn}.validate(s.SentOn, today)
}

// LetterReceipt records the date on the acknowledgment of receipt (or of
// the first presentation of a registered letter left unclaimed).
type LetterReceipt struct {
	ReceivedOn Date `json:"received_on"`
}

// Validate checks a receipt on its own.
func (r LetterReceipt) Validate(today Date) error { return r.validate(Date{}, today) }

func (r LetterReceipt) validate(sentOn, today Date) error {
	if err := pastDate("received_on", "La date de réception", r.ReceivedOn, today); err != nil {
		return err
	}
	if r.ReceivedOn.Before(sentOn) {
		return FieldError("received_on", "La réception précède l'envoi (%s).", sentOn.French())
	}
	return nil
}

// LetterRef ties a step of a case to the stored letter.
type LetterRef struct {
	ID     string `json:"id"`
	Number string `json:"number"`
	SHA256 string `json:"sha256"`
}

// LetterView is a stored letter (without its PDF).
type LetterView struct {
	ID         string        `json:"id"`
	ReviewID   string        `json:"review_id"`
	ParcoursID string        `json:"parcours_id"`
	Kind       LetterKind    `json:"kind"`
	Title      string        `json:"title"`
	Number     string        `json:"number"`
	DatedOn    Date          `json:"dated_on"`
	Status     string        `json:"status"` // draft, sent
	SHA256     string        `json:"sha256"`
	Size       int           `json:"size"`
	Mode       string        `json:"mode,omitempty"`
	SentOn     Date          `json:"sent_on"`
	ReceivedOn Date          `json:"received_on"`
	CreatedAt  time.Time     `json:"created_at"`
	CreatedBy  string        `json:"created_by"`
	Params     LetterRequest `json:"params"` // what it was asked with (no address)
}

// Letter statuses.
const (
	LetterDraft = "draft"
	LetterSent  = "sent"
)
