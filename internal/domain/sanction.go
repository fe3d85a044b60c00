package domain

import (
	"fmt"
	"slices"
	"strings"
)

// The escalation to sanction (domain.md, "Escalation to sanction"; décret
// 2025-478, in force 1 June 2025).

// BreachKind is what L262-37 I calls a breach.
type BreachKind string

const (
	BreachRefusalContract   BreachKind = "refusal_contract"    // refusing to draw up or update the contract
	BreachObligationsNotMet BreachKind = "obligations_not_met" // an obligation of the current contract not met
)

// Breach is the référent's report (R262-69).
type Breach struct {
	Kind       BreachKind `json:"kind"`
	Obligation string     `json:"obligation"` // the current contract's obligation not met (second kind)
	Facts      string     `json:"facts"`      // free text: kept in PostgreSQL
	ReportedOn Date       `json:"reported_on"`
	// ObligationID is the note holding the obligation once the service
	// took it (Texts); Obligation is then empty.
	ObligationID string `json:"obligation_id,omitempty" api:"-"`
	Recorded
}

// Texts is the obligation the breach names.
func (b *Breach) Texts() []Text {
	return []Text{{Kind: "breach_obligation", Body: &b.Obligation, ID: &b.ObligationID}}
}

// Validate checks a report on its own; the parcours checks there is a
// current contract for the second kind (Conseil d'État, 15 Dec 2015).
func (b Breach) Validate(today Date) error {
	switch b.Kind {
	case BreachRefusalContract:
	case BreachObligationsNotMet:
		if err := text("obligation", "L'obligation du contrat non respectée", b.Obligation, true, 300); err != nil {
			return err
		}
	case "":
		return FieldError("kind", "Le manquement est obligatoire.")
	default:
		return FieldError("kind", "Manquement inconnu %q : refusal_contract ou obligations_not_met.", b.Kind)
	}
	if err := text("facts", "L'exposé des faits", b.Facts, true, 4000); err != nil {
		return err
	}
	return pastDate("reported_on", "La date du signalement", b.ReportedOn, today)
}

// TakeNote moves the facts out of the command.
func (b *Breach) TakeNote() string {
	v := b.Facts
	b.Facts = ""
	return v
}

// LegitimateReasons stop a case without sanction.
var LegitimateReasons = []string{"health", "childcare", "force_majeure", "other"}

// LegitimateReason closes a case (L262-37: "sans motif légitime").
type LegitimateReason struct {
	Reason string `json:"reason"`
	Text   string `json:"text"` // required for "other"; kept in PostgreSQL
	On     Date   `json:"on"`
	Recorded
}

// Validate checks the reason.
func (l LegitimateReason) Validate(today Date) error {
	if !slices.Contains(LegitimateReasons, l.Reason) {
		return FieldError("reason", "Motif inconnu %q : %s.", l.Reason, strings.Join(LegitimateReasons, ", "))
	}
	if err := text("text", "La précision du motif", l.Text, l.Reason == "other", 2000); err != nil {
		return err
	}
	return pastDate("on", "La date", l.On, today)
}

// TakeNote moves the text out.
func (l *LegitimateReason) TakeNote() string {
	v := l.Text
	l.Text = ""
	return v
}

// SanctionKind is what the PCD decides.
type SanctionKind string

const (
	SanctionNone        SanctionKind = "none"
	SanctionSuspension  SanctionKind = "suspension"
	SanctionSuppression SanctionKind = "suppression"
)

// Notice tells the person the facts and the planned sanction (L262-37 III);
// its receipt date, certain, starts the observation period. The receipt
// date may come later (the acknowledgment of a registered letter): until
// then the observation period has not begun and no sanction can be decided.
type Notice struct {
	SentOn         Date         `json:"sent_on"`
	ReceivedOn     Date         `json:"received_on"`
	PlannedKind    SanctionKind `json:"planned_kind"`
	PlannedPercent int          `json:"planned_percent"`
	PlannedMonths  int          `json:"planned_months"`
	Mode           string       `json:"mode,omitempty"`
	Letter         *LetterRef   `json:"letter,omitempty" api:"-"` // the stored PDF, when the service produced it
	Recorded
}

// Validate checks a notice.
func (n Notice) Validate(today Date) error {
	if err := pastDate("sent_on", "La date d'envoi", n.SentOn, today); err != nil {
		return err
	}
	if !n.ReceivedOn.IsZero() {
		if err := (LetterReceipt{ReceivedOn: n.ReceivedOn}).validate(n.SentOn, today); err != nil {
			return err
		}
	}
	if _, ok := LetterModes[n.Mode]; n.Mode != "" && !ok {
		return FieldError("mode", "Mode d'envoi inconnu %q.", n.Mode)
	}
	return n.validatePlanned()
}

func (n Notice) validatePlanned() error {
	if n.PlannedKind != SanctionSuspension && n.PlannedKind != SanctionSuppression {
		return FieldError("planned_kind", "Sanction envisagée inconnue %q : suspension ou suppression.", n.PlannedKind)
	}
	if n.PlannedPercent < 1 || n.PlannedPercent > 100 || n.PlannedMonths < 1 || n.PlannedMonths > 12 {
		return FieldError("planned_percent", "La sanction envisagée doit indiquer un pourcentage (1 à 100) et une durée en mois.")
	}
	return nil
}

// NoticeReceipt records, after the sending, the date the person received
// the notice: the observation period starts from it.
type NoticeReceipt struct {
	ReceivedOn Date `json:"received_on"`
	Recorded
}

// Validate checks the receipt on its own (the case checks it follows the sending).
func (r NoticeReceipt) Validate(today Date) error {
	return LetterReceipt{ReceivedOn: r.ReceivedOn}.Validate(today)
}

// TakeNote: no free text.
func (r *NoticeReceipt) TakeNote() string { return "" }

// TakeNote: no free text.
func (n *Notice) TakeNote() string { return "" }

// Hearing: the person is heard, possibly with an assistant.
type Hearing struct {
	On       Date   `json:"on"`
	Assisted bool   `json:"assisted"`
	Note     string `json:"note"`
	Recorded
}

// Validate checks a hearing.
func (h Hearing) Validate(today Date) error {
	if err := text("note", "Le compte rendu", h.Note, false, 4000); err != nil {
		return err
	}
	return pastDate("on", "La date de l'audition", h.On, today)
}

// TakeNote moves the note out.
func (h *Hearing) TakeNote() string {
	v := h.Note
	h.Note = ""
	return v
}

// Compliance: the person meets the obligation (contract signed...).
type Compliance struct {
	On   Date   `json:"on"`
	How  string `json:"how"` // contract_signed, obligation_met
	Note string `json:"note"`
	Recorded
}

// Validate checks a compliance.
func (c Compliance) Validate(today Date) error {
	if c.How != "contract_signed" && c.How != "obligation_met" {
		return FieldError("how", "Attendu contract_signed ou obligation_met.")
	}
	if err := text("note", "La note", c.Note, false, 2000); err != nil {
		return err
	}
	return pastDate("on", "La date", c.On, today)
}

// TakeNote moves the note out.
func (c *Compliance) TakeNote() string {
	v := c.Note
	c.Note = ""
	return v
}

// Decision is the PCD's decision on a case.
type Decision struct {
	Kind          SanctionKind `json:"kind"`
	Percent       int          `json:"percent"`
	Months        int          `json:"months"`
	DecidedOn     Date         `json:"decided_on"`
	EffectiveOn   Date         `json:"effective_on"`
	HouseholdSize int          `json:"household_size"`
	Majoration    bool         `json:"majoration"`
	EPOpinionOn   Date         `json:"ep_opinion_on"`        // the équipe pluridisciplinaire's opinion
	MonthlyCents  int64        `json:"monthly_amount_cents"` // RSA of the last month of the reference quarter
	Reason        string       `json:"reason"`               // required for "none"; kept in PostgreSQL
	Recorded
}

// TakeNote moves the reason out.
func (d *Decision) TakeNote() string {
	v := d.Reason
	d.Reason = ""
	return v
}

// Scale is a dated sanction scale.
type Scale struct {
	Name            string
	InForceFrom     Date
	MinPercent      int // R262-68
	CapShared       int // R262-68-6: household of more than one person, or majoration
	FirstMonthsMax  int
	RepeatMonthsMax int
	ObservationDays int // L262-37 III as amended by décret 2025-478
	Source          string
}

// Scale2025 is the "suspension-remobilisation" scale of décret 2025-478.
var Scale2025 = Scale{
	Name: "decret-2025-478", InForceFrom: NewDate(2025, 6, 1),
	MinPercent: 30, CapShared: 50, FirstMonthsMax: 2, RepeatMonthsMax: 4, ObservationDays: 10,
	Source: "R262-68, R262-68-1, R262-68-6 CASF (décret 2025-478)",
}

// ScaleOn is the scale in force on a date, if the service knows it.
func ScaleOn(d Date) (Scale, bool) {
	if d.Before(Scale2025.InForceFrom) {
		return Scale{}, false
	}
	return Scale2025, true
}

// Check validates a decision against the scale; repeat says whether an
// earlier sanction falls within the repeat window. The error names the rule
// the decision breaks.
func (sc Scale) Check(d Decision, repeat bool, today Date) error {
	if err := pastDate("decided_on", "La date de décision", d.DecidedOn, today); err != nil {
		return err
	}
	if d.Kind == SanctionNone {
		if strings.TrimSpace(d.Reason) == "" && d.NoteID == "" {
			return FieldError("reason", "Une décision sans sanction doit être motivée.")
		}
		return nil
	}
	if d.Kind != SanctionSuspension && d.Kind != SanctionSuppression {
		return FieldError("kind", "Décision inconnue %q : none, suspension ou suppression.", d.Kind)
	}
	if !d.EPOpinionOn.IsZero() {
		// L262-37 III CASF: the équipe pluridisciplinaire's opinion is
		// sought before the decision, not after it.
		if err := pastDate("ep_opinion_on", "L'avis de l'équipe pluridisciplinaire", d.EPOpinionOn, today); err != nil {
			return err
		}
		if d.EPOpinionOn.After(d.DecidedOn) {
			return FieldError("ep_opinion_on", "L'avis de l'équipe pluridisciplinaire (%s) doit précéder la décision du %s, ou être du même jour (L262-37 III CASF).",
				d.EPOpinionOn.French(), d.DecidedOn.French())
		}
	}
	switch {
	case d.EffectiveOn.IsZero():
		return FieldError("effective_on", "La date d'effet est obligatoire.")
	case d.EffectiveOn.Before(d.DecidedOn):
		return FieldError("effective_on", "La sanction ne peut prendre effet avant la décision (%s).", d.DecidedOn.French())
	case d.HouseholdSize < 1:
		return FieldError("household_size", "La taille du foyer est obligatoire (1 ou plus).")
	case d.MonthlyCents <= 0:
		return FieldError("monthly_amount_cents", "Le montant mensuel de référence (dernier mois du trimestre de référence) est obligatoire.")
	case d.Percent < sc.MinPercent:
		return FieldError("percent", "La sanction porte sur au moins %d %% du RSA (R262-68).", sc.MinPercent)
	case d.Percent > 100:
		return FieldError("percent", "Le pourcentage ne peut dépasser 100 %%.")
	case (d.HouseholdSize > 1 || d.Majoration) && d.Percent > sc.CapShared:
		return FieldError("percent", "Pour un foyer de plus d'une personne ou avec majoration, la sanction est plafonnée à %d %% (R262-68-6 CASF).", sc.CapShared)
	case d.Months < 1:
		return FieldError("months", "La sanction dure au moins 1 mois (R262-68).")
	case !repeat && d.Kind == SanctionSuppression:
		return FieldError("kind", "Un premier manquement ne peut donner lieu qu'à une suspension (R262-68) ; la suppression est réservée à la récidive.")
	case !repeat && d.Months > sc.FirstMonthsMax:
		return FieldError("months", "Pour un premier manquement, la suspension dure de 1 à %d mois (R262-68).", sc.FirstMonthsMax)
	case repeat && d.Months > sc.RepeatMonthsMax:
		return FieldError("months", "En cas de récidive, la sanction dure de 1 à %d mois (R262-68).", sc.RepeatMonthsMax)
	case d.Kind == SanctionSuppression && d.EPOpinionOn.IsZero():
		return FieldError("ep_opinion_on", "La suppression requiert l'avis de l'équipe pluridisciplinaire (L262-37 III).")
	}
	return nil
}

// WithheldPerMonth is the amount withheld each month of the sanction.
func (d Decision) WithheldPerMonth() int64 { return d.MonthlyCents * int64(d.Percent) / 100 }

// Payback is what is paid back when the person complies during the
// sanction (L262-37 I, R262-68): the months of sanction begun before the
// compliance, at most capMonths, times the monthly amount withheld. The
// cap (3 months in the parliamentary record) is a setting, unverified.
func (d Decision) Payback(compliedOn Date, capMonths int) (months int, cents int64) {
	for m := range d.Months {
		if !d.EffectiveOn.AddMonths(m).After(compliedOn) {
			months++
		}
	}
	return min(months, capMonths), int64(min(months, capMonths)) * d.WithheldPerMonth()
}

// Refunded is what compliance during the sanction pays back (issue 22):
// remobilisation ends a suspension and pays back the months concerned
// (R262-68-1 CASF, capped at capMonths); a suppression is not paid back:
// what is suppressed is lost, not withheld.
func (d Decision) Refunded(compliedOn Date, capMonths int) (months int, cents int64) {
	if d.Kind != SanctionSuspension {
		return 0, 0
	}
	return d.Payback(compliedOn, capMonths)
}

// EndsOn is the last day of the sanction.
func (d Decision) EndsOn() Date { return d.EffectiveOn.AddMonths(d.Months).AddDays(-1) }

// DecisionNotice records when the person received the decision.
type DecisionNotice struct {
	NotifiedOn Date `json:"notified_on"`
	Recorded
}

// Validate checks a notification on its own.
func (n DecisionNotice) Validate(today Date) error {
	return pastDate("notified_on", "La date de notification", n.NotifiedOn, today)
}

// TakeNote: no free text.
func (n *DecisionNotice) TakeNote() string { return "" }

// Appeal is the mandatory prior administrative appeal (RAPO) to the PCD.
type Appeal struct {
	FiledOn Date   `json:"filed_on"`
	Note    string `json:"note"`
	Recorded
}

// Validate checks an appeal.
func (a Appeal) Validate(today Date) error {
	return pastDate("filed_on", "La date du recours", a.FiledOn, today)
}

// TakeNote moves the note out.
func (a *Appeal) TakeNote() string {
	v := a.Note
	a.Note = ""
	return v
}

// AppealDecision answers a RAPO.
type AppealDecision struct {
	DecidedOn Date   `json:"decided_on"`
	Outcome   string `json:"outcome"` // upheld, annulled
	Reason    string `json:"reason"`
	Recorded
}

// Validate checks an appeal decision.
func (a AppealDecision) Validate(today Date) error {
	if a.Outcome != "upheld" && a.Outcome != "annulled" {
		return FieldError("outcome", "Attendu upheld (maintenue) ou annulled (annulée).")
	}
	if err := text("reason", "La motivation", a.Reason, true, 4000); err != nil {
		return err
	}
	return pastDate("decided_on", "La date", a.DecidedOn, today)
}

// TakeNote moves the reason out.
func (a *AppealDecision) TakeNote() string {
	v := a.Reason
	a.Reason = ""
	return v
}

// RadiationDecision is the département's decision on each step of the
// radiation path after a 4-month total suppression.
type RadiationDecision struct {
	Step      string `json:"step"` // france_travail, rsa_right
	Decided   bool   `json:"decided"`
	DecidedOn Date   `json:"decided_on"`
	Recorded
}

// Validate checks a radiation decision.
func (r RadiationDecision) Validate(today Date) error {
	if r.Step != "france_travail" && r.Step != "rsa_right" {
		return FieldError("step", "Étape inconnue : france_travail ou rsa_right.")
	}
	return pastDate("decided_on", "La date", r.DecidedOn, today)
}

// TakeNote: no free text.
func (r *RadiationDecision) TakeNote() string { return "" }

// Relance records a reminder sent to the person.
type Relance struct {
	Number  int    `json:"number"` // 1 or 2
	SentOn  Date   `json:"sent_on"`
	Channel string `json:"channel"` // letter, email, phone, sms, meeting
	Recorded
}

// Validate checks a relance.
func (r Relance) Validate(today Date) error {
	if r.Number != 1 && r.Number != 2 {
		return FieldError("number", "Relance 1 ou 2.")
	}
	if !slices.Contains([]string{"letter", "email", "phone", "sms", "meeting"}, r.Channel) {
		return FieldError("channel", "Canal inconnu %q : letter, email, phone, sms ou meeting.", r.Channel)
	}
	return pastDate("sent_on", "La date", r.SentOn, today)
}

// TakeNote: no free text.
func (r *Relance) TakeNote() string { return "" }

// EscalationSettings are the relance and sanction settings of a parcours.
type EscalationSettings struct {
	Relance1Days     int `json:"relance_1_days"`     // after the overdue contract deadline's due date
	Relance2Days     int `json:"relance_2_days"`     // idem
	ProposalDays     int `json:"proposal_days"`      // breach proposal
	PaybackCapMonths int `json:"payback_cap_months"` // unverified (parliamentary record)
	RepeatMonths     int `json:"repeat_months"`      // repeat window, unverified (R5412-3-4 code du travail)
}

// DefaultEscalation are the defaults.
func DefaultEscalation() EscalationSettings {
	return EscalationSettings{Relance1Days: 0, Relance2Days: 15, ProposalDays: 30, PaybackCapMonths: 3, RepeatMonths: 24}
}

// CheckProcedure checks a sanction decision against the contradictory
// procedure's own dates (L262-37 III CASF, décret 2025-478), whenever it is
// recorded: the decision cannot precede the notice's receipt, and it cannot
// fall inside the observation period (receipt + ObservationDays, last day
// included) unless the person was heard on or before the decision's date.
// heardOn is zero when no hearing took place.
func CheckProcedure(decidedOn, receivedOn, observationEnds, heardOn Date) error {
	if decidedOn.Before(receivedOn) {
		return FieldError("decided_on", "La décision du %s précède la réception du courrier d'information le %s : la personne doit d'abord connaître les faits et la sanction envisagée (L262-37 III CASF).",
			decidedOn.French(), receivedOn.French())
	}
	if !decidedOn.After(observationEnds) && (heardOn.IsZero() || heardOn.After(decidedOn)) {
		return FieldError("decided_on", "La décision du %s tombe dans le délai d'observation, qui court jusqu'au %s inclus (L262-37 III CASF, décret 2025-478) : elle doit suivre ce délai, ou l'audition de la personne.",
			decidedOn.French(), observationEnds.French())
	}
	return nil
}

// AppealWindowFrench says where the prior administrative appeal's window
// stands for a decided case (R262-88 CASF: 2 months from the decision's
// notification): "" without a sanction.
func AppealWindowFrench(kind SanctionKind, notifiedOn, dueOn Date) string {
	switch {
	case kind != SanctionSuspension && kind != SanctionSuppression:
		return ""
	case notifiedOn.IsZero():
		return "notification non enregistrée : le délai de recours administratif préalable (2 mois, R262-88 CASF) n'a pas commencé"
	}
	return fmt.Sprintf("recours administratif préalable jusqu'au %s (2 mois après la notification du %s, R262-88 CASF)", dueOn.French(), notifiedOn.French())
}

// WithinRepeatWindow says whether a breach reported on a date falls within
// the repeat window of an earlier sanction notified (or, when its
// notification is unknown, decided) on from: months months, the last day
// included (art. 641 CPC). The window (24 months by default) is that of
// R5412-3-4 code du travail for job seekers; the RSA article was not
// read: PARCOURS_REPEAT_WINDOW_MONTHS, unverified.
func WithinRepeatWindow(from, reported Date, months int) bool {
	return !reported.Before(from) && !reported.After(from.AddMonths(months))
}
