package httpapi_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
)

var operator = domain.Actor{ID: "cli:test", Name: "parcours resync", Role: domain.RoleAdmin}

// TestResyncRebuildsTheReadModel runs the real workflows: a parcours with a
// contract, an open action and a running sanction case loses its rows, then
// is rewound to an older dump of them; each time a resync puts back what
// its workflows hold (issue 21, item 3). It records the replay test's
// parcours_v12_resync history.
func TestResyncRebuildsTheReadModel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := today()
	pid := newOriented(t, now.AddMonths(-3), "social", "ref-1")
	base := "/api/v1/parcours/" + pid
	signed := now.AddMonths(-2)
	r := post(t, "referent:ref-1", base+"/contracts", map[string]any{"kind": "cer", "signed_on": signed.String(), "starts_on": signed.String(), "ends_on": now.AddMonths(4).String()})
	require.Equal(t, 200, r.status, r.raw)
	r = post(t, "referent:ref-1", base+"/actions", map[string]any{"name": "Atelier CV", "kind": "employment_support", "structure": "Tremplin",
		"starts_on": signed.String(), "planned_end_on": now.AddMonths(1).String()})
	require.Equal(t, 201, r.status, r.raw)
	r = post(t, "referent:ref-1", base+"/breaches", map[string]any{"kind": "obligations_not_met", "obligation": "Rendez-vous mensuel", "facts": "Absent", "reported_on": now.String()})
	require.Equal(t, 201, r.status, r.raw)
	// The case's workflow writes its row and task on its own.
	var before pgtest.ReadModel
	require.Eventually(t, func() bool {
		var err error
		before, err = pgtest.ReadModelOf(ctx, fixture.db.Pool, pid)
		return err == nil && len(before.Reviews) == 1 && len(before.Open().Tasks) == 1
	}, time.Minute, 50*time.Millisecond, "the case's row and its send-notice task")
	require.NotEmpty(t, before.Open().Deadlines)
	require.NotEmpty(t, before.Open().Actions)

	// The rows are lost: the dossier is gone from the API.
	require.NoError(t, pgtest.DeleteParcours(ctx, fixture.db.Pool, pid))
	require.Equal(t, 404, call(t, "department", "GET", base, nil).status)
	rep, err := fixture.svc.Resync(ctx, operator, pid, time.Now().UnixMilli())
	require.NoError(t, err)
	require.Equal(t, 1, rep.Cases, "the running case was resynced too")
	after, err := pgtest.ReadModelOf(ctx, fixture.db.Pool, pid)
	require.NoError(t, err)
	require.Equal(t, before.Open(), after.Open(), "what the workflows hold is back")
	got := call(t, "department", "GET", base, nil)
	require.Equal(t, 200, got.status, got.raw)
	require.Equal(t, "Martin", got.body["last_name"], "the person comes from PostgreSQL")
	require.Equal(t, "Atelier CV", items(got, "actions")[0]["name"], "the note kept in PostgreSQL names the action again")

	// An older dump is restored (the parcours and its case moved on since):
	// a resync raises the epoch, so that the workflows' state wins over the
	// rewound rows' versions.
	dump, err := pgtest.DumpParcours(ctx, fixture.db.Pool, pid)
	require.NoError(t, err)
	r = post(t, "supervisor", base+"/referent", map[string]any{"referent_id": "ref-2", "on": now.String()})
	require.Equal(t, 200, r.status, r.raw)
	r = post(t, "department", "/api/v1/reviews/"+pid+"-1/notice", map[string]any{"sent_on": now.String(), "received_on": now.String(),
		"planned_kind": "suspension", "planned_percent": 40, "planned_months": 2})
	require.Equal(t, 200, r.status, r.raw)
	want, err := pgtest.ReadModelOf(ctx, fixture.db.Pool, pid)
	require.NoError(t, err)
	require.NoError(t, dump.Restore(ctx, fixture.db.Pool))
	rewound, err := pgtest.ReadModelOf(ctx, fixture.db.Pool, pid)
	require.NoError(t, err)
	require.NotEqual(t, want.Open(), rewound.Open(), "the restore rewound the référent and the case")
	_, err = fixture.svc.Resync(ctx, operator, pid, time.Now().UnixMilli())
	require.NoError(t, err)
	got2, err := pgtest.ReadModelOf(ctx, fixture.db.Pool, pid)
	require.NoError(t, err)
	require.Equal(t, want.Open(), got2.Open())

	var audited int
	require.NoError(t, fixture.db.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'resync' AND record_id = $1`, pid).Scan(&audited))
	require.Equal(t, 2, audited, "each resync is audited")
	recordHistory(t, pid, "parcours_v12_resync_after_rows_lost")
}

// A parcours whose workflow has finished has nothing to resync: the
// operator is told so, and its rows stay as written.
func TestResyncOfAFinishedParcours(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := today()
	r := call(t, "department", "POST", "/api/v1/parcours", intakeBody(beneficiary(t), now.AddDays(-3).String()))
	require.Equal(t, 201, r.status, r.raw)
	pid := r.body["id"].(string)
	r = post(t, "department", "/api/v1/parcours/"+pid+"/exit", map[string]any{"reason": "moved", "on": now.String()})
	require.Equal(t, 200, r.status, r.raw)
	var err error
	require.Eventually(t, func() bool {
		_, err = fixture.svc.Resync(ctx, operator, pid, time.Now().UnixMilli())
		return errors.Is(err, app.ErrNoWorkflow)
	}, time.Minute, 100*time.Millisecond, "the finished workflow: %v", err)
	require.Equal(t, 200, call(t, "department", "GET", "/api/v1/parcours/"+pid, nil).status)
}
