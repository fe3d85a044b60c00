package workflows

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
)

func repriseInput(entered, received domain.Date, r *Reprise) ParcoursInput {
	return ParcoursInput{Revision: CurrentRevision, ParcoursID: "p1", Policy: "departement", EnteredOn: entered, ReceivedOn: received, Reprise: r}
}

// written is every deadline as the read model last received it, by kind,
// basis and cycle.
func (tb *testBundle) written() map[string]DeadlineState {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	out := map[string]DeadlineState{}
	for _, w := range tb.writes {
		for _, d := range w.Deadlines {
			out[fmt.Sprintf("%s/%d", d.Key(), d.Cycle)] = d
		}
	}
	return out
}

// tasks is every task as the read model last received it, by kind and cycle.
func (tb *testBundle) tasks() map[string]TaskState {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	out := map[string]TaskState{}
	for _, w := range tb.writes {
		for _, t := range w.Tasks {
			out[fmt.Sprintf("%s/%d", t.Kind, t.Cycle)] = t
		}
	}
	return out
}

// overdue lists the deadlines written as overdue.
func (tb *testBundle) overdue() []string {
	var out []string
	for k, d := range tb.written() {
		if d.Status == domain.DeadlineOverdue {
			out = append(out, k)
		}
	}
	return out
}

// started runs fn once the run has made its first write, then cancels it.
func (tb *testBundle) startThen(t *testing.T, start time.Time, in ParcoursInput, checks ...step) {
	t.Helper()
	steps := append([]step{}, checks...)
	last := start.Add(time.Minute)
	if n := len(checks); n > 0 {
		last = checks[n-1].at.Add(time.Minute)
	}
	steps = append(steps, step{at: last, then: func(*outcome) { tb.env.CancelWorkflow() }})
	tb.script(start, steps)
	tb.env.ExecuteWorkflow(Parcours, in)
	require.True(t, tb.env.IsWorkflowCompleted())
}

// TestRepriseWithoutOrientationHandsOverOnItsDate: information received on
// 01/09/2026, no orientation in the file, imported on 06/12/2026: the 6
// weeks passed on 13/10, so the hand-over to France Travail happened on
// 14/10 and is recorded with that date, not the import's.
func TestRepriseWithoutOrientationHandsOverOnItsDate(t *testing.T) {
	t.Parallel()
	start := paris(2026, 12, 6, 10, 0)
	tb := setup(t, start)
	tb.startThen(t, start, repriseInput(d(2026, 9, 1), d(2026, 9, 1), &Reprise{}), step{at: start.Add(time.Minute), then: func(*outcome) {
		s := tb.state(t)
		require.True(t, s.HandedOver)
		require.Equal(t, domain.StatusAwaitingOrientation, s.Status)
		legal := tb.deadline("orientation/legal")
		require.Equal(t, domain.DeadlineOverdue, legal.Status)
		require.Equal(t, "2026-10-13", legal.DueOn.String())
		require.Equal(t, paris(2026, 10, 14, 0, 0).UTC(), legal.OverdueAt.UTC(), "overdue since the day after, as if followed")
	}})
	for _, e := range tb.events() {
		if e.Kind == EventHandedOver {
			require.Equal(t, "2026-10-14", e.OccurredOn.String())
		}
	}
	require.Equal(t, 1, tb.eventKinds()[EventHandedOver])
	require.Equal(t, 1, tb.eventKinds()[EventReprise])
	require.Zero(t, tb.eventKinds()[EventStockDue], "entered in 2026: not in the stock")
}

// TestRepriseInAccompanimentRaisesNothing: oriented and under contract in
// the file: nothing is overdue, no task is open; the contract ending on
// 31/03/2027 gives its renewal task in March (30 days before: 01/03).
func TestRepriseInAccompanimentRaisesNothing(t *testing.T) {
	t.Parallel()
	start := paris(2026, 12, 31, 10, 0)
	tb := setup(t, start)
	r := &Reprise{
		Orientation: &domain.RepriseOrientation{Track: domain.TrackProfessional, Organism: "France Travail", ReferentID: "ref-9", DecidedOn: d(2025, 7, 31)},
		Contract:    &domain.RepriseContract{Kind: domain.ContractEngagement, SignedOn: d(2025, 8, 29), StartsOn: d(2025, 9, 1), EndsOn: d(2027, 3, 31)},
	}
	tb.startThen(t, start, repriseInput(d(2025, 6, 30), d(2025, 6, 30), r),
		step{at: start.Add(time.Minute), then: func(*outcome) {
			s := tb.state(t)
			require.Equal(t, domain.StatusInAccompaniment, s.Status)
			require.Empty(t, tb.overdue())
			for k, task := range tb.tasks() {
				require.NotEqual(t, domain.TaskOpen, task.Status, k)
			}
			require.Equal(t, domain.DeadlineMet, tb.written()["contract/legal/1"].Status)
			require.Equal(t, "2025-08-29", tb.written()["contract/legal/1"].MetOn.String())
			term := tb.written()["contract/contract_term/2"]
			require.Equal(t, "2027-03-31", term.DueOn.String())
			require.Equal(t, "2027-03-01", term.OpensOn.String())
		}},
		step{at: paris(2027, 2, 28, 23, 59), then: func(*outcome) {
			require.Empty(t, tb.tasks()["renew_contract/2"].Kind, "not before March")
		}},
		step{at: paris(2027, 3, 1, 0, 1), then: func(*outcome) {
			renew := tb.tasks()["renew_contract/2"]
			require.Equal(t, domain.TaskOpen, renew.Status)
			require.Equal(t, "ref-9", renew.Assignee)
			require.Equal(t, "2027-03-31", renew.DueOn.String())
			require.Empty(t, tb.overdue())
		}},
	)
	var kinds []string
	for _, e := range tb.events() {
		kinds = append(kinds, e.Kind+"@"+e.OccurredOn.String())
	}
	require.Equal(t, []string{"entered@2025-06-30", "reprise@2026-12-31", "orientation_recorded@2025-07-31", "contract_signed@2025-08-29"}, kinds,
		"each fact on its own date")
}

// TestRepriseOrientedWithoutContract: the contract month counts from the
// orientation, under the law in force that day (2012 law on 31/12/2024:
// 2 months for the social track, due 28/02/2025); entered in 2024, the
// person is in the stock, and the open sign_contract task carries the stock
// deadline too (no second task).
func TestRepriseOrientedWithoutContract(t *testing.T) {
	t.Parallel()
	start := paris(2026, 12, 31, 10, 0)
	tb := setup(t, start)
	r := &Reprise{Orientation: &domain.RepriseOrientation{Track: domain.TrackSocial, Organism: "CCAS", ReferentID: "ref-1", DecidedOn: d(2024, 12, 31)}}
	tb.startThen(t, start, repriseInput(d(2024, 10, 31), d(2024, 10, 31), r),
		step{at: start.Add(time.Minute), then: func(*outcome) {
			require.Equal(t, domain.StatusAwaitingContract, tb.state(t).Status)
			legal := tb.written()["contract/legal/1"]
			require.Equal(t, "loi-2012", legal.RuleSet)
			require.Equal(t, "2025-02-28", legal.DueOn.String())
			require.Equal(t, domain.DeadlineOverdue, legal.Status, "a limit that really passed")
			stock := tb.written()["contract/stock/0"]
			require.Equal(t, domain.DeadlinePending, stock.Status)
			require.Equal(t, "2027-01-01", stock.DueOn.String())
			require.Equal(t, "contrat dû le 01/01/2027 — délai légal (stock : personnes accompagnées au 01/01/2025, décret 2024-1244)", stock.Explain())
			require.Empty(t, tb.tasks()["stock_contract/0"].Kind, "sign_contract carries the need")
			sign := tb.tasks()["sign_contract/1"]
			require.Equal(t, "ref-1", sign.Assignee)
			require.Equal(t, "2024-12-31", sign.DueOn.String(), "the target (2 months after entry) first")
			// The usual relances follow from the limit that passed (their own
			// dates passed too: the file shows nothing was done).
			require.Equal(t, "2025-03-01", tb.written()["relance_1/target/1"].AnchorOn.String())
		}},
		step{at: paris(2027, 1, 2, 0, 1), then: func(*outcome) {
			require.Equal(t, domain.DeadlineOverdue, tb.written()["contract/stock/0"].Status)
			require.NotContains(t, tb.written(), "relance_1/target/0", "one need, one series of relances")
		}},
	)
}

// TestRepriseOldContractOwesTheStockContract: a CER signed on 31/12/2024
// does not meet the stock deadline: its own task goes to the référent; the
// relances follow when 01/01/2027 passes; a contract signed after meets it.
func TestRepriseOldContractOwesTheStockContract(t *testing.T) {
	t.Parallel()
	start := paris(2026, 11, 30, 10, 0)
	tb := setup(t, start)
	r := &Reprise{
		Orientation: &domain.RepriseOrientation{Track: domain.TrackSocioProfessional, Organism: "Mission locale", ReferentID: "ref-2", DecidedOn: d(2024, 9, 30)},
		Contract:    &domain.RepriseContract{Kind: domain.ContractCER, SignedOn: d(2024, 12, 31), StartsOn: d(2024, 12, 31), EndsOn: d(2027, 6, 30)},
	}
	renewal := domain.Contract{Kind: domain.ContractEngagement, SignedOn: d(2027, 1, 31), StartsOn: d(2027, 1, 31), EndsOn: d(2027, 7, 31), Recorded: domain.Recorded{NoteID: "n1"}}
	tb.startThen(t, start, repriseInput(d(2024, 6, 30), d(2024, 6, 30), r),
		step{at: start.Add(time.Minute), then: func(*outcome) {
			require.Equal(t, domain.StatusInAccompaniment, tb.state(t).Status)
			require.Empty(t, tb.overdue())
			task := tb.tasks()["stock_contract/0"]
			require.Equal(t, domain.TaskOpen, task.Status)
			require.Equal(t, "ref-2", task.Assignee)
			require.Equal(t, "2027-01-01", task.DueOn.String())
		}},
		step{at: paris(2027, 1, 2, 0, 1), then: func(*outcome) {
			require.Equal(t, domain.DeadlineOverdue, tb.written()["contract/stock/0"].Status)
			require.Equal(t, domain.DeadlinePending, tb.written()["relance_1/target/0"].Status)
			require.False(t, tb.tasks()["stock_contract/0"].OverdueAt.IsZero())
		}},
		step{at: paris(2027, 1, 31, 10, 0), send: func() *outcome { return tb.update(RecordContractUpdate, renewal) }},
		step{at: paris(2027, 1, 31, 10, 1), then: func(o *outcome) {
			o.ok(t)
			require.Equal(t, domain.DeadlineMet, tb.written()["contract/stock/0"].Status)
			require.Equal(t, domain.TaskDone, tb.tasks()["stock_contract/0"].Status)
		}},
	)
}

// TestStockBoundaries: signed 31/12/2024 owes, 01/01/2025 does not; entered
// 31/12/2024 owes, 01/01/2025 does not; overseas is due 01/01/2028.
func TestStockBoundaries(t *testing.T) {
	t.Parallel()
	oriented := &domain.RepriseOrientation{Track: domain.TrackProfessional, Organism: "France Travail", ReferentID: "ref-1", DecidedOn: d(2024, 10, 31)}
	contract := func(signed domain.Date) *Reprise {
		return &Reprise{Orientation: oriented, Contract: &domain.RepriseContract{Kind: domain.ContractPPAE, SignedOn: signed, StartsOn: signed, EndsOn: d(2027, 12, 31)}}
	}
	overseas := domain.DefaultSettings()
	overseas.Overseas = true
	for _, c := range []struct {
		name     string
		entered  domain.Date
		r        *Reprise
		settings *domain.Settings
		due      string // "" no stock deadline
		ruleSet  string
		met      domain.Date // the deadline is met already, on that day
	}{
		{"signed 31/12/2024", d(2024, 10, 1), contract(d(2024, 12, 31)), nil, "2027-01-01", domain.StockRuleSet, domain.Date{}},
		// In the stock and compliant before the import: counted as signed
		// by the campaign (a deadline met on the signing day).
		{"signed 01/01/2025", d(2024, 10, 1), contract(d(2025, 1, 1)), nil, "2027-01-01", domain.StockRuleSet, d(2025, 1, 1)},
		{"entered 31/12/2024", d(2024, 12, 31), nil, nil, "2027-01-01", domain.StockRuleSet, domain.Date{}},
		{"entered 01/01/2025", d(2025, 1, 1), nil, nil, "", "", domain.Date{}},
		{"entered 2025, marked stock by the file", d(2025, 3, 31), &Reprise{Stock: true}, nil, "2027-01-01", domain.StockRuleSet, domain.Date{}},
		{"overseas", d(2024, 12, 31), nil, &overseas, "2028-01-01", domain.StockRuleSetOverseas, domain.Date{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			start := paris(2026, 12, 31, 9, 0)
			tb := setup(t, start)
			in := repriseInput(c.entered, c.entered, c.r)
			in.Settings = c.settings
			tb.startThen(t, start, in, step{at: start.Add(time.Minute), then: func(*outcome) {
				stock, ok := tb.written()["contract/stock/0"]
				if c.due == "" {
					require.False(t, ok)
					return
				}
				require.True(t, ok)
				require.Equal(t, c.due, stock.DueOn.String())
				require.Equal(t, c.ruleSet, stock.RuleSet)
				if !c.met.IsZero() {
					require.Equal(t, domain.DeadlineMet, stock.Status)
					require.Equal(t, c.met, stock.MetOn)
					require.NotContains(t, tb.tasks(), "stock_contract/0", "nothing to do")
					return
				}
				require.Equal(t, domain.DeadlinePending, stock.Status)
			}})
		})
	}
}

// TestRepriseSocialReviewAndAction: the social-track review counts 6 months
// from the contract's start, 12 with an obstacle; an action in progress
// gives its close_action task on its planned end, as the lifecycle does.
func TestRepriseSocialReviewAndAction(t *testing.T) {
	t.Parallel()
	for _, extended := range []bool{false, true} {
		t.Run(fmt.Sprint("extended=", extended), func(t *testing.T) {
			t.Parallel()
			start := paris(2026, 11, 30, 9, 0)
			tb := setup(t, start)
			r := &Reprise{
				Orientation:    &domain.RepriseOrientation{Track: domain.TrackSocial, Organism: "CCAS", ReferentID: "ref-3", DecidedOn: d(2026, 5, 15)},
				Contract:       &domain.RepriseContract{Kind: domain.ContractEngagement, SignedOn: d(2026, 5, 31), StartsOn: d(2026, 5, 31), EndsOn: d(2027, 5, 31)},
				ReviewExtended: extended,
				Action:         &domain.RepriseAction{Kind: "training", StartsOn: d(2026, 10, 1), PlannedEndOn: d(2026, 12, 31)},
			}
			tb.startThen(t, start, repriseInput(d(2026, 4, 30), d(2026, 4, 30), r),
				step{at: start.Add(time.Minute), then: func(*outcome) {
					review := tb.written()["review/legal/1"]
					if extended {
						require.Equal(t, "2027-05-31", review.DueOn.String())
						require.Equal(t, domain.DeadlinePending, review.Status)
					} else {
						require.Equal(t, "2026-11-30", review.DueOn.String(), "31/05 + 6 months")
						require.Equal(t, domain.DeadlinePending, review.Status, "due today: not yet overdue")
						require.Equal(t, domain.TaskOpen, tb.tasks()["review_social/1"].Status)
					}
					require.Empty(t, tb.tasks()["close_action/1"].Kind)
				}},
				step{at: paris(2026, 12, 31, 0, 1), then: func(*outcome) {
					closeAction := tb.tasks()["close_action/1"]
					require.Equal(t, domain.TaskOpen, closeAction.Status)
					require.Equal(t, "2027-01-31", closeAction.DueOn.String())
					require.Equal(t, "ref-3", closeAction.Assignee)
				}},
			)
		})
	}
}

// TestMarkStockOnARunningParcours: a run started before revision 2 gets the
// stock deadline from mark_stock, once; a parcours entered in 2025 is
// refused.
func TestMarkStockOnARunningParcours(t *testing.T) {
	t.Parallel()
	start := paris(2026, 10, 31, 9, 0)
	tb := setup(t, start)
	in := input("2024-11-30", "2024-11-30")
	in.Revision = 1
	var v1 int64
	tb.script(start, []step{
		{at: paris(2026, 10, 31, 10, 0), send: func() *outcome {
			require.NotContains(t, tb.written(), "contract/stock/0", "revision 1 runs do not add it themselves")
			return tb.update(MarkStockUpdate, StockMark{On: d(2026, 10, 31)})
		}},
		{at: paris(2026, 10, 31, 10, 1), then: func(o *outcome) {
			o.ok(t)
			stock := tb.written()["contract/stock/0"]
			require.Equal(t, domain.DeadlinePending, stock.Status)
			require.Equal(t, domain.TaskOpen, tb.tasks()["stock_contract/0"].Status)
			require.Empty(t, tb.tasks()["stock_contract/0"].Assignee, "no référent yet: the département")
			v1 = tb.state(t).Version
		}, send: func() *outcome { return tb.update(MarkStockUpdate, StockMark{On: d(2026, 10, 31)}) }},
		{at: paris(2026, 10, 31, 10, 2), then: func(o *outcome) {
			o.ok(t)
			require.Equal(t, v1, tb.state(t).Version, "the same mark again changes nothing")
		}, send: func() *outcome {
			return tb.update(RecordOrientationUpdate, domain.Orientation{Track: domain.TrackSocial, Organism: "CCAS", ReferentID: "ref-5", DecidedOn: d(2026, 10, 31)})
		}},
		{at: paris(2026, 10, 31, 10, 3), then: func(o *outcome) {
			o.ok(t)
			require.Equal(t, domain.TaskCancelled, tb.tasks()["stock_contract/0"].Status, "sign_contract carries it now")
			require.Equal(t, domain.TaskOpen, tb.tasks()["sign_contract/1"].Status)
			tb.env.CancelWorkflow()
		}},
	})
	tb.env.ExecuteWorkflow(Parcours, in)
	require.Equal(t, 1, tb.eventKinds()[EventStockDue])

	tb2 := setup(t, start)
	in2 := input("2025-01-01", "2025-01-01")
	in2.Revision = 1
	tb2.script(start, []step{
		{at: paris(2026, 10, 31, 10, 0), send: func() *outcome { return tb2.update(MarkStockUpdate, StockMark{On: d(2026, 10, 31)}) }},
		{at: paris(2026, 10, 31, 10, 1), then: func(o *outcome) {
			require.Equal(t, domain.ECONFLICT, domain.ErrorCode(o.rejected(t)))
			tb2.env.CancelWorkflow()
		}},
	})
	tb2.env.ExecuteWorkflow(Parcours, in2)
}

// TestMarkStockWhenAlreadySigned: a running parcours entered before 2025
// whose contract was signed since 1 January 2025 gets the stock deadline
// met on that day (the campaign counts it as signed), with no task; the
// same mark again changes nothing.
func TestMarkStockWhenAlreadySigned(t *testing.T) {
	t.Parallel()
	start := paris(2026, 10, 31, 9, 0)
	tb := setup(t, start)
	in := input("2024-11-30", "2024-11-30")
	in.Revision = 1
	var v1 int64
	tb.script(start, []step{
		{at: paris(2026, 10, 31, 10, 0), send: func() *outcome {
			return tb.update(RecordOrientationUpdate, domain.Orientation{Track: domain.TrackProfessional, Organism: "France Travail", ReferentID: "ref-5", DecidedOn: d(2025, 1, 10)})
		}},
		{at: paris(2026, 10, 31, 10, 1), then: func(o *outcome) { o.ok(t) }, send: func() *outcome {
			return tb.update(RecordContractUpdate, domain.Contract{Kind: domain.ContractEngagement, SignedOn: d(2025, 2, 3), StartsOn: d(2025, 2, 3), EndsOn: d(2027, 2, 2)})
		}},
		{at: paris(2026, 10, 31, 10, 2), then: func(o *outcome) { o.ok(t) }, send: func() *outcome {
			return tb.update(MarkStockUpdate, StockMark{On: d(2026, 10, 31)})
		}},
		{at: paris(2026, 10, 31, 10, 3), then: func(o *outcome) {
			o.ok(t)
			stock := tb.written()["contract/stock/0"]
			require.Equal(t, domain.DeadlineMet, stock.Status)
			require.Equal(t, d(2025, 2, 3), stock.MetOn)
			require.NotContains(t, tb.tasks(), "stock_contract/0")
			v1 = tb.state(t).Version
		}, send: func() *outcome { return tb.update(MarkStockUpdate, StockMark{On: d(2026, 10, 31)}) }},
		{at: paris(2026, 10, 31, 10, 4), then: func(o *outcome) {
			o.ok(t)
			require.Equal(t, v1, tb.state(t).Version, "the same mark again changes nothing")
			tb.env.CancelWorkflow()
		}},
	})
	tb.env.ExecuteWorkflow(Parcours, in)
}

// TestForeseeAgreesWithTheWorkflow: the import's preview says what the
// workflow does, for the same inputs.
func TestForeseeAgreesWithTheWorkflow(t *testing.T) {
	t.Parallel()
	policy, _ := domain.LookupPolicy("departement")
	oriented := func(on domain.Date, track domain.Track) *domain.RepriseOrientation {
		return &domain.RepriseOrientation{Track: track, Organism: "CCAS", ReferentID: "ref-1", DecidedOn: on}
	}
	for _, c := range []struct {
		name    string
		entered domain.Date
		r       *domain.Reprise
	}{
		{"nothing, 2026, 6 weeks passed", d(2026, 9, 1), nil},
		{"nothing, recent", d(2026, 11, 30), nil},
		{"nothing, 2024: stock", d(2024, 5, 31), nil},
		{"oriented recently", d(2026, 10, 31), &domain.Reprise{Orientation: oriented(d(2026, 11, 30), domain.TrackProfessional)}},
		{"oriented long ago", d(2024, 1, 31), &domain.Reprise{Orientation: oriented(d(2024, 2, 29), domain.TrackSocial)}},
		{"contract in force", d(2025, 6, 30), &domain.Reprise{Orientation: oriented(d(2025, 7, 31), domain.TrackProfessional),
			Contract: &domain.RepriseContract{Kind: domain.ContractEngagement, SignedOn: d(2025, 8, 29), StartsOn: d(2025, 9, 1), EndsOn: d(2027, 3, 31)}}},
		{"old CER", d(2023, 3, 31), &domain.Reprise{Orientation: oriented(d(2023, 4, 30), domain.TrackSocioProfessional),
			Contract: &domain.RepriseContract{Kind: domain.ContractCER, SignedOn: d(2024, 5, 31), StartsOn: d(2024, 5, 31), EndsOn: d(2027, 5, 31)}}},
		{"contract ended", d(2025, 2, 28), &domain.Reprise{Orientation: oriented(d(2025, 3, 31), domain.TrackSocial), Obstacles: []string{"health"},
			Contract: &domain.RepriseContract{Kind: domain.ContractEngagement, SignedOn: d(2025, 4, 30), StartsOn: d(2025, 4, 30), EndsOn: d(2026, 10, 31)}}},
		{"action over", d(2026, 1, 31), &domain.Reprise{Orientation: oriented(d(2026, 2, 28), domain.TrackProfessional),
			Contract: &domain.RepriseContract{Kind: domain.ContractEngagement, SignedOn: d(2026, 3, 31), StartsOn: d(2026, 3, 31), EndsOn: d(2027, 3, 31)},
			Action:   &domain.RepriseAction{Kind: "training", StartsOn: d(2026, 4, 30), PlannedEndOn: d(2026, 9, 30)}}},
		{"marked stock", d(2025, 5, 31), &domain.Reprise{Stock: true, Orientation: oriented(d(2025, 6, 30), domain.TrackProfessional)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			start := paris(2026, 12, 6, 9, 0)
			today := domain.DateOf(start)
			want := domain.Foresee(c.r, c.entered, c.entered, today, policy, false)
			tb := setup(t, start)
			tb.startThen(t, start, repriseInput(c.entered, c.entered, RepriseFrom(c.r)), step{at: start.Add(time.Minute), then: func(*outcome) {
				s := tb.state(t)
				_, stock := tb.written()["contract/stock/0"]
				got := domain.Foreseen{Status: s.Status, Overdue: len(tb.overdue()) > 0, HandedOver: s.HandedOver,
					Stock: stock && open(tb.written()["contract/stock/0"].Status)}
				require.Equal(t, want, got)
			}})
		})
	}
}

// TestStockSurvivesAReorientation: a re-orientation cancels the contract
// clocks but not the stock deadline, which the new sign_contract task
// carries; the exit cancels it.
func TestStockSurvivesAReorientation(t *testing.T) {
	t.Parallel()
	start := paris(2026, 10, 31, 9, 0)
	tb := setup(t, start)
	r := &Reprise{
		Orientation: &domain.RepriseOrientation{Track: domain.TrackSocial, Organism: "CCAS", ReferentID: "ref-1", DecidedOn: d(2024, 3, 31)},
		Contract:    &domain.RepriseContract{Kind: domain.ContractCER, SignedOn: d(2024, 4, 30), StartsOn: d(2024, 4, 30), EndsOn: d(2027, 4, 30)},
	}
	request := domain.ReorientationRequest{Reason: "projet professionnel", RequestedOn: d(2026, 10, 31)}
	accept := domain.ReorientationDecision{Accept: true, Track: domain.TrackProfessional, Organism: "France Travail", ReferentID: "ft-2", DecidedOn: d(2026, 11, 30)}
	tb.script(start, []step{
		{at: paris(2026, 10, 31, 10, 0), then: func(*outcome) {
			require.Equal(t, domain.TaskOpen, tb.tasks()["stock_contract/0"].Status)
		}, send: func() *outcome { return tb.update(RequestReorientationUpdate, request) }},
		{at: paris(2026, 11, 30, 10, 0), then: func(o *outcome) { o.ok(t) }, send: func() *outcome { return tb.update(DecideReorientationUpdate, accept) }},
		{at: paris(2026, 11, 30, 10, 1), then: func(o *outcome) {
			o.ok(t)
			require.Equal(t, domain.DeadlineCancelled, tb.written()["contract/contract_term/2"].Status)
			require.Equal(t, domain.DeadlinePending, tb.written()["contract/stock/0"].Status, "still owed")
			require.Equal(t, domain.TaskCancelled, tb.tasks()["stock_contract/0"].Status)
			sign := tb.tasks()["sign_contract/2"]
			require.Equal(t, domain.TaskOpen, sign.Status)
			require.Equal(t, "ft-2", sign.Assignee)
			require.Equal(t, "2026-12-30", sign.DueOn.String(), "the month after the re-orientation comes first")
		}, send: func() *outcome { return tb.update(RecordExitUpdate, domain.Exit{Reason: "moved", On: d(2026, 11, 30)}) }},
		{at: paris(2026, 11, 30, 10, 2), then: func(o *outcome) {
			o.ok(t)
			require.Equal(t, domain.DeadlineCancelled, tb.written()["contract/stock/0"].Status)
			require.Equal(t, domain.TaskCancelled, tb.tasks()["sign_contract/2"].Status)
		}},
	})
	tb.env.ExecuteWorkflow(Parcours, repriseInput(d(2024, 2, 29), d(2024, 2, 29), r))
	require.True(t, tb.env.IsWorkflowCompleted())
}
