package app

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// ImportOutcome is what importing one person did.
type ImportOutcome struct {
	Kind ImportKind
	// Changes says in French what a reprise line changed in an open
	// parcours ("Nouveau contrat (CER) signé le 02/11/2026 enregistré.").
	Changes []string
	// Unapplied says in French what the line gives that was not applied,
	// and why (a new orientation of a parcours already oriented...).
	Unapplied []string
}

// ImportKind is what importing one person did, in one word.
type ImportKind string

// Kinds of outcomes of an imported person, counted in the import's report.
const (
	ImportCreated   ImportKind = "created"   // a new beneficiary or a new parcours
	ImportUpdated   ImportKind = "updated"   // identity, contact or situation changed, or the parcours ended
	ImportUnchanged ImportKind = "unchanged" // the file says what the service already knows
	ImportIgnored   ImportKind = "ignored"   // not subject to droits et devoirs and unknown: nothing kept
	// The line names a known person with another name: it waits in
	// « Identités à vérifier » (nothing applied).
	ImportReview ImportKind = "review"
)

// ImportPerson applies one person read from a CAF/MSA flux or a list:
//   - subject to droits et devoirs in an open household (or one whose
//     payment is suspended: the right stays open, the parcours is paused):
//     the beneficiary is created or updated and their parcours started;
//   - household closed or refused, or the person no longer subject: their
//     open parcours ends with the reason, dated by the file;
//   - a person not subject and unknown is not kept (data minimisation).
//
// A line of a reprise file (p.Reprise) starts the new parcours in the state
// it gives; for a parcours already open, what changed since the last file
// is applied through the usual commands and listed in the outcome.
//
// Applying the same person twice changes nothing the second time.
func (s *Service) ImportPerson(ctx context.Context, a domain.Actor, p domain.ImportedPerson) (ImportOutcome, error) {
	if err := authorize(a, "importer des bénéficiaires", departmentOnly...); err != nil {
		return ImportOutcome{}, err
	}
	defer s.Caches.written() // a new or changed parcours: the counts kept are no longer right
	p.Normalize()
	if err := p.Validate(s.today()); err != nil {
		return ImportOutcome{}, err
	}
	if err := p.Reprise.Validate(p.EnteredOn, s.today()); err != nil {
		return ImportOutcome{}, err
	}
	if err := s.resolveReprise(ctx, a, p.Reprise); err != nil {
		return ImportOutcome{}, err
	}
	out, _, err := s.applyImported(ctx, a, p)
	return out, err
}

// looksLikeID: one word of letters, digits and . _ : - with at least a
// digit, a hyphen or an underscore (« ref-42 », « R0042 »), where a name has
// a space (« Agnès Martin »).
func looksLikeID(v string) bool {
	return !strings.ContainsAny(v, " \t") && strings.ContainsAny(v, "0123456789-_") && beneficiaryLikeID.MatchString(v)
}

var beneficiaryLikeID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)

// resolveReprise turns the structure and the référent a reprise line names
// into records (found, or created: issue 19, « managed … by the reprise
// file »), and puts their canonical name and id in the orientation. The
// file's « Référent unique » column may hold a référent's id, e-mail address
// or name: an address is an address; a text some référent has as id is
// that id; anything else is a name.
func (s *Service) resolveReprise(ctx context.Context, a domain.Actor, r *domain.Reprise) error {
	if r == nil || r.Orientation == nil {
		return nil
	}
	o := r.Orientation
	ref := domain.ReferentRef{StructureName: o.Organism}
	byID := false
	switch v := strings.TrimSpace(o.ReferentID); {
	case v == "":
	case strings.Contains(v, "@"):
		ref.ReferentEmail = v
	default:
		_, err := s.DB.GetReferent(ctx, v)
		switch {
		case err == nil:
			byID = true
		case domain.ErrorCode(err) != domain.ENOTFOUND:
			return err
		case looksLikeID(v):
			// An id the département's previous tool used (« ref-42 »):
			// kept as the référent's id, as the migration keeps those in
			// use, in the line's structure.
			if err := s.DB.EnsureReferentID(ctx, o.Organism, v); err != nil {
				return err
			}
			if err := s.audit(ctx, a, "create", "referent", v, map[string]any{"by": "reprise"}); err != nil {
				return err
			}
			byID = true
		default:
			ref.ReferentName = v
		}
		if byID {
			o.ReferentID = v // an id says who; the line's structure is the orientation's
		}
	}
	if ref.StructureName == "" && ref.ReferentEmail == "" && ref.ReferentName == "" {
		return nil
	}
	res, err := s.ResolveReferent(ctx, a, ref)
	if err != nil {
		return err
	}
	o.Organism = cmpOr(res.StructureName, o.Organism)
	if !byID {
		o.ReferentID = res.ReferentID
	}
	return nil
}

// applyImported applies a normalised, valid person (ImportPerson, or a line
// of « Identités à vérifier » once the département decided); it returns the
// beneficiary the line was applied to ("" when nothing was kept).
func (s *Service) applyImported(ctx context.Context, a domain.Actor, p domain.ImportedPerson) (ImportOutcome, string, error) {
	state := p.Situation.State
	active := state == "" || state == domain.PayerOpen || state == domain.PayerSuspended
	intake := p.Subject && active
	var res postgres.ImportResult
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if res, err = s.DB.ImportPerson(ctx, a, p, s.Policy.Name, intake); !errors.Is(err, postgres.ErrRetry) {
			break
		}
	}
	if errors.Is(err, postgres.ErrRetry) {
		return ImportOutcome{}, "", domain.Errorf(domain.ECONFLICT, "Cette personne a été modifiée en même temps par un autre import : réimportez le fichier.")
	}
	if err != nil {
		return ImportOutcome{}, "", err
	}
	if res.Review {
		return ImportOutcome{Kind: ImportReview}, "", nil
	}
	if res.BeneficiaryID == "" {
		return ImportOutcome{Kind: ImportIgnored}, "", nil
	}
	outcome := ImportOutcome{Kind: ImportUnchanged}
	if res.Changed {
		outcome.Kind = ImportUpdated
	}
	if res.Created {
		outcome.Kind = ImportCreated
	}
	if res.Intake {
		if res.Parcours.Created {
			outcome.Kind = ImportCreated
		}
		if !res.Parcours.Started {
			if err := s.Start(ctx, res.Parcours.Start); err != nil {
				return ImportOutcome{}, "", err
			}
		} else if p.Reprise != nil && !res.Parcours.Created {
			if err := s.applyReprise(ctx, a, res.Parcours.ParcoursID, p, &outcome); err != nil {
				return ImportOutcome{}, "", err
			}
		}
		return outcome, res.BeneficiaryID, nil
	}
	// A flux person without the droits-et-devoirs block (MSA): the file
	// says nothing of their duties, their parcours goes on.
	if res.OpenID == "" || res.Stale || active && (p.Subject || p.NoDutyBlock) {
		return outcome, res.BeneficiaryID, nil
	}
	// The parcours ends: dated by the closure, or by the file.
	exit := domain.Exit{Reason: "end_of_rights", On: p.ReceivedOn}
	switch {
	case state == domain.PayerClosed || state == domain.PayerRefused:
		if !p.Situation.Since.IsZero() {
			exit.On = p.Situation.Since
		}
		exit.Note = fmt.Sprintf("Fin de droit signalée par la %s (fichier du %s) : %s.", p.Payer, p.ReceivedOn.French(), p.Situation.Describe())
	default:
		exit.Reason = "income_above_threshold"
		exit.Note = fmt.Sprintf("La %s indique (fichier du %s) que la personne n'est plus soumise aux droits et devoirs.", cmpOr(p.Payer, "CAF"), p.ReceivedOn.French())
	}
	if exit.On.Before(res.OpenEnteredOn) {
		return outcome, res.BeneficiaryID, nil // a file older than the parcours says nothing of it
	}
	if _, err := s.RecordExit(ctx, a, res.OpenID, exit); err != nil {
		return ImportOutcome{}, "", err
	}
	outcome.Kind = ImportUpdated
	return outcome, res.BeneficiaryID, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Imports lists the latest imports (département and administrators).
func (s *Service) Imports(ctx context.Context, a domain.Actor) ([]postgres.ImportRun, error) {
	if err := authorize(a, "consulter les imports", departmentOnly...); err != nil {
		return nil, err
	}
	return s.DB.ListImports(ctx, 50)
}

// Import reads one import's progress or report, and its rejected lines.
func (s *Service) Import(ctx context.Context, a domain.Actor, id string) (postgres.ImportRun, []postgres.ImportReject, error) {
	if err := authorize(a, "consulter les imports", departmentOnly...); err != nil {
		return postgres.ImportRun{}, nil, err
	}
	run, err := s.DB.GetImport(ctx, id)
	if err != nil {
		return run, nil, err
	}
	rejects, err := s.DB.ImportRejects(ctx, id)
	if err != nil {
		return run, nil, err
	}
	return run, rejects, s.audit(ctx, a, "read", "import", id, nil)
}

// ImportMapping is the département's CSV column mapping (nil: the default).
func (s *Service) ImportMapping(ctx context.Context, a domain.Actor) (map[string][]string, error) {
	if err := authorize(a, "consulter la correspondance des colonnes", departmentOnly...); err != nil {
		return nil, err
	}
	return s.DB.ImportMapping(ctx)
}

// SetImportMapping stores the CSV column mapping, already validated by the
// importer (importer.Mapping.Validate).
func (s *Service) SetImportMapping(ctx context.Context, a domain.Actor, m map[string][]string) error {
	if err := authorize(a, "modifier la correspondance des colonnes", departmentOnly...); err != nil {
		return err
	}
	if err := s.DB.SetImportMapping(ctx, m, a.ID); err != nil {
		return err
	}
	return s.audit(ctx, a, "update", "import_mapping", "1", nil)
}
