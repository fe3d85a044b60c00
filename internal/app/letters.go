package app

import (
	"context"
	"fmt"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/letters"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/workflows"
)

// LetterSettings is what the département edits on its letters page.
type LetterSettings struct {
	Head   domain.Letterhead              `json:"letterhead"`
	Saved  bool                           `json:"saved"` // false: the default, letters cannot be produced yet
	Bodies map[domain.LetterKind]string   `json:"bodies"`
	Edited map[domain.LetterKind]bool     `json:"edited"`
	Refs   map[domain.LetterKind][]string `json:"references"`
	Titles map[domain.LetterKind]string   `json:"titles"`
}

// LetterSettings reads the letterhead and the bodies (the defaults where
// the département did not edit them).
func (s *Service) LetterSettings(ctx context.Context, a domain.Actor) (LetterSettings, error) {
	if err := authorize(a, "voir les modèles de courrier", departmentOnly...); err != nil {
		return LetterSettings{}, err
	}
	head, saved, err := s.DB.Letterhead(ctx)
	if err != nil {
		return LetterSettings{}, err
	}
	edited, err := s.DB.LetterBodies(ctx)
	if err != nil {
		return LetterSettings{}, err
	}
	out := LetterSettings{Head: head, Saved: saved, Bodies: map[domain.LetterKind]string{}, Edited: map[domain.LetterKind]bool{},
		Refs: map[domain.LetterKind][]string{}, Titles: map[domain.LetterKind]string{}}
	for _, k := range domain.LetterKinds {
		out.Bodies[k], out.Edited[k] = letters.DefaultBody(k), false
		if b, ok := edited[k]; ok {
			out.Bodies[k], out.Edited[k] = b, true
		}
		out.Refs[k], out.Titles[k] = letters.References(k), k.French()
	}
	return out, nil
}

// SaveLetterhead replaces the département's letterhead.
func (s *Service) SaveLetterhead(ctx context.Context, a domain.Actor, h domain.Letterhead) error {
	if err := authorize(a, "modifier l'en-tête des courriers", departmentOnly...); err != nil {
		return err
	}
	if err := h.Validate(); err != nil {
		return err
	}
	for _, v := range []string{h.Departement, h.Service, h.Address, h.City, h.SignatoryName, h.SignatoryTitle} {
		if err := letters.CheckText("letterhead", v); err != nil {
			return err
		}
	}
	if err := s.DB.SaveLetterhead(ctx, h, a.ID); err != nil {
		return err
	}
	return s.audit(ctx, a, "update", "letterhead", "", nil)
}

// SaveLetterBody replaces the body of one kind of letter; an empty body
// goes back to the service's default.
func (s *Service) SaveLetterBody(ctx context.Context, a domain.Actor, kind domain.LetterKind, body string) error {
	if err := authorize(a, "modifier les modèles de courrier", departmentOnly...); err != nil {
		return err
	}
	if !kind.Valid() {
		return domain.Errorf(domain.ENOTFOUND, "Modèle de courrier inconnu %q.", kind)
	}
	if body != "" {
		if err := letters.CheckBody(body); err != nil {
			return err
		}
	}
	if err := s.DB.SaveLetterBody(ctx, kind, body, a.ID); err != nil {
		return err
	}
	return s.audit(ctx, a, "update", "letter_template", string(kind), map[string]any{"reset": body == ""})
}

// ProduceLetter makes the PDF of a case's letter and stores it as a draft
// (a draft of the same kind is replaced and keeps its number).
func (s *Service) ProduceLetter(ctx context.Context, a domain.Actor, reviewID string, req domain.LetterRequest) (domain.LetterView, error) {
	if err := authorize(a, "produire les courriers de la procédure", departmentOnly...); err != nil {
		return domain.LetterView{}, err
	}
	today := s.today()
	if err := req.Validate(today); err != nil {
		return domain.LetterView{}, err
	}
	if err := letters.CheckText("address", req.Address); err != nil {
		return domain.LetterView{}, err
	}
	if err := letters.CheckText("place", req.Place); err != nil {
		return domain.LetterView{}, err
	}
	sub, err := s.DB.LetterSubject(ctx, reviewID, postgres.ScopeOf(a))
	if err != nil {
		return domain.LetterView{}, err
	}
	settings, err := s.LetterSettings(ctx, a)
	if err != nil {
		return domain.LetterView{}, err
	}
	if !settings.Saved {
		return domain.LetterView{}, domain.Errorf(domain.ECONFLICT, "Renseignez d'abord l'en-tête des courriers (Département, adresse, signataire) sur la page « Courriers ».")
	}
	data, err := letterData(sub, req, today)
	if err != nil {
		return domain.LetterView{}, err
	}
	recipient := sub.FirstName + " " + sub.LastName
	v, err := s.DB.SaveLetterDraft(ctx, postgres.LetterDraft{
		ReviewID: reviewID, ParcoursID: sub.Review.ParcoursID, Kind: req.Kind, DatedOn: today, Address: req.Address, Params: req, CreatedBy: a.ID,
		Render: func(number string) ([]byte, error) {
			data.Numero = number
			return letters.Render(letters.Letter{Kind: req.Kind, Number: number, DatedOn: today, Head: settings.Head,
				Recipient: recipient, Address: req.Address, Body: settings.Bodies[req.Kind], Data: data, References: settings.Refs[req.Kind]})
		},
	}, letters.Hash)
	if err != nil {
		return v, err
	}
	return v, s.audit(ctx, a, "create", "letter", v.ID, map[string]any{"review": reviewID, "kind": req.Kind, "number": v.Number, "sha256": v.SHA256})
}

// letterData fills a letter's fields from its case, refusing a letter the
// case is not at.
func letterData(sub postgres.LetterSubject, req domain.LetterRequest, today domain.Date) (letters.Data, error) {
	st := sub.State
	d := letters.Data{Personne: sub.FirstName + " " + sub.LastName, Date: today.French(),
		Manquement: letters.Breach(domain.BreachKind(sub.Review.BreachKind), sub.Review.Obligation), SignaleLe: sub.Review.ReportedOn.French()}
	closed := func() bool {
		switch st.Status {
		case workflows.ReviewClosedLegitimate, workflows.ReviewClosedCompliance, workflows.ReviewClosedNoSanction, workflows.ReviewAnnulled, workflows.ReviewRadiated:
			return true
		}
		return false
	}
	switch req.Kind {
	case domain.LetterNotice:
		if st.Notice != nil || closed() {
			return d, domain.Errorf(domain.ECONFLICT, "Le courrier d'information ne se prépare qu'avant son envoi, sur un dossier ouvert (%s).", st.Status)
		}
		d.SanctionEnvisagee = letters.Sanction(req.PlannedKind, req.PlannedPercent, req.PlannedMonths)
		d.DelaiObservations = 30
		if sc, ok := domain.ScaleOn(today); ok {
			d.DelaiObservations = sc.ObservationDays
		}
	case domain.LetterConvocation:
		if st.Notice == nil || st.Decision != nil || closed() {
			return d, domain.Errorf(domain.ECONFLICT, "La convocation suit l'envoi du courrier d'information et précède la décision.")
		}
		d.Entretien, d.Heure, d.Lieu = req.AppointmentOn.French(), req.AppointmentAt, req.Place
	case domain.LetterDecision:
		dec := st.Decision
		if dec == nil {
			return d, domain.Errorf(domain.ECONFLICT, "Aucune décision n'est enregistrée sur ce dossier.")
		}
		d.DecideeLe = dec.DecidedOn.French()
		if dec.Kind == domain.SanctionNone {
			d.SansSanction = true
		} else {
			d.Decision = fmt.Sprintf("%s, du %s au %s", letters.Sanction(dec.Kind, dec.Percent, dec.Months), dec.EffectiveOn.French(), dec.EndsOn().French())
		}
	}
	return d, nil
}

// Letters lists a case's letters.
func (s *Service) Letters(ctx context.Context, a domain.Actor, reviewID string) ([]domain.LetterView, error) {
	if _, _, err := s.DB.ReviewParcours(ctx, reviewID, postgres.ScopeOf(a)); err != nil {
		return nil, err
	}
	list, err := s.DB.Letters(ctx, reviewID)
	if err != nil {
		return nil, err
	}
	if list == nil {
		list = []domain.LetterView{}
	}
	return list, s.audit(ctx, a, "list", "letters", reviewID, map[string]any{"count": len(list)})
}

// Letter reads a letter's record.
func (s *Service) Letter(ctx context.Context, a domain.Actor, id string) (domain.LetterView, error) {
	v, err := s.DB.GetLetter(ctx, id, postgres.ScopeOf(a))
	if err != nil {
		return v, err
	}
	return v, s.audit(ctx, a, "read", "letter", id, nil)
}

// LetterPDF reads a letter's stored PDF, exactly as it was produced.
func (s *Service) LetterPDF(ctx context.Context, a domain.Actor, id string) ([]byte, domain.LetterView, error) {
	pdf, v, err := s.DB.LetterPDF(ctx, id, postgres.ScopeOf(a))
	if err != nil {
		return nil, v, err
	}
	if letters.Hash(pdf) != v.SHA256 {
		return nil, v, fmt.Errorf("letter %s: stored PDF does not match its hash", id)
	}
	return pdf, v, s.audit(ctx, a, "read", "letter_pdf", id, map[string]any{"sha256": v.SHA256})
}

// RecordLetterSent records that a letter left: it is frozen from then on.
// For the notice, the sending goes to the case, where it closes the
// "send the notice" task and, with the receipt date, starts the
// observation period.
func (s *Service) RecordLetterSent(ctx context.Context, a domain.Actor, id string, in domain.LetterSending) (domain.LetterView, error) {
	return s.letterStep(ctx, a, id, "enregistrer l'envoi d'un courrier", &in,
		map[string]any{"sent_on": in.SentOn, "mode": in.Mode, "received_on": in.ReceivedOn},
		func(notify func(domain.LetterView) error) error {
			return s.DB.RecordLetterSent(ctx, id, in, a.ID, notify)
		},
		func(v domain.LetterView) error {
			if v.Kind == domain.LetterDecision {
				return s.notifyDecision(ctx, a, v, in.ReceivedOn)
			}
			n := domain.Notice{SentOn: in.SentOn, ReceivedOn: in.ReceivedOn, Mode: in.Mode, PlannedKind: v.Params.PlannedKind,
				PlannedPercent: v.Params.PlannedPercent, PlannedMonths: v.Params.PlannedMonths,
				Letter: &domain.LetterRef{ID: v.ID, Number: v.Number, SHA256: v.SHA256}}
			_, err := s.reviewCommand(withUpdateID(ctx, "letter-sent-"+v.ID), a, v.ReviewID, workflows.SendNoticeUpdate, &n, "notice",
				"envoyer le courrier d'information", departmentOnly)
			return err
		})
}

// RecordLetterReceived records the date on the acknowledgment of receipt;
// for the notice, the observation period runs from it.
func (s *Service) RecordLetterReceived(ctx context.Context, a domain.Actor, id string, in domain.LetterReceipt) (domain.LetterView, error) {
	return s.letterStep(ctx, a, id, "enregistrer la réception d'un courrier", in, map[string]any{"received_on": in.ReceivedOn},
		func(notify func(domain.LetterView) error) error {
			return s.DB.RecordLetterReceived(ctx, id, in.ReceivedOn, a.ID, notify)
		},
		func(v domain.LetterView) error {
			if v.Kind == domain.LetterDecision {
				return s.notifyDecision(ctx, a, v, in.ReceivedOn)
			}
			_, err := s.reviewCommand(withUpdateID(ctx, "letter-received-"+v.ID), a, v.ReviewID, workflows.RecordNoticeReceiptUpdate,
				&domain.NoticeReceipt{ReceivedOn: in.ReceivedOn}, "notice_receipt", "enregistrer la réception du courrier", departmentOnly)
			return err
		})
}

// letterStep records a step of a letter's life: record locks the letter
// and runs notify, which carries the step of a notice or a decision letter
// to its case, before the commit.
func (s *Service) letterStep(ctx context.Context, a domain.Actor, id, what string, in interface{ Validate(domain.Date) error },
	detail map[string]any, record func(notify func(domain.LetterView) error) error, caseStep func(domain.LetterView) error) (domain.LetterView, error) {
	if err := authorize(a, what, departmentOnly...); err != nil {
		return domain.LetterView{}, err
	}
	if err := in.Validate(s.today()); err != nil {
		return domain.LetterView{}, err
	}
	if _, err := s.DB.GetLetter(ctx, id, postgres.ScopeOf(a)); err != nil {
		return domain.LetterView{}, err
	}
	err := record(func(v domain.LetterView) error {
		if v.Kind == domain.LetterConvocation {
			return nil
		}
		return caseStep(v)
	})
	if err != nil {
		return domain.LetterView{}, err
	}
	v, err := s.DB.GetLetter(ctx, id, postgres.Scope{})
	if err != nil {
		return v, err
	}
	return v, s.audit(ctx, a, "update", "letter", id, detail)
}

// notifyDecision tells the case when the person received its decision
// letter: the two months of the RAPO run from then. A case already closed
// (no sanction decided, annulled...) has no window left to move.
func (s *Service) notifyDecision(ctx context.Context, a domain.Actor, v domain.LetterView, on domain.Date) error {
	if on.IsZero() {
		return nil
	}
	r, err := s.DB.GetReview(ctx, v.ReviewID, postgres.Scope{})
	if err != nil {
		return err
	}
	switch r.Status {
	case workflows.ReviewSanction, workflows.ReviewRemobilised, workflows.ReviewSanctionEnded, workflows.ReviewRadiationProposed:
	default:
		return nil
	}
	_, err = s.reviewCommand(withUpdateID(ctx, "letter-notified-"+v.ID), a, v.ReviewID, workflows.RecordDecisionNotifiedUpdate,
		&domain.DecisionNotice{NotifiedOn: on}, "decision_notified", "enregistrer la notification de la décision", departmentOnly)
	return err
}

// RecordDecisionNotified records when a decision notified outside the
// service was received.
func (s *Service) RecordDecisionNotified(ctx context.Context, a domain.Actor, id string, n domain.DecisionNotice) (domain.ReviewView, error) {
	return s.reviewCommand(ctx, a, id, workflows.RecordDecisionNotifiedUpdate, &n, "decision_notified", "enregistrer la notification de la décision", departmentOnly)
}

// RecordNoticeReceipt records the receipt of a notice sent outside the
// service (its sending recorded without a letter of ours).
func (s *Service) RecordNoticeReceipt(ctx context.Context, a domain.Actor, id string, r domain.NoticeReceipt) (domain.ReviewView, error) {
	return s.reviewCommand(ctx, a, id, workflows.RecordNoticeReceiptUpdate, &r, "notice_receipt", "enregistrer la réception du courrier", departmentOnly)
}

type updateIDKey struct{}

// withUpdateID names the workflow update a call sends: the same name sent
// again (a retry after a failure past the workflow) gets the first answer.
func withUpdateID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, updateIDKey{}, id)
}

func updateIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(updateIDKey{}).(string)
	return id
}

// LetterAddress is the person's postal address as last typed on a letter
// of theirs (prefilled in the letter forms).
func (s *Service) LetterAddress(ctx context.Context, a domain.Actor, reviewID string) (string, error) {
	if err := authorize(a, "préparer les courriers de la procédure", departmentOnly...); err != nil {
		return "", err
	}
	sub, err := s.DB.LetterSubject(ctx, reviewID, postgres.ScopeOf(a))
	if err != nil {
		return "", err
	}
	return sub.Address, nil
}
