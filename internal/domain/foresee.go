package domain

// Foresee tells what a person entering on entered (information received on
// received), with the situation r (nil: none), will become on today.
// Owned by the engine part of issue 19: this first version says the status.
func Foresee(r *Reprise, entered, received, today Date, policy Policy, overseas bool) Foreseen {
	switch {
	case r == nil || r.Orientation == nil:
		return Foreseen{Status: StatusAwaitingOrientation}
	case r.Contract == nil:
		return Foreseen{Status: StatusAwaitingContract}
	}
	return Foreseen{Status: StatusInAccompaniment}
}
