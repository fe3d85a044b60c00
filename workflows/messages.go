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
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// TaskQueue is the task queue every worker of the service polls.
const TaskQueue = "parcours"

// Message and activity names. They are part of recorded histories: never
// rename one without a workflow.GetVersion branch and a replay test.
const (
	ParcoursWorkflow = "Parcours"

	RegisterUpdate          = "register"           // update-with-start: returns once the read model has the parcours
	RecordOrientationUpdate = "record_orientation" // domain.Orientation
	RecordContractUpdate    = "record_contract"    // domain.Contract
	StateQuery              = "state"              // ParcoursState

	SyncParcoursActivity = "SyncParcours" // SyncInput
)

// ParcoursWorkflowID is the workflow ID of a parcours: one parcours, one
// workflow, so a second start finds the first.
func ParcoursWorkflowID(parcoursID string) string { return "parcours-" + parcoursID }

// ParcoursInput starts a Parcours workflow. State is set only when the
// workflow continues as new.
type ParcoursInput struct {
	ParcoursID string         `json:"parcours_id"`
	Policy     string         `json:"policy"`
	EnteredOn  domain.Date    `json:"entered_on"`
	ReceivedOn domain.Date    `json:"received_on"`
	State      *ParcoursState `json:"state,omitempty"`
}

// UpdateResult answers every update: the read-model version written.
type UpdateResult struct {
	Version int64         `json:"version"`
	Status  domain.Status `json:"status"`
}

// DeadlineState is one deadline of a parcours and where it stands.
type DeadlineState struct {
	domain.Deadline
	Cycle     int                   `json:"cycle"`
	Status    domain.DeadlineStatus `json:"status"`
	MetOn     domain.Date           `json:"met_on"`
	OverdueAt time.Time             `json:"overdue_at"`
}

// OverdueFrom is the first instant the deadline is overdue: 00:00
// Europe/Paris on the day after its due date (domain.md).
func (d DeadlineState) OverdueFrom() time.Time { return d.DueOn.AddDays(1).Time() }

// TaskState is one task of a parcours.
type TaskState struct {
	Kind      domain.TaskKind   `json:"kind"`
	Cycle     int               `json:"cycle"`
	DueOn     domain.Date       `json:"due_on"`
	Status    domain.TaskStatus `json:"status"`
	Assignee  string            `json:"assignee"`
	OverdueAt time.Time         `json:"overdue_at"`
	DoneAt    time.Time         `json:"done_at"`
}

// Event is one dated fact of the parcours' timeline.
type Event struct {
	Seq        int         `json:"seq"`
	Kind       string      `json:"kind"`
	OccurredOn domain.Date `json:"occurred_on"`
	At         time.Time   `json:"at"`
	Summary    string      `json:"summary"` // French, without names
}

// Event kinds.
const (
	EventEntered           = "entered"
	EventDeadlineOverdue   = "deadline_overdue"
	EventOrientationRecord = "orientation_recorded"
	EventContractSigned    = "contract_signed"
)

// ParcoursState is the whole state of a Parcours workflow: what the state
// query returns and what continue-as-new carries.
type ParcoursState struct {
	Status      domain.Status       `json:"status"`
	Facts       domain.Facts        `json:"facts"`
	Orientation *domain.Orientation `json:"orientation,omitempty"`
	Contract    *domain.Contract    `json:"contract,omitempty"`
	Deadlines   []DeadlineState     `json:"deadlines"`
	Tasks       []TaskState         `json:"tasks"`
	NextSeq     int                 `json:"next_seq"`
	Unsynced    []Event             `json:"unsynced"`
	Version     int64               `json:"version"`
}

// SyncInput is what SyncParcours writes to the read model, in one
// transaction: the current state of the parcours and its new events. It is
// idempotent (upserts keyed by parcours, kind and cycle; events by sequence)
// and ordered (a row is written only if Version is newer).
type SyncInput struct {
	ParcoursID  string              `json:"parcours_id"`
	Version     int64               `json:"version"`
	Status      domain.Status       `json:"status"`
	Orientation *domain.Orientation `json:"orientation,omitempty"`
	Contract    *domain.Contract    `json:"contract,omitempty"`
	Deadlines   []DeadlineState     `json:"deadlines"`
	Tasks       []TaskState         `json:"tasks"`
	Events      []Event             `json:"events"`
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
