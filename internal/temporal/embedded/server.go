// Package embedded runs the embedded Temporal server (a SQLite file under
// the data directory, or two PostgreSQL databases) in the service's
// process. It is the only package that imports go.temporal.io/server: the
// clients, workers and tools (package temporal) join it, or a remote
// cluster, without linking the server.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	tlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
	"go.temporal.io/server/common/membership/static"
	"go.temporal.io/server/common/primitives"
	tserver "go.temporal.io/server/temporal"

	"github.com/parcours-rsa/parcours/internal/temporal"
)

// ServerOptions configure the embedded server.
type ServerOptions struct {
	DataDir string // the SQLite file and the cluster ID live here
	// Store is StoreSQLite (default: DataDir/temporal.db) or StorePostgres:
	// databases Database and Database+"_visibility" on the server of
	// PostgresURL, created with their schemas at the first start.
	Store       string
	PostgresURL string // postgres://…; its database is used only to create Temporal's
	Database    string // default DefaultDatabase
	// Shards is the number of history shards, fixed when the store is
	// created: 0 keeps the store's (for a new one DefaultShards on SQLite,
	// DefaultPostgresShards on PostgreSQL); another
	// number than the store's is refused with a *ShardsError.
	Shards    int
	IP        string // default 127.0.0.1
	Port      int    // frontend gRPC port, default 7233
	Namespace string // created if missing, default "default"
	Logger    *slog.Logger
	LogLevel  slog.Level // the server's own logs; default warn
	// Dynamic overrides the server's dynamic configuration, key by key
	// ("limit.historyCount.suggestContinueAsNew": 300 in tests).
	Dynamic map[string]any
	// TLS are the files of the frontend's mutual TLS: clients (the
	// service's own and other machines' parcours workers) present a
	// certificate signed by ClientCAFile. The server's system worker uses
	// the server's own certificate as its client certificate. Nil: files
	// made in DataDir/tls at the first start (Credentials); the frontend
	// always requires a client certificate.
	TLS *ServerTLS
}

// ServerTLS are the PEM files of the frontend's mutual TLS.
type ServerTLS struct {
	CertFile, KeyFile string // the server's certificate (also the system worker's client certificate)
	ClientCAFile      string // the CA clients' certificates are checked against, and the server's too
	ServerName        string // the name in the server's certificate (default "localhost")
}

// Server is a running embedded Temporal server.
type Server struct {
	srv     tserver.Server
	address string
	shards  int
	release func()
	creds   *temporal.Credentials // the generated files; nil with ServerOptions.TLS
	tls     ServerTLS
	// internal are the addresses of the history, matching and worker
	// services (for tests).
	internal map[string]string
}

// Client fills o to join this server: its generated client certificate
// and CA, or, with ServerOptions.TLS, its CA and name only (o brings its
// own certificate).
func (s *Server) Client(o temporal.ClientOptions) temporal.ClientOptions {
	if s.creds != nil {
		return s.creds.Client(o)
	}
	o.CAFile, o.ServerName = s.tls.ClientCAFile, s.tls.ServerName
	return o
}

// Shards is the number of history shards the server runs with.
func (s *Server) Shards() int { return s.shards }

// Address is host:port of the frontend.
func (s *Server) Address() string { return s.address }

// Stop stops every service of the server.
func (s *Server) Stop() {
	s.srv.Stop()
	s.release()
}

const clusterName = "active"

// StartServer starts the four Temporal services in this process, persisted
// in DataDir/temporal.db or in PostgreSQL (o.Store). A kill -9 loses
// nothing that was acknowledged: the SQLite file is in WAL mode, and
// timers are rows in either store.
func StartServer(o ServerOptions) (_ *Server, err error) {
	temporal.ConfigureProcess() // before the server's own SDK workers start
	if o.IP == "" {
		o.IP = "127.0.0.1"
	}
	if o.Port == 0 {
		o.Port = 7233
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.LogLevel == 0 {
		o.LogLevel = slog.LevelWarn
	}
	if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("temporal data dir: %w", err)
	}
	if o.Shards < 0 || o.Shards > MaxShards {
		return nil, fmt.Errorf("PARCOURS_TEMPORAL_SHARDS : %d : attendu de 1 à %d", o.Shards, MaxShards)
	}
	if err := portFree(o.IP, o.Port); err != nil {
		return nil, fmt.Errorf("PARCOURS_TEMPORAL_PORT: %w", err)
	}
	var creds *temporal.Credentials
	if o.TLS == nil {
		c := temporal.EmbeddedCredentials(o.DataDir)
		if err := c.Ensure(o.IP, o.Logger); err != nil {
			return nil, err
		}
		creds, o.TLS = &c, &ServerTLS{CertFile: c.ServerCert(), KeyFile: c.ServerKey(), ClientCAFile: c.CA()}
	}
	serverTLS := *o.TLS // the caller's stays as it was
	if serverTLS.ServerName == "" {
		serverTLS.ServerName = temporal.CredentialsServerName
	}
	o.TLS = &serverTLS
	if ip := net.ParseIP(o.IP); ip == nil || !ip.IsLoopback() {
		o.Logger.Warn("embedded Temporal: the frontend listens beyond this machine (mutual TLS required)", "ip", o.IP)
	}
	logger := &slogLogger{log: o.Logger.With("component", "temporal-server"), level: o.LogLevel}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := openStore(ctx, o, logger)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			st.release()
		}
	}()
	stored, err := storedCluster(ctx, st.main, logger)
	if err != nil {
		return nil, err
	}
	shards := int32(o.Shards)
	switch {
	case stored != nil && shards != 0 && shards != stored.HistoryShardCount:
		return nil, &ShardsError{Asked: shards, Stored: stored.HistoryShardCount, Where: st.where, Reset: st.reset}
	case stored != nil:
		shards = stored.HistoryShardCount
	case shards == 0:
		shards = st.shards
	}
	clusterID, err := persistentClusterID(filepath.Join(o.DataDir, "temporal-cluster-id"))
	if err != nil {
		return nil, err
	}
	if stored != nil && stored.ClusterId != "" {
		clusterID = stored.ClusterId // the store's, if the data directory was replaced
	}
	partitions, err := taskQueuePartitions(filepath.Join(o.DataDir, "temporal-task-queue-partitions"), stored == nil)
	if err != nil {
		return nil, err
	}
	ports := map[string]int{"frontend": o.Port}
	for _, svc := range []string{"history", "matching", "worker"} {
		if ports[svc], err = temporal.FreePortOn(o.IP); err != nil {
			return nil, err
		}
	}
	addr := func(p int) string { return net.JoinHostPort(o.IP, fmt.Sprint(p)) }

	conf := &config.Config{}
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = o.IP
	conf.Persistence.DefaultStore = st.name
	conf.Persistence.VisibilityStore = st.name
	conf.Persistence.DataStores = map[string]config.DataStore{st.name: {SQL: st.main}}
	if st.visibility != st.main {
		conf.Persistence.VisibilityStore = st.name + "-visibility"
		conf.Persistence.DataStores[conf.Persistence.VisibilityStore] = config.DataStore{SQL: st.visibility}
	}
	conf.Persistence.NumHistoryShards = shards
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{clusterName: {
			Enabled:                true,
			InitialFailoverVersion: 1,
			RPCAddress:             addr(o.Port),
			ClusterID:              clusterID,
		}},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{}
	for _, svc := range []string{"frontend", "history", "matching", "worker"} {
		var s config.Service
		// No HTTP API (HTTPPort 0): parcours speaks gRPC only, and
		// it would be one more door to the histories.
		s.RPC.GRPCPort, s.RPC.BindOnIP = ports[svc], o.IP
		conf.Services[svc] = s
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = addr(o.Port)
	// Mutual TLS on the frontend, and between the server's own services:
	// their ports (history, matching, worker) listen on the same address,
	// and the history service answers for histories as the frontend does.
	t := o.TLS
	client := config.ClientTLS{RootCAFiles: []string{t.ClientCAFile}, ServerName: t.ServerName}
	group := config.GroupTLS{
		Server: config.ServerTLS{CertFile: t.CertFile, KeyFile: t.KeyFile, ClientCAFiles: []string{t.ClientCAFile}, RequireClientAuth: true},
		Client: client,
	}
	conf.Global.TLS.Frontend, conf.Global.TLS.Internode = group, group
	conf.Global.TLS.SystemWorker = config.WorkerTLS{CertFile: t.CertFile, KeyFile: t.KeyFile, Client: client}

	dyn := dynamicconfig.StaticClient{
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8096,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
		dynamicconfig.MatchingNumTaskqueueReadPartitions.Key():           partitions,
		dynamicconfig.MatchingNumTaskqueueWritePartitions.Key():          partitions,
	}
	for k, v := range o.Dynamic {
		dyn[dynamicconfig.MakeKey(k)] = v
	}
	srv, err := tserver.NewServer(
		tserver.WithConfig(conf),
		tserver.ForServices(tserver.DefaultServices),
		tserver.WithStaticHosts(map[primitives.ServiceName]static.Hosts{
			primitives.FrontendService: static.SingleLocalHost(addr(o.Port)),
			primitives.HistoryService:  static.SingleLocalHost(addr(ports["history"])),
			primitives.MatchingService: static.SingleLocalHost(addr(ports["matching"])),
			primitives.WorkerService:   static.SingleLocalHost(addr(ports["worker"])),
		}),
		tserver.WithLogger(logger),
		tserver.WithDynamicConfigClient(dyn),
	)
	if err != nil {
		return nil, fmt.Errorf("build embedded Temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start embedded Temporal server: %w", err)
	}
	internal := map[string]string{}
	for _, svc := range []string{"history", "matching", "worker"} {
		internal[svc] = addr(ports[svc])
	}
	return &Server{srv: srv, address: addr(o.Port), shards: int(shards), release: st.release, creds: creds, tls: *o.TLS, internal: internal}, nil
}

// taskQueuePartitions is the number of partitions of every task queue,
// kept in file: 1 for a store created since it is kept, Temporal's default
// of 4 for a store created before (tasks already waiting in partitions 1
// to 3 would never be read with fewer). Partitions spread a task queue over
// matching hosts, and this server has one: with 4, tasks and polls meet
// across partitions by forwarding. One partition took make bench's import
// from 76.9 to 92.4 starts/s and a burst of 2,000 timers from 34.2 to
// 23.3 s (trials at 1,000 people, one run each).
func taskQueuePartitions(file string, newStore bool) (int, error) {
	b, err := os.ReadFile(file)
	switch {
	case err == nil:
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || n < 1 {
			return 0, fmt.Errorf("%s : attendu un nombre de partitions, lu %q", file, strings.TrimSpace(string(b)))
		}
		return n, nil
	case !errors.Is(err, os.ErrNotExist):
		return 0, err
	case !newStore:
		return 4, nil
	}
	return 1, os.WriteFile(file, []byte("1\n"), 0o640)
}

// persistentClusterID reads the cluster's UUID, or makes and keeps one.
func persistentClusterID(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	id := uuid.NewString()
	return id, os.WriteFile(file, []byte(id+"\n"), 0o640)
}

func portFree(ip string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(port)))
	if err != nil {
		return fmt.Errorf("port %d on %s is taken (another Temporal server or a second parcours?): %w", port, ip, err)
	}
	return l.Close()
}

// slogLogger adapts the server's logger interface to slog.
type slogLogger struct {
	log   *slog.Logger
	level slog.Level
	tags  []tag.Tag
}

var _ tlog.Logger = (*slogLogger)(nil)

func (l *slogLogger) emit(level slog.Level, msg string, tags []tag.Tag) {
	if level < l.level {
		return
	}
	attrs := make([]any, 0, 2*(len(l.tags)+len(tags)))
	for _, t := range append(l.tags, tags...) {
		attrs = append(attrs, t.Key(), t.Value())
	}
	l.log.Log(context.Background(), level, msg, attrs...)
}

func (l *slogLogger) Debug(msg string, tags ...tag.Tag)  { l.emit(slog.LevelDebug, msg, tags) }
func (l *slogLogger) Info(msg string, tags ...tag.Tag)   { l.emit(slog.LevelInfo, msg, tags) }
func (l *slogLogger) Warn(msg string, tags ...tag.Tag)   { l.emit(slog.LevelWarn, msg, tags) }
func (l *slogLogger) Error(msg string, tags ...tag.Tag)  { l.emit(slog.LevelError, msg, tags) }
func (l *slogLogger) DPanic(msg string, tags ...tag.Tag) { l.emit(slog.LevelError, msg, tags) }
func (l *slogLogger) Panic(msg string, tags ...tag.Tag) {
	l.emit(slog.LevelError, msg, tags)
	panic(msg)
}
func (l *slogLogger) Fatal(msg string, tags ...tag.Tag) {
	l.emit(slog.LevelError, msg, tags)
	os.Exit(1)
}

// With keeps tags for every later line.
func (l *slogLogger) With(tags ...tag.Tag) tlog.Logger {
	return &slogLogger{log: l.log, level: l.level, tags: append(append([]tag.Tag(nil), l.tags...), tags...)}
}
