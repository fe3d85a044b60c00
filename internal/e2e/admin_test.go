//go:build e2e

package e2e

import (
	"bytes"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
)

// TestRealBinaryAdminCommands: the operators' commands of the real binary
// reach the running service's embedded Temporal server as parcours stock
// and import do: a parcours' workflow described, none stuck, a terminate
// refused without its confirmation, the running parcours woken after a rule
// deployment.
func TestRealBinaryAdminCommands(t *testing.T) {
	t.Parallel()
	s := newService(t, map[string]string{"DATABASE_URL": pgtest.NewURL(t), "PARCOURS_DATA_DIR": t.TempDir()})
	s.start()
	defer s.interrupt()
	admin := s.token("--name", "Service RSA", "--role", "department")
	status, body := s.call(admin, "POST", "/api/v1/parcours", intake("ADM-1", domain.DateOf(time.Now()).AddDays(-10)))
	require.Equal(t, 201, status, body)
	id := body["id"].(string)

	run := func(args ...string) (string, error) {
		cmd := exec.Command(s.bin, append([]string{"admin"}, args...)...)
		cmd.Env = s.env
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String() + errb.String(), err
	}
	out, err := run("workflow", id)
	require.NoError(t, err, out)
	require.Contains(t, out, "parcours-"+id)
	require.Contains(t, out, "statut        en cours")
	require.NotContains(t, out, "à examiner")

	out, err = run("bloques")
	require.NoError(t, err, out)
	require.Contains(t, out, "0 workflow(s) à examiner.")
	out, err = run("bloques", "--tout")
	require.NoError(t, err, out)
	require.Contains(t, out, "0 workflow(s) à examiner.")

	out, err = run("arreter", id, "--raison", "essai")
	require.Error(t, err)
	require.Contains(t, out, "--confirmer")
	// After a rule set's deployment (docs/rule-changes.md): every running
	// parcours woken, with a reason for the audit log.
	out, err = run("regles")
	require.Error(t, err)
	require.Contains(t, out, "--raison")
	out, err = run("regles", "--raison", "essai de déploiement")
	require.NoError(t, err, out)
	require.Regexp(t, `\d+ parcours en cours réveillés`, out)
	out, err = run("inconnue")
	require.Error(t, err)
	require.Contains(t, out, "sous-commande inconnue")
}
