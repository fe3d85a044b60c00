package web_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/workflows"
)

// TestDossierSaysWhichRuleADeadlineFollows: when a new decree takes over a
// running deadline, the parcours writes it with the text it now follows; the
// read model keeps that text and the dossier shows it, with the timeline's
// line. The write is the one the workflow makes then (workflows.
// TestNewRuleSetTakesOverTheRunningContractDeadline tests that it makes it;
// the service's worker runs under the real rule sets, with no such decree).
func TestDossierSaysWhichRuleADeadlineFollows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc := fx.env.Service
	admin := domain.Actor{ID: "test", Role: domain.RoleAdmin}
	today := domain.DateOf(time.Now())
	notified := today.AddDays(-10)
	v, _, err := svc.Intake(ctx, admin, domain.Intake{BeneficiaryID: fmt.Sprintf("WEB-RULES-%d", time.Now().UnixNano()),
		LastName: "Nguyen", FirstName: "Maï", BirthDate: domain.NewDate(1991, 3, 3), EnteredAt: today.AddDays(-20)})
	require.NoError(t, err)
	_, err = svc.RecordOrientation(ctx, admin, v.ID, domain.Orientation{Track: domain.TrackSocial, Organism: "CCAS",
		ReferentID: "web-ref-1", DecidedOn: notified, NotifiedOn: notified})
	require.NoError(t, err)

	q, err := fx.env.Temporal.QueryWorkflow(ctx, workflows.ParcoursWorkflowID(v.ID), "", workflows.StateQuery)
	require.NoError(t, err)
	var s workflows.ParcoursState
	require.NoError(t, q.Get(&s))
	var legal workflows.DeadlineState
	for _, d := range s.Deadlines {
		if d.Key() == "contract/legal" {
			legal = d
		}
	}
	require.Equal(t, "loi-2025", legal.RuleSet)
	decree := domain.RuleSet{
		Name: "decret-fictif-web", Basis: domain.BasisLegal, Label: "délai légal", Source: "décret fictif n° 9999-1 (essai)",
		InForceFrom: today.AddDays(-2), Transition: domain.TransitionRunning,
		Rules: []domain.Rule{{Kind: domain.DeadlineContract, Delay: domain.Delay{Months: 2}, From: domain.AnchorNotification, Source: "décret fictif n° 9999-1"}},
	}
	next, changed := domain.Laws.With(decree).Running(legal.Deadline, s.Facts, today)
	require.True(t, changed)
	taken := legal
	taken.Deadline = next
	require.NoError(t, fx.env.DB.ApplySync(ctx, workflows.SyncInput{
		ParcoursID: v.ID, Version: s.Version + 1, Status: s.Status, Orientation: s.Orientation, Contract: s.Contract,
		Deadlines: []workflows.DeadlineState{taken},
		Events: []workflows.Event{{Seq: s.NextSeq, Kind: workflows.EventRuleChanged, OccurredOn: decree.InForceFrom, At: time.Now(),
			Summary: workflows.RuleChangeSummary(decree, next, legal.DueOn)}},
	}))

	dep := newBrowser(t)
	dep.login("dep@cd.fr")
	_, page, _ := dep.get("/dossiers/" + v.ID)
	require.Contains(t, page, "contrat dû le "+notified.AddMonths(2).French()+" — délai légal, décret fictif n° 9999-1 (2 mois après la notification de l&#39;orientation le "+
		notified.French()+" ; règle en vigueur le "+decree.InForceFrom.French()+", appliquée aux délais en cours)", "the deadline says which text it follows")
	clean(t, page, "decret-fictif-web", "deadline_rule_changed")
	_, page, _ = dep.get("/dossiers/" + v.ID + "?onglet=historique")
	require.Contains(t, page, "Nouvelle règle en vigueur le "+decree.InForceFrom.French()+" (décret fictif n° 9999-1 (essai))", "the timeline says when it changed")
	require.Contains(t, page, "au lieu du "+notified.AddMonths(1).French())
	clean(t, page, "decret-fictif-web", "deadline_rule_changed")
}
