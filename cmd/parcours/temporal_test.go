package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTemporalCommandRefusals: parcours temporal takes no argument, needs a
// PostgreSQL server for a PostgreSQL store (it starts no local cluster),
// and ignores TEMPORAL_ADDRESS, which the processes sharing its environment
// file set to it (else the store's settings would be refused beside it).
// The server itself runs in TestRealBinaryStandaloneTemporalCluster
// (internal/e2e).
func TestTemporalCommandRefusals(t *testing.T) {
	t.Parallel()
	run := func(env map[string]string, args ...string) error {
		var out bytes.Buffer
		m := &Main{Getenv: func(k string) string { return env[k] }, Stdout: &out, Stderr: &out}
		return m.Run(context.Background(), append([]string{"temporal"}, args...))
	}
	require.ErrorContains(t, run(nil, "--port", "7233"), "ne prend pas d'argument")
	err := run(map[string]string{"PARCOURS_DATA_DIR": t.TempDir(), "PARCOURS_TEMPORAL_STORE": "postgres", "TEMPORAL_ADDRESS": "10.0.0.5:7233"})
	require.ErrorContains(t, err, "PARCOURS_TEMPORAL_STORE")
	require.ErrorContains(t, err, "DATABASE_URL")
	require.ErrorContains(t, run(map[string]string{"PARCOURS_DATA_DIR": t.TempDir(), "PARCOURS_TEMPORAL_IP": "0.0.0.0"}), "PARCOURS_TEMPORAL_IP")
}
