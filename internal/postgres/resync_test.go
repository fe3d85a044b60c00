package postgres_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
	"github.com/parcours-rsa/parcours/workflows"
)

// oriented is version v of a parcours oriented to ref-1: the orient task
// done, the contract task open.
func oriented(id string, v int64) workflows.SyncInput {
	in := syncInput(id, v)
	in.Status = domain.StatusAwaitingContract
	in.Orientation = &domain.Orientation{Track: domain.TrackSocial, Organism: "CCAS", ReferentID: "ref-1", DecidedOn: date("2026-10-10")}
	in.Deadlines[0].Status, in.Deadlines[0].MetOn = domain.DeadlineMet, date("2026-10-10")
	in.Tasks = []workflows.TaskState{
		{Kind: domain.TaskOrient, Cycle: 1, DueOn: date("2026-11-01"), Status: domain.TaskDone, DoneAt: time.Date(2026, 10, 10, 9, 0, 0, 0, time.UTC)},
		{Kind: domain.TaskSignContract, Cycle: 1, DueOn: date("2026-12-10"), Status: domain.TaskOpen, Assignee: "ref-1"},
	}
	in.Events = []workflows.Event{{Seq: 2, Kind: workflows.EventOrientationRecord, OccurredOn: date("2026-10-10"), At: time.Now(), Summary: "Orientation"}}
	return in
}

// The guard's epoch: a write of a higher epoch wins over a newer version
// (a PostgreSQL restored from an older backup, a Temporal reset), and the
// writes of a lower epoch are refused afterwards.
func TestApplySyncEpochWinsOverVersion(t *testing.T) {
	tb := setup(t)
	res, err := tb.db.Intake(tb.ctx, domain.System, intake("CAF-E1"), "departement")
	require.NoError(t, err)
	id := res.ParcoursID
	require.NoError(t, tb.db.ApplySync(tb.ctx, syncInput(id, 9)))

	// The workflow holds version 5 of an oriented parcours (a reset brought
	// it back): its ordinary write is refused, as before.
	v5 := oriented(id, 5)
	require.NoError(t, tb.db.ApplySync(tb.ctx, v5))
	view, err := tb.db.GetParcours(tb.ctx, id, postgres.Scope{})
	require.NoError(t, err)
	require.Equal(t, domain.StatusAwaitingOrientation, view.Status, "an older version is skipped")

	// Its resync, epoch 1, full, wins.
	v5.Epoch, v5.Full = 1, true
	v5.Tasks = v5.Tasks[1:] // the workflow forgot the closed task
	require.NoError(t, tb.db.ApplySync(tb.ctx, v5))
	view, err = tb.db.GetParcours(tb.ctx, id, postgres.Scope{})
	require.NoError(t, err)
	require.Equal(t, domain.StatusAwaitingContract, view.Status)
	require.Equal(t, "ref-1", view.ReferentID)
	require.Len(t, view.Tasks, 1, "the orient task, open in the read model but not held, left")
	require.Equal(t, domain.TaskSignContract, view.Tasks[0].Kind)

	// A late write of epoch 0 is refused whatever its version.
	late := syncInput(id, 99)
	require.NoError(t, tb.db.ApplySync(tb.ctx, late))
	view, err = tb.db.GetParcours(tb.ctx, id, postgres.Scope{})
	require.NoError(t, err)
	require.Equal(t, domain.StatusAwaitingContract, view.Status, "a write of a lower epoch is refused")

	// The next writes of epoch 1 go on from version 6.
	v6 := oriented(id, 6)
	v6.Epoch, v6.Status = 1, domain.StatusInAccompaniment
	require.NoError(t, tb.db.ApplySync(tb.ctx, v6))
	view, err = tb.db.GetParcours(tb.ctx, id, postgres.Scope{})
	require.NoError(t, err)
	require.Equal(t, domain.StatusInAccompaniment, view.Status)
}

// A full write leaves closed rows (the workflow forgot them) and the
// sanction cases' tasks alone.
func TestFullWriteKeepsClosedRowsAndCaseTasks(t *testing.T) {
	tb := setup(t)
	res, err := tb.db.Intake(tb.ctx, domain.System, intake("CAF-E2"), "departement")
	require.NoError(t, err)
	id := res.ParcoursID
	require.NoError(t, tb.db.ApplySync(tb.ctx, oriented(id, 2)))
	_, err = tb.db.Pool.Exec(tb.ctx, `INSERT INTO tasks (parcours_id, kind, cycle, status) VALUES ($1, 'send_notice', 1, 'open')`, id)
	require.NoError(t, err)
	before, err := pgtest.ReadModelOf(tb.ctx, tb.db.Pool, id)
	require.NoError(t, err)

	full := oriented(id, 2)
	full.Epoch, full.Full, full.Events = 1, true, nil
	full.Tasks = full.Tasks[1:]
	full.Deadlines = full.Deadlines[1:] // the met deadline is forgotten
	require.NoError(t, tb.db.ApplySync(tb.ctx, full))
	after, err := pgtest.ReadModelOf(tb.ctx, tb.db.Pool, id)
	require.NoError(t, err)
	require.Equal(t, before, after)
}

// A deleted parcours row is recreated by the next write from
// parcours_identity: the workflow no longer fails (issue 21, item 3).
func TestDeletedParcoursIsRecreated(t *testing.T) {
	tb := setup(t)
	res, err := tb.db.Intake(tb.ctx, domain.System, intake("CAF-E3"), "departement")
	require.NoError(t, err)
	id := res.ParcoursID
	in := oriented(id, 2)
	require.NoError(t, tb.db.ApplySync(tb.ctx, in))
	before, err := pgtest.ReadModelOf(tb.ctx, tb.db.Pool, id)
	require.NoError(t, err)

	require.NoError(t, pgtest.DeleteParcours(tb.ctx, tb.db.Pool, id))
	_, err = tb.db.GetParcours(tb.ctx, id, postgres.Scope{})
	require.Equal(t, domain.ENOTFOUND, domain.ErrorCode(err))

	in.Epoch, in.Full = 1, true
	require.NoError(t, tb.db.ApplySync(tb.ctx, in))
	after, err := pgtest.ReadModelOf(tb.ctx, tb.db.Pool, id)
	require.NoError(t, err)
	require.Equal(t, before, after)
	view, err := tb.db.GetParcours(tb.ctx, id, postgres.Scope{})
	require.NoError(t, err)
	require.Equal(t, "Martin", view.LastName, "the person comes from PostgreSQL, not from the workflow")
	require.Equal(t, date("2026-10-01"), view.EnteredAt)

	// No identity row (a backup older than the intake): an error the
	// activity retries, not a failure for good.
	require.ErrorIs(t, tb.db.ApplySync(tb.ctx, syncInput("0193e0a4-0000-7000-8000-000000000001", 1)), postgres.ErrUnknownParcours)
}

// A write naming a note the database no longer has (restored from a
// backup older than the note) is written without it, not refused for ever.
func TestWriteOutlivesItsNotes(t *testing.T) {
	tb := setup(t)
	res, err := tb.db.Intake(tb.ctx, domain.System, intake("CAF-E4"), "departement")
	require.NoError(t, err)
	in := oriented(res.ParcoursID, 2)
	in.Events[0].NoteID = "0193e0a4-0000-7000-8000-0000000000aa"
	in.Orientations = []workflows.OrientationRow{{Seq: 1, Orientation: *in.Orientation, NoteID: "0193e0a4-0000-7000-8000-0000000000ab"}}
	require.NoError(t, tb.db.ApplySync(tb.ctx, in))
	var n int
	require.NoError(t, tb.db.Pool.QueryRow(tb.ctx, `SELECT count(*) FROM orientations WHERE parcours_id = $1 AND note_id IS NULL`, res.ParcoursID).Scan(&n))
	require.Equal(t, 1, n)
}

// Restoring an older dump of the rows, then a resync of each: the read
// model is the workflow's again.
func TestRestoredDumpThenResync(t *testing.T) {
	tb := setup(t)
	res, err := tb.db.Intake(tb.ctx, domain.System, intake("CAF-E5"), "departement")
	require.NoError(t, err)
	id := res.ParcoursID
	require.NoError(t, tb.db.ApplySync(tb.ctx, syncInput(id, 1)))
	dump, err := pgtest.DumpParcours(tb.ctx, tb.db.Pool, id)
	require.NoError(t, err)
	require.NoError(t, tb.db.ApplySync(tb.ctx, oriented(id, 2)))
	want, err := pgtest.ReadModelOf(tb.ctx, tb.db.Pool, id)
	require.NoError(t, err)

	require.NoError(t, dump.Restore(tb.ctx, tb.db.Pool))
	rewound, err := pgtest.ReadModelOf(tb.ctx, tb.db.Pool, id)
	require.NoError(t, err)
	require.NotEqual(t, want.Open(), rewound.Open())

	// What the workflow holds at version 2: the open records only.
	held := oriented(id, 2)
	held.Epoch, held.Full = 1, true
	held.Tasks, held.Deadlines = held.Tasks[1:], held.Deadlines[1:]
	held.Events = nil
	require.NoError(t, tb.db.ApplySync(tb.ctx, held))
	got, err := pgtest.ReadModelOf(tb.ctx, tb.db.Pool, id)
	require.NoError(t, err)
	require.Equal(t, want.Open(), got.Open())
}

// parcours resync --all walks parcours_identity by keyset pages, the
// parcours whose row was deleted included.
func TestResyncPagesWalkEveryParcours(t *testing.T) {
	tb := setup(t)
	var want []string
	for _, who := range []string{"CAF-P1", "CAF-P2", "CAF-P3"} {
		res, err := tb.db.Intake(tb.ctx, domain.System, intake(who), "departement")
		require.NoError(t, err)
		want = append(want, res.ParcoursID)
	}
	require.NoError(t, pgtest.DeleteParcours(tb.ctx, tb.db.Pool, want[1]))
	n, err := tb.db.ResyncCount(tb.ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	var got []string
	after := ""
	for {
		page, err := tb.db.ResyncPage(tb.ctx, after, 2)
		require.NoError(t, err)
		got = append(got, page...)
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1]
	}
	require.ElementsMatch(t, want, got)
	require.IsIncreasing(t, got)
}

// An exited parcours whose person came back (a new open parcours) is
// recreated closed, beside the open one.
func TestExitedParcoursIsRecreatedClosed(t *testing.T) {
	tb := setup(t)
	res, err := tb.db.Intake(tb.ctx, domain.System, intake("CAF-E6"), "departement")
	require.NoError(t, err)
	first := oriented(res.ParcoursID, 2)
	first.Status, first.Exit = domain.StatusExited, &domain.Exit{Reason: "moved", On: date("2026-11-02")}
	require.NoError(t, tb.db.ApplySync(tb.ctx, first))
	back := intake("CAF-E6")
	back.EnteredAt = date("2026-12-01")
	again, err := tb.db.Intake(tb.ctx, domain.System, back, "departement")
	require.NoError(t, err)
	require.True(t, again.Created)

	require.NoError(t, pgtest.DeleteParcours(tb.ctx, tb.db.Pool, res.ParcoursID))
	first.Version = 3
	require.NoError(t, tb.db.ApplySync(tb.ctx, first), "recreated closed, beside the open one")
	view, err := tb.db.GetParcours(tb.ctx, res.ParcoursID, postgres.Scope{})
	require.NoError(t, err)
	require.Equal(t, domain.StatusExited, view.Status)
	open, err := tb.db.GetParcours(tb.ctx, again.ParcoursID, postgres.Scope{})
	require.NoError(t, err)
	require.Equal(t, res.ParcoursID, open.PreviousID)
}

// A resync's epoch is above every epoch given before, whatever the clock of
// the machine the command runs on: one resync from a machine whose clock
// runs ahead must not leave the next one, from a machine behind, refused
// (review finding).
func TestNextEpochIsAboveEveryEpochGiven(t *testing.T) {
	tb := setup(t)
	res, err := tb.db.Intake(tb.ctx, domain.System, intake("CAF-E9"), "departement")
	require.NoError(t, err)
	before := time.Now().UnixMilli()
	e, err := tb.db.NextEpoch(tb.ctx)
	require.NoError(t, err)
	require.GreaterOrEqual(t, e, before, "the database's clock, in ms, when no epoch is ahead of it")
	ahead := time.Now().Add(24 * time.Hour).UnixMilli()
	in := syncInput(res.ParcoursID, 3)
	in.Epoch, in.Full = ahead, true
	require.NoError(t, tb.db.ApplySync(tb.ctx, in))
	e, err = tb.db.NextEpoch(tb.ctx)
	require.NoError(t, err)
	require.Equal(t, ahead+1, e)
}
