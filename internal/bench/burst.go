package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/importer"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// The deadline burst. Deadlines are calendar dates in Europe/Paris and a
// parcours' timer fires at 00:00 of the day after its deadline
// (DeadlineState.OverdueFrom: DueOn.AddDays(1).Time(), in domain.Paris; the
// workflow waits next.Sub(workflow.Now)). To make n real, durable timers of
// the embedded server fire at one instant a few minutes from now, the bench
// starts their parcours in a fixed zone (domain.Settings.ZoneOffset) whose
// next midnight is that instant T, and imports people who entered
// droits et devoirs one month before "today" in that zone: the
// département's one-month orientation target falls due today, and every
// orientation task turns overdue at T. The service's zone, domain.Paris,
// never moves: only these parcours' settings name another.

// burstZone is a fixed zone whose local midnight falls at t (t whole
// seconds), with the date at t such that some entry date plus months is
// the day before (domain.MidnightAt). It returns the zone, that entry date
// and the due date.
func burstZone(t time.Time, months int) (*time.Location, domain.Date, domain.Date, error) {
	off, day, entered, ok := domain.MidnightAt(t, months, nil)
	if !ok {
		return nil, domain.Date{}, domain.Date{}, errors.New("aucune date d'entrée ne donne l'échéance voulue")
	}
	return domain.Settings{ZoneOffset: &off}.Location(), entered, day.AddDays(-1), nil
}

// disjointSeed is a seed after seed whose n generated people share no
// matricule and no NIR with the m people of seed (importer.Synthetic
// derives both from the seed and the rank).
func disjointSeed(seed uint64, n, m int) uint64 {
	apart := func(a, b, mod uint64, width int) bool {
		d := (b - a) % mod
		return d >= uint64(2*width) && mod-d >= uint64(2*width)
	}
	for next := seed + 1; ; next++ {
		if apart(seed*1_000_003%10_000_000, next*1_000_003%10_000_000+10_000_000, 10_000_000, max(n, m)) &&
			apart(seed*7_919%100_000_000, next*7_919%100_000_000+100_000_000, 100_000_000, max(n, m)) {
			return next
		}
	}
}

// burstSpec says which deadline falls due at the burst's instant.
type burstSpec struct {
	// months after entry of the département's target that falls due:
	// 1, the orientation (its task "orient"); 2, the contract
	// ("sign_contract": the parcours are oriented first).
	months int
	task   domain.TaskKind
	// updates: with the contract target, the updates each parcours
	// receives before the deadline, none of which meets it: the
	// orientation, its notification, then reassignments (at least 2).
	updates int
	// alone: sample the views again once the burst is over.
	alone bool
}

// orientationBurst is today's burst: parcours with no update since their
// intake (the best case for the timers).
var orientationBurst = burstSpec{months: 1, task: domain.TaskOrient, alone: true}

// burstResult is what the burst measured.
type burstResult struct {
	due                    domain.Date
	updated                float64 // the updates' rate (updates/s), with spec.updates
	n                      int
	drained                bool
	last, p50, p99, fire99 float64 // seconds after T
	peakRSS                int64   // the process's highest VmRSS from T until drained
	poolWait               string  // how the views' connection pool waited meanwhile
	alone, during          [][]time.Duration
	samples                []view
}

// runBurst imports n people whose orientation target falls due at T, waits
// for T, samples the views from T until the last overdue task is in the
// read model (during the burst), then again once it is over (alone: 200
// rounds or a minute).
func runBurst(ctx context.Context, o Options, r *rig, s *site, n int, importRate float64, seed uint64, lead time.Duration, spec burstSpec) (burstResult, error) {
	res := burstResult{n: n}
	// T: after the import and the updates (twice the time the first import
	// took per person, each update counted as half a person: the updates
	// ran 1.5 to 2.6 times faster than the starts, in bench/results of 2,000
	// and 5,000 people and make test's 150) and the lead.
	predicted := time.Duration(float64(2*n+n*spec.updates) / 2 / importRate * 2 * float64(time.Second))
	at := time.Now().Add(predicted + lead).Truncate(time.Second).Add(time.Second)
	loc, entered, due, err := burstZone(at, spec.months)
	if err != nil {
		return res, err
	}
	res.due = due
	r.setZone(loc)
	before, err := visibleCount(ctx, r.db)
	if err != nil {
		return res, err
	}
	today := domain.DateIn(time.Now(), loc)
	g := importer.Synthetic(n, seed, today)
	for i := range g.Households {
		h := &g.Households[i]
		h.Claim = entered
		for j := range h.Persons {
			h.Persons[j].Attached = entered
		}
	}
	if _, err := r.importFlux(ctx, g, n, before+n); err != nil {
		return res, fmt.Errorf("import de la rafale : %w", err)
	}
	if spec.updates > 0 {
		if res.updated, err = r.updateBurst(ctx, entered, today, n, spec.updates); err != nil {
			return res, fmt.Errorf("mises à jour avant l'échéance : %w", err)
		}
	}
	if left := time.Until(at); left < 2*time.Second {
		return res, fmt.Errorf("l'import de la rafale a fini %s avant l'échéance commune : recommencez avec une avance plus grande", left.Round(time.Second))
	}
	var ids []string
	rows, err := r.db.Pool.Query(ctx, `SELECT parcours_id::text FROM tasks WHERE kind = 'orient' ORDER BY random() LIMIT 1000`)
	if err != nil {
		return res, err
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return res, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return res, err
	}
	res.samples = s.views(ids)
	select {
	case <-ctx.Done():
		return res, ctx.Err()
	case <-time.After(time.Until(at)):
	}
	var done atomic.Bool
	var wg sync.WaitGroup
	var viewErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		res.during, viewErr = s.sample(ctx, res.samples, 1<<30, done.Load)
	}()
	go func() {
		// The workflows come back into the caches: the RSS the burst
		// reaches, read without forcing a collection.
		defer wg.Done()
		for !done.Load() {
			res.peakRSS = max(res.peakRSS, residentBytes())
			time.Sleep(100 * time.Millisecond)
		}
	}()
	stopProfile, err := cpuProfile(o.ProfileDir, "burst.cpu.pprof")
	if err != nil {
		return res, err
	}
	pool := r.db.Pool.Stat()
	res.drained, err = waitOverdue(ctx, r.db, spec.task, due, n, 10*time.Minute)
	stopProfile()
	done.Store(true)
	wg.Wait()
	res.poolWait = poolWait(pool, r.db.Pool.Stat())
	if err == nil {
		// The live heap with the woken workflows still in the caches.
		err = heapProfile(o.ProfileDir, "burst.heap.pprof")
	}
	if err != nil {
		return res, err
	}
	if viewErr != nil {
		return res, viewErr
	}
	if err := r.db.Pool.QueryRow(ctx, `
		SELECT coalesce(extract(epoch FROM max(updated_at) - $2::timestamptz), 0),
		       coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM updated_at - $2::timestamptz)), 0),
		       coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM updated_at - $2::timestamptz)), 0),
		       coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM overdue_at - $2::timestamptz)), 0)
		FROM tasks WHERE kind = $3 AND due_on = $1::date AND overdue_at IS NOT NULL`, due.String(), at, string(spec.task)).
		Scan(&res.last, &res.p50, &res.p99, &res.fire99); err != nil {
		return res, err
	}
	if !spec.alone {
		return res, nil
	}
	// The same views once the burst is over: the same overdue tasks in the
	// read model, nothing else running.
	quiet := time.Now().Add(time.Minute)
	res.alone, err = s.sample(ctx, res.samples, 200, func() bool { return time.Now().After(quiet) })
	return res, err
}

// poolWait says how often the connection pool of the importer and the
// views (not the worker's) had none free between two readings, and how
// long those acquisitions waited on average.
func poolWait(before, after *pgxpool.Stat) string {
	acquired := after.AcquireCount() - before.AcquireCount()
	empty := after.EmptyAcquireCount() - before.EmptyAcquireCount()
	mean := 0.0
	if empty > 0 {
		mean = float64((after.EmptyAcquireWaitTime() - before.EmptyAcquireWaitTime()).Microseconds()) / 1000 / float64(empty)
	}
	return fmt.Sprintf("views' connection pool (the worker has its own): %d of %d acquisitions found no free connection, waiting %.1f ms on average", empty, acquired, mean)
}

// waitOverdue polls until n tasks of a kind due on due are overdue in
// the read model, or timeout.
func waitOverdue(ctx context.Context, db *postgres.DB, task domain.TaskKind, due domain.Date, n int, timeout time.Duration) (bool, error) {
	deadline := time.Now().Add(timeout)
	for {
		var overdue int
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM tasks WHERE kind = $2 AND due_on = $1::date AND overdue_at IS NOT NULL`,
			due.String(), string(task)).Scan(&overdue); err != nil {
			return false, err
		}
		if overdue >= n {
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Poller settings: what a plain SQL job queue would run.
const (
	pollers      = 4
	pollBatch    = 100
	pollInterval = time.Second
)

// pollerBurst handles the same n deadlines with a plain SQL poller on the
// same database: a bench table of deadlines all due at one instant a few
// seconds ahead, pollers that each take a batch with FOR UPDATE SKIP
// LOCKED, create its tasks in a bench table and mark the deadlines done in
// one statement, and sleep pollInterval when they find nothing. It returns
// seconds after the due instant: the last task's creation, p50 and p99.
func pollerBurst(ctx context.Context, db *postgres.DB, due domain.Date, n int) (last, p50, p99 float64, err error) {
	if _, err := db.Pool.Exec(ctx, `
		DROP TABLE IF EXISTS bench_poll_tasks, bench_poll_deadlines;
		CREATE TABLE bench_poll_deadlines (
			id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			parcours_id uuid NOT NULL,
			due_at      timestamptz NOT NULL,
			done_at     timestamptz);
		CREATE INDEX bench_poll_deadlines_due ON bench_poll_deadlines (due_at, id) WHERE done_at IS NULL;
		CREATE TABLE bench_poll_tasks (
			deadline_id bigint PRIMARY KEY REFERENCES bench_poll_deadlines (id),
			parcours_id uuid NOT NULL,
			kind        text NOT NULL,
			created_at  timestamptz NOT NULL DEFAULT clock_timestamp())`); err != nil {
		return 0, 0, 0, err
	}
	defer func() {
		_, _ = db.Pool.Exec(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS bench_poll_tasks, bench_poll_deadlines`)
	}()
	at := time.Now().Add(3 * time.Second).Truncate(time.Second).Add(time.Second)
	tag, err := db.Pool.Exec(ctx, `
		INSERT INTO bench_poll_deadlines (parcours_id, due_at)
		SELECT parcours_id, $2 FROM tasks WHERE kind = 'orient' AND due_on = $1::date ORDER BY parcours_id`, due.String(), at)
	if err != nil {
		return 0, 0, 0, err
	}
	if int(tag.RowsAffected()) != n {
		return 0, 0, 0, fmt.Errorf("%d échéances pour le scrutateur SQL, %d attendues", tag.RowsAffected(), n)
	}
	var handled atomic.Int64
	pctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, pollers)
	for i := range pollers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for handled.Load() < int64(n) {
				tag, err := db.Pool.Exec(pctx, `
					WITH due AS (
						SELECT id, parcours_id FROM bench_poll_deadlines
						WHERE done_at IS NULL AND due_at <= now()
						ORDER BY due_at, id LIMIT $1
						FOR UPDATE SKIP LOCKED),
					created AS (
						INSERT INTO bench_poll_tasks (deadline_id, parcours_id, kind)
						SELECT id, parcours_id, 'orient' FROM due
						ON CONFLICT (deadline_id) DO NOTHING)
					UPDATE bench_poll_deadlines d SET done_at = clock_timestamp() FROM due WHERE d.id = due.id`, pollBatch)
				if err != nil {
					errs[i] = err
					return
				}
				if tag.RowsAffected() > 0 {
					handled.Add(tag.RowsAffected())
					continue
				}
				select {
				case <-pctx.Done():
					errs[i] = pctx.Err()
					return
				case <-time.After(pollInterval):
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, 0, 0, fmt.Errorf("scrutateur SQL : %w", err)
	}
	err = db.Pool.QueryRow(ctx, `
		SELECT extract(epoch FROM max(created_at) - $1::timestamptz),
		       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM created_at - $1::timestamptz)),
		       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM created_at - $1::timestamptz))
		FROM bench_poll_tasks`, at).Scan(&last, &p50, &p99)
	return last, p50, p99, err
}
