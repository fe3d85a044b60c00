package postgres_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// TestSortedTaskPagesWithTies: a list sorted on a column many rows share
// (the same due date, the same kind) reads a page at a time from the last
// row's keyset, every row once, in order, whatever the direction; the
// search's pages too.
func TestSortedTaskPagesWithTies(t *testing.T) {
	tb := setup(t)
	dues := []string{"2026-11-03", "2026-11-01", "2026-11-03", "2026-11-02", "2026-11-03", "2026-11-01", "2026-11-03"}
	for i, due := range dues {
		in := intake(fmt.Sprintf("CAF-SORT-%d", i))
		in.LastName = fmt.Sprintf("Tri%d", i%3) // names shared too
		res, err := tb.db.Intake(tb.ctx, domain.System, in, "departement")
		require.NoError(t, err)
		s := syncInput(res.ParcoursID, 1)
		s.Tasks[0].DueOn = date(due)
		require.NoError(t, tb.db.ApplySync(tb.ctx, s))
	}
	walk := func(sort postgres.Sort) []domain.TaskView {
		var all []domain.TaskView
		for range len(dues) + 1 {
			page, err := tb.db.ListTasks(tb.ctx, postgres.TaskFilter{Sort: sort, Limit: 2})
			require.NoError(t, err)
			if len(page) == 0 {
				return all
			}
			all = append(all, page...)
			last := page[len(page)-1]
			sort.After = &postgres.Keyset{Value: last.SortKey, ID: fmt.Sprintf("%020d", last.ID)}
		}
		t.Fatal("the pages never end")
		return nil
	}
	for _, desc := range []bool{false, true} {
		for _, col := range []string{"echeance", "tache", "beneficiaire", "referent"} {
			all := walk(postgres.Sort{Column: col, Desc: desc})
			require.Len(t, all, len(dues), col)
			seen := map[int64]bool{}
			for i, task := range all {
				require.False(t, seen[task.ID], "%s: task %d twice", col, task.ID)
				seen[task.ID] = true
				if i > 0 && col == "echeance" {
					prev := all[i-1].DueOn
					if desc {
						require.False(t, task.DueOn.After(prev), "descending due dates")
					} else {
						require.False(t, task.DueOn.Before(prev), "ascending due dates")
					}
				}
			}
		}
	}
	_, err := tb.db.ListTasks(tb.ctx, postgres.TaskFilter{Sort: postgres.Sort{Column: "nir"}, Limit: 2})
	require.Equal(t, domain.EINVALID, domain.ErrorCode(err))

	// Search results: the same, on names shared by several.
	n, err := tb.db.CountSearch(tb.ctx, postgres.Scope{}, "tri")
	require.NoError(t, err)
	require.Equal(t, len(dues), n)
	seen := map[string]bool{}
	sort := postgres.Sort{Column: "beneficiaire", Desc: true}
	for range len(dues) {
		page, err := tb.db.SearchPage(tb.ctx, postgres.SearchFilter{Query: "tri", Sort: sort, Limit: 3})
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		for _, p := range page {
			require.False(t, seen[p.ID], p.ID)
			seen[p.ID] = true
		}
		last := page[len(page)-1]
		sort.After = &postgres.Keyset{Value: last.SortKey, ID: last.ID}
	}
	require.Len(t, seen, len(dues))
}
