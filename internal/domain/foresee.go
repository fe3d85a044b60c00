package domain

// Foresee tells what a person entering on entered (information received on
// received), with the situation r (nil: none), will become on today once
// their parcours starts: the import's preview shows it before anything is
// written. It computes the deadlines the parcours' workflow computes, with
// the same functions (Policy.Schedule, LawDeadline, ContractTermDeadline,
// ReviewDeadline, ActionEndDeadline, StockDeadline), and says which are
// already overdue on today: only limits that really passed with nothing
// done (a reprise's orientation meets the orientation clocks, its contract
// the contract clocks, as they do in the workflow).
func Foresee(r *Reprise, entered, received, today Date, policy Policy, overseas bool) Foreseen {
	out := Foreseen{Status: StatusAwaitingOrientation}
	facts := Facts{EnteredOn: entered, ReceivedOn: received}
	settings := DefaultSettings()
	var open []Deadline
	var lastSigned Date
	switch {
	case r == nil || r.Orientation == nil:
		open = policy.Schedule(facts)
		for _, d := range open {
			if handsOver(d) && d.DueOn.Before(today) {
				out.HandedOver = true
			}
		}
	default:
		o := r.Orientation
		facts.OrientedOn, facts.Track = o.DecidedOn, o.Track
		out.Status = StatusAwaitingContract
		if c := r.Contract; c != nil {
			out.Status, lastSigned = StatusInAccompaniment, c.SignedOn
			open = append(open, ContractTermDeadline(c.Kind, c.StartsOn, c.EndsOn, settings.RenewalNoticeDays))
			if o.Track == TrackSocial {
				open = append(open, ReviewDeadline(c.StartsOn, r.HasObstacles()))
			}
		} else {
			for _, d := range policy.Schedule(facts) {
				if d.Kind == DeadlineContract {
					open = append(open, d)
				}
			}
		}
		if a := r.Action; a != nil {
			open = append(open, ActionEndDeadline(ActionLabel(1, RepriseActionName), a.PlannedEndOn, settings.FollowUpWindow))
		}
	}
	if d, ok := StockDeadline(entered, r != nil && r.Stock, lastSigned, overseas); ok {
		out.Stock = true
		open = append(open, d)
	}
	for _, d := range open {
		if d.DueOn.Before(today) {
			out.Overdue = true
		}
	}
	return out
}

// handsOver reports whether a deadline, once passed without an
// orientation, hands the orientation decision to France Travail
// (D262-65-2 CASF, law in force since 1 January 2025).
func handsOver(d Deadline) bool {
	return d.Kind == DeadlineOrientation && d.Basis == BasisLegal && d.RuleSet == Law2025.Name
}

// HandsOver is handsOver for the workflow.
func HandsOver(d Deadline) bool { return handsOver(d) }
