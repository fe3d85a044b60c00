// Package workflows holds the Temporal workflows of the service and
// everything about their messages: names of updates and queries, inputs and
// results, workflow IDs. It imports only pure code (internal/domain) and the
// SDK: activities are called by name, their contracts are defined here.
//
// Workflow histories carry identifiers, dates, kinds and rule texts, never a
// beneficiary's name or NIR: those live only in PostgreSQL.
package workflows

import (
	"errors"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// TaskQueue is the task queue every worker of the service polls.
const TaskQueue = "parcours"

// Message and activity names. They are part of recorded histories: never
// rename one without a workflow.GetVersion branch and a replay test.
const (
	ParcoursWorkflow = "Parcours"

	RegisterUpdate             = "register"              // update-with-start: returns once the read model has the parcours
	RecordOrientationUpdate    = "record_orientation"    // domain.Orientation
	RecordContractUpdate       = "record_contract"       // domain.Contract (first or renewal)
	RequestReorientationUpdate = "request_reorientation" // domain.ReorientationRequest
	DecideReorientationUpdate  = "decide_reorientation"  // domain.ReorientationDecision
	ReassignReferentUpdate     = "reassign_referent"     // domain.Reassignment
	SetReviewExtensionUpdate   = "set_review_extension"  // ReviewExtension
	RecordReviewUpdate         = "record_review"         // domain.Review
	RecordActionUpdate         = "record_action"         // domain.Action; result Ref = action number
	RecordActionOutcomeUpdate  = "record_action_outcome" // OutcomeInput
	RecordFollowUpUpdate       = "record_follow_up"      // FollowUpInput
	RecordExitUpdate           = "record_exit"           // domain.Exit
	RecordRelanceUpdate        = "record_relance"        // domain.Relance
	ReportBreachUpdate         = "report_breach"         // domain.Breach; result Ref = case number
	MarkStockUpdate            = "mark_stock"            // StockMark: the stock contract deadline (runs started before revision 2)
	// RecordOrientationNotifiedUpdate: domain.OrientationNotice, the
	// orientation letter's receipt (D5411-14-1 code du travail).
	RecordOrientationNotifiedUpdate = "record_orientation_notified"
	StateQuery                      = "state" // ParcoursState

	SyncParcoursActivity = "SyncParcours" // SyncInput
)

// ParcoursWorkflowID is the workflow ID of a parcours: one parcours, one
// workflow, so a second start finds the first.
func ParcoursWorkflowID(parcoursID string) string { return "parcours-" + parcoursID }

// ParcoursIDOf is the parcours of a workflow ID that ParcoursWorkflowID
// made (an id an operator typed); ok is false for any other workflow.
func ParcoursIDOf(workflowID string) (parcoursID string, ok bool) {
	return strings.CutPrefix(workflowID, ParcoursWorkflowID(""))
}

// CurrentRevision is the Revision of the runs this code starts.
// 2: a run may start from a reprise (ParcoursInput.Reprise), and owes the
// stock contract deadline when entered before 1 January 2025.
// 3: the wait for the next date due cancels its timer when an update ends
// it, and the read model's write falls back from a local activity to an
// ordinary one after its local limit (ParcoursOptions.SyncLocalLimit,
// docs/decisions/0006).
const CurrentRevision = 3

// ParcoursInput starts a Parcours workflow. State is set only when the
// workflow continues as new.
type ParcoursInput struct {
	// Revision is the workflow code's revision the run was started with.
	// 1: every change up to "all-2026-12" applies, and the run records no
	// version marker for it: a new marker also upserts the
	// TemporalChangeVersion search attribute, and that visibility write was
	// a tenth of the import's CPU (make bench --profile). 0 (absent), the
	// runs started before it: their markers decide, as they were recorded.
	// A change for the runs already open still goes behind
	// workflow.GetVersion; one for new runs only may raise CurrentRevision.
	Revision   int              `json:"revision,omitempty"`
	ParcoursID string           `json:"parcours_id"`
	Policy     string           `json:"policy"`
	EnteredOn  domain.Date      `json:"entered_on"`
	ReceivedOn domain.Date      `json:"received_on"`
	Settings   *domain.Settings `json:"settings,omitempty"` // nil: domain.DefaultSettings()
	// Reprise is the situation a reprise file gives (revision 2 and
	// later): the run starts in that state. Nil: a plain intake.
	Reprise *Reprise       `json:"reprise,omitempty"`
	State   *ParcoursState `json:"state,omitempty"`
}

// Reprise is what the workflow learns of a reprise file's line: ids, dates
// and codes only. Names stay in PostgreSQL (parcours.reprise), and so do the
// obstacles: the workflow only learns that one extends the review
// (ReviewExtended; health is special-category data).
type Reprise struct {
	Orientation    *domain.RepriseOrientation `json:"orientation,omitempty"`
	Contract       *domain.RepriseContract    `json:"contract,omitempty"`
	Stock          bool                       `json:"stock,omitempty"`
	ReviewExtended bool                       `json:"review_extended,omitempty"`
	Action         *domain.RepriseAction      `json:"action,omitempty"`
}

// RepriseFrom is the workflow's part of a reprise (nil for nil).
func RepriseFrom(r *domain.Reprise) *Reprise {
	if r == nil {
		return nil
	}
	return &Reprise{Orientation: r.Orientation, Contract: r.Contract, Stock: r.Stock, ReviewExtended: r.HasObstacles(), Action: r.Action}
}

// StockMark asks a running parcours for the stock contract deadline
// (MarkStockUpdate). Marked: the reprise file says the person was
// accompanied on 1 January 2025, whatever their entry date.
type StockMark struct {
	Marked bool        `json:"marked,omitempty"`
	On     domain.Date `json:"on"`
	domain.Recorded
}

// TakeNote: no free text.
func (m *StockMark) TakeNote() string { return "" }

// UpdateResult answers every update: the read-model version written, and
// for a new action its number.
type UpdateResult struct {
	Version int64         `json:"version"`
	Status  domain.Status `json:"status"`
	Ref     int           `json:"ref,omitempty"`
}

// ReviewExtension tells the workflow whether an obstacle of L262-31 extends
// the social-track review to 12 months. Which obstacle (health...) stays in
// PostgreSQL.
type ReviewExtension struct {
	Extended bool        `json:"extended"`
	On       domain.Date `json:"on"`
	domain.Recorded
}

// TakeNote: no free text.
func (r *ReviewExtension) TakeNote() string { return "" }

// OutcomeInput ends action number Action.
type OutcomeInput struct {
	Action  int                  `json:"action"`
	Outcome domain.ActionOutcome `json:"outcome"`
}

// FollowUpInput answers the follow-up of action Action at Months (3 or 6).
type FollowUpInput struct {
	Action int                   `json:"action"`
	Months int                   `json:"months"`
	Answer domain.FollowUpAnswer `json:"answer"`
}

// The read model's elements live in the domain (internal/postgres reads
// them); the workflows use them under their historical names.
type (
	DeadlineState  = domain.DeadlineState
	TaskState      = domain.TaskState
	Event          = domain.Event
	OrientationRow = domain.OrientationRow
	ContractRow    = domain.ContractRow
	ActionRow      = domain.ActionRow
	CaseRow        = domain.CaseRow
	FollowUpRow    = domain.FollowUpRow
	SyncInput      = domain.SyncInput
)

// Event kinds.
const (
	EventEntered               = "entered"
	EventDeadlineOverdue       = "deadline_overdue"
	EventOrientationRecord     = "orientation_recorded"
	EventOrientationNotified   = "orientation_notified"
	EventContractSigned        = "contract_signed"
	EventContractRenewed       = "contract_renewed"
	EventReorientationRequest  = "reorientation_requested"
	EventReorientationAccepted = "reorientation_accepted"
	EventReorientationRefused  = "reorientation_refused"
	EventReferentReassigned    = "referent_reassigned"
	EventReviewExtension       = "review_extension"
	EventReviewRecorded        = "review_recorded"
	EventActionStarted         = "action_recorded"
	EventActionEnded           = "action_ended"
	EventFollowUpOpened        = "follow_up_due"
	EventFollowUpRecorded      = "follow_up_recorded"
	EventExit                  = "exit"
	EventRelance               = "relance_sent"
	EventBreachReported        = "breach_reported"
	EventReviewStep            = "review_step"
	EventHandedOver            = "orientation_handed_over"
	EventReprise               = "reprise"            // the parcours started from a reprise file
	EventStockDue              = "stock_contract_due" // the stock contract deadline applies
)

// ParcoursState is the whole state of a Parcours workflow: what the state
// query returns and what continue-as-new carries. Closed deadlines, tasks
// and rows leave it once written to the read model, so that it stays small
// over years.
type ParcoursState struct {
	Status      domain.Status       `json:"status"`
	Facts       domain.Facts        `json:"facts"`
	Settings    domain.Settings     `json:"settings"`
	Orientation *domain.Orientation `json:"orientation,omitempty"`
	Contract    *domain.Contract    `json:"contract,omitempty"`
	Exit        *domain.Exit        `json:"exit,omitempty"`
	// RuleSets are the legal rule sets newer than the 2025 law this
	// parcours adopted (parcours_rules.go), each behind its version gate.
	RuleSets []string `json:"rule_sets,omitempty"`

	Orientations  int           `json:"orientations"` // how many so far
	Contracts     int           `json:"contracts"`    // how many signed so far
	ActionCount   int           `json:"action_count"`
	Reorienting   bool          `json:"reorienting"`               // a re-orientation request awaits its decision
	Cases         int           `json:"cases"`                     // sanction cases opened so far
	OpenCase      int           `json:"open_case"`                 // the case in progress, 0 if none
	HandedOver    bool          `json:"handed_over,omitempty"`     // the orientation decision passed to France Travail (D262-65-2)
	HandOverAfter domain.Date   `json:"hand_over_after,omitempty"` // the last day the département could decide
	Sanctions     []domain.Date `json:"sanctions,omitempty"`       // dates of sanctions decided (repeat window)
	// SanctionsNotified are the notifications of those sanctions, when a
	// case reports one: the repeat window counts from them (issue 22).
	SanctionsNotified []domain.Date `json:"sanctions_notified,omitempty"`
	ReviewLonger      bool          `json:"review_extended"` // an obstacle extends the review to 12 months

	OrientationRows []OrientationRow `json:"orientation_rows,omitempty"`
	ContractRows    []ContractRow    `json:"contract_rows,omitempty"`
	Actions         []ActionRow      `json:"actions,omitempty"`
	CaseRows        []CaseRow        `json:"case_rows,omitempty"`
	FollowUps       []FollowUpRow    `json:"follow_ups,omitempty"`
	Deadlines       []DeadlineState  `json:"deadlines"`
	Tasks           []TaskState      `json:"tasks"`

	// Applied are the last updates applied, by update ID, carried across
	// continue-as-new: the server may deliver an update completed in the
	// run's last task once more to the next run (temporalio/temporal#6375).
	Applied []AppliedUpdate `json:"applied,omitempty"`

	NextSeq       int     `json:"next_seq"`
	Unsynced      []Event `json:"unsynced"`
	Version       int64   `json:"version"`
	SyncedVersion int64   `json:"synced_version"`
	// StockMet: the stock deadline was recorded met at once (a contract
	// signed since 1 January 2025 before the service knew of the person);
	// the deadline itself is forgotten once written.
	StockMet bool `json:"stock_met,omitempty"`
	// Epoch is raised by a resync (resync.go); SyncedEpoch is the epoch of
	// the last write done. While Epoch > SyncedEpoch, the next write sends
	// every record held (SyncInput.Full). Both zero until a first resync.
	Epoch       int64 `json:"epoch,omitempty"`
	SyncedEpoch int64 `json:"synced_epoch,omitempty"`
}

// AppliedUpdate is an update the parcours applied, and its answer (Done
// once the handler has returned).
type AppliedUpdate struct {
	ID     string       `json:"id"`
	Done   bool         `json:"done"`
	Result UpdateResult `json:"result"`
}

// Rejection turns a domain error into the application error an update
// validator returns; the error code travels as the error type.
func Rejection(err *domain.Error) error {
	return temporal.NewApplicationErrorWithOptions(err.Message, err.Code, temporal.ApplicationErrorOptions{
		NonRetryable: true,
		Details:      []any{err.Field},
	})
}

// DomainError turns an update's rejection back into the *domain.Error it
// carried; other errors come back unchanged.
func DomainError(err error) error {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return err
	}
	switch appErr.Type() {
	case domain.EINVALID, domain.ECONFLICT, domain.ENOTFOUND:
	default:
		return err
	}
	var field string
	if appErr.HasDetails() {
		_ = appErr.Details(&field) // a rejection without a field still carries its message
	}
	return &domain.Error{Code: appErr.Type(), Message: appErr.Message(), Field: field}
}
