// Package temporal dials Temporal clients (of the embedded server or a
// remote cluster), runs the service's workers, its digest schedule and the
// operators' tools. It does not link the Temporal server: the embedded one
// is package embedded (internal/temporal/embedded), which imports this one.
package temporal

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	sdktemporal "go.temporal.io/sdk/temporal"
)

// ClientOptions say how to reach a Temporal frontend.
type ClientOptions struct {
	Address   string
	Namespace string
	APIKey    string // Temporal Cloud API key; implies TLS
	TLS       bool
	// CertFile and KeyFile: the client certificate (mTLS); CAFile: the CA
	// verifying the server (default: the system's); ServerName: the name
	// to verify (default: the address's host). Any of them implies TLS.
	CertFile, KeyFile, CAFile, ServerName string
	Logger                                *slog.Logger
	// Metrics receives the SDK's metrics; nil: none.
	Metrics client.MetricsHandler
	// Codec, when set, encodes every payload the client and its workers
	// send (inputs, results, update arguments, memos, failure details) and
	// the failures' messages and stack traces; nil: payloads in clear.
	Codec converter.PayloadCodec
}

// Dial connects a client, retrying while the frontend starts (the embedded
// server needs about half a second), until ctx ends.
func Dial(ctx context.Context, o ClientOptions) (client.Client, error) {
	opts := client.Options{
		HostPort:  o.Address,
		Namespace: o.Namespace,
		Logger:    sdklog.NewStructuredLogger(o.Logger.With("component", "temporal-client")),
	}
	if o.Metrics != nil {
		opts.MetricsHandler = o.Metrics
	}
	if o.Codec != nil {
		opts.DataConverter = converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), o.Codec)
		opts.FailureConverter = sdktemporal.NewDefaultFailureConverter(sdktemporal.DefaultFailureConverterOptions{
			DataConverter: opts.DataConverter, EncodeCommonAttributes: true})
	}
	if o.TLS || o.APIKey != "" || o.CertFile != "" || o.CAFile != "" || o.ServerName != "" {
		tc, err := o.tlsConfig()
		if err != nil {
			return nil, err
		}
		opts.ConnectionOptions.TLS = tc
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

// tlsConfig is the TLS configuration the options ask for.
func (o ClientOptions) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.ServerName}
	if o.CertFile != "" || o.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("certificat client Temporal (TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY) : %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("autorité de certification Temporal (TEMPORAL_TLS_CA) : %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("autorité de certification Temporal (TEMPORAL_TLS_CA) : aucun certificat PEM dans %s", o.CAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}
