package temporal

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCredentialsMadeAgainBeforeExpiry: files expiring within
// CredentialsRenewBefore are made again (the rest of the files' life, kept
// or made again across the embedded server's restarts, is
// internal/temporal/embedded's TestCredentialsKeptOrMadeAgain).
func TestCredentialsMadeAgainBeforeExpiry(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	aging := Credentials{Dir: filepath.Join(t.TempDir(), "tls")}
	require.NoError(t, aging.generate("127.0.0.1", time.Now().Add(-CredentialsValidity+CredentialsRenewBefore/2)))
	require.ErrorContains(t, aging.Check("127.0.0.1", time.Now()), "expired")
	require.NoError(t, aging.Ensure("127.0.0.1", logger))
	require.NoError(t, aging.Check("127.0.0.1", time.Now()))
	require.Error(t, aging.Check("192.0.2.10", time.Now()), "another address than the certificate's")
}
