package domain

import (
	"fmt"
	"time"
)

// The read model's elements: what the Parcours and SuspensionReview
// workflows write to PostgreSQL (workflows.SyncInput and SyncReviewInput
// are these types), kept beside the views they become so that
// internal/postgres needs the domain only. Their JSON is the activities'
// payload in recorded histories: renaming a field breaks replay.

// DeadlineState is one deadline of a parcours and where it stands.
type DeadlineState struct {
	Deadline
	Cycle     int            `json:"cycle"`
	Task      TaskKind       `json:"task,omitempty"`     // the task it gives
	OpensOn   Date           `json:"opens_on,omitempty"` // its task appears that day; zero: at once
	Status    DeadlineStatus `json:"status"`
	MetOn     Date           `json:"met_on"`
	OverdueAt time.Time      `json:"overdue_at"`
	Rev       int64          `json:"rev,omitempty"` // state version of its last change
}

// TaskKind is the task the deadline gives (states recorded before Task
// existed derive it from the kind).
func (d DeadlineState) TaskKind() TaskKind {
	if d.Task != "" {
		return d.Task
	}
	return TaskFor(d.Kind)
}

// OverdueFrom is the first instant the deadline is overdue: 00:00
// Europe/Paris on the day after its due date (md).
func (d DeadlineState) OverdueFrom() time.Time { return d.OverdueFromIn(Paris) }

// OverdueFromIn is OverdueFrom in zone loc (Settings.Location).
func (d DeadlineState) OverdueFromIn(loc *time.Location) time.Time {
	return d.DueOn.AddDays(1).TimeIn(loc)
}

// TaskState is one task of a parcours.
type TaskState struct {
	Kind      TaskKind   `json:"kind"`
	Cycle     int        `json:"cycle"`
	DueOn     Date       `json:"due_on"`
	Status    TaskStatus `json:"status"`
	Assignee  string     `json:"assignee"`
	OverdueAt time.Time  `json:"overdue_at"`
	DoneAt    time.Time  `json:"done_at"`
	Rev       int64      `json:"rev,omitempty"`
}

// Event is one dated fact of the parcours' timeline.
type Event struct {
	Seq        int       `json:"seq"`
	Kind       string    `json:"kind"`
	OccurredOn Date      `json:"occurred_on"`
	At         time.Time `json:"at"`
	Summary    string    `json:"summary"` // French, without names
	Actor      string    `json:"actor,omitempty"`
	NoteID     string    `json:"note_id,omitempty"`
}

// OrientationRow is one orientation of the parcours, for the read model.
type OrientationRow struct {
	Seq           int         `json:"seq"`
	Orientation   Orientation `json:"orientation"`
	PreviousOn    Date        `json:"previous_on"`     // the previous orientation's decision
	Within6Months bool        `json:"within_6_months"` // a re-orientation within 6 months of it
	NoteID        string      `json:"note_id,omitempty"`
	Rev           int64       `json:"rev,omitempty"`
}

// ContractRow is one contract of the parcours.
type ContractRow struct {
	Seq      int      `json:"seq"`
	Contract Contract `json:"contract"`
	Rev      int64    `json:"rev,omitempty"`
}

// ActionRow is one insertion action and, once ended, its outcome.
type ActionRow struct {
	Seq     int            `json:"seq"`
	Action  Action         `json:"action"`
	Outcome *ActionOutcome `json:"outcome,omitempty"`
	Rev     int64          `json:"rev,omitempty"`
}

// CaseRow is a sanction case as the parcours opens it; the case's own
// workflow writes everything after.
type CaseRow struct {
	Number int    `json:"number"`
	Breach Breach `json:"breach"`
	Repeat bool   `json:"repeat"`
	Rev    int64  `json:"rev,omitempty"`
}

// FollowUpRow is a follow-up 3 or 6 months after an action.
type FollowUpRow struct {
	Action    int             `json:"action"`
	Months    int             `json:"months"`
	OpensOn   Date            `json:"opens_on"`
	DueOn     Date            `json:"due_on"`
	Answer    *FollowUpAnswer `json:"answer,omitempty"`
	Cancelled bool            `json:"cancelled,omitempty"`
	Rev       int64           `json:"rev,omitempty"`
}

// SyncInput is what SyncParcours writes to the read model, in one
// transaction: the parcours' current status and the records changed since
// the last write. It is idempotent (upserts keyed by parcours, kind and
// cycle; events by sequence) and ordered (skipped whole if Version is older
// than the row's).
type SyncInput struct {
	ParcoursID   string           `json:"parcours_id"`
	Version      int64            `json:"version"`
	Status       Status           `json:"status"`
	Orientation  *Orientation     `json:"orientation,omitempty"`
	Contract     *Contract        `json:"contract,omitempty"`
	Exit         *Exit            `json:"exit,omitempty"`
	Deadlines    []DeadlineState  `json:"deadlines"`
	Tasks        []TaskState      `json:"tasks"`
	Events       []Event          `json:"events"`
	Orientations []OrientationRow `json:"orientations,omitempty"`
	Contracts    []ContractRow    `json:"contracts,omitempty"`
	Actions      []ActionRow      `json:"actions,omitempty"`
	FollowUps    []FollowUpRow    `json:"follow_ups,omitempty"`
	Cases        []CaseRow        `json:"cases,omitempty"` // cases opened: their first row
	// Epoch is the guard's first key (docs/resync.md): a resync raises it,
	// so that its write wins over a row of a lower epoch whatever the
	// versions. Zero (absent) until a first resync.
	Epoch int64 `json:"epoch,omitempty"`
	// Full: the write carries every record the workflow still holds (a
	// resync): an open deadline or task of the parcours the write does not
	// carry is not the workflow's any more, and leaves the read model.
	Full bool `json:"full,omitempty"`
}

// ReviewState is the whole state of a case.
type ReviewState struct {
	Status          string              `json:"status"`
	Notice          *Notice             `json:"notice,omitempty"`
	ObservationEnds Date                `json:"observation_ends_on,omitempty"`
	Hearing         *Hearing            `json:"hearing,omitempty"`
	Compliance      *Compliance         `json:"compliance,omitempty"`
	Legitimate      *LegitimateReason   `json:"legitimate_reason,omitempty"`
	Decision        *Decision           `json:"decision,omitempty"`
	PaybackMonths   int                 `json:"payback_months"`
	PaybackCents    int64               `json:"payback_cents"`
	AppealDueOn     Date                `json:"appeal_due_on,omitempty"`
	NotifiedOn      Date                `json:"decision_notified_on,omitempty"` // the decision's receipt: the RAPO window runs from it
	Appeal          *Appeal             `json:"appeal,omitempty"`
	AppealDecision  *AppealDecision     `json:"appeal_decision,omitempty"`
	Radiation       []RadiationDecision `json:"radiation,omitempty"`
	Tasks           []TaskState         `json:"tasks"`
	NextSeq         int                 `json:"next_seq"`
	Unsynced        []Event             `json:"unsynced"`
	Version         int64               `json:"version"`
	Epoch           int64               `json:"epoch,omitempty"` // raised by a resync (SyncInput.Epoch)
}

// SyncReviewInput writes a case to the read model.
type SyncReviewInput struct {
	ReviewID   string      `json:"review_id"`
	ParcoursID string      `json:"parcours_id"`
	Number     int         `json:"number"`
	Breach     Breach      `json:"breach"`
	Repeat     bool        `json:"repeat"`
	State      ReviewState `json:"state"`
	Steps      []Event     `json:"steps"`
}

// ReviewID is the public identifier of case n of a parcours.
func ReviewID(parcoursID string, n int) string { return fmt.Sprintf("%s-%d", parcoursID, n) }
