package domain

// Reprise de l'existant: a département that adopts parcours already follows
// people, most of them oriented, with a référent and a contract. A reprise
// file gives, per person, their current situation; the parcours starts in
// that state, with its clocks computed from the file's dates as if the
// service had followed them (issue 19).
//
// The file's content is kept whole in PostgreSQL (parcours.reprise); the
// workflow receives only ids, dates and codes (never names, NIR, nor which
// obstacle applies: health is special-category data).

// Reprise is one person's current situation, as a reprise file gives it.
// Every part is optional: an empty Reprise is a plain intake.
type Reprise struct {
	Orientation *RepriseOrientation `json:"orientation,omitempty"`
	Contract    *RepriseContract    `json:"contract,omitempty"`
	// Stock: the file says the person was accompanied on 1 January 2025
	// (décret 2024-1244: the "stock", contract due by 1 January 2027).
	// Whether a parcours is in the stock also follows from its dates.
	Stock bool `json:"stock,omitempty"`
	// Obstacles are ObstacleCategories (L262-31); they extend the social
	// track's review to 12 months.
	Obstacles []string `json:"obstacles,omitempty"`
	// Action is the action in progress, if any.
	Action *RepriseAction `json:"action,omitempty"`
}

// RepriseOrientation is the orientation in force.
type RepriseOrientation struct {
	Track      Track  `json:"track"`
	Organism   string `json:"organism"`              // the organisme référent (structure)
	ReferentID string `json:"referent_id,omitempty"` // the référent unique, when known
	DecidedOn  Date   `json:"decided_on"`
}

// RepriseContract is the contract in force (or the last one signed).
type RepriseContract struct {
	Kind     ContractKind `json:"kind"`
	SignedOn Date         `json:"signed_on"`
	StartsOn Date         `json:"starts_on"`
	EndsOn   Date         `json:"ends_on"`
}

// RepriseAction is an action in progress (ActionKinds).
type RepriseAction struct {
	Kind         string `json:"kind"`
	StartsOn     Date   `json:"starts_on"`
	PlannedEndOn Date   `json:"planned_end_on,omitempty"`
}

// The 1 January 2027 campaign (décret 2024-1244, décret 2025-816): everyone
// accompanied on 1 January 2025 must have a contract under the 2025 law by
// 1 January 2027 (1 January 2028 overseas). Its deadline is a contract
// deadline of basis BasisStock, rule set StockRuleSet or StockRuleSetOverseas,
// and its task TaskStockContract.
const (
	BasisStock           Basis    = "stock"
	StockRuleSet                  = "stock-2027"
	StockRuleSetOverseas          = "stock-2028"
	TaskStockContract    TaskKind = "stock_contract"
)

// Foreseen is what an imported line will become once its parcours starts:
// the preview of an import shows it before anything is written.
type Foreseen struct {
	Status     Status
	Overdue    bool // a limit already passed with nothing done
	HandedOver bool // the 6-week orientation limit passed: France Travail orients
	Stock      bool // the 1 January 2027 (2028 overseas) contract is due
}
