package temporal

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestClientsDoNotLinkTheServer: a package that joins Temporal through
// this one (the end-to-end tests, whose binary only dials the service it
// starts) does not link the Temporal server: go.temporal.io/server is
// imported by internal/temporal/embedded only.
func TestClientsDoNotLinkTheServer(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
	const temporal = "github.com/parcours-rsa/parcours/internal/temporal"
	for _, c := range []struct {
		pkg  string
		args []string
	}{
		{temporal, nil},
		// Its test binary: the package is its _test.go files only.
		{"github.com/parcours-rsa/parcours/internal/e2e", []string{"-test", "-tags", "e2e"}},
	} {
		args := append(append([]string{"list", "-deps"}, c.args...), c.pkg)
		out, err := exec.Command("go", args...).CombinedOutput()
		require.NoError(t, err, "go %s: %s", strings.Join(args, " "), out)
		deps := strings.Fields(string(out))
		require.Contains(t, deps, temporal, "%s joins Temporal through internal/temporal", c.pkg)
		for _, d := range deps {
			require.False(t, d == "go.temporal.io/server" || strings.HasPrefix(d, "go.temporal.io/server/"),
				"%s depends on %s", c.pkg, d)
		}
	}
}
