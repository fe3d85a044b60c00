package deploy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"
)

// TestComposeFileIsValid loads docker-compose.yml with compose-go, the
// loader Docker Compose itself uses, and checks the shape the README promises.
func TestComposeFileIsValid(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	file := filepath.Join(root, "docker-compose.yml")
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: file, Content: b}},
		Environment: types.Mapping{"POSTGRES_PASSWORD": "secret"},
	}, func(o *loader.Options) { o.SetProjectName("parcours", true) })
	require.NoError(t, err)

	services := map[string]types.ServiceConfig{}
	for _, s := range p.Services {
		services[s.Name] = s
	}
	for _, name := range []string{"postgresql", "temporal", "temporal-ui", "parcours", "worker"} {
		require.Contains(t, services, name)
	}
	require.Equal(t, "postgres12", *services["temporal"].Environment["DB"])
	parcours := services["parcours"]
	require.NotNil(t, parcours.Build, "parcours is built from the Dockerfile")
	require.Equal(t, "temporal:7233", *parcours.Environment["TEMPORAL_ADDRESS"])
	require.True(t, strings.HasPrefix(*parcours.Environment["DATABASE_URL"], "postgres://parcours:secret@postgresql:5432/"))
	require.Equal(t, types.ShellCommand{"worker"}, services["worker"].Command)

	// Without the password the file refuses to load: no default secret.
	_, err = loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: file, Content: b}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) { o.SetProjectName("parcours", true) })
	require.ErrorContains(t, err, "POSTGRES_PASSWORD")

	docker, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	require.NoError(t, err)
	require.Contains(t, string(docker), "FROM golang:1.26.8", "the image builds with the Go the project pins")
}
