package web

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// TestAuditWhatHasFrench: every kind of change a dossier's audit line
// names (the « what » the service's commands pass) reads in French.
func TestAuditWhatHasFrench(t *testing.T) {
	for _, what := range []string{"orientation", "contract", "reorientation_request", "reorientation_decision",
		"reassignment", "obstacles", "review", "action", "action_outcome", "follow_up", "exit", "relance", "breach",
		"stock", "orientation_notified", "notice", "notice_receipt", "hearing", "compliance", "legitimate_reason",
		"decision", "decision_notified", "appeal", "appeal_decision", "radiation"} {
		require.Contains(t, auditWhats, what)
	}
}

// TestTaskCursorOfATaskWithoutDueDate: a page ending on a sanction case's
// step (no due date) still links to the next page (review finding: the
// cursor « 1..42 » did not parse, so the rest of the list was lost).
func TestTaskCursorOfATaskWithoutDueDate(t *testing.T) {
	for _, c := range []postgres.TaskCursor{{Later: true, ID: 42}, {Later: false, DueOn: domain.NewDate(2026, 11, 7), ID: 7}} {
		got, ok := parseTaskCursor(formatTaskCursor(c))
		require.True(t, ok, formatTaskCursor(c))
		require.Equal(t, c, got)
	}
}

// TestErrorSummaryCountsFieldErrors: one field in error reads « Une erreur
// à corriger », not two with the form's general line.
func TestErrorSummaryCountsFieldErrors(t *testing.T) {
	p := page{Errors: map[string]string{"": "Le formulaire contient une erreur : voir ci-dessous.", "reason": "Le motif est obligatoire."}}
	require.Equal(t, []errorItem{{"reason", "Le motif est obligatoire."}}, p.ErrorSummary())
	p = page{Errors: map[string]string{"": "Identifiant ou mot de passe incorrect."}}
	require.Equal(t, []errorItem{{"", "Identifiant ou mot de passe incorrect."}}, p.ErrorSummary())
}

// TestOperatorCommandsReadInFrench: the lines the operators' commands write
// (resync, rule announcement, workflow reset and stop) read as sentences,
// with no code and no « a agi sur » (review finding: « Le compte cli:root
// a agi sur workflow. »).
func TestOperatorCommandsReadInFrench(t *testing.T) {
	for _, r := range []postgres.AuditRow{
		{Actor: "cli:root", Action: "resync", RecordType: "parcours", RecordID: "01a2", Subject: "Paul Fournier"},
		{Actor: "cli:root", Action: "rules_announced", RecordType: "workflow", RecordID: "parcours", Detail: `{"parcours": 12}`},
		{Actor: "cli:exploit", Action: "workflow_reset", RecordType: "workflow", RecordID: "parcours-01a2"},
		{Actor: "cli:exploit", Action: "workflow_terminate", RecordType: "workflow", RecordID: "parcours-01a2"},
	} {
		s := auditLineOf(r).Sentence
		require.NotContains(t, s, "a agi sur", s)
		for _, code := range []string{"cli:", "workflow", "rules_announced", "resync"} {
			require.NotContains(t, s, code, s)
		}
		require.Contains(t, s, "commande", s)
	}
}

// TestSortLoad: the load per référent sorts on a column, names whatever
// their case and accents, the référent's id breaking ties.
func TestSortLoad(t *testing.T) {
	load := []domain.Workload{
		{ReferentID: "b", Name: "Émile Zola", Structure: "Nord", Parcours: 3, Open: 4, Overdue: 1},
		{ReferentID: "a", Name: "ernest Abel", Structure: "Sud", Parcours: 5, Open: 2, Overdue: 2},
		{ReferentID: "c", Name: "Zoé Martin", Structure: "nord", Parcours: 5, Open: 1, Overdue: 0},
	}
	for _, c := range []struct {
		s    postgres.Sort
		want string
	}{
		{postgres.Sort{Column: "referent"}, "bac"},
		{postgres.Sort{Column: "retard", Desc: true}, "abc"},
		{postgres.Sort{Column: "parcours"}, "bac"},
		{postgres.Sort{Column: "parcours", Desc: true}, "acb"},
		{postgres.Sort{Column: "structure"}, "bca"},
	} {
		sortLoad(load, c.s)
		got := ""
		for _, w := range load {
			got += w.ReferentID
		}
		require.Equal(t, c.want, got, "%+v", c.s)
	}
}
