//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
)

// TestRealBinaryResync: the real binary's parcours resync rebuilds the read
// model of a running service: one parcours' rows deleted, then every
// parcours rewound to an older dump; `parcours resync ID` and `parcours
// resync --all` make each what its workflow holds again (issue 21, item 3).
func TestRealBinaryResync(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewURL(t)
	s := newService(t, map[string]string{"DATABASE_URL": url, "PARCOURS_DATA_DIR": t.TempDir()})
	s.start()
	defer s.interrupt()
	pool, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	defer pool.Close()
	dept := s.token("--name", "Service RSA", "--role", "department")
	s.token("--name", "Référente", "--role", "referent", "--referent", "ref-1") // makes the référent known
	var ids []string
	for _, who := range []string{"RSY-1", "RSY-2", "RSY-3"} {
		status, body := s.call(dept, "POST", "/api/v1/parcours", intake(who, domain.DateOf(time.Now()).AddDays(-10)))
		require.Equal(t, 201, status, body)
		ids = append(ids, body["id"].(string))
	}
	run := func(args ...string) (string, error) {
		cmd := exec.Command(s.bin, append([]string{"resync"}, args...)...)
		cmd.Env = s.env
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String() + errb.String(), err
	}
	readModel := func(id string) pgtest.ReadModel {
		m, err := pgtest.ReadModelOf(ctx, pool, id)
		require.NoError(t, err)
		return m.Open()
	}

	// One parcours loses its rows.
	before := readModel(ids[0])
	require.NotEmpty(t, before.Tasks)
	require.NoError(t, pgtest.DeleteParcours(ctx, pool, ids[0]))
	status, _ := s.call(dept, "GET", "/api/v1/parcours/"+ids[0], nil)
	require.Equal(t, 404, status)
	out, err := run(ids[0])
	require.NoError(t, err, out)
	require.Contains(t, out, "resync : 1 / 1 parcours")
	require.Contains(t, out, "1 parcours réécrits")
	require.Equal(t, before, readModel(ids[0]))
	status, body := s.call(dept, "GET", "/api/v1/parcours/"+ids[0], nil)
	require.Equal(t, 200, status, body)
	require.Equal(t, "Dupont", body["last_name"])

	// Every parcours is rewound to an older dump after its orientation.
	dump, err := pgtest.DumpParcours(ctx, pool, ids...)
	require.NoError(t, err)
	want := map[string]pgtest.ReadModel{}
	for _, id := range ids {
		status, body := s.call(dept, "POST", "/api/v1/parcours/"+id+"/orientation", map[string]any{
			"track": "social", "organism": "CCAS", "referent_id": "ref-1", "decided_on": domain.DateOf(time.Now()).String()})
		require.Equal(t, 200, status, body)
		want[id] = readModel(id)
	}
	require.NoError(t, dump.Restore(ctx, pool))
	require.NotEqual(t, want[ids[1]], readModel(ids[1]))
	out, err = run("--all", "--concurrence", "2")
	require.NoError(t, err, out)
	require.Contains(t, out, "resync : 3 / 3 parcours")
	require.Contains(t, out, "3 parcours réécrits")
	for _, id := range ids {
		require.Equal(t, want[id], readModel(id), id)
	}

	// A reset through parcours admin resyncs the parcours after it.
	cmd := exec.Command(s.bin, "admin", "reinitialiser", ids[2], "--raison", "essai")
	cmd.Env = s.env
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	require.Contains(t, string(b), "réinitialisé")
	require.Contains(t, string(b), "Parcours "+ids[2]+" resynchronisé")
	require.Equal(t, want[ids[2]], readModel(ids[2]))

	// An operator's mistakes get a clear message.
	out, err = run()
	require.Error(t, err)
	require.Contains(t, out, "indiquez soit --all, soit des identifiants")
	out, err = run("pas-un-id")
	require.Error(t, err)
	require.Contains(t, out, "n'est pas un identifiant de parcours")
	out, err = run("0193e0a4-0000-7000-8000-000000000000")
	require.NoError(t, err, out)
	require.Contains(t, out, "aucun workflow en cours")
}
