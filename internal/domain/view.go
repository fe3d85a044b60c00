package domain

import "time"

// ParcoursView is a parcours as the read model shows it.
type ParcoursView struct {
	ID            string            `json:"id"`
	BeneficiaryID string            `json:"beneficiary_id"`
	Status        Status            `json:"status"`
	LastName      string            `json:"last_name"`
	FirstName     string            `json:"first_name"`
	BirthDate     Date              `json:"birth_date"`
	EnteredAt     Date              `json:"entered_at"`
	ReceivedOn    Date              `json:"received_on"`
	Policy        string            `json:"policy"`
	ReferentID    string            `json:"referent_id,omitempty"`
	Orientation   *Orientation      `json:"orientation,omitempty"`
	Contract      *Contract         `json:"contract,omitempty"`
	PreviousID    string            `json:"previous_parcours_id,omitempty"`
	Exit          *ExitView         `json:"exit,omitempty"`
	Obstacles     []string          `json:"obstacles"`
	Payer         *PayerView        `json:"payer,omitempty"` // what the CAF/MSA said last, from the imports
	Orientations  []OrientationView `json:"orientations"`
	Contracts     []ContractView    `json:"contracts"`
	Actions       []ActionView      `json:"actions"`
	Reviews       []ReviewView      `json:"reviews"`
	Deadlines     []DeadlineView    `json:"deadlines"`
	Tasks         []TaskView        `json:"tasks"`
	Events        []EventView       `json:"events"`
	CreatedAt     time.Time         `json:"created_at"`
}

// PayerView is the paying body's information on the beneficiary.
type PayerView struct {
	Body      string         `json:"body,omitempty"`   // CAF or MSA
	Number    string         `json:"number,omitempty"` // allocataire number
	Role      string         `json:"role,omitempty"`
	Phone     string         `json:"phone,omitempty"`
	Email     string         `json:"email,omitempty"`
	Situation PayerSituation `json:"situation"`
	SeenOn    Date           `json:"seen_on,omitempty"` // date of the file that said so
}

// Paused says whether the paying body suspended the household's right or
// payment: the parcours is on hold, and no breach may be reported.
func (v ParcoursView) Paused() bool {
	return v.Payer != nil && v.Payer.Situation.State == PayerSuspended && v.Exit == nil
}

// ExitView is how a parcours ended.
type ExitView struct {
	Reason string `json:"reason"`
	On     Date   `json:"on"`
}

// OrientationView is one orientation, the first or a re-orientation.
type OrientationView struct {
	Seq           int    `json:"seq"`
	Track         Track  `json:"track"`
	Organism      string `json:"organism"`
	ReferentID    string `json:"referent_id"`
	DecidedOn     Date   `json:"decided_on"`
	Within6Months bool   `json:"within_6_months"`
	Reason        string `json:"reason,omitempty"`
}

// ContractView is one of the successive contracts.
type ContractView struct {
	Seq        int          `json:"seq"`
	Kind       ContractKind `json:"kind"`
	SignedOn   Date         `json:"signed_on"`
	StartsOn   Date         `json:"starts_on"`
	EndsOn     Date         `json:"ends_on"`
	Assessment string       `json:"assessment,omitempty"`
}

// ActionView is an insertion action, its outcome and its follow-ups.
type ActionView struct {
	Number       int            `json:"number"`
	Name         string         `json:"name"`
	Kind         string         `json:"kind"`
	Structure    string         `json:"structure"`
	StartsOn     Date           `json:"starts_on"`
	PlannedEndOn Date           `json:"planned_end_on"`
	EndedOn      Date           `json:"ended_on"`
	Category     string         `json:"outcome_category,omitempty"`
	Detail       string         `json:"outcome_detail,omitempty"`
	FollowUps    []FollowUpView `json:"follow_ups"`
}

// FollowUpView is a follow-up 3 or 6 months after an action.
type FollowUpView struct {
	Months         int    `json:"months"`
	OpensOn        Date   `json:"opens_on"`
	DueOn          Date   `json:"due_on"`
	AnsweredOn     Date   `json:"answered_on"`
	Situation      string `json:"situation,omitempty"`
	EmploymentKind string `json:"employment_kind,omitempty"`
	Note           string `json:"note,omitempty"`
	Cancelled      bool   `json:"cancelled"`
}

// DeadlineView is one deadline and the rule that produced it.
type DeadlineView struct {
	Kind        DeadlineKind   `json:"kind"`
	Basis       Basis          `json:"basis"`
	Cycle       int            `json:"cycle"`
	DueOn       Date           `json:"due_on"`
	Status      DeadlineStatus `json:"status"`
	Rule        string         `json:"rule"`
	Explanation string         `json:"explanation"`
	OpensOn     Date           `json:"opens_on"`
	RuleSet     string         `json:"rule_set"`
	MetOn       Date           `json:"met_on"`
	OverdueAt   *time.Time     `json:"overdue_at"`
}

// TaskView is one task of someone's inbox.
type TaskView struct {
	ID         int64      `json:"id"`
	ParcoursID string     `json:"parcours_id"`
	Kind       TaskKind   `json:"kind"`
	Cycle      int        `json:"cycle"`
	DueOn      Date       `json:"due_on"`
	Status     TaskStatus `json:"status"`
	Overdue    bool       `json:"overdue"`
	OverdueAt  *time.Time `json:"overdue_at"`
	Assignee   *string    `json:"assignee"`
	LastName   string     `json:"last_name"`
	FirstName  string     `json:"first_name"`
	// SortKey: the row's value in the column the list is sorted on (a
	// page's keyset), when the list is sorted on a column.
	SortKey string `json:"-"`
}

// EventView is one fact of a parcours' timeline.
type EventView struct {
	Seq        int       `json:"seq"`
	Kind       string    `json:"kind"`
	OccurredOn Date      `json:"occurred_on"`
	At         time.Time `json:"at"`
	Summary    string    `json:"summary"`
	RecordedBy string    `json:"recorded_by,omitempty"` // the account ("token:12")
	Author     string    `json:"author,omitempty"`      // its name
	Note       string    `json:"note,omitempty"`
}

// ParcoursSummary is one line of a parcours list.
type ParcoursSummary struct {
	ID            string `json:"id"`
	BeneficiaryID string `json:"beneficiary_id"`
	Status        Status `json:"status"`
	LastName      string `json:"last_name"`
	FirstName     string `json:"first_name"`
	EnteredAt     Date   `json:"entered_at"`
	ReferentID    string `json:"referent_id,omitempty"`
	NextDueOn     Date   `json:"next_due_on"`
	Overdue       bool   `json:"overdue"`
	SortKey       string `json:"-"` // see TaskView.SortKey
}

// Role is what an account may do.
type Role string

const (
	RoleAdmin      Role = "admin"
	RoleDepartment Role = "department"
	RoleSupervisor Role = "supervisor"
	RoleReferent   Role = "referent"
)

// French names a role for people.
func (r Role) French() string {
	if s, ok := map[Role]string{RoleAdmin: "administration", RoleDepartment: "Département",
		RoleSupervisor: "encadrement", RoleReferent: "référent"}[r]; ok {
		return s
	}
	return string(r)
}

// Roles lists the valid roles.
var Roles = []Role{RoleAdmin, RoleDepartment, RoleSupervisor, RoleReferent}

// Actor is who makes a request: an API token or, later, a web session.
type Actor struct {
	ID         string // "token:12", "system"
	Name       string
	Role       Role
	ReferentID string // for role referent: the référent they are
	Structure  string // for role supervisor: the structure they supervise ("" for all)
}

// System is the actor of the service's own writes.
var System = Actor{ID: "system", Name: "parcours", Role: RoleAdmin}

// Workload is one référent's load, for the supervisor dashboard.
type Workload struct {
	ReferentID string `json:"referent_id"`
	Name       string `json:"name"`
	Structure  string `json:"structure"`
	Parcours   int    `json:"parcours"`
	Open       int    `json:"open_tasks"`
	Overdue    int    `json:"overdue_tasks"`
	DueSoon    int    `json:"due_soon"`
}

// SeesOnlyOwn reports whether the actor sees only the parcours assigned to them.
func (a Actor) SeesOnlyOwn() bool { return a.Role == RoleReferent }

// ReviewView is a sanction case as the département's queue shows it.
type ReviewView struct {
	ID                string      `json:"id"`
	ParcoursID        string      `json:"parcours_id"`
	Number            int         `json:"number"`
	Status            string      `json:"status"`
	BreachKind        string      `json:"breach_kind"`
	Obligation        string      `json:"obligation,omitempty"`
	Facts             string      `json:"facts,omitempty"`
	ReportedOn        Date        `json:"reported_on"`
	Repeat            bool        `json:"repeat"`
	NoticeSentOn      Date        `json:"notice_sent_on"`
	NoticeReceivedOn  Date        `json:"notice_received_on"`
	ObservationEndsOn Date        `json:"observation_ends_on"`
	DecidedOn         Date        `json:"decided_on"`
	SanctionKind      string      `json:"sanction_kind,omitempty"`
	Percent           int         `json:"percent,omitempty"`
	Months            int         `json:"months,omitempty"`
	EffectiveOn       Date        `json:"effective_on"`
	PaybackCents      int64       `json:"payback_cents"`
	AppealDueOn       Date        `json:"appeal_due_on"`
	ReferentID        string      `json:"referent_id,omitempty"`
	UpdatedAt         time.Time   `json:"updated_at"`
	Steps             []EventView `json:"steps"`

	// DecisionNotifiedOn starts the prior administrative appeal's window
	// (R262-88 CASF); AppealWindow says where it stands, in French.
	DecisionNotifiedOn Date   `json:"decision_notified_on"`
	AppealWindow       string `json:"appeal_window,omitempty"`

	// For the pages: the person, and the case's next task and its due
	// date (none once the case waits for nothing). The API reads the
	// person from the parcours and the task from /tasks.
	LastName  string   `json:"-"`
	FirstName string   `json:"-"`
	NextTask  TaskKind `json:"-"`
	NextDueOn Date     `json:"-"`
	SortKey   string   `json:"-"` // see TaskView.SortKey
}
