package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
	"github.com/parcours-rsa/parcours/workflows"
)

type testBundle struct {
	ctx context.Context
	db  *postgres.DB
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	t.Parallel()
	return &testBundle{ctx: context.Background(), db: pgtest.New(t)}
}

func date(s string) domain.Date {
	d, err := domain.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func intake(id string) domain.Intake {
	return domain.Intake{BeneficiaryID: id, LastName: "Martin", FirstName: "Léa", BirthDate: date("1990-05-04"), EnteredAt: date("2026-10-01")}
}

func TestMigrationsUpDownUp(t *testing.T) {
	tb := setup(t)
	latest := postgres.LatestVersion()
	require.GreaterOrEqual(t, latest, 1)
	v, err := tb.db.SchemaVersion(tb.ctx)
	require.NoError(t, err)
	require.Equal(t, latest, v)

	require.NoError(t, tb.db.Migrate(tb.ctx, 0))
	v, err = tb.db.SchemaVersion(tb.ctx)
	require.NoError(t, err)
	require.Equal(t, 0, v)
	var tables int
	require.NoError(t, tb.db.Pool.QueryRow(tb.ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'`).Scan(&tables))
	require.Zero(t, tables, "down removes every table")

	require.NoError(t, tb.db.Migrate(tb.ctx, latest))
	require.NoError(t, tb.db.Migrate(tb.ctx, latest), "migrating twice is a no-op")
	v, err = tb.db.SchemaVersion(tb.ctx)
	require.NoError(t, err)
	require.Equal(t, latest, v)

	// The tasks are analyzed after 1 % of them change (midnight's overdue
	// tasks), and the index the import reads a person's parcours by is there.
	var options []string
	require.NoError(t, tb.db.Pool.QueryRow(tb.ctx, `SELECT reloptions FROM pg_class WHERE relname = 'tasks' AND relnamespace = 'public'::regnamespace`).Scan(&options))
	require.Contains(t, options, "autovacuum_analyze_scale_factor=0.01")
	var indexes int
	require.NoError(t, tb.db.Pool.QueryRow(tb.ctx, `SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND indexname = 'parcours_by_beneficiary'`).Scan(&indexes))
	require.Equal(t, 1, indexes)
}

func TestIntakeIsIdempotentAndDeduplicates(t *testing.T) {
	tb := setup(t)
	in := intake("CAF-1")
	first, err := tb.db.Intake(tb.ctx, domain.System, in, "departement")
	require.NoError(t, err)
	require.True(t, first.Created)

	again, err := tb.db.Intake(tb.ctx, domain.System, in, "departement")
	require.NoError(t, err)
	require.False(t, again.Created)
	require.Equal(t, first.ParcoursID, again.ParcoursID)

	other := in
	other.EnteredAt = date("2026-10-02")
	_, err = tb.db.Intake(tb.ctx, domain.System, other, "departement")
	require.Equal(t, domain.ECONFLICT, domain.ErrorCode(err))

	// A NIR belongs to one person.
	withNIR := intake("CAF-2")
	withNIR.NIR = "2820251108030"
	_, err = tb.db.Intake(tb.ctx, domain.System, withNIR, "departement")
	require.NoError(t, err)
	thief := intake("CAF-3")
	thief.NIR = "282025110803094" // same NIR with its key
	_, err = tb.db.Intake(tb.ctx, domain.System, thief, "departement")
	require.Equal(t, domain.EINVALID, domain.ErrorCode(err))
	require.Equal(t, "nir", domain.ErrorField(err))

	// The audit row is written with the intake, and only when it is: of
	// the five intakes above, three went through and two were refused.
	var audited int
	require.NoError(t, tb.db.Pool.QueryRow(tb.ctx, `SELECT count(*) FROM audit_log WHERE record_type = 'parcours' AND action = 'create'`).Scan(&audited))
	require.Equal(t, 3, audited)
}

func TestIntakeRaceCreatesOneParcours(t *testing.T) {
	tb := setup(t)
	const n = 16
	results := make([]postgres.IntakeResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i], errs[i] = tb.db.Intake(tb.ctx, domain.System, intake("CAF-RACE"), "departement") })
	}
	wg.Wait()
	created := 0
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, results[0].ParcoursID, results[i].ParcoursID)
		if results[i].Created {
			created++
		}
	}
	require.Equal(t, 1, created)
	var count int
	require.NoError(t, tb.db.Pool.QueryRow(tb.ctx, `SELECT count(*) FROM parcours`).Scan(&count))
	require.Equal(t, 1, count)
}

func syncInput(id string, version int64) workflows.SyncInput {
	dl := domain.PolicyDepartement.Schedule(domain.Facts{EnteredOn: date("2026-10-01")})
	var deadlines []workflows.DeadlineState
	for _, d := range dl {
		deadlines = append(deadlines, workflows.DeadlineState{Deadline: d, Cycle: 1, Status: domain.DeadlinePending})
	}
	return workflows.SyncInput{
		ParcoursID: id, Version: version, Status: domain.StatusAwaitingOrientation,
		Deadlines: deadlines,
		Tasks:     []workflows.TaskState{{Kind: domain.TaskOrient, Cycle: 1, DueOn: date("2026-11-01"), Status: domain.TaskOpen}},
		Events:    []workflows.Event{{Seq: 1, Kind: workflows.EventEntered, OccurredOn: date("2026-10-01"), At: time.Now(), Summary: "Entrée"}},
	}
}

func TestApplySyncIsIdempotentAndOrdered(t *testing.T) {
	tb := setup(t)
	res, err := tb.db.Intake(tb.ctx, domain.System, intake("CAF-1"), "departement")
	require.NoError(t, err)
	id := res.ParcoursID

	v1 := syncInput(id, 0)
	require.NoError(t, tb.db.ApplySync(tb.ctx, v1))
	require.NoError(t, tb.db.ApplySync(tb.ctx, v1), "a retried activity changes nothing")

	view, err := tb.db.GetParcours(tb.ctx, id, postgres.Scope{})
	require.NoError(t, err)
	require.Len(t, view.Deadlines, 3)
	require.Len(t, view.Tasks, 1)
	require.Len(t, view.Events, 1)
	require.Equal(t, "Martin", view.LastName)
	require.Equal(t, "2026-11-01", view.Deadlines[0].DueOn.String())
	require.Contains(t, view.Deadlines[0].Explanation, "orientation due le 01/11/2026 — engagement départemental")

	// Version 2: oriented, the orient task done, the sign task open for ref-1.
	v2 := syncInput(id, 2)
	v2.Status = domain.StatusAwaitingContract
	v2.Orientation = &domain.Orientation{Track: domain.TrackSocial, Organism: "CCAS", ReferentID: "ref-1", DecidedOn: date("2026-10-10")}
	v2.Tasks = []workflows.TaskState{
		{Kind: domain.TaskOrient, Cycle: 1, DueOn: date("2026-11-01"), Status: domain.TaskDone, DoneAt: time.Now()},
		{Kind: domain.TaskSignContract, Cycle: 1, DueOn: date("2026-11-10"), Status: domain.TaskOpen, Assignee: "ref-1"},
	}
	v2.Events = []workflows.Event{{Seq: 2, Kind: workflows.EventOrientationRecord, OccurredOn: date("2026-10-10"), At: time.Now(), Summary: "Orientation"}}
	require.NoError(t, tb.db.ApplySync(tb.ctx, v2))
	// A late write of version 1 is skipped whole.
	stale := syncInput(id, 1)
	stale.Events = []workflows.Event{{Seq: 3, Kind: "stale", OccurredOn: date("2026-10-01"), At: time.Now(), Summary: "x"}}
	require.NoError(t, tb.db.ApplySync(tb.ctx, stale))

	view, err = tb.db.GetParcours(tb.ctx, id, postgres.Scope{})
	require.NoError(t, err)
	require.Equal(t, domain.StatusAwaitingContract, view.Status)
	require.Equal(t, "ref-1", view.ReferentID)
	require.Len(t, view.Events, 2)
	require.Len(t, view.Tasks, 1)
	require.Equal(t, domain.TaskSignContract, view.Tasks[0].Kind)

	var tasks int
	require.NoError(t, tb.db.Pool.QueryRow(tb.ctx, `SELECT count(*) FROM tasks WHERE parcours_id = $1`, id).Scan(&tasks))
	require.Equal(t, 2, tasks, "one row per (parcours, kind, cycle)")

	// Scoping: another référent does not see it; its own référent does.
	_, err = tb.db.GetParcours(tb.ctx, id, postgres.Scope{ReferentID: "ref-2"})
	require.Equal(t, domain.ENOTFOUND, domain.ErrorCode(err))
	_, err = tb.db.GetParcours(tb.ctx, id, postgres.Scope{ReferentID: "ref-1"})
	require.NoError(t, err)
	own, err := tb.db.ListTasks(tb.ctx, postgres.TaskFilter{Scope: postgres.Scope{ReferentID: "ref-2"}, Limit: 10})
	require.NoError(t, err)
	require.Empty(t, own)

	require.ErrorIs(t, tb.db.ApplySync(tb.ctx, syncInput("0193e0a4-0000-7000-8000-000000000000", 1)), postgres.ErrUnknownParcours)
}

func TestListParcoursPagesAndFilters(t *testing.T) {
	tb := setup(t)
	var ids []string
	for _, b := range []string{"A", "B", "C", "D", "E"} {
		res, err := tb.db.Intake(tb.ctx, domain.System, intake("CAF-"+b), "departement")
		require.NoError(t, err)
		in := syncInput(res.ParcoursID, 1)
		if b == "B" || b == "D" {
			in.Tasks[0].OverdueAt = time.Now()
		} else {
			// Not overdue: due in the future (a past due date is overdue
			// at read time, marked or not: TestOverdueCountedAtReadTime).
			in.Tasks[0].DueOn = domain.DateOf(time.Now()).AddDays(30)
		}
		require.NoError(t, tb.db.ApplySync(tb.ctx, in))
		ids = append(ids, res.ParcoursID)
	}
	page1, next, err := tb.db.ListParcours(tb.ctx, postgres.ParcoursFilter{Limit: 2})
	require.NoError(t, err)
	require.Len(t, page1, 2)
	require.Equal(t, ids[4], page1[0].ID, "newest first")
	require.NotEmpty(t, next)
	page2, next, err := tb.db.ListParcours(tb.ctx, postgres.ParcoursFilter{Limit: 2, Cursor: next})
	require.NoError(t, err)
	require.Equal(t, []string{ids[2], ids[1]}, []string{page2[0].ID, page2[1].ID})
	page3, next, err := tb.db.ListParcours(tb.ctx, postgres.ParcoursFilter{Limit: 2, Cursor: next})
	require.NoError(t, err)
	require.Len(t, page3, 1)
	require.Empty(t, next)

	overdue, _, err := tb.db.ListParcours(tb.ctx, postgres.ParcoursFilter{Limit: 10, Overdue: true})
	require.NoError(t, err)
	require.Len(t, overdue, 2)
	require.True(t, overdue[0].Overdue)
	require.Equal(t, "2026-11-01", overdue[0].NextDueOn.String())

	tasks, err := tb.db.ListTasks(tb.ctx, postgres.TaskFilter{Status: "overdue", Limit: 10})
	require.NoError(t, err)
	require.Len(t, tasks, 2)
	require.True(t, tasks[0].Overdue)

	_, _, err = tb.db.ListParcours(tb.ctx, postgres.ParcoursFilter{Limit: 2, Cursor: "nope"})
	require.Equal(t, "cursor", domain.ErrorField(err))
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	tb := setup(t)
	actor := domain.Actor{ID: "token:1", Role: domain.RoleDepartment}
	require.NoError(t, tb.db.Audit(tb.ctx, postgres.AuditEntry{Actor: actor, Action: "read", RecordType: "parcours", RecordID: "x"}))
	_, err := tb.db.Pool.Exec(tb.ctx, `UPDATE audit_log SET actor = 'someone else'`)
	require.ErrorContains(t, err, "append-only")
	_, err = tb.db.Pool.Exec(tb.ctx, `DELETE FROM audit_log`)
	require.ErrorContains(t, err, "append-only")
	_, err = tb.db.Pool.Exec(tb.ctx, `TRUNCATE audit_log`)
	require.ErrorContains(t, err, "append-only")

	// Retention: old rows go, rows younger than the retention (never less than 6 months) stay.
	_, err = tb.db.Pool.Exec(tb.ctx, `INSERT INTO audit_log (at, actor, role, action, record_type) VALUES
		(now() - interval '2 years', 'token:1', 'department', 'read', 'old'),
		(now() - interval '3 months', 'token:1', 'department', 'read', 'recent')`)
	require.NoError(t, err)
	_, err = tb.db.Pool.Exec(tb.ctx, `DELETE FROM audit_log WHERE record_type = 'old'`)
	require.ErrorContains(t, err, "append-only", "no deletion without the purge's retention")
	n, err := tb.db.PurgeAudit(tb.ctx, 24*time.Hour)
	require.NoError(t, err, "a retention under 6 months is raised to 6 months")
	require.Equal(t, int64(1), n)
	var left []string
	rows, err := tb.db.Pool.Query(tb.ctx, `SELECT record_type FROM audit_log ORDER BY id`)
	require.NoError(t, err)
	for rows.Next() {
		var k string
		require.NoError(t, rows.Scan(&k))
		left = append(left, k)
	}
	require.Equal(t, []string{"parcours", "recent"}, left)
	_, err = tb.db.Pool.Exec(tb.ctx, `BEGIN; SELECT set_config('parcours.audit_retention', '1 day', true); DELETE FROM audit_log WHERE record_type = 'recent'; COMMIT`)
	require.ErrorContains(t, err, "append-only", "the database itself keeps 6 months")
	_, _ = tb.db.Pool.Exec(tb.ctx, `ROLLBACK`)

	found, err := tb.db.SearchAudit(tb.ctx, postgres.AuditFilter{RecordID: "x", Limit: 10})
	require.NoError(t, err)
	require.Len(t, found, 1)
	require.Equal(t, "token:1", found[0].Actor)
}

func TestTokens(t *testing.T) {
	tb := setup(t)
	hash := []byte("0123456789abcdef0123456789abcdef")
	_, err := tb.db.CreateToken(tb.ctx, postgres.Token{Name: "Léa", Role: domain.RoleReferent, ReferentID: "ref-1"}, hash)
	require.NoError(t, err)
	a, err := tb.db.TokenActor(tb.ctx, hash)
	require.NoError(t, err)
	require.Equal(t, domain.RoleReferent, a.Role)
	require.Equal(t, "ref-1", a.ReferentID)
	_, err = tb.db.TokenActor(tb.ctx, []byte("unknown"))
	require.Equal(t, domain.EUNAUTHORIZED, domain.ErrorCode(err))
	_, err = tb.db.CreateToken(tb.ctx, postgres.Token{Name: "x", Role: domain.RoleReferent}, []byte("other"))
	require.Error(t, err, "a référent token names its référent")
	_, err = tb.db.CreateToken(tb.ctx, postgres.Token{Name: "chef", Role: domain.RoleSupervisor}, []byte("chef"))
	require.Error(t, err, "a supervisor token names its structure or says it sees all (the database refuses it too)")
}

// TestMigrationsFillAGap: a database that has a later migration but not an
// earlier one (branches merged in another order than they were applied on
// a developer's database) gets the missing one, instead of skipping every
// number under the highest applied.
func TestMigrationsFillAGap(t *testing.T) {
	tb := setup(t)
	latest := postgres.LatestVersion()
	require.NoError(t, tb.db.Migrate(tb.ctx, 0))
	require.NoError(t, tb.db.Migrate(tb.ctx, 11))
	// As if the latest had been applied before the ones between were
	// merged; then everything is asked for: the ones between come.
	require.NoError(t, tb.db.MigrateOnly(tb.ctx, latest))
	require.NoError(t, tb.db.Migrate(tb.ctx, latest))
	var n int
	require.NoError(t, tb.db.Pool.QueryRow(tb.ctx, `SELECT count(*) FROM schema_migrations WHERE version > 11`).Scan(&n))
	var want int
	for _, v := range postgres.Versions() {
		if v > 11 {
			want++
		}
	}
	require.Equal(t, want, n, "every migration after 011 applied once")
	_, err := tb.db.Pool.Exec(tb.ctx, `SELECT purge_audit_log(interval '1 year')`)
	require.NoError(t, err)
}
