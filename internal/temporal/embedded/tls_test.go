package embedded

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/parcours-rsa/parcours/internal/temporal"
)

// pki writes a CA, a server certificate for localhost and a client
// certificate, as PEM files under dir.
func pki(t *testing.T, dir string) (ca, serverCert, serverKey, clientCert, clientKey string) {
	t.Helper()
	write := func(name, typ string, der []byte) string {
		f := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
		return f
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "parcours test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTpl, caTpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	caCert, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage) (string, string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth, usage}}
		der, err := x509.CreateCertificate(rand.Reader, tpl, caCert, &key.PublicKey, caKey)
		require.NoError(t, err)
		kder, err := x509.MarshalECPrivateKey(key)
		require.NoError(t, err)
		return write(name+".pem", "CERTIFICATE", der), write(name+"-key.pem", "EC PRIVATE KEY", kder)
	}
	ca = write("ca.pem", "CERTIFICATE", caDER)
	serverCert, serverKey = leaf("server", 2, x509.ExtKeyUsageServerAuth)
	clientCert, clientKey = leaf("worker", 3, x509.ExtKeyUsageClientAuth)
	return
}

// TestWorkerOverMutualTLS: with the frontend requiring mutual TLS, a
// client dialled with the settings `parcours worker` reads
// (TEMPORAL_TLS_CERT, _KEY, _CA, _SERVER_NAME) runs a workflow; a client
// without a certificate is refused.
func TestWorkerOverMutualTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca, sc, sk, cc, ck := pki(t, dir)
	port, err := temporal.FreePort()
	require.NoError(t, err)
	logger := testLogger()
	srv, err := StartServer(ServerOptions{DataDir: filepath.Join(dir, "data"), Port: port, Logger: logger, LogLevel: 8,
		TLS: &ServerTLS{CertFile: sc, KeyFile: sk, ClientCAFile: ca}})
	require.NoError(t, err)
	defer srv.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := temporal.Dial(ctx, temporal.ClientOptions{Address: srv.Address(), Namespace: "default", Logger: logger,
		CertFile: cc, KeyFile: ck, CAFile: ca, ServerName: "localhost"})
	require.NoError(t, err)
	defer c.Close()
	w := worker.New(c, "tls", worker.Options{})
	w.RegisterWorkflow(sleeper)
	require.NoError(t, w.Start())
	defer w.Stop()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: "tls"}, sleeper, time.Second)
	require.NoError(t, err)
	var at time.Time
	require.NoError(t, run.Get(ctx, &at))

	short, cancelShort := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancelShort()
	_, err = temporal.Dial(short, temporal.ClientOptions{Address: srv.Address(), Namespace: "default", Logger: logger, CAFile: ca, ServerName: "localhost"})
	require.Error(t, err, "no client certificate: refused")
}
