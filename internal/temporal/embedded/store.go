package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	persistencespb "go.temporal.io/server/api/persistence/v1"
	"go.temporal.io/server/common/config"
	tlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence"
	"go.temporal.io/server/common/persistence/serialization"
	tsql "go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	"go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/resolver"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	sqltool "go.temporal.io/server/tools/sql"

	"go.temporal.io/server/tools/common/schema"
)

// Where the embedded server persists (ServerOptions.Store).
const (
	StoreSQLite   = "sqlite"   // a file under the data directory (the default)
	StorePostgres = "postgres" // two databases of a PostgreSQL server
)

// DefaultShards is the number of history shards of a new SQLite store when
// none is asked for. SQLite writes one transaction at a time, whatever the
// shards: more would only add each shard's own background reads.
const DefaultShards = 1

// DefaultPostgresShards is the number of history shards of a new
// PostgreSQL store when none is asked for. Shards are Temporal's unit of
// parallel writes of workflow state, and their number is fixed when the
// store is created: it must fit the département the store will carry, not
// the one it starts with. 64 is the number of docker-compose.yml's
// standalone Temporal server (TEMPORAL_HISTORY_SHARDS), so that the two
// databases can later be served by a Temporal server of their own (several
// machines, docs/operations.md) without starting again from an empty
// store; it is four times the 16 connections of the server's main pool, so
// that every connection has writes to make in a burst of deadlines; and its
// cost at rest is small (each shard reads its queues a few times a
// minute). See docs/engine-operations.md.
const DefaultPostgresShards = 64

// MaxShards bounds PARCOURS_TEMPORAL_SHARDS: Temporal's own clusters run
// with 512 to 16384.
const MaxShards = 16384

// DefaultDatabase is the name of the server's main database on PostgreSQL;
// its visibility database has the same name followed by "_visibility".
const DefaultDatabase = "temporal"

// Temporal's own PostgreSQL schemas, embedded in the server module.
const (
	pgSchema           = "postgresql/v12/temporal"
	pgVisibilitySchema = "postgresql/v12/visibility"
)

var databaseName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,51}$`)

// ValidDatabase reports whether name can name the main database (its
// visibility database's name must fit PostgreSQL's 63 bytes too).
func ValidDatabase(name string) bool { return databaseName.MatchString(name) }

// store is a store ready for the server: schemas in place, namespace
// created.
type store struct {
	name             string // the DataStores key
	main, visibility *config.SQL
	where            string // where it is, for messages
	reset            string // how to start again from an empty store
	shards           int32  // history shards of a new store
	release          func() // lets another process use the store
}

func openStore(ctx context.Context, o ServerOptions, logger tlog.Logger) (*store, error) {
	switch o.Store {
	case "", StoreSQLite:
		return openSQLite(o, logger)
	case StorePostgres:
		return openPostgres(ctx, o, logger)
	}
	return nil, fmt.Errorf("PARCOURS_TEMPORAL_STORE : %q inconnu (sqlite ou postgres)", o.Store)
}

func openSQLite(o ServerOptions, logger tlog.Logger) (*store, error) {
	conf := sqliteConfig(o.DataDir)
	file := conf.DatabaseName
	_, err := os.Stat(file)
	fresh := errors.Is(err, os.ErrNotExist)
	if fresh {
		if err := sqliteschema.SetupSchema(conf); err != nil {
			return nil, fmt.Errorf("create Temporal schema in %s: %w", file, err)
		}
	}
	if err := migrateSQLite(conf, fresh, logger); err != nil {
		return nil, fmt.Errorf("schéma Temporal du fichier %s : %w", file, err)
	}
	if err := leanVisibility(conf); err != nil {
		return nil, err
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, o.Namespace, false, nil)
	if err != nil {
		return nil, err
	}
	if err := sqliteschema.CreateNamespaces(conf, ns); err != nil {
		return nil, fmt.Errorf("create namespace %s: %w", o.Namespace, err)
	}
	return &store{
		name: "sqlite", main: conf, visibility: conf,
		where:   "fichier " + file,
		reset:   fmt.Sprintf("arrêtez le service et supprimez %s (et %s-wal, %s-shm)", file, file, file),
		shards:  DefaultShards,
		release: func() {},
	}, nil
}

// sqliteConfig is the SQLite store of a data directory.
func sqliteConfig(dataDir string) *config.SQL {
	return &config.SQL{
		PluginName:   sqliteplugin.PluginName,
		DatabaseName: filepath.Join(dataDir, "temporal.db"),
		ConnectAttributes: map[string]string{
			"mode": "rwc", "journal_mode": "wal", "synchronous": "normal", "busy_timeout": "10000",
		},
	}
}

// openPostgres creates, on the server of o.PostgresURL, the two databases
// of Temporal if missing, brings their schemas to the version this server
// needs (nothing to do after the first start, until an upgrade), creates
// the namespace, and takes a lock that a second embedded server on the
// same databases would fail to take.
func openPostgres(ctx context.Context, o ServerOptions, logger tlog.Logger) (_ *store, err error) {
	u, err := url.Parse(o.PostgresURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Hostname() == "" {
		return nil, errors.New("serveur Temporal embarqué sur PostgreSQL : attendu une URL postgres://utilisateur:motdepasse@hôte:port/base (DATABASE_URL)")
	}
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	mainDB := o.Database
	if mainDB == "" {
		mainDB = DefaultDatabase
	}
	if !ValidDatabase(mainDB) {
		return nil, fmt.Errorf("PARCOURS_TEMPORAL_DATABASE : %q : attendu des minuscules, chiffres et _ (52 au plus)", mainDB)
	}
	visDB := mainDB + "_visibility"
	where := fmt.Sprintf("PostgreSQL %s, bases %s et %s", addr, mainDB, visDB)
	withDB := func(name string) string {
		c := *u
		c.Path = "/" + name
		return c.String()
	}

	admin, err := pgx.Connect(ctx, o.PostgresURL)
	if err != nil {
		return nil, unreachable(addr, err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	for _, name := range []string{mainDB, visDB} {
		if err := createDatabase(ctx, admin, name); err != nil {
			return nil, err
		}
	}

	// The lock lives as long as this connection: until Stop, or the
	// process's end.
	lock, err := pgx.Connect(ctx, withDB(mainDB))
	if err != nil {
		return nil, unreachable(addr, err)
	}
	release := func() { _ = lock.Close(context.Background()) }
	defer func() {
		if err != nil {
			release()
		}
	}()
	var locked bool
	if err := lock.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext('parcours embedded temporal'))`).Scan(&locked); err != nil {
		return nil, fmt.Errorf("verrou du serveur Temporal embarqué (%s) : %w", where, err)
	}
	if !locked {
		return nil, fmt.Errorf("un autre serveur Temporal embarqué utilise déjà %s : un seul `parcours serve` par stockage embarqué "+
			"(pour plusieurs machines, un serveur Temporal commun, TEMPORAL_ADDRESS, voir docs/operations.md)", where)
	}

	sqlConf := func(name string, conns int) *config.SQL { return postgresConfig(u, name, conns) }
	// Each of the four services has its own pools: at most 4×(16+4)
	// connections, within PostgreSQL's default 100 with the application's.
	st := &store{
		name: "postgresql", main: sqlConf(mainDB, 16), visibility: sqlConf(visDB, 4),
		where:   where,
		reset:   fmt.Sprintf("arrêtez le service, supprimez sur ce PostgreSQL les bases %s et %s (DROP DATABASE %s, DROP DATABASE %s)", mainDB, visDB, mainDB, visDB),
		release: release,
		shards:  DefaultPostgresShards,
	}
	for _, s := range []struct {
		conf   *config.SQL
		schema string
	}{{st.main, pgSchema}, {st.visibility, pgVisibilitySchema}} {
		if err := migrateSchema(s.conf, s.schema, logger); err != nil {
			return nil, fmt.Errorf("schéma Temporal de la base %s (%s) : %w", s.conf.DatabaseName, addr, err)
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, o.Namespace, false, nil)
	if err != nil {
		return nil, err
	}
	// Despite its package, CreateNamespaces writes through the SQL plugin
	// of the configuration: PostgreSQL here.
	if err := sqliteschema.CreateNamespaces(st.main, ns); err != nil {
		return nil, fmt.Errorf("create namespace %s: %w", o.Namespace, err)
	}
	return st, nil
}

// postgresConfig is database name on the server of u, with a pool of conns.
func postgresConfig(u *url.URL, name string, conns int) *config.SQL {
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	password, _ := u.User.Password()
	attrs := map[string]string{}
	for k, v := range u.Query() {
		if len(v) > 0 {
			attrs[k] = v[len(v)-1]
		}
	}
	return &config.SQL{
		PluginName: postgresql.PluginNamePGX, DatabaseName: name,
		ConnectAddr: net.JoinHostPort(u.Hostname(), port), ConnectProtocol: "tcp",
		User: u.User.Username(), Password: password, ConnectAttributes: attrs,
		MaxConns: conns, MaxIdleConns: conns, MaxConnLifetime: time.Hour,
	}
}

func unreachable(addr string, err error) error {
	return fmt.Errorf("serveur Temporal embarqué : PostgreSQL injoignable à %s (PostgreSQL unreachable) : %w", addr, err)
}

// createDatabase creates the database name unless it exists.
func createDatabase(ctx context.Context, conn *pgx.Conn, name string) error {
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("serveur Temporal embarqué : lire les bases de PostgreSQL : %w", err)
	}
	if exists {
		return nil
	}
	_, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: created meanwhile
		return nil
	}
	if err != nil {
		return fmt.Errorf("serveur Temporal embarqué : créer la base %s : %w (il faut le droit CREATEDB, ou créez-la d'avance : CREATE DATABASE %s OWNER <utilisateur de DATABASE_URL>)", name, err, name)
	}
	return nil
}

// migrateSchema sets up the versioning tables if missing, then applies
// every versioned step of the embedded schema past the database's version
// (none when it is current). The server checks the result at its start.
func migrateSchema(conf *config.SQL, name string, logger tlog.Logger) error {
	conn, err := sqltool.NewConnection(conf, logger)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := schema.NewSetupSchemaTask(conn, &schema.SetupConfig{InitialVersion: "0.0"}, logger).Run(); err != nil {
		return err
	}
	return schema.NewUpdateSchemaTask(conn, &schema.UpdateConfig{SchemaName: name}, logger).Run()
}

// storedCluster is the cluster record the server wrote at its first start
// on this store (shard count, cluster ID), or nil on a new store.
func storedCluster(ctx context.Context, conf *config.SQL, logger tlog.Logger) (*persistencespb.ClusterMetadata, error) {
	db, err := tsql.NewSQLDB(sqlplugin.DbKindMain, conf, resolver.NewNoopResolver(), logger, metrics.NoopMetricsHandler)
	if err != nil {
		return nil, err
	}
	defer func() { _ = db.Close() }()
	row, err := db.GetClusterMetadata(ctx, &sqlplugin.ClusterMetadataFilter{ClusterName: clusterName})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read Temporal cluster metadata: %w", err)
	}
	return serialization.NewSerializer().DeserializeClusterMetadata(persistence.NewDataBlob(row.Data, row.DataEncoding))
}

// ShardsError: the store was created with another number of history shards
// than the one asked for.
type ShardsError struct {
	Asked, Stored int32
	Where, Reset  string
}

func (e *ShardsError) Error() string {
	return fmt.Sprintf("PARCOURS_TEMPORAL_SHARDS=%d, mais le stockage du serveur Temporal embarqué (%s) a été créé avec %d partition(s) d'historique (history shards), "+
		"un nombre fixé à sa création. Pour le garder : PARCOURS_TEMPORAL_SHARDS=%d, ou retirez la variable. "+
		"Pour en changer : %s, puis redémarrez ; les workflows en cours et leur historique sont alors perdus (la base de l'application reste)",
		e.Asked, e.Where, e.Stored, e.Stored, e.Reset)
}

// unqueriedIndexes are the indexes of Temporal's SQLite visibility schema
// on columns nothing here ever lists or counts workflows by: custom search
// attributes (parcours registers none), the worker-versioning, batcher and
// pause attributes, and the execution's sizes and durations. Each one was
// written at every start and every search-attribute upsert (58 indexes,
// most over a JSON_EXTRACT): make bench --profile put those visibility
// writes at a third of the import's CPU. Listing by any of these columns
// still works (the Temporal UI's filters), by scanning. Kept: the default
// order, and the indexes by execution time, workflow ID and type, status,
// task queue, parent and root workflow, and the schedules' attributes.
var unqueriedIndexes = []string{
	"by_history_length", "by_history_size_bytes", "by_execution_duration", "by_state_transition_count",
	"by_parent_run_id", "by_root_run_id", "by_batcher_user", "by_temporal_pause_info",
	"by_temporal_worker_deployment_version", "by_temporal_workflow_versioning_behavior", "by_temporal_worker_deployment",
	"by_bool_01", "by_bool_02", "by_bool_03", "by_datetime_01", "by_datetime_02", "by_datetime_03",
	"by_double_01", "by_double_02", "by_double_03", "by_int_01", "by_int_02", "by_int_03",
	"by_keyword_01", "by_keyword_02", "by_keyword_03", "by_keyword_04", "by_keyword_05",
	"by_keyword_06", "by_keyword_07", "by_keyword_08", "by_keyword_09", "by_keyword_10",
	"by_temporal_bool_01", "by_temporal_bool_02", "by_temporal_datetime_01", "by_temporal_datetime_02",
	"by_temporal_double_01", "by_temporal_double_02", "by_temporal_int_01", "by_temporal_int_02",
	"by_temporal_keyword_01", "by_temporal_keyword_02", "by_temporal_keyword_03", "by_temporal_keyword_04",
	"by_temporal_low_cardinality_keyword_01",
}

// leanVisibility drops unqueriedIndexes from the SQLite store, new or
// existing (nothing to do when they are gone).
func leanVisibility(conf *config.SQL) error {
	db, err := tsql.NewSQLAdminDB(sqlplugin.DbKindVisibility, conf, resolver.NewNoopResolver(), tlog.NewNoopLogger(), metrics.NoopMetricsHandler)
	if err != nil {
		return fmt.Errorf("open Temporal visibility store: %w", err)
	}
	defer func() { _ = db.Close() }()
	for _, name := range unqueriedIndexes {
		if err := db.Exec("DROP INDEX IF EXISTS " + name); err != nil {
			return fmt.Errorf("drop visibility index %s: %w", name, err)
		}
	}
	return nil
}
