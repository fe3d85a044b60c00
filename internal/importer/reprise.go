package importer

import (
	"errors"
	"fmt"
	"strings"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// French names of the action kinds (domain.ActionKinds), as lists write them.
var actionFrench = []struct{ Kind, Label string }{
	{"training", "formation"},
	{"employment_support", "accompagnement vers l'emploi"},
	{"work_immersion", "immersion professionnelle"},
	{"siae", "insertion par l'activité économique"},
	{"social_support", "accompagnement social"},
	{"health", "santé"},
	{"housing", "logement"},
	{"mobility", "mobilité"},
	{"digital", "numérique"},
	{"other", "autre"},
}

func actionValues() []string {
	out := make([]string, len(actionFrench))
	for i, a := range actionFrench {
		out[i] = a.Label
	}
	return out
}

// ActionKindFrench names an action kind for people.
func ActionKindFrench(kind string) string {
	for _, a := range actionFrench {
		if a.Kind == kind {
			return a.Label
		}
	}
	return kind
}

func actionKind(s string) (string, error) {
	n := NormalizeHeader(s)
	for _, a := range actionFrench {
		if n == NormalizeHeader(a.Label) || n == NormalizeHeader(a.Kind) {
			return a.Kind, nil
		}
	}
	switch n {
	case "iae", "siae":
		return "siae", nil
	case "pmsmp", "immersion":
		return "work_immersion", nil
	}
	return "", fmt.Errorf("type d'action %q inconnu (attendu : %s)", s, strings.Join(actionValues(), ", "))
}

func track(s string) (domain.Track, error) {
	switch NormalizeHeader(s) {
	case "professionnel", "pro", "emploi", "professional":
		return domain.TrackProfessional, nil
	case "socio-professionnel", "socioprofessionnel", "socio-pro", "socio_professional":
		return domain.TrackSocioProfessional, nil
	case "social":
		return domain.TrackSocial, nil
	}
	return "", fmt.Errorf("parcours %q inconnu (attendu : professionnel, socio-professionnel ou social)", s)
}

// contractKind reads the spellings départements use.
func contractKind(s string) (domain.ContractKind, error) {
	n := NormalizeHeader(strings.NewReplacer(".", "", "(", " ", ")", " ").Replace(s))
	switch {
	case n == "cer" || strings.HasPrefix(n, "contrat-d-engagements-reciproques") || strings.HasPrefix(n, "contrat-d-engagement-reciproque") ||
		strings.HasPrefix(n, "contrat-engagement-reciproque"):
		return domain.ContractCER, nil
	case n == "ppae" || strings.HasPrefix(n, "projet-personnalise"):
		return domain.ContractPPAE, nil
	case n == "ce" || n == "contrat-d-engagement" || n == "contrat-d-engagements" || n == "contrat-engagement" ||
		n == "contrat_engagement" || strings.HasPrefix(n, "contrat-d-engagement-2025") || strings.HasPrefix(n, "contrat-d-engagement-loi"):
		return domain.ContractEngagement, nil
	}
	return "", fmt.Errorf("type de contrat %q inconnu (attendu : CER, PPAE ou contrat d'engagement)", s)
}

// yes reads oui/non columns; an empty cell is no.
func yesNoValue(s string) (bool, error) {
	switch NormalizeHeader(s) {
	case "", "non", "n", "0", "faux", "false", "no":
		return false, nil
	case "oui", "o", "1", "x", "vrai", "true", "yes", "y":
		return true, nil
	}
	return false, fmt.Errorf("%q n'est ni oui ni non", s)
}

// reprise reads a row's reprise columns (nil when none is filled). get
// returns a cell; date reads one.
func reprise(get func(string) string, date func(string) (domain.Date, error)) (*domain.Reprise, error) {
	var r domain.Reprise
	any := false
	var errs []error
	fail := func(field string, err error) {
		errs = append(errs, fmt.Errorf("%s : %v", strings.ToLower(labelOf(field)), err))
	}
	dateOf := func(field string) domain.Date {
		d, err := date(get(field))
		if err != nil {
			fail(field, err)
		}
		return d
	}
	need := func(field string, d domain.Date, what string) {
		if d.IsZero() && get(field) == "" {
			errs = append(errs, fmt.Errorf("%s manque alors que %s est donné", strings.ToLower(labelOf(field)), what))
		}
	}

	if v := get(FieldTrack); v != "" || get(FieldOrientedOn) != "" || get(FieldStructure) != "" {
		any = true
		o := domain.RepriseOrientation{Organism: get(FieldStructure), ReferentID: get(FieldReferent), DecidedOn: dateOf(FieldOrientedOn)}
		if v == "" {
			errs = append(errs, errors.New("le parcours d'orientation manque alors qu'une orientation est décrite"))
		} else if t, err := track(v); err != nil {
			fail(FieldTrack, err)
		} else {
			o.Track = t
		}
		need(FieldOrientedOn, o.DecidedOn, "un parcours")
		r.Orientation = &o
	} else if get(FieldReferent) != "" {
		errs = append(errs, errors.New("un référent est donné sans orientation (parcours et date de décision)"))
	}
	if v := get(FieldContractKind); v != "" || get(FieldContractStart) != "" || get(FieldContractEnd) != "" || get(FieldContractSigned) != "" {
		any = true
		c := domain.RepriseContract{SignedOn: dateOf(FieldContractSigned), StartsOn: dateOf(FieldContractStart), EndsOn: dateOf(FieldContractEnd)}
		if v == "" {
			errs = append(errs, errors.New("le type de contrat manque alors que des dates de contrat sont données"))
		} else if k, err := contractKind(v); err != nil {
			fail(FieldContractKind, err)
		} else {
			c.Kind = k
		}
		need(FieldContractStart, c.StartsOn, "un contrat")
		need(FieldContractEnd, c.EndsOn, "un contrat")
		if c.SignedOn.IsZero() {
			c.SignedOn = c.StartsOn
		}
		if !c.StartsOn.IsZero() && !c.EndsOn.IsZero() && c.EndsOn.Before(c.StartsOn) {
			errs = append(errs, errors.New("le contrat finit avant de commencer"))
		}
		r.Contract = &c
	}
	if v := get(FieldStock); v != "" {
		b, err := yesNoValue(v)
		if err != nil {
			fail(FieldStock, err)
		}
		r.Stock, any = b, any || b
	}
	for i, f := range []string{FieldObstacleHealth, FieldObstacleDisabled, FieldObstacleHousing, FieldObstacleFamily} {
		b, err := yesNoValue(get(f))
		if err != nil {
			fail(f, err)
		}
		if b {
			r.Obstacles, any = append(r.Obstacles, domain.ObstacleCategories[i]), true
		}
	}
	if v := get(FieldActionKind); v != "" || get(FieldActionStart) != "" {
		any = true
		a := domain.RepriseAction{StartsOn: dateOf(FieldActionStart), PlannedEndOn: dateOf(FieldActionPlannedEnd)}
		if v == "" {
			errs = append(errs, errors.New("le type d'action manque alors qu'une date d'action est donnée"))
		} else if k, err := actionKind(v); err != nil {
			fail(FieldActionKind, err)
		} else {
			a.Kind = k
		}
		need(FieldActionStart, a.StartsOn, "une action")
		r.Action = &a
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if !any {
		return nil, nil
	}
	return &r, nil
}
