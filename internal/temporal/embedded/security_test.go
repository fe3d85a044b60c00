package embedded

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdktemporal "go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/parcours-rsa/parcours/internal/payloadcodec"

	"github.com/parcours-rsa/parcours/internal/temporal"
)

// TestEmbeddedFrontendRequiresACertificate: started with its defaults, the
// embedded frontend refuses a client without the generated certificate
// (in clear, or over TLS without a certificate), and the service's own
// client, given the files, runs a workflow (the server's system worker,
// which needs them too, answers the namespace's schedules).
func TestEmbeddedFrontendRequiresACertificate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port, err := temporal.FreePort()
	require.NoError(t, err)
	srv, c, w := startWith(t, ServerOptions{DataDir: dir, Port: port})
	defer srv.Stop()
	defer c.Close()
	defer w.Stop()

	creds := temporal.EmbeddedCredentials(dir)
	info, err := os.Stat(creds.Dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), info.Mode().Perm())
	for _, f := range []string{creds.CA(), creds.ServerCert(), creds.ServerKey(), creds.ClientCert(), creds.ClientKey()} {
		info, err := os.Stat(f)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), f)
	}

	logger := testLogger()
	for name, o := range map[string]temporal.ClientOptions{
		"in clear":                  {},
		"TLS without a certificate": {CAFile: creds.CA(), ServerName: temporal.CredentialsServerName},
		"another CA's certificate":  otherPKI(t),
	} {
		short, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		o.Address, o.Namespace, o.Logger = srv.Address(), "default", logger
		_, err := temporal.Dial(short, o)
		cancel()
		require.Error(t, err, name)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: "timers"}, sleeper, time.Millisecond)
	require.NoError(t, err)
	var at time.Time
	require.NoError(t, run.Get(ctx, &at))

	// A schedule's actions are started by the server's own system worker.
	h, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{ID: "every-second",
		Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Second}}},
		Action: &client.ScheduleWorkflowAction{ID: "from-schedule", Workflow: sleeper, Args: []any{time.Millisecond}, TaskQueue: "timers"}})
	require.NoError(t, err)
	defer func() { _ = h.Delete(context.Background()) }()
	for {
		d, err := h.Describe(ctx)
		require.NoError(t, err)
		if d.Info.NumActions > 0 {
			break
		}
		require.NoError(t, ctx.Err(), "the schedule never ran")
		time.Sleep(200 * time.Millisecond)
	}
}

// otherPKI is a client certificate signed by a CA the server does not know.
func otherPKI(t *testing.T) temporal.ClientOptions {
	other := temporal.Credentials{Dir: filepath.Join(t.TempDir(), "tls")}
	require.NoError(t, other.Ensure("127.0.0.1", testLogger())) // none there: made, with a CA of its own
	o := other.Client(temporal.ClientOptions{})
	return o
}

// TestCredentialsKeptOrMadeAgain: a restart keeps the files; a missing or
// expiring one makes all of them again, and the old client certificate no
// longer opens the frontend.
func TestCredentialsKeptOrMadeAgain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	creds := temporal.EmbeddedCredentials(dir)
	read := func() map[string]string {
		m := map[string]string{}
		for _, f := range []string{creds.CA(), creds.ServerCert(), creds.ServerKey(), creds.ClientCert(), creds.ClientKey()} {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			m[filepath.Base(f)] = string(b)
		}
		return m
	}
	port, err := temporal.FreePort()
	require.NoError(t, err)
	srv, c, w := startWith(t, ServerOptions{DataDir: dir, Port: port})
	w.Stop()
	c.Close()
	srv.Stop()
	first := read()

	srv, c, w = startWith(t, ServerOptions{DataDir: dir, Port: port})
	w.Stop()
	c.Close()
	srv.Stop()
	require.Equal(t, first, read(), "kept at restart")

	// An operator's copy of the old client files.
	old := t.TempDir()
	for name, b := range first {
		require.NoError(t, os.WriteFile(filepath.Join(old, name), []byte(b), 0o600))
	}
	require.NoError(t, os.Remove(creds.ClientCert()))
	srv, c, w = startWith(t, ServerOptions{DataDir: dir, Port: port})
	defer srv.Stop()
	defer c.Close()
	defer w.Stop()
	again := read()
	for name := range first {
		require.NotEqual(t, first[name], again[name], "%s made again", name)
	}
	short, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err = temporal.Dial(short, temporal.Credentials{Dir: old}.Client(temporal.ClientOptions{Address: srv.Address(), Namespace: "default", Logger: testLogger()}))
	require.Error(t, err, "the old CA is gone")
	// Expiring within CredentialsRenewBefore: made again
	// (internal/temporal's TestCredentialsMadeAgainBeforeExpiry).
}

// The plain text the encrypted history must not show.
const (
	secretInput    = "Suivi psychiatrique hebdomadaire"
	secretActivity = "Cure addictologie CHU"
	secretUpdate   = "Atelier mobilité Caen"
	secretReply    = "Réponse Dupont"
	secretFailure  = "Refus motivé Martin"
	secretMemo     = "Mémo Durand"
)

// echo returns its input; failing, it fails with a message and details.
func echo(ctx context.Context, s string, fail bool) (string, error) {
	if fail {
		return "", sdktemporal.NewNonRetryableApplicationError(secretFailure, "Refus", nil, secretFailure+" (détail)")
	}
	return s + " / " + secretActivity + " / " + activity.GetInfo(ctx).ActivityType.Name, nil
}

// confidential runs every kind of payload: input, activity input and
// output, a failed activity, an update's argument and result, the result.
func confidential(ctx workflow.Context, in string) (string, error) {
	got := ""
	if err := workflow.SetUpdateHandler(ctx, "note", func(ctx workflow.Context, note string) (string, error) {
		got = note
		return secretReply, nil
	}); err != nil {
		return "", err
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var out string
	if err := workflow.ExecuteActivity(ctx, echo, in, false).Get(ctx, &out); err != nil {
		return "", err
	}
	err := workflow.ExecuteActivity(ctx, echo, in, true).Get(ctx, nil)
	var app *sdktemporal.ApplicationError
	if !errors.As(err, &app) || !strings.Contains(app.Error(), secretFailure) {
		return "", errors.New("the failure did not come back whole")
	}
	if err := workflow.Await(ctx, func() bool { return got != "" }); err != nil {
		return "", err
	}
	return out + " / " + got, nil
}

// TestEncryptedHistory: with a codec, a workflow's history on the
// embedded server, read raw by a client without the codec, holds none of
// the plain text it carried; the client with the codec reads it all back.
func TestEncryptedHistory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port, err := temporal.FreePort()
	require.NoError(t, err)
	logger := testLogger()
	srv, err := StartServer(ServerOptions{DataDir: dir, Port: port, Logger: logger, LogLevel: 8})
	require.NoError(t, err)
	defer srv.Stop()
	key := payloadcodec.Key{ID: "k1", Secret: make([]byte, payloadcodec.KeySize)}
	_, err = rand.Read(key.Secret)
	require.NoError(t, err)
	codec, err := payloadcodec.New([]payloadcodec.Key{key})
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c, err := temporal.Dial(ctx, srv.Client(temporal.ClientOptions{Address: srv.Address(), Namespace: "default", Logger: logger, Codec: codec}))
	require.NoError(t, err)
	defer c.Close()
	w := worker.New(c, "secret", worker.Options{})
	w.RegisterWorkflow(confidential)
	w.RegisterActivity(echo)
	require.NoError(t, w.Start())
	defer w.Stop()

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "confidential", TaskQueue: "secret",
		Memo: map[string]any{"note": secretMemo}}, confidential, secretInput)
	require.NoError(t, err)
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: "confidential", RunID: run.GetRunID(),
		UpdateName: "note", Args: []any{secretUpdate}, WaitForStage: client.WorkflowUpdateStageCompleted})
	require.NoError(t, err)
	var reply string
	require.NoError(t, h.Get(ctx, &reply))
	require.Equal(t, secretReply, reply)
	var out string
	require.NoError(t, run.Get(ctx, &out))
	require.Equal(t, secretInput+" / "+secretActivity+" / echo / "+secretUpdate, out)

	raw, err := temporal.Dial(ctx, srv.Client(temporal.ClientOptions{Address: srv.Address(), Namespace: "default", Logger: logger}))
	require.NoError(t, err)
	defer raw.Close()
	// The history and the description as the server sends them: the
	// protobuf bytes (payload data raw, strings in UTF-8).
	var dump []byte
	it := raw.GetWorkflowHistory(ctx, "confidential", run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	events := 0
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		events++
		b, err := proto.Marshal(e)
		require.NoError(t, err)
		dump = append(dump, b...)
	}
	require.NotContains(t, string(dump), "json/plain", "not even the inner encoding")
	// The description adds the memo (and the server's own search attributes, in clear).
	desc, err := raw.DescribeWorkflowExecution(ctx, "confidential", run.GetRunID())
	require.NoError(t, err)
	b, err := proto.Marshal(desc)
	require.NoError(t, err)
	dump = append(dump, b...)
	require.Greater(t, events, 10)
	require.Contains(t, string(dump), payloadcodec.Encoding, "the payloads are there, encrypted")
	for _, s := range []string{secretInput, secretActivity, secretUpdate, secretReply, secretFailure, secretMemo} {
		require.NotContains(t, string(dump), s)
	}

	// Without the codec the payloads do not decode.
	var clear string
	require.Error(t, raw.GetWorkflow(ctx, "confidential", run.GetRunID()).Get(ctx, &clear))
}

// TestInternalServicesRequireACertificate: the server's own services
// (history answers for histories too) listen on the same address as the
// frontend: without the certificate, their gRPC ports refuse a client.
func TestInternalServicesRequireACertificate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port, err := temporal.FreePort()
	require.NoError(t, err)
	srv, c, w := startWith(t, ServerOptions{DataDir: dir, Port: port})
	defer srv.Stop()
	defer c.Close()
	defer w.Stop()
	creds := temporal.EmbeddedCredentials(dir)
	caPEM, err := os.ReadFile(creds.CA())
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(caPEM))
	pair, err := tls.LoadX509KeyPair(creds.ServerCert(), creds.ServerKey())
	require.NoError(t, err)
	check := func(addr string, tc credentials.TransportCredentials) error {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(tc))
		require.NoError(t, err)
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	}
	for _, svc := range []string{"history", "matching"} {
		addr := srv.internal[svc]
		for name, tc := range map[string]credentials.TransportCredentials{
			"in clear":                  insecure.NewCredentials(),
			"TLS without a certificate": credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: temporal.CredentialsServerName}),
		} {
			err := check(addr, tc)
			require.Equal(t, codes.Unavailable, status.Code(err), "%s %s: %v", svc, name, err)
		}
		err := check(addr, credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: temporal.CredentialsServerName, Certificates: []tls.Certificate{pair}}))
		require.NotEqual(t, codes.Unavailable, status.Code(err), "%s with the certificate: %v", svc, err)
	}
}
