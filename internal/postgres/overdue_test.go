package postgres_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/workflows"
)

// TestOverdueCountedAtReadTime: a task whose due date has passed in
// Europe/Paris is overdue in every list and count as soon as it is read,
// before its workflow marks it (its timer fires at midnight and its write
// can come seconds or minutes later when many deadlines fall due
// together). Four open tasks of one référent: one marked overdue by its
// workflow, one due yesterday not yet marked, one due in ten days, one
// with no due date.
func TestOverdueCountedAtReadTime(t *testing.T) {
	tb := setup(t)
	today := domain.DateOf(time.Now())
	ids := map[string]string{}
	for _, c := range []struct {
		name   string
		due    domain.Date
		marked bool
	}{
		{"marked", today.AddDays(-3), true},
		{"unmarked", today.AddDays(-1), false},
		{"future", today.AddDays(10), false},
		{"undated", domain.Date{}, false}, // no due date: never overdue
	} {
		res, err := tb.db.Intake(tb.ctx, domain.System, intake("CAF-"+c.name), "departement")
		require.NoError(t, err)
		in := syncInput(res.ParcoursID, 1)
		in.Status = domain.StatusAwaitingContract
		in.Orientation = &domain.Orientation{Track: domain.TrackSocial, Organism: "CCAS", ReferentID: "ref-1", DecidedOn: date("2026-10-10")}
		in.Tasks[0] = workflows.TaskState{Kind: domain.TaskSignContract, Cycle: 1, DueOn: c.due, Status: domain.TaskOpen, Assignee: "ref-1"}
		if c.marked {
			in.Tasks[0].OverdueAt = c.due.AddDays(1).Time()
		}
		require.NoError(t, tb.db.ApplySync(tb.ctx, in))
		ids[c.name] = res.ParcoursID
	}

	total, overdue, err := tb.db.CountTasks(tb.ctx, postgres.TaskFilter{})
	require.NoError(t, err)
	require.Equal(t, [2]int{4, 2}, [2]int{total, overdue}, "open tasks, overdue among them")
	total, overdue, err = tb.db.CountTasks(tb.ctx, postgres.TaskFilter{Status: "overdue"})
	require.NoError(t, err)
	require.Equal(t, [2]int{2, 2}, [2]int{total, overdue})

	list, err := tb.db.ListTasks(tb.ctx, postgres.TaskFilter{Status: "overdue", Limit: 10})
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, []string{ids["marked"], ids["unmarked"]}, []string{list[0].ParcoursID, list[1].ParcoursID}, "marked first, then by due date")
	for _, task := range list {
		require.True(t, task.Overdue, task.ParcoursID)
	}
	// Keyset paging over the two: one page each, nothing lost.
	page1, err := tb.db.ListTasks(tb.ctx, postgres.TaskFilter{Limit: 1})
	require.NoError(t, err)
	require.Len(t, page1, 1)
	c := postgres.CursorOf(page1[0])
	page2, err := tb.db.ListTasks(tb.ctx, postgres.TaskFilter{Limit: 10, After: &c})
	require.NoError(t, err)
	require.Len(t, page2, 3)
	require.Equal(t, []string{ids["unmarked"], ids["future"], ids["undated"]}, []string{page2[0].ParcoursID, page2[1].ParcoursID, page2[2].ParcoursID})
	require.True(t, page2[0].Overdue)
	require.False(t, page2[1].Overdue)
	require.False(t, page2[2].Overdue)

	late, err := tb.db.ListTasks(tb.ctx, postgres.TaskFilter{Status: "overdue", LateBy: 2, Limit: 10})
	require.NoError(t, err)
	require.Len(t, late, 1, "overdue by more than two days")
	require.Equal(t, ids["marked"], late[0].ParcoursID)

	work, err := tb.db.Workload(tb.ctx, postgres.Scope{}, 14)
	require.NoError(t, err)
	require.Len(t, work, 1)
	require.Equal(t, [3]int{4, 2, 1}, [3]int{work[0].Open, work[0].Overdue, work[0].DueSoon}, "open, overdue, due within 14 days")

	parcours, _, err := tb.db.ListParcours(tb.ctx, postgres.ParcoursFilter{Overdue: true, Limit: 10})
	require.NoError(t, err)
	require.Len(t, parcours, 2)
	for _, p := range parcours {
		require.True(t, p.Overdue, p.ID)
		require.NotContains(t, []string{ids["future"], ids["undated"]}, p.ID)
	}
}

// « Mes échéances » filters on the structure of the parcours' référent and
// on the track of its orientation (issue 23), in its counts and its pages.
func TestTasksFilteredByStructureAndTrack(t *testing.T) {
	tb := setup(t)
	require.NoError(t, tb.db.EnsureReferentID(tb.ctx, "CCAS de Lisieux", "ref-lx"))
	require.NoError(t, tb.db.EnsureReferentID(tb.ctx, "Mission locale de Caen", "ref-caen"))
	ids := map[string]string{}
	for _, c := range []struct {
		name, referent string
		track          domain.Track
	}{{"lx-social", "ref-lx", domain.TrackSocial}, {"lx-pro", "ref-lx", domain.TrackProfessional}, {"caen-social", "ref-caen", domain.TrackSocial}} {
		res, err := tb.db.Intake(tb.ctx, domain.System, intake("CAF-F-"+c.name), "departement")
		require.NoError(t, err)
		in := syncInput(res.ParcoursID, 1)
		in.Status = domain.StatusAwaitingContract
		in.Orientation = &domain.Orientation{Track: c.track, Organism: "x", ReferentID: c.referent, DecidedOn: date("2026-10-10")}
		in.Tasks[0] = workflows.TaskState{Kind: domain.TaskSignContract, Cycle: 1, DueOn: date("2026-12-10"), Status: domain.TaskOpen, Assignee: c.referent}
		require.NoError(t, tb.db.ApplySync(tb.ctx, in))
		ids[c.name] = res.ParcoursID
	}
	for _, c := range []struct {
		f    postgres.TaskFilter
		want []string
	}{
		{postgres.TaskFilter{Structure: "CCAS de Lisieux"}, []string{"lx-social", "lx-pro"}},
		{postgres.TaskFilter{Track: domain.TrackSocial}, []string{"lx-social", "caen-social"}},
		{postgres.TaskFilter{Structure: "CCAS de Lisieux", Track: domain.TrackSocial}, []string{"lx-social"}},
		{postgres.TaskFilter{Structure: "CCAS de Lisieux", Sort: postgres.Sort{Column: "beneficiaire"}}, []string{"lx-social", "lx-pro"}},
		{postgres.TaskFilter{Structure: "Inconnue"}, nil},
	} {
		total, _, err := tb.db.CountTasks(tb.ctx, c.f)
		require.NoError(t, err)
		require.Equal(t, len(c.want), total, "%+v", c.f)
		c.f.Limit = 10
		list, err := tb.db.ListTasks(tb.ctx, c.f)
		require.NoError(t, err)
		var got []string
		for _, task := range list {
			got = append(got, task.ParcoursID)
		}
		var want []string
		for _, n := range c.want {
			want = append(want, ids[n])
		}
		require.ElementsMatch(t, want, got, "%+v", c.f)
	}
}
