package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Lifecycle statuses beyond the foundation's.
const (
	StatusExited Status = "exited"
)

// Deadline kinds, bases and task kinds of the whole parcours.
const (
	DeadlineRenewal   DeadlineKind   = "renewal"     // prepare the next contract
	DeadlineReview    DeadlineKind   = "review"      // social-track review (L262-31)
	DeadlineActionEnd DeadlineKind   = "action_end"  // record an action's outcome
	DeadlineFollowUp3 DeadlineKind   = "follow_up_3" // post-accompaniment follow-up, 3 months
	DeadlineFollowUp6 DeadlineKind   = "follow_up_6" // and 6 months after the action
	DeadlineReorient  DeadlineKind   = "reorientation"
	BasisContractTerm Basis          = "contract_term" // the contract in force ends
	DeadlineCancelled DeadlineStatus = "cancelled"

	TaskRenewContract       TaskKind = "renew_contract"
	TaskReviewSocial        TaskKind = "review_social"
	TaskCloseAction         TaskKind = "close_action"
	TaskFollowUp3           TaskKind = "follow_up_3"
	TaskFollowUp6           TaskKind = "follow_up_6"
	TaskDecideReorientation TaskKind = "decide_reorientation"

	DeadlineRelance1       DeadlineKind = "relance_1"
	DeadlineRelance2       DeadlineKind = "relance_2"
	DeadlineBreachProposal DeadlineKind = "breach_proposal"
	TaskRelance1           TaskKind     = "relance_1"
	TaskRelance2           TaskKind     = "relance_2"
	TaskProposeBreach      TaskKind     = "propose_breach"
	TaskAwaitFranceTravail TaskKind     = "await_france_travail" // the orientation passed to France Travail
)

// Settings are the parcours' tunable delays (PARCOURS_* variables), fixed
// when the parcours starts.
type Settings struct {
	RenewalNoticeDays int                `json:"renewal_notice_days"` // renew_contract falls due this many days before the end
	FollowUpWindow    Delay              `json:"follow_up_window"`    // a follow-up task is overdue this long after it opens
	Escalation        EscalationSettings `json:"escalation"`
	// Overseas: the département is overseas (PARCOURS_OVERSEAS): the stock
	// contract is due on 1 January 2028 instead of 2027 (décret 2025-816).
	Overseas bool `json:"overseas,omitempty"`
	// Art642 (PARCOURS_ART642, off by default): the rule sets' delays
	// that end on a Saturday, Sunday or public holiday move to the next
	// working day (art. 642 CPC; holidays: PublicHoliday).
	Art642 bool `json:"art_642,omitempty"`
	// ZoneOffset, when set, is a fixed zone (seconds east of UTC) the
	// parcours counts its calendar dates in instead of Europe/Paris. The
	// service never sets it: Europe/Paris is the law's zone (domain.md).
	// The bench does, so that thousands of deadlines fall due at one
	// instant of its choosing (internal/bench, the burst) without moving
	// the service's zone under running code.
	ZoneOffset *int `json:"zone_offset,omitempty"`
}

// Location is the zone the parcours' calendar dates live in: Europe/Paris
// unless ZoneOffset is set.
func (s Settings) Location() *time.Location {
	if s.ZoneOffset == nil {
		return Paris
	}
	return time.FixedZone("decalage", *s.ZoneOffset)
}

// DefaultSettings are the defaults of the issue and of seed 004.
func DefaultSettings() Settings {
	return Settings{RenewalNoticeDays: 30, FollowUpWindow: Delay{Months: 1}, Escalation: DefaultEscalation()}
}

// Recorded is embedded in every command sent to a workflow: the account
// that recorded it and the note that goes with it. The service sets both;
// clients cannot (api:"-"). Free text (reasons, notes, assessments) may hold
// anything, health included: the service stores it in PostgreSQL and the
// workflow history only carries the note's id.
type Recorded struct {
	RecordedBy string `json:"recorded_by,omitempty" api:"-"`
	NoteID     string `json:"note_id,omitempty" api:"-"`
}

// Text is one free text of a command besides its note (an action's name
// and structure, the obligation a breach names): the service keeps it in
// PostgreSQL (table notes, of kind Kind) before the command goes to its
// workflow, empties Body and sets ID; the workflow carries only the id, and
// the read model shows the text by joining (issue 20, item 7).
type Text struct {
	Kind string
	Body *string
	ID   *string
}

// Texted is a command with such texts.
type Texted interface {
	Texts() []Text
}

// Meta gives access to the envelope of a command.
func (r *Recorded) Meta() *Recorded { return r }

// Command is what every workflow command is.
type Command interface {
	Meta() *Recorded
	// TakeNote removes the command's free text and returns it.
	TakeNote() string
}

// ReorientationRequest asks the département for a new orientation.
type ReorientationRequest struct {
	Reason      string `json:"reason"`
	RequestedOn Date   `json:"requested_on"`
	Recorded
}

// Validate checks a request on its own.
func (r ReorientationRequest) Validate(today Date) error {
	if err := text("reason", "Le motif de la demande", r.Reason, true, 1000); err != nil {
		return err
	}
	return pastDate("requested_on", "La date de la demande", r.RequestedOn, today)
}

// ReorientationDecision is the département's answer to a request.
type ReorientationDecision struct {
	Accept     bool   `json:"accept"`
	Track      Track  `json:"track"`
	Organism   string `json:"organism"`
	ReferentID string `json:"referent_id"`
	DecidedOn  Date   `json:"decided_on"`
	Reason     string `json:"reason"`
	// NotifiedOn, NotifiedAssumed: as for Orientation (D5411-14-1 code du travail).
	NotifiedOn      Date `json:"notified_on,omitempty"`
	NotifiedAssumed bool `json:"notified_assumed,omitempty" api:"-"`
	Recorded
}

// AssumeNotified: as Orientation.AssumeNotified, for an accepted decision.
func (d *ReorientationDecision) AssumeNotified() {
	if d.Accept && d.NotifiedOn.IsZero() {
		d.NotifiedOn, d.NotifiedAssumed = d.DecidedOn, true
	}
}

// Orientation is the new orientation an accepted decision makes.
func (d ReorientationDecision) Orientation() Orientation {
	return Orientation{Track: d.Track, Organism: d.Organism, ReferentID: d.ReferentID, DecidedOn: d.DecidedOn,
		NotifiedOn: d.NotifiedOn, NotifiedAssumed: d.NotifiedAssumed, Recorded: d.Recorded}
}

// Validate checks a decision on its own.
func (d ReorientationDecision) Validate(today Date) error {
	if d.Accept {
		return d.Orientation().Validate(today)
	}
	if err := text("reason", "Le motif du refus", d.Reason, true, 1000); err != nil {
		return err
	}
	return pastDate("decided_on", "La date de décision", d.DecidedOn, today)
}

// WithinSixMonths says whether a re-orientation decided on d comes within
// 6 months of the orientation decided on prev (the indicator of seed 002),
// the last day included, as every delay here counts (art. 641 CPC,
// domain.md): 31/03 → 30/09 is within, 01/10 is not.
func WithinSixMonths(prev, d Date) bool { return !d.After(prev.AddMonths(6)) }

// Reassignment changes the référent without changing the orientation.
type Reassignment struct {
	ReferentID string `json:"referent_id"`
	Reason     string `json:"reason"`
	On         Date   `json:"on"`
	Recorded
}

// Validate checks a reassignment on its own.
func (r Reassignment) Validate(today Date) error {
	if !beneficiaryIDPattern.MatchString(strings.TrimSpace(r.ReferentID)) {
		return FieldError("referent_id", "L'identifiant du nouveau référent est obligatoire (lettres, chiffres et . _ : -).")
	}
	if err := text("reason", "Le motif", r.Reason, false, 1000); err != nil {
		return err
	}
	return pastDate("on", "La date du changement", r.On, today)
}

// Obstacles are what extends the social-track review to 12 months
// (L262-31). Health and disability are special-category data: the
// categories stay in PostgreSQL; the workflow only learns Any().
type Obstacles struct {
	Categories []string `json:"categories"`
	On         Date     `json:"on"`
	Recorded
}

// ObstacleCategories are the obstacles L262-31 names.
var ObstacleCategories = []string{"health", "disability", "housing", "family"}

// Validate checks the categories.
func (o Obstacles) Validate(today Date) error {
	for _, c := range o.Categories {
		if !slices.Contains(ObstacleCategories, c) {
			return FieldError("categories", "Frein inconnu %q : health, disability, housing ou family.", c)
		}
	}
	return pastDate("on", "La date", o.On, today)
}

// Review is the social-track review's result.
type Review struct {
	ReviewedOn Date   `json:"reviewed_on"`
	Outcome    string `json:"outcome"` // continue, reorientation_requested
	Note       string `json:"note"`
	Recorded
}

// Validate checks a review on its own.
func (r Review) Validate(today Date) error {
	if r.Outcome != "continue" && r.Outcome != "reorientation_requested" {
		return FieldError("outcome", "Résultat inconnu %q : continue ou reorientation_requested.", r.Outcome)
	}
	if err := text("note", "La note", r.Note, false, 2000); err != nil {
		return err
	}
	return pastDate("reviewed_on", "La date de l'examen", r.ReviewedOn, today)
}

// Action is an insertion action the beneficiary joins.
type Action struct {
	Name         string `json:"name"`
	Kind         string `json:"kind"`
	Structure    string `json:"structure"`
	StartsOn     Date   `json:"starts_on"`
	PlannedEndOn Date   `json:"planned_end_on"`
	// NameID and StructureID are the notes holding the name and the
	// structure once the service took them (Texts): a health action's name
	// says the person's health. Name and Structure are then empty; actions
	// recorded before carry them.
	NameID      string `json:"name_id,omitempty" api:"-"`
	StructureID string `json:"structure_id,omitempty" api:"-"`
	Recorded
}

// Texts are the action's name and structure.
func (a *Action) Texts() []Text {
	return []Text{{Kind: "action_name", Body: &a.Name, ID: &a.NameID}, {Kind: "action_structure", Body: &a.Structure, ID: &a.StructureID}}
}

// ActionLabel names action number n for a workflow's texts: by its name
// when the workflow knows it (actions recorded before the names left the
// histories, and a reprise's), else by its number.
func ActionLabel(n int, name string) string {
	if name == "" {
		return fmt.Sprintf("n° %d", n)
	}
	return "« " + name + " »"
}

// ActionKinds are the kinds of actions (seed 004's families of actions).
var ActionKinds = []string{"training", "employment_support", "work_immersion", "siae", "social_support", "health", "housing", "mobility", "digital", "other"}

// Validate checks an action on its own.
func (a Action) Validate(today Date) error {
	if err := text("name", "Le nom de l'action", a.Name, true, 200); err != nil {
		return err
	}
	if a.Kind == "" {
		return FieldError("kind", "Le type d'action est obligatoire.")
	}
	if !slices.Contains(ActionKinds, a.Kind) {
		return FieldError("kind", "Type d'action inconnu %q : %s.", a.Kind, strings.Join(ActionKinds, ", "))
	}
	if err := text("structure", "La structure", a.Structure, true, 200); err != nil {
		return err
	}
	switch {
	case a.StartsOn.IsZero():
		return FieldError("starts_on", "La date de début est obligatoire.")
	case a.PlannedEndOn.IsZero():
		return FieldError("planned_end_on", "La date de fin prévue est obligatoire.")
	case a.PlannedEndOn.Before(a.StartsOn):
		return FieldError("planned_end_on", "La fin prévue précède le début (%s).", a.StartsOn.French())
	}
	return nil
}

// Outcome categories of an action's end (Hérault PDI, seed 001, domain.md).
const (
	OutcomeInsertionDurable  = "insertion_durable"
	OutcomeMiseEnParcoursPro = "mise_en_parcours_professionnel"
	OutcomeDynamique         = "dynamique_de_parcours"
	OutcomeAutres            = "autres_motifs"
)

// OutcomeDetails lists, per category, the details domain.md defines.
var OutcomeDetails = map[string][]string{
	OutcomeInsertionDurable: {"work_contract_6_months_half_time", "qualifying_training_450h", "business_creation_1500_eur"},
	OutcomeMiseEnParcoursPro: {"short_or_part_time_contract", "short_or_pre_qualifying_training", "business_creation",
		"incubator", "childminder_approval", "foreign_diploma_validation"},
	OutcomeDynamique: {"referral_other_action", "referral_france_travail", "work_immersion", "skills_assessment",
		"driving_licence", "digital_certificate", "health_cover_opened"},
	OutcomeAutres: {"other_benefit", "dropped_out", "refused", "moved", "maternity", "hospital", "death", "prison", "other"},
}

// ActionOutcome ends an action.
type ActionOutcome struct {
	EndedOn  Date   `json:"ended_on"`
	Category string `json:"category"`
	Detail   string `json:"detail"`
	Recorded
}

// Validate checks an outcome on its own.
func (o ActionOutcome) Validate(today Date) error {
	switch {
	case o.Category == "":
		return FieldError("category", "La catégorie de sortie est obligatoire.")
	case o.Detail == "":
		return FieldError("detail", "Le détail de la sortie est obligatoire.")
	}
	details, ok := OutcomeDetails[o.Category]
	if !ok {
		return FieldError("category", "Catégorie de sortie inconnue %q : insertion_durable, mise_en_parcours_professionnel, dynamique_de_parcours ou autres_motifs.", o.Category)
	}
	if !slices.Contains(details, o.Detail) {
		return FieldError("detail", "Détail %q hors de la catégorie %s : %s.", o.Detail, o.Category, strings.Join(details, ", "))
	}
	return pastDate("ended_on", "La date de fin", o.EndedOn, today)
}

// Follow-up situations, 3 and 6 months after an action.
var FollowUpSituations = []string{"employment", "training", "job_search", "other_action", "no_longer_looking", "no_news", "other"}

// EmploymentKinds qualify a follow-up in employment.
var EmploymentKinds = []string{"cdi", "cdd_6_months_plus", "cdd_under_6_months", "interim", "siae", "subsidised_contract", "self_employed"}

// FollowUpAnswer is what the référent records at a follow-up.
type FollowUpAnswer struct {
	AnsweredOn     Date   `json:"answered_on"`
	Situation      string `json:"situation"`
	EmploymentKind string `json:"employment_kind"`
	Note           string `json:"note"`
	Recorded
}

// Validate checks an answer on its own.
func (f FollowUpAnswer) Validate(today Date) error {
	if f.Situation == "" {
		return FieldError("situation", "La situation est obligatoire.")
	}
	if !slices.Contains(FollowUpSituations, f.Situation) {
		return FieldError("situation", "Situation inconnue %q : %s.", f.Situation, strings.Join(FollowUpSituations, ", "))
	}
	switch {
	case f.Situation == "employment" && !slices.Contains(EmploymentKinds, f.EmploymentKind):
		return FieldError("employment_kind", "Type d'emploi requis : %s.", strings.Join(EmploymentKinds, ", "))
	case f.Situation != "employment" && f.EmploymentKind != "":
		return FieldError("employment_kind", "Le type d'emploi ne s'indique que pour la situation employment.")
	}
	if err := text("note", "La note", f.Note, false, 2000); err != nil {
		return err
	}
	return pastDate("answered_on", "La date du suivi", f.AnsweredOn, today)
}

// Exit reasons: the person leaves droits et devoirs.
var ExitReasons = []string{"end_of_rights", "suspended_by_payer", "moved", "income_above_threshold", "death", "other"}

// Exit ends the parcours.
type Exit struct {
	Reason string `json:"reason"`
	On     Date   `json:"on"`
	Note   string `json:"note"`
	Recorded
}

// Validate checks an exit on its own.
func (e Exit) Validate(today Date) error {
	if e.Reason == "" {
		return FieldError("reason", "Le motif de sortie est obligatoire.")
	}
	if !slices.Contains(ExitReasons, e.Reason) {
		return FieldError("reason", "Motif de sortie inconnu %q : %s.", e.Reason, strings.Join(ExitReasons, ", "))
	}
	if err := text("note", "La note", e.Note, false, 1000); err != nil {
		return err
	}
	return pastDate("on", "La date de sortie", e.On, today)
}

func text(field, label, v string, required bool, max int) error {
	switch {
	case required && strings.TrimSpace(v) == "":
		return FieldError(field, "%s est obligatoire.", label)
	case utf8.RuneCountInString(v) > max:
		return FieldError(field, "%s dépasse %d caractères.", label, max)
	}
	return nil
}

func pastDate(field, label string, d, today Date) error {
	switch {
	case d.IsZero():
		return FieldError(field, "%s est obligatoire.", label)
	case d.After(today):
		return FieldError(field, "%s ne peut pas être dans le futur.", label)
	}
	return nil
}

// TakeNote moves the free text out of the command.
func (c *ReorientationRequest) TakeNote() string {
	v := c.Reason
	c.Reason = ""
	return v
}

// TakeNote moves the free text out of the command.
func (c *ReorientationDecision) TakeNote() string {
	v := c.Reason
	c.Reason = ""
	return v
}

// TakeNote moves the free text out of the command.
func (c *Reassignment) TakeNote() string {
	v := c.Reason
	c.Reason = ""
	return v
}

// TakeNote moves the free text out of the command.
func (c *Review) TakeNote() string {
	v := c.Note
	c.Note = ""
	return v
}

// TakeNote moves the free text out of the command.
func (c *FollowUpAnswer) TakeNote() string {
	v := c.Note
	c.Note = ""
	return v
}

// TakeNote moves the free text out of the command.
func (c *Exit) TakeNote() string {
	v := c.Note
	c.Note = ""
	return v
}

// TakeNote: this command has no free text.
func (c *Obstacles) TakeNote() string { return "" }

// TakeNote: this command has no free text.
func (c *Action) TakeNote() string { return "" }

// TakeNote: this command has no free text.
func (c *ActionOutcome) TakeNote() string { return "" }
