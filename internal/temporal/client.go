package temporal

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

// ClientOptions say how to reach a Temporal frontend.
type ClientOptions struct {
	Address   string
	Namespace string
	APIKey    string // Temporal Cloud API key; implies TLS
	TLS       bool
	Logger    *slog.Logger
}

// Dial connects a client, retrying while the frontend starts (the embedded
// server needs about half a second), until ctx ends.
func Dial(ctx context.Context, o ClientOptions) (client.Client, error) {
	opts := client.Options{
		HostPort:  o.Address,
		Namespace: o.Namespace,
		Logger:    sdklog.NewStructuredLogger(o.Logger.With("component", "temporal-client")),
	}
	if o.TLS || o.APIKey != "" {
		opts.ConnectionOptions.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if o.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(o.APIKey)
	}
	var lastErr error
	for {
		c, err := client.DialContext(ctx, opts)
		if err == nil {
			return c, nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect to Temporal at %s (namespace %s): %w", o.Address, o.Namespace, lastErr)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
