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
	load := func(env types.Mapping) (map[string]types.ServiceConfig, error) {
		p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
			WorkingDir:  root,
			ConfigFiles: []types.ConfigFile{{Filename: file, Content: b}},
			Environment: env,
		}, func(o *loader.Options) { o.SetProjectName("parcours", true) })
		if err != nil {
			return nil, err
		}
		services := map[string]types.ServiceConfig{}
		for _, s := range p.Services {
			services[s.Name] = s
		}
		return services, nil
	}
	services, err := load(types.Mapping{"POSTGRES_PASSWORD": "secret", "PARCOURS_SERVICE_PASSWORD": "service", "PARCOURS_PAYLOAD_KEYS": "k1:key"})
	require.NoError(t, err)
	for _, name := range []string{"postgresql", "temporal-schema", "temporal", "temporal-namespace", "temporal-ui", "parcours", "worker"} {
		require.Contains(t, services, name)
	}

	// Temporal on PostgreSQL, its schemas set up by a job it waits for.
	temporal := services["temporal"]
	require.True(t, strings.HasPrefix(temporal.Image, "temporalio/server:"), "auto-setup is deprecated")
	require.Equal(t, "postgres12", *temporal.Environment["DB"])
	require.Equal(t, "postgresql", *temporal.Environment["POSTGRES_SEEDS"])
	require.Equal(t, "0.0.0.0", *temporal.Environment["BIND_ON_IP"], "reachable from the other containers")
	require.Equal(t, "64", *temporal.Environment["NUM_HISTORY_SHARDS"])
	require.Equal(t, types.ServiceConditionCompletedSuccessfully, temporal.DependsOn["temporal-schema"].Condition)
	require.NotNil(t, temporal.HealthCheck)
	require.Len(t, temporal.Volumes, 1)
	require.FileExists(t, temporal.Volumes[0].Source, "the dynamic configuration file the server needs")
	require.Equal(t, *temporal.Environment["DYNAMIC_CONFIG_FILE_PATH"], temporal.Volumes[0].Target)
	setup := strings.Join(services["temporal-schema"].Command, " ")
	for _, want := range []string{"for db in temporal temporal_visibility", "--db $db create", "setup-schema -v 0.0", "update-schema --schema-name postgresql/v12/temporal", "update-schema --schema-name postgresql/v12/visibility"} {
		require.Contains(t, setup, want)
	}
	require.Equal(t, "secret", *services["temporal-schema"].Environment["SQL_PASSWORD"])
	require.Contains(t, strings.Join(services["temporal-namespace"].Command, " "), "namespace create -n default")
	require.Equal(t, "temporal:7233", *services["temporal-ui"].Environment["TEMPORAL_ADDRESS"])

	// parcours and its workers: one Temporal, one database, one rule set.
	parcours, worker := services["parcours"], services["worker"]
	require.NotNil(t, parcours.Build, "parcours is built from the Dockerfile")
	require.Equal(t, types.ServiceConditionCompletedSuccessfully, parcours.DependsOn["temporal-namespace"].Condition)
	require.Equal(t, types.ShellCommand{"worker"}, worker.Command)
	for _, v := range []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "DATABASE_URL", "PARCOURS_MIGRATE_DATABASE_URL", "PARCOURS_POLICY", "PARCOURS_PAYLOAD_KEYS"} {
		require.NotNil(t, parcours.Environment[v], v)
		require.Equal(t, *parcours.Environment[v], *worker.Environment[v], v)
	}
	require.Equal(t, "temporal:7233", *parcours.Environment["TEMPORAL_ADDRESS"])
	require.Equal(t, "default", *parcours.Environment["TEMPORAL_NAMESPACE"])
	// The service's role is not the owner (issue 20): the owner migrates.
	require.True(t, strings.HasPrefix(*parcours.Environment["DATABASE_URL"], "postgres://parcours_service:service@postgresql:5432/"))
	require.True(t, strings.HasPrefix(*parcours.Environment["PARCOURS_MIGRATE_DATABASE_URL"], "postgres://parcours:secret@postgresql:5432/"))
	pg := services["postgresql"]
	require.Len(t, pg.Volumes, 2)
	require.Equal(t, "/docker-entrypoint-initdb.d", pg.Volumes[1].Target)
	initRole, err := os.ReadFile(filepath.Join(pg.Volumes[1].Source, "10-service-role.sh"))
	require.NoError(t, err)
	require.Contains(t, string(initRole), "CREATE ROLE parcours_service LOGIN NOSUPERUSER")
	require.NotNil(t, worker.HealthCheck)
	require.NotNil(t, worker.Environment["PARCOURS_METRICS_ADDR"], "the worker's healthcheck asks its metrics listener")
	require.Equal(t, 2, *worker.Deploy.Replicas)
	services, err = load(types.Mapping{"POSTGRES_PASSWORD": "secret", "PARCOURS_SERVICE_PASSWORD": "service", "PARCOURS_PAYLOAD_KEYS": "k1:key", "PARCOURS_WORKERS": "5", "PARCOURS_POLICY": "loi"})
	require.NoError(t, err)
	require.Equal(t, 5, *services["worker"].Deploy.Replicas)
	require.Equal(t, "loi", *services["worker"].Environment["PARCOURS_POLICY"])

	// Without the password the file refuses to load: no default secret.
	_, err = load(types.Mapping{})
	require.ErrorContains(t, err, "POSTGRES_PASSWORD")
	_, err = load(types.Mapping{"POSTGRES_PASSWORD": "secret"})
	require.ErrorContains(t, err, "PARCOURS_SERVICE_PASSWORD")
	// Nor without a key to encrypt what Temporal stores (issue 20).
	_, err = load(types.Mapping{"POSTGRES_PASSWORD": "secret", "PARCOURS_SERVICE_PASSWORD": "service"})
	require.ErrorContains(t, err, "PARCOURS_PAYLOAD_KEYS")

	docker, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	require.NoError(t, err)
	require.Contains(t, string(docker), "FROM golang:1.26.8", "the image builds with the Go the project pins")
}
