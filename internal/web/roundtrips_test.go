package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/internal/web"
)

// roundTrips counts what a request asks of PostgreSQL: each query, and
// each batch (its queries go in one round trip).
type roundTrips struct {
	n   atomic.Int32
	mu  sync.Mutex
	sql []string
}

func (c *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	c.mu.Lock()
	c.sql = append(c.sql, d.SQL)
	c.mu.Unlock()
	return ctx
}
func (c *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	c.mu.Lock()
	c.sql = append(c.sql, "batch")
	c.mu.Unlock()
	return ctx
}
func (c *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// The pages a supervisor keeps open while a burst of deadlines takes the
// machine ask PostgreSQL few times: each round trip waits for a busy
// machine's scheduler (issue 21 item 8: every view under 100 ms p95
// during the burst at 100,000 parcours).
func TestViewsRoundTrips(t *testing.T) {
	ctx := context.Background()
	cfg := fx.env.DB.Pool.Config()
	counter := &roundTrips{}
	cfg.ConnConfig.Tracer = counter
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	svc := *fx.env.Service
	svc.DB = &postgres.DB{Pool: pool}
	r := chi.NewRouter()
	require.NoError(t, (&web.Handler{Service: &svc, Logger: fx.env.Logger}).Routes(r))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	id := oriented(t, "allers-retours", "web-ref-3")
	b := newBrowser(t)
	b.base = srv.URL
	b.login("chef@cd.fr")
	for _, v := range []struct {
		path string
		max  int32
	}{
		// The session; the workload (its check of the role first); the
		// list and its count, the référents, the campaign (and its names,
		// when it has parcours) and the identities to check, at once,
		// with their audit lines; the names.
		{"/tableau-de-bord", 11},
		// The session; the dossier in one batch (it was ten queries), its
		// audit line, the référents and structures of the forms, at once;
		// the names.
		{"/dossiers/" + id, 6},
		{"/echeances", 7},
		// The session, the figures in one batch (thirteen queries), the
		// audit line.
		{"/indicateurs", 3},
	} {
		counter.n.Store(0)
		counter.mu.Lock()
		counter.sql = nil
		counter.mu.Unlock()
		status, _, _ := b.get(v.path)
		require.Equal(t, http.StatusOK, status, v.path)
		if n := counter.n.Load(); n > v.max {
			for _, q := range counter.sql {
				t.Logf("   %.90q", q)
			}
			t.Errorf("%s: %d round trips to PostgreSQL, at most %d expected", v.path, n, v.max)
		}
	}
}

// The counts a supervisor reads are kept a while (PARCOURS_COUNTS_CACHE),
// but a write of the service drops them: whoever reassigns sees the
// workload move at once.
func TestCountsKeptUntilAWrite(t *testing.T) {
	ctx := context.Background()
	svc := *fx.env.Service
	svc.Caches = app.NewCaches(time.Hour, time.Hour)
	chief := domain.Actor{ID: "test-chef", Role: domain.RoleSupervisor}
	parcoursOf := func(referent string) int {
		t.Helper()
		load, err := svc.Workload(ctx, chief, 14)
		require.NoError(t, err)
		for _, w := range load {
			if w.ReferentID == referent {
				return w.Parcours
			}
		}
		return 0
	}
	open := func() int {
		t.Helper()
		total, _, err := svc.CountTasks(ctx, chief, postgres.TaskFilter{DueWithin: 14})
		require.NoError(t, err)
		return total
	}
	id := oriented(t, "compteurs", "web-ref-3")
	before, tasks := parcoursOf("web-ref-4"), open()

	// A write the service did not make (another test, a workflow): the
	// counts kept do not see it.
	oriented(t, "compteurs-2", "web-ref-4")
	require.Equal(t, before, parcoursOf("web-ref-4"), "kept")
	require.Equal(t, tasks, open(), "kept")

	admin := domain.Actor{ID: "test", Role: domain.RoleAdmin}
	_, err := svc.ReassignReferent(ctx, admin, id, domain.Reassignment{ReferentID: "web-ref-4", Reason: "congé", On: domain.DateOf(time.Now())})
	require.NoError(t, err)
	require.GreaterOrEqual(t, parcoursOf("web-ref-4"), before+2, "dropped by the service's write: both parcours counted")

	// An intake's audit line is written with its rows: it drops them too.
	open()
	parcoursOf("web-ref-4")
	require.Positive(t, svc.Caches.TaskCounts.Len())
	require.Positive(t, svc.Caches.Workload.Len())
	_, _, err = svc.Intake(ctx, admin, domain.Intake{BeneficiaryID: fmt.Sprintf("compteurs-3-%d", time.Now().UnixNano()), LastName: "Nguyen",
		FirstName: "Maï", BirthDate: domain.NewDate(1991, 3, 3), EnteredAt: domain.DateOf(time.Now()).AddDays(-10)})
	require.NoError(t, err)
	require.Zero(t, svc.Caches.TaskCounts.Len(), "counts dropped by the intake")
	require.Zero(t, svc.Caches.Workload.Len(), "workload dropped by the intake")
}
