package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/workflows"
)

// TestFreeTextPagesReadPostgreSQL: an action's name and structure and a
// breach's obligation typed in the forms are shown by the pages, read from
// PostgreSQL; the workflows never had them (issue 20, item 7).
func TestFreeTextPagesReadPostgreSQL(t *testing.T) {
	t.Parallel()
	today := domain.DateOf(time.Now())
	pid := oriented(t, "WEB-FT", "web-ref-1")
	admin := domain.Actor{ID: "test", Role: domain.RoleAdmin}
	_, err := fx.env.Service.RecordContract(context.Background(), admin, pid, domain.Contract{Kind: domain.ContractCER,
		SignedOn: today.AddDays(-30), StartsOn: today.AddDays(-30), EndsOn: today.AddMonths(5)})
	require.NoError(t, err)
	lea := newBrowser(t)
	lea.login("lea@cd.fr")
	_, page, _ := lea.get("/dossiers/" + pid)
	status, body, loc := lea.post("/dossiers/"+pid+"/action", url.Values{"csrf": {csrf(t, page)}, "name": {"Cure addictologie Wqz7"},
		"kind": {"health"}, "structure": {"Clinique Wqz8"}, "starts_on": {today.String()}, "planned_end_on": {today.AddMonths(2).String()}})
	require.Equal(t, http.StatusSeeOther, status, body)
	_, page, _ = lea.get(loc)
	require.Contains(t, page, "Cure addictologie Wqz7")
	require.Contains(t, page, "Clinique Wqz8")
	clean(t, page)
	_, page, _ = lea.get("/dossiers/" + pid + "?onglet=enregistrer")
	require.Contains(t, page, "Fin de l&#39;action « Cure addictologie Wqz7 »", "the outcome form names it")
	clean(t, page)
	_, page, _ = lea.get("/dossiers/" + pid + "?onglet=historique")
	require.Contains(t, page, "Action n° 1 (Santé)", "the timeline names it by its number")
	for _, bad := range []string{"%!", "<no value>"} {
		require.NotContains(t, page, bad)
	}

	status, body, _ = lea.post("/dossiers/"+pid+"/manquement", url.Values{"csrf": {csrf(t, page)}, "kind": {"obligations_not_met"},
		"obligation": {"Suivi hebdomadaire Wqz9"}, "facts": {"Absent."}, "reported_on": {today.String()}})
	require.Equal(t, http.StatusSeeOther, status, body)
	dep := newBrowser(t)
	dep.login("dep@cd.fr")
	status, page, _ = dep.get("/examens/" + workflows.ReviewID(pid, 1))
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, "obligation du contrat non respectée : Suivi hebdomadaire Wqz9")
	// Issue 23: the case names its person and its next step; the queue
	// shows the person, the référent, the step and the next date due.
	require.Regexp(t, `<h1>Dossier de sanction n° 1 — Nguyen \S+</h1>`, page)
	// The case's first task is the review workflow's own write, which may
	// come after the page on a busy machine: wait for it.
	next := "Prochaine étape : <strong>Envoyer le courrier d&#39;information</strong>."
	require.Eventually(t, func() bool {
		if !strings.Contains(page, next) {
			_, page, _ = dep.get("/examens/" + workflows.ReviewID(pid, 1))
		}
		return strings.Contains(page, next)
	}, 60*time.Second, 100*time.Millisecond, "a case's steps have no due date")
	_, page, _ = dep.get("/examens?statut=reported")
	require.Contains(t, page, "Suivi hebdomadaire Wqz9")
	require.Regexp(t, `<a href="/examens/`+regexp.QuoteMeta(workflows.ReviewID(pid, 1))+`">Nguyen \S+</a>`, page)
	require.Contains(t, page, `<td data-label="Référent">Léa Référente</td>`)
	require.Contains(t, page, `<td data-label="Prochaine échéance">Envoyer le courrier d&#39;information</td>`)
	clean(t, page)
	// The dossier's summary never takes a case's step (no due date) for the
	// next thing due (review finding: « en retard de 106751 jours »).
	_, page, _ = dep.get("/dossiers/" + pid)
	require.NotContains(t, page, "106751")
	require.NotContains(t, page, "échéance le —")
	require.Contains(t, page, "Dossier de sanction en cours")

	for _, id := range []string{workflows.ParcoursWorkflowID(pid), workflows.ReviewWorkflowID(pid, 1)} {
		var sb strings.Builder
		iter := fx.env.Temporal.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			e, err := iter.Next()
			require.NoError(t, err)
			sb.WriteString(e.String())
		}
		require.Contains(t, sb.String(), "parcours_id")
		require.NotContains(t, sb.String(), "Wqz", id)
	}
}
