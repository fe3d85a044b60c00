// Package config reads the service's configuration from the environment.
package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/payloadcodec"
	"github.com/parcours-rsa/parcours/workflows"
)

// Config is the whole configuration. Every field has a documented default
// (docs/configuration.md).
type Config struct {
	Addr               string // PARCOURS_ADDR
	DataDir            string // PARCOURS_DATA_DIR
	DatabaseURL        string // DATABASE_URL; empty: start the local cluster
	MigrateURL         string // PARCOURS_MIGRATE_DATABASE_URL: the owner's, for migrations; empty: DATABASE_URL
	PGPort             int    // PARCOURS_PG_PORT: the local cluster's port
	TemporalAddress    string // TEMPORAL_ADDRESS; empty: embedded server
	TemporalNamespace  string // TEMPORAL_NAMESPACE
	TemporalPort       int    // PARCOURS_TEMPORAL_PORT: the embedded frontend
	TemporalIP         string // PARCOURS_TEMPORAL_IP: the address the embedded server (serve's or parcours temporal's) listens on
	TemporalStore      string // PARCOURS_TEMPORAL_STORE: the embedded server's store, sqlite or postgres
	TemporalDatabase   string // PARCOURS_TEMPORAL_DATABASE: its database on PostgreSQL (and <name>_visibility)
	TemporalShards     int    // PARCOURS_TEMPORAL_SHARDS: history shards of a new store; 0: the store's, or 1 (SQLite), 64 (PostgreSQL)
	TemporalAPIKey     string // TEMPORAL_API_KEY (Temporal Cloud)
	TemporalTLS        bool   // TEMPORAL_TLS
	TemporalTLSCert    string // TEMPORAL_TLS_CERT: client certificate file (mTLS), with TEMPORAL_TLS_KEY
	TemporalTLSKey     string // TEMPORAL_TLS_KEY
	TemporalTLSCA      string // TEMPORAL_TLS_CA: CA file to verify the server (default: the system's)
	TemporalServerName string // TEMPORAL_TLS_SERVER_NAME: name to verify (default: the address's host)
	// PayloadKeys encrypt what the service hands Temporal
	// (PARCOURS_PAYLOAD_KEYS, "id:base64,…": the first encrypts, all
	// decrypt); required with TEMPORAL_ADDRESS unless PayloadEncryption is
	// "off", optional with the embedded server.
	PayloadKeys        []payloadcodec.Key
	PayloadEncryption  string                    // PARCOURS_PAYLOAD_ENCRYPTION: "" (required with TEMPORAL_ADDRESS), "on" (required) or "off"
	MetricsAddr        string                    // PARCOURS_METRICS_ADDR: separate listener for /metrics, /healthz, /readyz
	CookieSecure       bool                      // PARCOURS_COOKIE_SECURE: web cookies only over HTTPS
	AuditRetentionDays int                       // PARCOURS_AUDIT_RETENTION_DAYS
	PublicURL          string                    // PARCOURS_PUBLIC_URL: how browsers reach the service
	OIDCIssuer         string                    // PARCOURS_OIDC_ISSUER
	OIDCClientID       string                    // PARCOURS_OIDC_CLIENT_ID
	OIDCClientSecret   string                    // PARCOURS_OIDC_CLIENT_SECRET
	OIDCLabel          string                    // PARCOURS_OIDC_LABEL
	Policy             string                    // PARCOURS_POLICY
	RenewalNoticeDays  int                       // PARCOURS_RENEWAL_NOTICE_DAYS
	Overseas           bool                      // PARCOURS_OVERSEAS: an overseas département (stock contract due 01/01/2028)
	Art642             bool                      // PARCOURS_ART642: delays ending on a Saturday, Sunday or public holiday move to the next working day (art. 642 CPC)
	Escalation         domain.EscalationSettings // PARCOURS_RELANCE_DAYS, PARCOURS_PAYBACK_CAP_MONTHS, PARCOURS_REPEAT_WINDOW_MONTHS
	LogLevel           slog.Level
	DigestHour         int    // PARCOURS_DIGEST_HOUR: hour (Europe/Paris) of the staff digest, working days
	SMTPHost           string // SMTP_HOST; empty: no digest
	// TestCalendarOffset, for end-to-end tests only
	// (PARCOURS_TEST_CALENDAR_OFFSET, seconds east of UTC): the parcours
	// this process starts count their dates in this fixed zone instead of
	// Europe/Paris (Settings: domain.Settings.ZoneOffset), so that a test
	// chooses the instant of a midnight, when deadlines fall due.
	TestCalendarOffset *int
	SMTPPort           int    // SMTP_PORT
	SMTPUser           string // SMTP_USER
	SMTPPassword       string // SMTP_PASSWORD
	SMTPFrom           string // SMTP_FROM
	// MemoryLimitMiB is the Go runtime's soft memory limit of serve and
	// worker (PARCOURS_MEMORY_LIMIT_MIB; 0: none; GOMEMLIMIT, when set,
	// wins): the collector works harder near it, and all the time once the
	// live heap reaches it.
	MemoryLimitMiB int
	// GCPercent is the collector's target of heap growth between two
	// collections, in percent of the live heap (PARCOURS_GC_PERCENT; GOGC,
	// when set, wins).
	GCPercent int
	// IndicatorsCache is how long a computed indicators report is kept
	// (PARCOURS_INDICATORS_CACHE, default DefaultIndicatorsCache; 0: none).
	IndicatorsCache time.Duration
	// CountsCache is how long the workload per référent and the task
	// lists' counts are kept (PARCOURS_COUNTS_CACHE, default
	// DefaultCountsCache; 0: none).
	CountsCache time.Duration
	// SyncLocalLimit is how long a parcours' write of the read model
	// retries as a local activity before it goes on as an ordinary
	// activity (PARCOURS_SYNC_LOCAL_LIMIT, a Go duration; default
	// workflows.DefaultSyncLocalLimit): an option of the worker, not
	// recorded in the workflows' histories.
	SyncLocalLimit time.Duration
}

// MinSyncLocalLimit and MaxSyncLocalLimit bound PARCOURS_SYNC_LOCAL_LIMIT:
// at 5 s the local activity makes 3 attempts (backoffs of 1 and 2 s)
// before the write leaves the fast path; past an hour, a write held up by
// an outage records about 6 events a minute in its history, one retry a
// minute (docs/decisions/0006-timers-and-sync-fallback.md).
const (
	MinSyncLocalLimit = 5 * time.Second
	MaxSyncLocalLimit = time.Hour
)

// SyncLocalLimit reads PARCOURS_SYNC_LOCAL_LIMIT
// (workflows.DefaultSyncLocalLimit when unset).
func SyncLocalLimit(getenv func(string) string) (time.Duration, error) {
	v := getenv("PARCOURS_SYNC_LOCAL_LIMIT")
	if v == "" {
		return workflows.DefaultSyncLocalLimit, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < MinSyncLocalLimit || d > MaxSyncLocalLimit {
		return 0, &Error{"PARCOURS_SYNC_LOCAL_LIMIT", fmt.Sprintf("%q : attendu une durée de 5s à 1h, par exemple 2m ou 90s", v)}
	}
	return d, nil
}

// DefaultMemoryLimitMiB is the memory limit when none is set: none. A
// limit of 768 MiB kept make bench's RSS with 100,000 open parcours under
// 1 GiB, but when the live heap came near it (during a burst of 10,000
// deadlines) the collector ran without pause: it was marking in 56.5 % of
// the burst's CPU samples, and the burst took 127.1 s against 59.3 s
// without the limit and 67.5 s with a GC target of 50 %, trials of 1,000
// people and a burst of 10,000, one run each.
const DefaultMemoryLimitMiB = 0

// MemoryLimitMiB reads PARCOURS_MEMORY_LIMIT_MIB (DefaultMemoryLimitMiB
// when unset).
func MemoryLimitMiB(getenv func(string) string) (int, error) {
	if getenv("PARCOURS_MEMORY_LIMIT_MIB") == "" {
		return DefaultMemoryLimitMiB, nil
	}
	n, err := intVar(getenv, "PARCOURS_MEMORY_LIMIT_MIB")
	if err == nil && (n < 0 || (n > 0 && n < 256)) {
		err = &Error{"PARCOURS_MEMORY_LIMIT_MIB", fmt.Sprintf("%d : attendu 0 (pas de limite) ou au moins 256 (Mio)", n)}
	}
	return n, err
}

// DefaultGCPercent is the collector's target when none is set: Go's own,
// the heap doubles its live size between two collections. It was 50 while
// the process's workflow cache held 10,000 parcours instead of 1,000 (see
// temporal.WorkflowCacheSize); with the cache bounded, a trial of 1,000
// people and a burst of 10,000 drained in 65.9 s at 50 (peak RSS 560.9 MiB)
// and 53.0 s at 100 (753.4 MiB), one run each.
const DefaultGCPercent = 100

// GCPercent reads PARCOURS_GC_PERCENT (DefaultGCPercent when unset).
func GCPercent(getenv func(string) string) (int, error) {
	if getenv("PARCOURS_GC_PERCENT") == "" {
		return DefaultGCPercent, nil
	}
	n, err := intVar(getenv, "PARCOURS_GC_PERCENT")
	if err == nil && (n < 10 || n > 1000) {
		err = &Error{"PARCOURS_GC_PERCENT", fmt.Sprintf("%d : attendu de 10 à 1000 (%%)", n)}
	}
	return n, err
}

// Error names the variable at fault.
type Error struct {
	Var, Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("configuration: %s: %s", e.Var, e.Msg) }

// FromEnv reads the configuration through getenv, applies the defaults and
// validates it.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Addr:               getenv("PARCOURS_ADDR"),
		DataDir:            getenv("PARCOURS_DATA_DIR"),
		DatabaseURL:        getenv("DATABASE_URL"),
		MigrateURL:         getenv("PARCOURS_MIGRATE_DATABASE_URL"),
		TemporalAddress:    getenv("TEMPORAL_ADDRESS"),
		TemporalNamespace:  getenv("TEMPORAL_NAMESPACE"),
		TemporalStore:      getenv("PARCOURS_TEMPORAL_STORE"),
		TemporalIP:         getenv("PARCOURS_TEMPORAL_IP"),
		TemporalDatabase:   getenv("PARCOURS_TEMPORAL_DATABASE"),
		TemporalAPIKey:     getenv("TEMPORAL_API_KEY"),
		TemporalTLSCert:    getenv("TEMPORAL_TLS_CERT"),
		TemporalTLSKey:     getenv("TEMPORAL_TLS_KEY"),
		TemporalTLSCA:      getenv("TEMPORAL_TLS_CA"),
		TemporalServerName: getenv("TEMPORAL_TLS_SERVER_NAME"),
		MetricsAddr:        getenv("PARCOURS_METRICS_ADDR"),
		Policy:             getenv("PARCOURS_POLICY"),
		PublicURL:          strings.TrimSuffix(getenv("PARCOURS_PUBLIC_URL"), "/"),
		OIDCIssuer:         getenv("PARCOURS_OIDC_ISSUER"),
		OIDCClientID:       getenv("PARCOURS_OIDC_CLIENT_ID"),
		OIDCClientSecret:   getenv("PARCOURS_OIDC_CLIENT_SECRET"),
		OIDCLabel:          getenv("PARCOURS_OIDC_LABEL"),
		SMTPHost:           getenv("SMTP_HOST"),
		SMTPUser:           getenv("SMTP_USER"),
		SMTPPassword:       getenv("SMTP_PASSWORD"),
		SMTPFrom:           getenv("SMTP_FROM"),
		PayloadEncryption:  getenv("PARCOURS_PAYLOAD_ENCRYPTION"),
	}
	var err error
	if v := getenv("PARCOURS_PAYLOAD_KEYS"); v != "" {
		if c.PayloadKeys, err = payloadcodec.ParseKeys(v); err != nil {
			return c, &Error{"PARCOURS_PAYLOAD_KEYS", err.Error()}
		}
	}
	if c.PGPort, err = intVar(getenv, "PARCOURS_PG_PORT"); err != nil {
		return c, err
	}
	if c.TemporalPort, err = intVar(getenv, "PARCOURS_TEMPORAL_PORT"); err != nil {
		return c, err
	}
	if c.TemporalShards, err = intVar(getenv, "PARCOURS_TEMPORAL_SHARDS"); err != nil {
		return c, err
	}
	if getenv("PARCOURS_TEST_CALENDAR_OFFSET") != "" {
		off, err := intVar(getenv, "PARCOURS_TEST_CALENDAR_OFFSET")
		if err != nil {
			return c, err
		}
		c.TestCalendarOffset = &off
	}
	if getenv("PARCOURS_TEMPORAL_SHARDS") != "" && c.TemporalShards == 0 {
		return c, &Error{"PARCOURS_TEMPORAL_SHARDS", "0 : attendu de 1 à 16384 (ou retirez la variable)"}
	}
	if c.RenewalNoticeDays, err = intVar(getenv, "PARCOURS_RENEWAL_NOTICE_DAYS"); err != nil {
		return c, err
	}
	if c.AuditRetentionDays, err = intVar(getenv, "PARCOURS_AUDIT_RETENTION_DAYS"); err != nil {
		return c, err
	}
	if c.SMTPPort, err = intVar(getenv, "SMTP_PORT"); err != nil {
		return c, err
	}
	c.DigestHour = 8
	if getenv("PARCOURS_DIGEST_HOUR") != "" {
		if c.DigestHour, err = intVar(getenv, "PARCOURS_DIGEST_HOUR"); err != nil {
			return c, err
		}
	}
	if c.Escalation, err = escalation(getenv); err != nil {
		return c, err
	}
	if v := getenv("TEMPORAL_TLS"); v != "" {
		if c.TemporalTLS, err = strconv.ParseBool(v); err != nil {
			return c, &Error{"TEMPORAL_TLS", fmt.Sprintf("%q n'est pas un booléen (true ou false)", v)}
		}
	}
	if v := getenv("PARCOURS_OVERSEAS"); v != "" {
		if c.Overseas, err = strconv.ParseBool(v); err != nil {
			return c, &Error{"PARCOURS_OVERSEAS", fmt.Sprintf("%q n'est pas un booléen (true pour un département d'outre-mer, false sinon)", v)}
		}
	}
	if v := getenv("PARCOURS_ART642"); v != "" {
		if c.Art642, err = strconv.ParseBool(v); err != nil {
			return c, &Error{"PARCOURS_ART642", fmt.Sprintf("%q n'est pas un booléen (true pour reporter au jour ouvrable suivant un délai qui finit un samedi, un dimanche ou un jour férié, art. 642 du code de procédure civile ; false sinon)", v)}
		}
	}
	if v := getenv("PARCOURS_COOKIE_SECURE"); v != "" {
		if c.CookieSecure, err = strconv.ParseBool(v); err != nil {
			return c, &Error{"PARCOURS_COOKIE_SECURE", fmt.Sprintf("%q n'est pas un booléen (true ou false)", v)}
		}
	}
	if c.MemoryLimitMiB, err = MemoryLimitMiB(getenv); err != nil {
		return c, err
	}
	if c.GCPercent, err = GCPercent(getenv); err != nil {
		return c, err
	}
	if c.IndicatorsCache, err = cacheVar(getenv, "PARCOURS_INDICATORS_CACHE", DefaultIndicatorsCache); err != nil {
		return c, err
	}
	if c.CountsCache, err = cacheVar(getenv, "PARCOURS_COUNTS_CACHE", DefaultCountsCache); err != nil {
		return c, err
	}
	if c.SyncLocalLimit, err = SyncLocalLimit(getenv); err != nil {
		return c, err
	}
	if v := getenv("PARCOURS_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return c, &Error{"PARCOURS_LOG_LEVEL", fmt.Sprintf("%q : attendu debug, info, warn ou error", v)}
		}
	}
	c = c.WithDefaults()
	return c, c.Validate()
}

// escalation reads the relance and sanction settings over their defaults.
func escalation(getenv func(string) string) (domain.EscalationSettings, error) {
	e := domain.DefaultEscalation()
	if v := getenv("PARCOURS_RELANCE_DAYS"); v != "" {
		parts := strings.Split(v, ",")
		var days [3]int
		ok := len(parts) == 3
		for i := 0; ok && i < 3; i++ {
			n, err := strconv.Atoi(strings.TrimSpace(parts[i]))
			days[i], ok = n, err == nil && n >= 0 && n <= 365 && (i == 0 || n > days[i-1])
		}
		if !ok {
			return e, &Error{"PARCOURS_RELANCE_DAYS", fmt.Sprintf("%q : attendu trois nombres de jours croissants, par exemple 0,15,30 (1re relance, 2e relance, proposition de signalement)", v)}
		}
		e.Relance1Days, e.Relance2Days, e.ProposalDays = days[0], days[1], days[2]
	}
	for _, s := range []struct {
		name     string
		dst      *int
		min, max int
	}{
		{"PARCOURS_PAYBACK_CAP_MONTHS", &e.PaybackCapMonths, 0, 12},
		{"PARCOURS_REPEAT_WINDOW_MONTHS", &e.RepeatMonths, 1, 120},
	} {
		n, err := intVar(getenv, s.name)
		if err != nil {
			return e, err
		}
		if getenv(s.name) == "" {
			continue
		}
		if n < s.min || n > s.max {
			return e, &Error{s.name, fmt.Sprintf("%d : attendu entre %d et %d", n, s.min, s.max)}
		}
		*s.dst = n
	}
	return e, nil
}

// DefaultIndicatorsCache is how long an indicators report is kept when
// PARCOURS_INDICATORS_CACHE is unset: the figures of a period, a minute
// old at most, computed once a minute rather than at each request.
const DefaultIndicatorsCache = time.Minute

// DefaultCountsCache is how long the workload per référent and the task
// lists' counts are kept when PARCOURS_COUNTS_CACHE is unset. A write
// through the service drops them at once; the workflows' writes (a
// deadline passing, a burst at midnight) show within twice this delay (a
// value past it is served while it is counted again).
const DefaultCountsCache = 15 * time.Second

// cacheVar reads a cache's duration: 30s, 5m, 0 for none, at most an hour.
func cacheVar(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	if v == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > time.Hour {
		return 0, &Error{name, fmt.Sprintf("%q : attendu une durée de 0 à 1h (par exemple 30s, 5m ; 0 : aucun cache)", v)}
	}
	return d, nil
}

func intVar(getenv func(string) string, name string) (int, error) {
	v := getenv(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, &Error{name, fmt.Sprintf("%q n'est pas un nombre", v)}
	}
	return n, nil
}

// WithDefaults fills what was not set.
func (c Config) WithDefaults() Config {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.DataDir == "" {
		c.DataDir = "./data"
	}
	if abs, err := filepath.Abs(c.DataDir); err == nil {
		c.DataDir = abs
	}
	if c.PGPort == 0 {
		c.PGPort = 54329
	}
	if c.TemporalNamespace == "" {
		c.TemporalNamespace = "default"
	}
	if c.TemporalPort == 0 {
		c.TemporalPort = 7233
	}
	if c.TemporalIP == "" {
		c.TemporalIP = "127.0.0.1"
	}
	if c.Embedded() && c.TemporalStore == "" {
		c.TemporalStore = StoreSQLite
	}
	if c.TemporalStore == StorePostgres && c.TemporalDatabase == "" {
		c.TemporalDatabase = "temporal"
	}
	if c.Policy == "" {
		c.Policy = domain.DefaultPolicy
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	}
	if c.AuditRetentionDays == 0 {
		c.AuditRetentionDays = 365
	}
	if c.SMTPPort == 0 {
		c.SMTPPort = 587
	}
	if c.RenewalNoticeDays == 0 {
		c.RenewalNoticeDays = domain.DefaultSettings().RenewalNoticeDays
	}
	return c
}

// maxCalendarOffset bounds PARCOURS_TEST_CALENDAR_OFFSET: a test moves the
// calendar's date by a few days at most (to reach a working day).
const maxCalendarOffset = 8 * 24 * 3600

// Validate fails on the first invalid value, naming its variable.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return &Error{"PARCOURS_ADDR", fmt.Sprintf("%q : attendu hôte:port, par exemple 127.0.0.1:8080", c.Addr)}
	}
	if c.PGPort < 1 || c.PGPort > 65535 {
		return &Error{"PARCOURS_PG_PORT", fmt.Sprintf("%d : un port va de 1 à 65535", c.PGPort)}
	}
	if c.TemporalPort < 1 || c.TemporalPort > 65535 {
		return &Error{"PARCOURS_TEMPORAL_PORT", fmt.Sprintf("%d : un port va de 1 à 65535", c.TemporalPort)}
	}
	if ip := net.ParseIP(c.TemporalIP); ip == nil || ip.IsUnspecified() {
		return &Error{"PARCOURS_TEMPORAL_IP", fmt.Sprintf("%q : attendu l'adresse IP d'une interface de cette machine (127.0.0.1, 10.0.0.5…), pas 0.0.0.0 : le serveur Temporal l'annonce à ses propres services", c.TemporalIP)}
	}
	if o := c.TestCalendarOffset; o != nil && (*o <= -maxCalendarOffset || *o >= maxCalendarOffset) {
		return &Error{"PARCOURS_TEST_CALENDAR_OFFSET", fmt.Sprintf("%d : attendu un décalage en secondes de moins de 8 jours (réservé aux tests)", *o)}
	}
	if c.TestCalendarOffset != nil && strings.HasPrefix(c.PublicURL, "https://") {
		// A service published over TLS is a real one: its parcours would
		// keep the test's calendar for life (review finding).
		return &Error{"PARCOURS_TEST_CALENDAR_OFFSET", "réservé aux tests : refusé pour un service publié en https (PARCOURS_PUBLIC_URL), dont chaque parcours garderait ce calendrier"}
	}
	if c.DigestHour < 0 || c.DigestHour > 23 {
		return &Error{"PARCOURS_DIGEST_HOUR", fmt.Sprintf("%d : une heure va de 0 à 23", c.DigestHour)}
	}
	if c.SMTPPort < 1 || c.SMTPPort > 65535 {
		return &Error{"SMTP_PORT", fmt.Sprintf("%d : un port va de 1 à 65535", c.SMTPPort)}
	}
	if c.SMTPHost != "" && !strings.Contains(c.SMTPFrom, "@") {
		return &Error{"SMTP_FROM", "attendu l'adresse d'expédition des récapitulatifs, par exemple parcours@departement.fr"}
	}
	for _, u := range []struct{ name, value string }{{"DATABASE_URL", c.DatabaseURL}, {"PARCOURS_MIGRATE_DATABASE_URL", c.MigrateURL}} {
		if u.value != "" && !strings.HasPrefix(u.value, "postgres://") && !strings.HasPrefix(u.value, "postgresql://") {
			return &Error{u.name, "attendu une URL postgres://utilisateur:motdepasse@hôte:port/base"}
		}
	}
	if c.MigrateURL != "" && c.DatabaseURL == "" {
		return &Error{"PARCOURS_MIGRATE_DATABASE_URL", "ne sert qu'avec DATABASE_URL (la base locale a ses propres rôles)"}
	}
	if c.TemporalAddress != "" {
		if _, _, err := net.SplitHostPort(c.TemporalAddress); err != nil {
			return &Error{"TEMPORAL_ADDRESS", fmt.Sprintf("%q : attendu hôte:port, par exemple temporal:7233", c.TemporalAddress)}
		}
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &Error{"PARCOURS_PUBLIC_URL", fmt.Sprintf("%q : attendu une URL http(s)://hôte[:port]", c.PublicURL)}
	}
	if c.OIDCIssuer != "" {
		u, err := url.Parse(c.OIDCIssuer)
		local := err == nil && (u.Hostname() == "127.0.0.1" || u.Hostname() == "localhost")
		switch {
		case err != nil || (u.Scheme != "https" && !local):
			return &Error{"PARCOURS_OIDC_ISSUER", fmt.Sprintf("%q : attendu une URL https", c.OIDCIssuer)}
		case c.OIDCClientID == "":
			return &Error{"PARCOURS_OIDC_CLIENT_ID", "obligatoire avec PARCOURS_OIDC_ISSUER"}
		case c.OIDCClientSecret == "":
			return &Error{"PARCOURS_OIDC_CLIENT_SECRET", "obligatoire avec PARCOURS_OIDC_ISSUER"}
		}
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return &Error{"PARCOURS_METRICS_ADDR", fmt.Sprintf("%q : attendu hôte:port, par exemple 127.0.0.1:9090", c.MetricsAddr)}
		}
	}
	if (c.TemporalTLSCert == "") != (c.TemporalTLSKey == "") {
		return &Error{"TEMPORAL_TLS_CERT", "TEMPORAL_TLS_CERT et TEMPORAL_TLS_KEY vont ensemble (certificat client et sa clé)"}
	}
	if c.Embedded() && (c.TemporalTLSCert != "" || c.TemporalTLSCA != "" || c.TemporalAPIKey != "") {
		v := "TEMPORAL_TLS_CERT"
		switch {
		case c.TemporalAPIKey != "":
			v = "TEMPORAL_API_KEY"
		case c.TemporalTLSCA != "":
			v = "TEMPORAL_TLS_CA"
		}
		return &Error{v, "vise un serveur Temporal existant : indiquez aussi son adresse (TEMPORAL_ADDRESS)"}
	}
	if err := c.validateTemporalStore(); err != nil {
		return err
	}
	if err := c.validatePayloadEncryption(); err != nil {
		return err
	}
	if c.AuditRetentionDays < 183 || c.AuditRetentionDays > 3650 {
		return &Error{"PARCOURS_AUDIT_RETENTION_DAYS", fmt.Sprintf("%d : le journal d'audit se garde de 183 jours (6 mois, minimum de la CNIL) à 3650 jours", c.AuditRetentionDays)}
	}
	if c.RenewalNoticeDays < 1 || c.RenewalNoticeDays > 180 {
		return &Error{"PARCOURS_RENEWAL_NOTICE_DAYS", fmt.Sprintf("%d : attendu un nombre de jours entre 1 et 180", c.RenewalNoticeDays)}
	}
	if _, ok := domain.LookupPolicy(c.Policy); !ok {
		return &Error{"PARCOURS_POLICY", fmt.Sprintf("%q inconnue : valeurs possibles %s", c.Policy, strings.Join(domain.PolicyNames(), ", "))}
	}
	return nil
}

// The embedded server's stores (PARCOURS_TEMPORAL_STORE).
const (
	StoreSQLite   = "sqlite"
	StorePostgres = "postgres"
)

var temporalDatabase = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,51}$`)

func (c Config) validateTemporalStore() error {
	if !c.Embedded() {
		for _, s := range []struct {
			name string
			set  bool
		}{
			{"PARCOURS_TEMPORAL_STORE", c.TemporalStore != ""},
			{"PARCOURS_TEMPORAL_SHARDS", c.TemporalShards != 0},
			{"PARCOURS_TEMPORAL_DATABASE", c.TemporalDatabase != ""},
		} {
			if s.set {
				return &Error{s.name, "ne vaut que pour le serveur Temporal embarqué : sans objet avec TEMPORAL_ADDRESS (retirez l'une ou l'autre)"}
			}
		}
		return nil
	}
	if c.TemporalStore != StoreSQLite && c.TemporalStore != StorePostgres {
		return &Error{"PARCOURS_TEMPORAL_STORE", fmt.Sprintf("%q : attendu sqlite (fichier sous PARCOURS_DATA_DIR) ou postgres (le PostgreSQL de l'application)", c.TemporalStore)}
	}
	if c.TemporalShards < 0 || c.TemporalShards > 16384 {
		return &Error{"PARCOURS_TEMPORAL_SHARDS", fmt.Sprintf("%d : attendu de 1 à 16384", c.TemporalShards)}
	}
	if c.TemporalDatabase != "" && c.TemporalStore != StorePostgres {
		return &Error{"PARCOURS_TEMPORAL_DATABASE", "ne vaut qu'avec PARCOURS_TEMPORAL_STORE=postgres"}
	}
	if c.TemporalDatabase != "" && !temporalDatabase.MatchString(c.TemporalDatabase) {
		return &Error{"PARCOURS_TEMPORAL_DATABASE", fmt.Sprintf("%q : attendu un nom de base en minuscules, chiffres et _ (52 caractères au plus)", c.TemporalDatabase)}
	}
	return nil
}

// Values of PARCOURS_PAYLOAD_ENCRYPTION.
const (
	EncryptionOn  = "on"
	EncryptionOff = "off"
)

// validatePayloadEncryption refuses to hand an external Temporal cluster
// personal data in clear without the operator saying so.
func (c Config) validatePayloadEncryption() error {
	switch {
	case c.PayloadEncryption != "" && c.PayloadEncryption != EncryptionOn && c.PayloadEncryption != EncryptionOff:
		return &Error{"PARCOURS_PAYLOAD_ENCRYPTION", fmt.Sprintf("%q : attendu on (chiffrement obligatoire) ou off (aucun chiffrement, déconseillé)", c.PayloadEncryption)}
	case c.PayloadEncryption == EncryptionOff && len(c.PayloadKeys) > 0:
		return &Error{"PARCOURS_PAYLOAD_ENCRYPTION", "off, mais PARCOURS_PAYLOAD_KEYS est renseignée : retirez l'une ou l'autre"}
	case c.PayloadEncryption == EncryptionOn && len(c.PayloadKeys) == 0:
		return &Error{"PARCOURS_PAYLOAD_KEYS", "obligatoire avec PARCOURS_PAYLOAD_ENCRYPTION=on : identifiant:clé en base64 (créez une clé avec : openssl rand -base64 32)"}
	case !c.Embedded() && c.PayloadEncryption == "" && len(c.PayloadKeys) == 0:
		return &Error{"PARCOURS_PAYLOAD_KEYS", "obligatoire avec TEMPORAL_ADDRESS : sans clé, les historiques du serveur Temporal externe contiendraient les données en clair. " +
			"Indiquez identifiant:clé en base64 (créez une clé avec : openssl rand -base64 32), ou PARCOURS_PAYLOAD_ENCRYPTION=off pour s'en passer sciemment"}
	}
	return nil
}

// PayloadEncrypted reports whether the payloads handed Temporal are
// encrypted.
func (c Config) PayloadEncrypted() bool { return len(c.PayloadKeys) > 0 }

// Settings are the parcours delays this configuration sets.
func (c Config) Settings() domain.Settings {
	s := domain.DefaultSettings()
	s.RenewalNoticeDays = c.RenewalNoticeDays
	s.Overseas = c.Overseas
	s.Art642 = c.Art642
	s.ZoneOffset = c.TestCalendarOffset
	if c.Escalation != (domain.EscalationSettings{}) {
		s.Escalation = c.Escalation
	}
	return s
}

// TemporalTLSOn reports whether the Temporal connection uses TLS.
func (c Config) TemporalTLSOn() bool {
	return c.TemporalTLS || c.TemporalAPIKey != "" || c.TemporalTLSCert != "" || c.TemporalTLSCA != ""
}

// Embedded reports whether the service runs its own Temporal server.
func (c Config) Embedded() bool { return c.TemporalAddress == "" }
