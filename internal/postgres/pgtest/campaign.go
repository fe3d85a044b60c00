package pgtest

import (
	"context"
	"time"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/workflows"
)

// StockCase is a parcours of the 1 January 2027 campaign, as the workflow
// writes it into the read model (issue 19): its stock contract deadline
// and the task that goes with it.
type StockCase struct {
	ParcoursID string
	Organism   string // the structure; "" with ReferentID "": not oriented
	ReferentID string // "": the task goes to the département
	Deadline   domain.DeadlineStatus
	MetOn      domain.Date // the contract's signing date, when met
	Overseas   bool        // rule set stock-2028
	Closed     bool        // the parcours ended (exit)
}

// StockVersion is the version WriteStock writes with: above any a test's
// workflow reaches, so that a later write of the workflow never undoes it.
const StockVersion = int64(1) << 40

// WriteStock writes c through the store's sync write, the workflow's own,
// on the key the workflow uses (cycle 0): it replaces the deadline a
// parcours entered before 2025 already has.
func WriteStock(ctx context.Context, db *postgres.DB, c StockCase) error {
	rule, due := domain.StockRuleSet, domain.NewDate(2027, 1, 1)
	if c.Overseas {
		rule, due = domain.StockRuleSetOverseas, domain.NewDate(2028, 1, 1)
	}
	in := workflows.SyncInput{ParcoursID: c.ParcoursID, Version: StockVersion, Status: domain.StatusAwaitingContract}
	if c.Organism != "" || c.ReferentID != "" {
		in.Orientation = &domain.Orientation{Track: domain.TrackSocial, Organism: c.Organism, ReferentID: c.ReferentID,
			DecidedOn: domain.NewDate(2024, 6, 1)}
	}
	if c.Closed {
		in.Exit = &domain.Exit{Reason: "moved", On: domain.NewDate(2026, 6, 1)}
	}
	d := workflows.DeadlineState{
		Deadline: domain.Deadline{Kind: domain.DeadlineContract, Basis: domain.BasisStock, RuleSet: rule, DueOn: due,
			Anchor: domain.AnchorEntry, AnchorOn: domain.NewDate(2025, 1, 1), Rule: domain.CampaignRuleOf(rule).Text},
		Cycle: 0, Task: domain.TaskStockContract, Status: c.Deadline, MetOn: c.MetOn,
	}
	task := workflows.TaskState{Kind: domain.TaskStockContract, Cycle: 0, DueOn: due, Status: domain.TaskOpen, Assignee: c.ReferentID}
	switch c.Deadline {
	case domain.DeadlineOverdue:
		d.OverdueAt = due.Time()
		task.OverdueAt = d.OverdueAt
	case domain.DeadlineMet:
		task.Status, task.DoneAt = domain.TaskDone, time.Now()
		in.Status = domain.StatusInAccompaniment
	}
	in.Deadlines, in.Tasks = []workflows.DeadlineState{d}, []workflows.TaskState{task}
	return db.ApplySync(ctx, in)
}
