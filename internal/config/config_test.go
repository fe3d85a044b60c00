package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := FromEnv(env(nil))
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:8080", c.Addr)
	require.Equal(t, 7233, c.TemporalPort)
	require.Equal(t, "departement", c.Policy)
	require.Equal(t, "default", c.TemporalNamespace)
	require.True(t, c.Embedded())
	require.Equal(t, 30, c.Settings().RenewalNoticeDays)
	require.Contains(t, c.DataDir, "/data")
	require.Equal(t, 8, c.DigestHour)
	require.Equal(t, 587, c.SMTPPort)
	require.Empty(t, c.SMTPHost, "no SMTP host: no digest")
	require.Equal(t, StoreSQLite, c.TemporalStore)
	require.Zero(t, c.TemporalShards, "the store's own count, or 1 for a new store")
	require.Empty(t, c.TemporalDatabase)
	require.Equal(t, DefaultMemoryLimitMiB, c.MemoryLimitMiB)
	require.Equal(t, DefaultGCPercent, c.GCPercent)
	require.Equal(t, 2*time.Minute, c.SyncLocalLimit)
}

// intSetting checks that name reads good values into field and refuses bad
// ones with an error that names it.
func intSetting(t *testing.T, name string, field func(Config) int, good map[string]int, bad []string) {
	t.Helper()
	for v, want := range good {
		c, err := FromEnv(env(map[string]string{name: v}))
		require.NoError(t, err, v)
		require.Equal(t, want, field(c), v)
	}
	for _, v := range bad {
		_, err := FromEnv(env(map[string]string{name: v}))
		require.ErrorContains(t, err, name, v)
	}
}

func TestGCPercent(t *testing.T) {
	t.Parallel()
	intSetting(t, "PARCOURS_GC_PERCENT", func(c Config) int { return c.GCPercent },
		map[string]int{"": DefaultGCPercent, "10": 10, "100": 100, "1000": 1000},
		[]string{"0", "9", "1001", "-1", "off"})
}

func TestSyncLocalLimit(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]time.Duration{"": 2 * time.Minute, "5s": 5 * time.Second, "90s": 90 * time.Second, "1h": time.Hour, "1m30s": 90 * time.Second} {
		c, err := FromEnv(env(map[string]string{"PARCOURS_SYNC_LOCAL_LIMIT": v}))
		require.NoError(t, err, v)
		require.Equal(t, want, c.SyncLocalLimit, v)
	}
	for _, v := range []string{"4s", "61m", "0", "-2m", "120", "deux minutes"} {
		_, err := FromEnv(env(map[string]string{"PARCOURS_SYNC_LOCAL_LIMIT": v}))
		require.ErrorContains(t, err, "PARCOURS_SYNC_LOCAL_LIMIT", v)
		require.ErrorContains(t, err, "attendu une durée de 5s à 1h", v)
	}
}

func TestMemoryLimit(t *testing.T) {
	t.Parallel()
	intSetting(t, "PARCOURS_MEMORY_LIMIT_MIB", func(c Config) int { return c.MemoryLimitMiB },
		map[string]int{"": DefaultMemoryLimitMiB, "0": 0, "2048": 2048, "256": 256},
		[]string{"100", "-1", "1Go"})
}

func TestEmbeddedTemporalStore(t *testing.T) {
	t.Parallel()
	c, err := FromEnv(env(map[string]string{"PARCOURS_TEMPORAL_STORE": "postgres", "PARCOURS_TEMPORAL_SHARDS": "8"}))
	require.NoError(t, err)
	require.Equal(t, []any{StorePostgres, "temporal", 8}, []any{c.TemporalStore, c.TemporalDatabase, c.TemporalShards})
	c, err = FromEnv(env(map[string]string{"PARCOURS_TEMPORAL_STORE": "postgres", "PARCOURS_TEMPORAL_DATABASE": "temporal_recette"}))
	require.NoError(t, err)
	require.Equal(t, "temporal_recette", c.TemporalDatabase)
	c, err = FromEnv(env(map[string]string{"PARCOURS_TEMPORAL_SHARDS": "4"}))
	require.NoError(t, err)
	require.Equal(t, []any{StoreSQLite, 4}, []any{c.TemporalStore, c.TemporalShards})

	for name, m := range map[string]map[string]string{
		"store":              {"PARCOURS_TEMPORAL_STORE": "mysql"},
		"shards not a count": {"PARCOURS_TEMPORAL_SHARDS": "beaucoup"},
		"zero shards":        {"PARCOURS_TEMPORAL_SHARDS": "0"},
		"too many shards":    {"PARCOURS_TEMPORAL_SHARDS": "20000"},
		"negative shards":    {"PARCOURS_TEMPORAL_SHARDS": "-2"},
		"database name":      {"PARCOURS_TEMPORAL_STORE": "postgres", "PARCOURS_TEMPORAL_DATABASE": "Temporal-Prod"},
		"database on sqlite": {"PARCOURS_TEMPORAL_DATABASE": "temporal"},
		"store with cluster": {"PARCOURS_TEMPORAL_STORE": "postgres", "TEMPORAL_ADDRESS": "temporal:7233"},
		"shards w/ cluster":  {"PARCOURS_TEMPORAL_SHARDS": "4", "TEMPORAL_ADDRESS": "temporal:7233"},
	} {
		_, err := FromEnv(env(m))
		require.Error(t, err, name)
		var ce *Error
		require.ErrorAs(t, err, &ce, name)
		require.Contains(t, ce.Var, "PARCOURS_TEMPORAL_", name)
	}
}

func TestInvalidValuesNameTheirVariable(t *testing.T) {
	t.Parallel()
	for name, m := range map[string]map[string]string{
		"PARCOURS_ADDR":                 {"PARCOURS_ADDR": "8080"},
		"PARCOURS_TEMPORAL_PORT":        {"PARCOURS_TEMPORAL_PORT": "abc"},
		"PARCOURS_PG_PORT":              {"PARCOURS_PG_PORT": "70000"},
		"PARCOURS_POLICY":               {"PARCOURS_POLICY": "calvados"},
		"DATABASE_URL":                  {"DATABASE_URL": "mysql://x"},
		"PARCOURS_MIGRATE_DATABASE_URL": {"PARCOURS_MIGRATE_DATABASE_URL": "postgres://owner@db/parcours"},
		"TEMPORAL_ADDRESS":              {"TEMPORAL_ADDRESS": "temporal"},
		"TEMPORAL_TLS":                  {"TEMPORAL_TLS": "oui"},
		"PARCOURS_LOG_LEVEL":            {"PARCOURS_LOG_LEVEL": "chatty"},
		"PARCOURS_RENEWAL_NOTICE_DAYS":  {"PARCOURS_RENEWAL_NOTICE_DAYS": "365"},
		"PARCOURS_OVERSEAS":             {"PARCOURS_OVERSEAS": "oui"},
		"PARCOURS_RELANCE_DAYS":         {"PARCOURS_RELANCE_DAYS": "0,30,15"},
		"PARCOURS_PAYBACK_CAP_MONTHS":   {"PARCOURS_PAYBACK_CAP_MONTHS": "24"},
		"PARCOURS_REPEAT_WINDOW_MONTHS": {"PARCOURS_REPEAT_WINDOW_MONTHS": "0"},
		"PARCOURS_DIGEST_HOUR":          {"PARCOURS_DIGEST_HOUR": "24"},
		"SMTP_PORT":                     {"SMTP_PORT": "0x19"},
		"SMTP_FROM":                     {"SMTP_HOST": "smtp.cd14.fr"},
		"PARCOURS_METRICS_ADDR":         {"PARCOURS_METRICS_ADDR": "9090"},
		"TEMPORAL_TLS_CERT":             {"TEMPORAL_ADDRESS": "t:7233", "TEMPORAL_TLS_KEY": "/k.pem"},
		"TEMPORAL_API_KEY":              {"TEMPORAL_API_KEY": "secret"},
	} {
		_, err := FromEnv(env(m))
		require.Error(t, err, name)
		require.Contains(t, err.Error(), name)
	}
	c, err := FromEnv(env(map[string]string{"PARCOURS_POLICY": "loi", "TEMPORAL_ADDRESS": "temporal:7233", "PARCOURS_PAYLOAD_ENCRYPTION": "off",
		"PARCOURS_RELANCE_DAYS": "1, 10, 20", "PARCOURS_PAYBACK_CAP_MONTHS": "2"}))
	require.NoError(t, err)
	require.False(t, c.Embedded())
	require.False(t, c.TemporalTLSOn())
	require.False(t, c.Settings().Overseas, "mainland by default")
	e := c.Settings().Escalation
	require.Equal(t, []int{1, 10, 20, 2, 24}, []int{e.Relance1Days, e.Relance2Days, e.ProposalDays, e.PaybackCapMonths, e.RepeatMonths})
}

func TestArt642(t *testing.T) {
	c, err := FromEnv(env(nil))
	require.NoError(t, err)
	require.False(t, c.Settings().Art642, "off by default")
	c, err = FromEnv(env(map[string]string{"PARCOURS_ART642": "true"}))
	require.NoError(t, err)
	require.True(t, c.Settings().Art642)
	_, err = FromEnv(env(map[string]string{"PARCOURS_ART642": "oui"}))
	require.ErrorContains(t, err, "PARCOURS_ART642")
}

func TestOverseas(t *testing.T) {
	c, err := FromEnv(env(map[string]string{"PARCOURS_OVERSEAS": "true"}))
	require.NoError(t, err)
	require.True(t, c.Settings().Overseas, "the stock contract is due on 01/01/2028")
}

func TestTemporalClusterSettings(t *testing.T) {
	c, err := FromEnv(env(map[string]string{"TEMPORAL_ADDRESS": "ns.acct.tmprl.cloud:7233", "TEMPORAL_NAMESPACE": "ns.acct",
		"TEMPORAL_TLS_CERT": "/etc/parcours/client.pem", "TEMPORAL_TLS_KEY": "/etc/parcours/client.key",
		"TEMPORAL_TLS_CA": "/etc/parcours/ca.pem", "TEMPORAL_TLS_SERVER_NAME": "temporal.internal", "PARCOURS_METRICS_ADDR": "0.0.0.0:9090",
		"PARCOURS_PAYLOAD_KEYS": testKey}))
	require.NoError(t, err)
	require.True(t, c.TemporalTLSOn())
	require.Equal(t, []string{"ns.acct", "/etc/parcours/client.pem", "/etc/parcours/client.key", "/etc/parcours/ca.pem", "temporal.internal", "0.0.0.0:9090"},
		[]string{c.TemporalNamespace, c.TemporalTLSCert, c.TemporalTLSKey, c.TemporalTLSCA, c.TemporalServerName, c.MetricsAddr})
	c, err = FromEnv(env(map[string]string{"TEMPORAL_ADDRESS": "t:7233", "TEMPORAL_API_KEY": "k", "PARCOURS_PAYLOAD_KEYS": testKey}))
	require.NoError(t, err)
	require.True(t, c.TemporalTLSOn())
}

// testKey is a valid PARCOURS_PAYLOAD_KEYS (32 zero bytes).
const testKey = "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

// TestPayloadEncryption: against an external Temporal, a key is required
// unless encryption is turned off explicitly; with the embedded server it
// is optional.
func TestPayloadEncryption(t *testing.T) {
	t.Parallel()
	c, err := FromEnv(env(nil))
	require.NoError(t, err)
	require.False(t, c.PayloadEncrypted(), "embedded: optional")
	c, err = FromEnv(env(map[string]string{"PARCOURS_PAYLOAD_KEYS": testKey}))
	require.NoError(t, err)
	require.True(t, c.PayloadEncrypted(), "embedded: used when given")

	_, err = FromEnv(env(map[string]string{"TEMPORAL_ADDRESS": "temporal:7233"}))
	require.ErrorContains(t, err, "PARCOURS_PAYLOAD_KEYS: obligatoire avec TEMPORAL_ADDRESS")
	require.ErrorContains(t, err, "PARCOURS_PAYLOAD_ENCRYPTION=off")
	c, err = FromEnv(env(map[string]string{"TEMPORAL_ADDRESS": "temporal:7233", "PARCOURS_PAYLOAD_KEYS": "neuve:" + testKey[3:] + "," + testKey}))
	require.NoError(t, err)
	require.True(t, c.PayloadEncrypted())
	require.Equal(t, []string{"neuve", "k1"}, []string{c.PayloadKeys[0].ID, c.PayloadKeys[1].ID}, "the first encrypts")
	c, err = FromEnv(env(map[string]string{"TEMPORAL_ADDRESS": "temporal:7233", "PARCOURS_PAYLOAD_ENCRYPTION": "off"}))
	require.NoError(t, err)
	require.False(t, c.PayloadEncrypted(), "turned off on purpose")

	for name, m := range map[string]map[string]string{
		"PARCOURS_PAYLOAD_KEYS":       {"PARCOURS_PAYLOAD_KEYS": "k1:trop-courte"},
		"PARCOURS_PAYLOAD_ENCRYPTION": {"PARCOURS_PAYLOAD_ENCRYPTION": "oui"},
		"off with keys":               {"PARCOURS_PAYLOAD_ENCRYPTION": "off", "PARCOURS_PAYLOAD_KEYS": testKey},
		"on without keys":             {"PARCOURS_PAYLOAD_ENCRYPTION": "on"},
	} {
		_, err := FromEnv(env(m))
		var ce *Error
		require.ErrorAs(t, err, &ce, name)
		require.Contains(t, ce.Var, "PARCOURS_PAYLOAD_", name)
		require.NotContains(t, err.Error(), "AAAAAAAA", "never the secret")
	}
}

func TestTemporalIPAndTestCalendar(t *testing.T) {
	t.Parallel()
	c, err := FromEnv(env(nil))
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1", c.TemporalIP, "loopback by default")
	require.Nil(t, c.TestCalendarOffset, "Europe/Paris unless a test says otherwise")
	c, err = FromEnv(env(map[string]string{"PARCOURS_TEMPORAL_IP": "10.0.0.5", "PARCOURS_TEST_CALENDAR_OFFSET": "-244664"}))
	require.NoError(t, err)
	require.Equal(t, "10.0.0.5", c.TemporalIP)
	require.Equal(t, -244664, *c.TestCalendarOffset)
	c, err = FromEnv(env(map[string]string{"PARCOURS_TEST_CALENDAR_OFFSET": "0"}))
	require.NoError(t, err)
	require.Equal(t, 0, *c.TestCalendarOffset, "UTC: set, and not Europe/Paris")
	_, err = FromEnv(env(map[string]string{"PARCOURS_TEST_CALENDAR_OFFSET": "0", "PARCOURS_PUBLIC_URL": "https://parcours.cd14.fr"}))
	require.ErrorContains(t, err, "réservé aux tests", "never on a service published over TLS")
	for name, v := range map[string][]string{
		"PARCOURS_TEMPORAL_IP":          {"0.0.0.0", "::", "temporal.internal", "10.0.0.5:7233"},
		"PARCOURS_TEST_CALENDAR_OFFSET": {"une heure", "691200", "-691200"},
	} {
		for _, bad := range v {
			_, err := FromEnv(env(map[string]string{name: bad}))
			require.ErrorContains(t, err, name, bad)
		}
	}
}
