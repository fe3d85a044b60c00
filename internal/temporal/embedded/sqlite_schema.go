package embedded

import (
	"fmt"
	"slices"

	"go.temporal.io/server/common/config"
	tlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	tsql "go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	"go.temporal.io/server/common/resolver"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/tools/common/schema"
)

// sqliteSchema is Temporal's SQLite schema in the server module's embedded
// files (go.temporal.io/server/schema): schema.sql, the whole current
// schema, and versioned/v0.N, the steps from one version to the next.
const sqliteSchema = "sqlite/v3/temporal"

// sqliteVersionKey is the db_name of the store's row in schema_version.
// Temporal's SQL tool would use the database's name, which for SQLite is
// the file's path: a data directory moved or restored elsewhere would then
// read as unversioned. One fixed name, whatever the path.
const sqliteVersionKey = "temporal"

// migrateSQLite brings the SQLite store to the schema of the server module
// built in, with the module's own update tool (schema.UpdateTask, the one
// temporal-sql-tool runs): every versioned step past the store's version,
// none when it is current. A store made before it kept no version (the
// server module's SetupSchema writes none): its version is read from the
// tables and columns the steps add (sqliteVersionOf), then recorded, so
// that the next server upgrade applies just its own steps.
func migrateSQLite(conf *config.SQL, fresh bool, logger tlog.Logger) error {
	db, err := tsql.NewSQLAdminDB(sqlplugin.DbKindUnknown, conf, resolver.NewNoopResolver(), logger, metrics.NoopMetricsHandler)
	if err != nil {
		return fmt.Errorf("open Temporal store: %w", err)
	}
	v := &sqliteVersions{db: db}
	defer v.Close()
	tables, err := db.ListTables(conf.DatabaseName)
	if err != nil {
		return err
	}
	if !slices.Contains(tables, "schema_version") {
		version := sqliteschema.Version // SetupSchema just wrote the current schema
		if !fresh {
			version = sqliteVersionOf(db, tables)
		}
		if err := v.CreateSchemaVersionTables(); err != nil {
			return err
		}
		if err := v.UpdateSchemaVersion(version, "0.1"); err != nil {
			return err
		}
		if err := v.WriteSchemaUpdateLog("", version, "", "parcours: version of a store made without one"); err != nil {
			return err
		}
	}
	return schema.NewUpdateSchemaTask(v, &schema.UpdateConfig{SchemaName: sqliteSchema}, logger).Run()
}

// sqliteVersionOf is the version of an unversioned SQLite store: the last
// versioned step whose table or column it has. A step whose mark is
// ambiguous is counted as not applied when running it again is harmless
// (v0.8 drops and adds again the column v0.7 added).
func sqliteVersionOf(db sqlplugin.AdminDB, tables []string) string {
	has := func(table string) bool { return slices.Contains(tables, table) }
	column := func(table, col string) bool {
		return has(table) && db.Exec(fmt.Sprintf("SELECT %s FROM %s LIMIT 0", col, table)) == nil
	}
	switch {
	case has("current_chasm_executions"):
		return "0.11"
	case has("tasks_v2"):
		return "0.10"
	case has("chasm_node_maps"):
		return "0.9"
	case column("current_executions", "data_encoding"):
		return "0.7"
	case column("current_executions", "start_time"):
		return "0.6"
	case has("nexus_endpoints"):
		return "0.5"
	case has("nexus_incoming_services"):
		return "0.4"
	case has("queues"):
		return "0.3"
	case has("task_queue_user_data"):
		return "0.2"
	}
	return "0.1"
}

// sqliteVersions is the update tool's view of the SQLite store
// (schema.DB), its version kept under sqliteVersionKey.
type sqliteVersions struct{ db sqlplugin.AdminDB }

var _ schema.DB = (*sqliteVersions)(nil)

func (v *sqliteVersions) Exec(stmt string, args ...any) error { return v.db.Exec(stmt, args...) }
func (v *sqliteVersions) DropAllTables() error                { return v.db.DropAllTables(sqliteVersionKey) }
func (v *sqliteVersions) CreateSchemaVersionTables() error    { return v.db.CreateSchemaVersionTables() }
func (v *sqliteVersions) ReadSchemaVersion() (string, error) {
	return v.db.ReadSchemaVersion(sqliteVersionKey)
}
func (v *sqliteVersions) UpdateSchemaVersion(newVersion, minCompatibleVersion string) error {
	return v.db.UpdateSchemaVersion(sqliteVersionKey, newVersion, minCompatibleVersion)
}
func (v *sqliteVersions) WriteSchemaUpdateLog(oldVersion, newVersion, manifestMD5, desc string) error {
	return v.db.WriteSchemaUpdateLog(oldVersion, newVersion, manifestMD5, desc)
}
func (v *sqliteVersions) Close()       { _ = v.db.Close() }
func (v *sqliteVersions) Type() string { return "sql" }
