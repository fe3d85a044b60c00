package embedded

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/config"
	tlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	tsql "go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	"go.temporal.io/server/common/resolver"
	postgresschema "go.temporal.io/server/schema/postgresql/v12"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/tools/common/schema"
	sqltool "go.temporal.io/server/tools/sql"

	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"

	"github.com/parcours-rsa/parcours/internal/temporal"
)

// TestSQLiteStoreIsMigrated: a SQLite store made by an older schema version
// is brought to the built-in server's version at start, by the server
// module's versioned steps, whether it recorded its version (as stores
// record it now) or not (as every store made before did): the tables the
// later steps add appear, the version is recorded, and workflows run.
func TestSQLiteStoreIsMigrated(t *testing.T) {
	// The steps after 0.9 (server module v0.10 and v0.11) add these tables.
	later := []string{"tasks_v2", "task_queues_v2", "current_chasm_executions"}
	for _, tc := range []struct {
		name      string
		versioned bool     // the store records its version
		drop      []string // made by an older version: without these
	}{
		{name: "new store"},
		{name: "unversioned at 0.8", drop: append([]string{"chasm_node_maps"}, later...)},
		{name: "versioned at 0.9", versioned: true, drop: later},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			conf := sqliteConfig(dir)
			if tc.drop != nil {
				// The current schema, less what the later steps add: the
				// store an older server module made.
				require.NoError(t, sqliteschema.SetupSchema(conf))
				db := adminDB(t, conf)
				for _, table := range tc.drop {
					require.NoError(t, db.Exec("DROP TABLE "+table))
				}
				if tc.versioned {
					v := &sqliteVersions{db: db}
					require.NoError(t, v.CreateSchemaVersionTables())
					require.NoError(t, v.UpdateSchemaVersion("0.9", "0.1"))
				}
				require.NoError(t, db.Close())
			}

			port, err := temporal.FreePort()
			require.NoError(t, err)
			srv, c, w := startWith(t, ServerOptions{DataDir: dir, Port: port})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "after-upgrade", TaskQueue: "timers"}, sleeper, time.Millisecond)
			require.NoError(t, err)
			require.NoError(t, run.Get(ctx, nil), "a workflow runs on the migrated store")
			w.Stop()
			c.Close()
			srv.Stop()

			db := adminDB(t, conf)
			defer db.Close()
			version, err := (&sqliteVersions{db: db}).ReadSchemaVersion()
			require.NoError(t, err)
			require.Equal(t, sqliteschema.Version, version)
			tables, err := db.ListTables(conf.DatabaseName)
			require.NoError(t, err)
			for _, table := range append([]string{"chasm_node_maps"}, later...) {
				require.Contains(t, tables, table)
			}
		})
	}
}

func adminDB(t *testing.T, conf *config.SQL) sqlplugin.AdminDB {
	t.Helper()
	db, err := tsql.NewSQLAdminDB(sqlplugin.DbKindUnknown, conf, resolver.NewNoopResolver(), tlog.NewNoopLogger(), metrics.NoopMetricsHandler)
	require.NoError(t, err)
	return db
}

// TestPostgresStoreIsMigrated: PostgreSQL databases set up by the server
// module's own tool at older versions (temporal-sql-tool's setup and
// update tasks, stopped at 1.17 and 1.12) are brought to the built-in
// server's versions at start; the new store gets DefaultPostgresShards.
func TestPostgresStoreIsMigrated(t *testing.T) {
	t.Parallel()
	admin := pgtest.AdminURL(t)
	name := testDatabase(t, admin)
	u, err := url.Parse(admin)
	require.NoError(t, err)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	require.NoError(t, err)
	logger := tlog.NewNoopLogger()
	older := []struct{ db, schema, version, current string }{
		{name, pgSchema, "1.17", postgresschema.Version},
		{name + "_visibility", pgVisibilitySchema, "1.12", postgresschema.VisibilityVersion},
	}
	for _, s := range older {
		require.NoError(t, createDatabase(ctx, conn, s.db))
		tool, err := sqltool.NewConnection(postgresConfig(u, s.db, 2), logger)
		require.NoError(t, err)
		require.NoError(t, schema.NewSetupSchemaTask(tool, &schema.SetupConfig{InitialVersion: "0.0"}, logger).Run())
		require.NoError(t, schema.NewUpdateSchemaTask(tool, &schema.UpdateConfig{SchemaName: s.schema, TargetVersion: s.version}, logger).Run())
		v, err := tool.ReadSchemaVersion()
		require.NoError(t, err)
		require.Equal(t, s.version, v)
		tool.Close()
	}
	require.NoError(t, conn.Close(ctx))

	port, err := temporal.FreePort()
	require.NoError(t, err)
	srv, c, w := startWith(t, ServerOptions{DataDir: t.TempDir(), Port: port, Store: StorePostgres, PostgresURL: admin, Database: name})
	require.Equal(t, DefaultPostgresShards, srv.Shards())
	runCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(runCtx, client.StartWorkflowOptions{ID: "after-upgrade", TaskQueue: "timers"}, sleeper, time.Millisecond)
	require.NoError(t, err)
	require.NoError(t, run.Get(runCtx, nil), "a workflow runs on the migrated store")
	w.Stop()
	c.Close()
	srv.Stop()
	for _, s := range older {
		tool, err := sqltool.NewConnection(postgresConfig(u, s.db, 2), logger)
		require.NoError(t, err)
		v, err := tool.ReadSchemaVersion()
		tool.Close()
		require.NoError(t, err)
		require.Equal(t, s.current, v, s.db)
	}
}

// testDatabase is a new name for Temporal's databases on the test
// PostgreSQL, dropped (with its visibility database) at the end.
func testDatabase(t *testing.T, admin string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "temporal_t" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, admin)
		require.NoError(t, err)
		defer conn.Close(ctx)
		for _, db := range []string{name, name + "_visibility"} {
			_, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
			require.NoError(t, err)
		}
	})
	return name
}
