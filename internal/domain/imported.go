package domain

import (
	"net/mail"
	"strings"
)

// Payer situations of a household, from the CAF/MSA flux (ETATDOSRSA,
// docs/cnaf-flux.md §2.4) or from a list of people in droits et devoirs.
const (
	PayerOpen      = "open"      // 2: right open and payable (or a list of current beneficiaries)
	PayerPending   = "pending"   // 0: claim awaiting the département's decision
	PayerRefused   = "refused"   // 1: right refused
	PayerSuspended = "suspended" // 3 or 4: right or payment suspended
	PayerClosed    = "closed"    // 5 or 6: right closed
)

// PayerSituation is what the paying body says of the household.
type PayerSituation struct {
	State  string `json:"state"`            // Payer* above
	Code   string `json:"code,omitempty"`   // ETATDOSRSA as sent
	Reason string `json:"reason,omitempty"` // MOTISUSVERSRSA, MOTISUSDRORSA or MOTICLORSA
	Since  Date   `json:"since,omitempty"`  // start of the suspension, or closure date
}

// ImportedPerson is one person read from a CAF/MSA flux or a CSV list:
// their identity (kept only in PostgreSQL), the household's situation and
// whether they are subject to droits et devoirs.
type ImportedPerson struct {
	Line        int    // line in the file, for the report
	ExternalID  string // the département's identifier, if the list has one
	NIR         string // 13 or 15 characters
	LastName    string
	FirstName   string
	BirthDate   Date
	Payer       string // CAF or MSA
	PayerNumber string // matricule, normalised (NormalizeMatricule)
	Role        string // DEM, CJT, ENF, AUT
	Phone       string
	Email       string
	Subject     bool // subject to droits et devoirs (TOPPERSDRODEVORSA = 1)
	EnteredOn   Date // when droits et devoirs began
	ReceivedOn  Date // when the département received the information
	Situation   PayerSituation
	// Reprise is the person's current situation when the line comes from a
	// reprise file (reprise de l'existant); nil for a flux or a plain list.
	Reprise *Reprise
	// ImportID is the import the line comes from (the « Identités à
	// vérifier » list names it); empty outside an import.
	ImportID string `json:"-"`
	// NoDutyBlock: a flux person without the droits-et-devoirs block
	// (MontantCalculDroitRSAPersonne), seen in MSA flux: whether they are
	// subject is unknown, Subject is false (see docs/identity.md).
	NoDutyBlock bool
	// Identity is the département's decision on an identity conflict the
	// line raised (IdentitySame, IdentityDifferent); empty for a new line.
	Identity string `json:"-"`
}

// NIRIdentityKey is the identity key of a NIR: every transaction that may
// give a beneficiary a NIR takes an advisory lock on it (postgres).
func NIRIdentityKey(nir string) string { return "nir:" + NIRBody(nir) }

// IdentityKeys are the keys a person is found by: the NIR's 13-character
// body, the département's identifier, the allocataire number with the birth
// date. Two rows sharing a key may name the same person.
func (p ImportedPerson) IdentityKeys() []string {
	var keys []string
	if p.NIR != "" {
		keys = append(keys, NIRIdentityKey(p.NIR))
	}
	if p.ExternalID != "" {
		keys = append(keys, "ext:"+p.ExternalID)
	}
	if p.PayerNumber != "" {
		keys = append(keys, "payer:"+p.PayerNumber+":"+p.BirthDate.String())
	}
	return keys
}

// Normalize trims every field and normalises NIR, matricule, phone and e-mail.
func (p *ImportedPerson) Normalize() {
	p.ExternalID = strings.TrimSpace(p.ExternalID)
	p.NIR = strings.ToUpper(strings.Join(strings.Fields(p.NIR), ""))
	p.LastName = strings.Join(strings.Fields(p.LastName), " ")
	p.FirstName = strings.Join(strings.Fields(p.FirstName), " ")
	p.Payer = strings.ToUpper(strings.TrimSpace(p.Payer))
	p.PayerNumber = NormalizeMatricule(p.PayerNumber)
	p.Role = strings.ToUpper(strings.TrimSpace(p.Role))
	p.Phone = NormalizePhone(p.Phone)
	p.Email = strings.ToLower(strings.Join(strings.Fields(p.Email), ""))
}

// Validate checks an imported person; the messages never repeat the NIR.
func (p ImportedPerson) Validate(today Date) error {
	if p.ExternalID != "" && !beneficiaryIDPattern.MatchString(p.ExternalID) {
		return FieldError("external_id", "L'identifiant ne peut contenir que lettres, chiffres et . _ : - (64 caractères au plus).")
	}
	if p.ExternalID == "" && p.NIR == "" && p.PayerNumber == "" {
		return FieldError("external_id", "Aucun identifiant : il faut un NIR, un numéro d'allocataire CAF/MSA ou un identifiant.")
	}
	if p.NIR != "" {
		if err := ValidateNIR(p.NIR); err != nil {
			return err
		}
	}
	if p.PayerNumber != "" && len(p.PayerNumber) > 15 {
		return FieldError("payer_number", "Le numéro d'allocataire dépasse 15 caractères.")
	}
	if p.Payer != "" && p.Payer != "CAF" && p.Payer != "MSA" {
		return FieldError("payer", "L'organisme payeur doit être CAF ou MSA.")
	}
	if err := validName("last_name", "nom", p.LastName); err != nil {
		return err
	}
	if err := validName("first_name", "prénom", p.FirstName); err != nil {
		return err
	}
	switch {
	case p.BirthDate.IsZero() && p.NIR == "" && p.ExternalID == "":
		// The allocataire number names a household: the birth date tells
		// its people apart. A NIR or the département's identifier suffices.
		return FieldError("birth_date", "La date de naissance est obligatoire quand le numéro d'allocataire est le seul identifiant.")
	case p.BirthDate.After(today):
		return FieldError("birth_date", "La date de naissance ne peut pas être dans le futur.")
	case !p.BirthDate.IsZero() && p.BirthDate.Before(NewDate(1900, 1, 1)):
		return FieldError("birth_date", "La date de naissance est antérieure à 1900.")
	case p.Subject && p.EnteredOn.IsZero():
		return FieldError("entered_at", "La date d'entrée en droits et devoirs est obligatoire.")
	case p.EnteredOn.After(today):
		return FieldError("entered_at", "La date d'entrée en droits et devoirs ne peut pas être dans le futur.")
	case !p.EnteredOn.IsZero() && p.EnteredOn.Before(p.BirthDate):
		return FieldError("entered_at", "La date d'entrée est antérieure à la date de naissance.")
	case p.ReceivedOn.After(today):
		return FieldError("received_on", "La date du fichier ne peut pas être dans le futur.")
	case p.Situation.Since.After(today):
		return FieldError("situation", "La date de suspension ou de clôture ne peut pas être dans le futur.")
	}
	if p.Email != "" {
		if a, err := mail.ParseAddress(p.Email); err != nil || a.Address != p.Email {
			return FieldError("email", "L'adresse électronique n'est pas valide.")
		}
	}
	if p.Phone != "" && (len(p.Phone) < 10 || len(p.Phone) > 16) {
		return FieldError("phone", "Le numéro de téléphone n'est pas valide.")
	}
	return nil
}

// Intake is the intake of an imported person subject to droits et devoirs.
func (p ImportedPerson) Intake() Intake {
	return Intake{BeneficiaryID: p.ExternalID, LastName: p.LastName, FirstName: p.FirstName,
		BirthDate: p.BirthDate, EnteredAt: p.EnteredOn, ReceivedOn: p.ReceivedOn, NIR: p.NIR}
}

// NormalizeMatricule turns a CAF/MSA allocataire number into its 7-character
// form when it is the 7-digit number padded with zeros to 15 (the flux's
// MATRICULE 205599000000000 is the list's 2055990), as rdv-insertion does
// (docs/cnaf-flux.md §2.5): if longer than 7 and only zeros follow the 7th
// character, keep the first 7; if still longer, strip leading zeros and try
// again. Shorter all-digit numbers are left-padded to 7. Other forms (MSA,
// unverified) are kept as sent, trimmed.
func NormalizeMatricule(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	cut := func(s string) string {
		if len(s) > 7 && strings.Trim(s[7:], "0") == "" {
			return s[:7]
		}
		return s
	}
	s = cut(s)
	if len(s) > 7 {
		if t := strings.TrimLeft(s, "0"); t != "" {
			s = cut(t)
		}
	}
	if s != "" && len(s) < 7 && strings.Trim(s, "0123456789") == "" {
		s = strings.Repeat("0", 7-len(s)) + s
	}
	return s
}

// NormalizePhone keeps the digits (and a leading +) of a phone number and
// restores the leading 0 that spreadsheets drop from 9-digit French numbers.
func NormalizePhone(s string) string {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		}
	}
	out := b.String()
	if len(out) == 9 && out[0] != '0' {
		out = "0" + out
	}
	if strings.HasPrefix(out, "+33") && len(out) == 12 {
		out = "0" + out[3:]
	}
	return out
}

// Reason labels (docs/cnaf-flux.md §2.4): MOTISUSVERSRSA and MOTICLORSA as CdB
// maps them; MOTISUSDRORSA codes are shown as sent (their list is unverified).
var (
	paymentSuspensionReasons = map[string]string{
		"01": "ressources trop élevées", "02": "moins de 25 ans sans enfant ni personne à charge",
		"03": "activité non conforme", "04": "titre de séjour non valide", "05": "RSA inférieur au seuil de versement",
		"06": "déclaration trimestrielle de ressources non retournée", "09": "résidence non conforme",
		"19": "pas d'isolement", "31": "prestation exclue, affiliation partielle", "34": "régime non conforme",
		"35": "demande d'avantage vieillesse absente ou tardive", "36": "titre de séjour absent",
		"44": "hospitalisation", "70": "action non engagée", "78": "surface pondérée supérieure au plafond ou inconnue",
		"84": "droit éteint ou autre cas", "85": "pas d'allocataire", "97": "bénéficiaire AAH réduite",
		"AB": "allocataire absent du foyer", "CV": "attente de décision du PCG", "CZ": "activité antérieure insuffisante",
		"DA": "activité antérieure absente", "DB": "étudiant rémunération insuffisante", "DC": "activité antérieure non conforme",
		"CG": "application d'une sanction",
	}
	closureReasons = map[string]string{
		"PCG": "clôture sur décision du président du conseil départemental", "ECH": "clôture à échéance (4 mois sans droit)",
		"EFF": "annulation de la bascule RMI/API", "MUT": "mutation du dossier vers un autre organisme",
		"RGD": "regroupement de dossiers", "RFD": "radiation fin de droit", "RAU": "radiation autre motif",
		"RST": "radiation option RSTA", "RSO": "radiation option RSO",
	}
)

// Describe says in French what the paying body reported.
func (s PayerSituation) Describe() string {
	var what string
	switch s.State {
	case PayerOpen:
		what = "droit ouvert et versable"
	case PayerPending:
		what = "demande en attente de décision"
	case PayerRefused:
		what = "droit refusé"
	case PayerSuspended:
		what = "versement suspendu"
		if s.Code == "3" {
			what = "droit suspendu"
		}
	case PayerClosed:
		what = "droit clos"
	default:
		return "situation inconnue"
	}
	if !s.Since.IsZero() {
		what += " depuis le " + s.Since.French()
	}
	if s.Reason != "" {
		label := paymentSuspensionReasons[s.Reason]
		if s.State == PayerClosed {
			label = closureReasons[s.Reason]
		}
		if label == "" {
			label = "motif " + s.Reason
		} else {
			label = "motif " + s.Reason + " : " + label
		}
		what += " — " + label
	}
	return what
}
