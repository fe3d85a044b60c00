package domain

import (
	"fmt"
	"slices"
)

// The stock deadline (domain.md "Deadlines"; décret 2024-1244, décret
// 2025-816): everyone accompanied on 1 January 2025 must have a contract
// under the 2025 law by 1 January 2027, 1 January 2028 overseas. A contract
// signed since 1 January 2025 (any kind) meets it; a CER or PPAE signed
// before does not. These functions are shared by the workflow and by
// Foresee, so that the import's preview and the parcours cannot disagree.

// StockDate is the day the 2025 law came into force: a parcours open on it
// (entered before) is in the stock.
var StockDate = NewDate(2025, 1, 1)

// AnchorStock: the stock deadline counts from the 2025 law's coming into force.
const AnchorStock Anchor = "stock"

// InStock reports whether a parcours entered on entered is in the stock:
// entered before 1 January 2025, or marked so by a reprise file.
func InStock(entered Date, marked bool) bool {
	return marked || (!entered.IsZero() && entered.Before(StockDate))
}

// MeetsStock reports whether a contract signed on signed meets the stock
// deadline: signed under the 2025 law, on or after 1 January 2025.
func MeetsStock(signed Date) bool { return !signed.IsZero() && !signed.Before(StockDate) }

// StockDeadline is the stock contract deadline a parcours owes: in the
// stock (InStock) and no contract signed since 1 January 2025 (lastSigned:
// the last contract's signature, zero when none).
func StockDeadline(entered Date, marked bool, lastSigned Date, overseas bool) (Deadline, bool) {
	if !InStock(entered, marked) || MeetsStock(lastSigned) {
		return Deadline{}, false
	}
	return StockDeadlineFor(overseas), true
}

// StockMet is the stock deadline a parcours in the stock met before the
// service knew of it (a contract signed since 1 January 2025 in the reprise
// file, or before `parcours stock`): recorded met on the signing day, so
// that the campaign counts the person as signed.
func StockMet(entered Date, marked bool, lastSigned Date, overseas bool) (Deadline, bool) {
	if !InStock(entered, marked) || !MeetsStock(lastSigned) {
		return Deadline{}, false
	}
	return StockDeadlineFor(overseas), true
}

// StockDeadlineFor is the stock deadline itself: due 1 January 2027
// (rule set StockRuleSet), or 1 January 2028 overseas (StockRuleSetOverseas).
func StockDeadlineFor(overseas bool) Deadline {
	d := Deadline{
		Kind: DeadlineContract, Basis: BasisStock, RuleSet: StockRuleSet,
		DueOn: NewDate(2027, 1, 1), Anchor: AnchorStock, AnchorOn: StockDate,
		Rule: "délai légal (stock : personnes accompagnées au 01/01/2025, décret 2024-1244)",
	}
	if overseas {
		d.RuleSet, d.DueOn = StockRuleSetOverseas, NewDate(2028, 1, 1)
		d.Rule = "délai légal (stock outre-mer : personnes accompagnées au 01/01/2025, décret 2024-1244, décret 2025-816)"
	}
	return d
}

// French names a deadline's basis for people.
func (b Basis) French() string {
	switch b {
	case BasisTarget:
		return "engagement départemental"
	case BasisLegal:
		return "délai légal"
	case BasisContractTerm:
		return "fin du contrat en cours"
	case BasisStock:
		return "délai légal du stock (contrat avant le 1er janvier 2027)"
	}
	return string(b)
}

// ContractTermDeadline: the contract in force must be renewed by its end;
// the renew_contract task opens noticeDays before (PARCOURS_RENEWAL_NOTICE_DAYS).
func ContractTermDeadline(kind ContractKind, starts, ends Date, noticeDays int) Deadline {
	return Deadline{
		Kind: DeadlineContract, Basis: BasisContractTerm, RuleSet: "contrat-en-cours",
		DueOn: ends, Anchor: "contract", AnchorOn: starts,
		Rule: fmt.Sprintf("fin du contrat en cours (%s du %s au %s) ; renouvellement à préparer %d jours avant",
			kind.French(), starts.French(), ends.French(), noticeDays),
	}
}

// ReviewDeadline: on the social track, the situation is reviewed 6 months
// after the contract starts, 12 when an obstacle applies (L262-31).
func ReviewDeadline(start Date, extended bool) Deadline {
	delay, why := Delay{Months: 6}, ""
	if extended {
		delay, why = Delay{Months: 12}, ", porté à 12 mois pour un frein de santé, de handicap, de logement ou familial"
	}
	return Deadline{
		Kind: DeadlineReview, Basis: BasisLegal, RuleSet: "L262-31",
		DueOn: delay.From(start), Anchor: "contract", AnchorOn: start,
		Rule: fmt.Sprintf("délai légal, L262-31 CASF (%s après le début du contrat le %s%s)", delay.French(), start.French(), why),
	}
}

// ActionEndDeadline: an action's outcome is due window after its planned
// end; label names the action (ActionLabel).
func ActionEndDeadline(label string, plannedEnd Date, window Delay) Deadline {
	return Deadline{
		Kind: DeadlineActionEnd, Basis: BasisTarget, RuleSet: "bilan-action",
		DueOn: window.From(plannedEnd), Anchor: "action_end", AnchorOn: plannedEnd,
		Rule: fmt.Sprintf("bilan de l'action %s (%s après sa fin prévue le %s)", label, window.French(), plannedEnd.French()),
	}
}

// RepriseActionName names an action brought in by a reprise file (the file
// gives its kind, not its name).
const RepriseActionName = "action en cours à la reprise"

// RepriseActionStructure is the structure of such an action.
const RepriseActionStructure = "non renseignée (reprise de l'existant)"

// HasObstacles reports whether the reprise names an L262-31 obstacle: the
// workflow only learns this (health is special-category data).
func (r *Reprise) HasObstacles() bool { return r != nil && len(r.Obstacles) > 0 }

// Validate checks a reprise situation against the entry date and today
// (Europe/Paris). Messages in French name the file's column.
func (r *Reprise) Validate(entered, today Date) error {
	if r == nil {
		return nil
	}
	if o := r.Orientation; o != nil {
		switch {
		case o.Track == "":
			return FieldError("orientation_track", "Le type de parcours de l'orientation est obligatoire (professionnel, socio-professionnel ou social).")
		case !slices.Contains(Tracks, o.Track):
			return FieldError("orientation_track", "Type de parcours inconnu %q : attendu professionnel, socio-professionnel ou social.", o.Track)
		case o.DecidedOn.IsZero():
			return FieldError("orientation_decided_on", "La date de décision de l'orientation est obligatoire.")
		case o.DecidedOn.After(today):
			return FieldError("orientation_decided_on", "La date de décision de l'orientation ne peut pas être dans le futur.")
		case len([]rune(o.ReferentID)) > 200:
			// The file's référent is an id, an e-mail or a name, which the
			// import resolves into a référent's id (app.resolveReprise).
			return FieldError("orientation_referent_id", "Le référent (identifiant, adresse électronique ou nom) dépasse 200 caractères.")
		case len([]rune(o.Organism)) > 200:
			return FieldError("orientation_organism", "Le nom de l'organisme référent dépasse 200 caractères.")
		}
	}
	if c := r.Contract; c != nil {
		switch {
		case r.Orientation == nil:
			return FieldError("contract_kind", "Un contrat suppose une orientation : indiquez l'orientation en cours (type de parcours et date de décision).")
		case c.Kind == "":
			return FieldError("contract_kind", "Le type de contrat est obligatoire (CER, PPAE ou contrat d'engagement).")
		case !slices.Contains(ContractKinds, c.Kind):
			return FieldError("contract_kind", "Type de contrat inconnu %q : attendu CER, PPAE ou contrat d'engagement.", c.Kind)
		case c.SignedOn.IsZero():
			return FieldError("contract_signed_on", "La date de signature du contrat est obligatoire.")
		case c.SignedOn.After(today):
			return FieldError("contract_signed_on", "La date de signature du contrat ne peut pas être dans le futur.")
		case c.StartsOn.IsZero():
			return FieldError("contract_starts_on", "La date de début du contrat est obligatoire.")
		case c.EndsOn.IsZero():
			return FieldError("contract_ends_on", "La date de fin du contrat est obligatoire.")
		case !c.EndsOn.After(c.StartsOn):
			return FieldError("contract_ends_on", "Le contrat doit se terminer après son début (%s).", c.StartsOn.French())
		}
	}
	for _, o := range r.Obstacles {
		if !slices.Contains(ObstacleCategories, o) {
			return FieldError("obstacles", "Frein inconnu %q : santé (health), handicap (disability), logement (housing) ou famille (family).", o)
		}
	}
	if a := r.Action; a != nil {
		switch {
		case !slices.Contains(ActionKinds, a.Kind):
			return FieldError("action_kind", "Type d'action inconnu %q.", a.Kind)
		case a.StartsOn.IsZero():
			return FieldError("action_starts_on", "La date de début de l'action est obligatoire.")
		case a.StartsOn.After(today):
			return FieldError("action_starts_on", "La date de début de l'action ne peut pas être dans le futur.")
		case a.PlannedEndOn.IsZero():
			return FieldError("action_planned_end_on", "La date de fin prévue de l'action est obligatoire.")
		case a.PlannedEndOn.Before(a.StartsOn):
			return FieldError("action_planned_end_on", "La fin prévue de l'action précède son début (%s).", a.StartsOn.French())
		case r.Orientation == nil:
			return FieldError("action_kind", "Une action en cours suppose une orientation : indiquez l'orientation en cours.")
		}
	}
	return nil
}
