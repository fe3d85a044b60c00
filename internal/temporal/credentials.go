package temporal

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// The embedded frontend requires a client certificate (issue 20): without
// one, any local process could read every history through it. On its first
// start, the server makes a private CA, a certificate for itself and one
// for its clients, in the "tls" directory of its data directory; the
// service's own client, `parcours import|stock`, the workers of the same
// machine and an operator's `temporal` CLI use the client's. The CA's key
// is not kept: the three are made again together, when one is missing,
// unreadable, expired or within CredentialsRenewBefore of expiring.
const (
	// CredentialsDir is the directory of the files, under the server's
	// data directory (PARCOURS_DATA_DIR/temporal/tls).
	CredentialsDir = "tls"
	// CredentialsServerName is the name in the server's certificate that
	// clients verify (beside the IP addresses 127.0.0.1 and ::1).
	CredentialsServerName = "localhost"
	// CredentialsValidity is how long generated certificates are valid.
	CredentialsValidity = 10 * 365 * 24 * time.Hour
	// CredentialsRenewBefore: certificates expiring sooner are made again
	// at start.
	CredentialsRenewBefore = 30 * 24 * time.Hour
)

// Credentials are the PEM files of the embedded frontend's mutual TLS, in
// Dir. Every file is readable by its owner only.
type Credentials struct{ Dir string }

// The files' names.
func (c Credentials) CA() string         { return filepath.Join(c.Dir, "ca.pem") }
func (c Credentials) ServerCert() string { return filepath.Join(c.Dir, "server.pem") }
func (c Credentials) ServerKey() string  { return filepath.Join(c.Dir, "server-key.pem") }
func (c Credentials) ClientCert() string { return filepath.Join(c.Dir, "client.pem") }
func (c Credentials) ClientKey() string  { return filepath.Join(c.Dir, "client-key.pem") }

// EmbeddedCredentials are the files of the embedded server whose data
// directory is dataDir (PARCOURS_DATA_DIR/temporal).
func EmbeddedCredentials(dataDir string) Credentials {
	return Credentials{Dir: filepath.Join(dataDir, CredentialsDir)}
}

// Client fills o with the client certificate and the CA, for a client of
// the embedded server.
func (c Credentials) Client(o ClientOptions) ClientOptions {
	o.CertFile, o.KeyFile, o.CAFile, o.ServerName = c.ClientCert(), c.ClientKey(), c.CA(), CredentialsServerName
	return o
}

// Check returns nil if the files are there, match, and stay valid past
// now+CredentialsRenewBefore for a server bound on ip.
func (c Credentials) Check(ip string, now time.Time) error {
	caPEM, err := os.ReadFile(c.CA())
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("%s : aucun certificat PEM", c.CA())
	}
	at := now.Add(CredentialsRenewBefore)
	for _, kp := range []struct {
		cert, key string
		usage     x509.ExtKeyUsage
		name      string
	}{
		{c.ServerCert(), c.ServerKey(), x509.ExtKeyUsageServerAuth, CredentialsServerName},
		{c.ServerCert(), c.ServerKey(), x509.ExtKeyUsageClientAuth, ""}, // the server's system worker
		{c.ClientCert(), c.ClientKey(), x509.ExtKeyUsageClientAuth, ""},
	} {
		pair, err := tls.LoadX509KeyPair(kp.cert, kp.key)
		if err != nil {
			return err
		}
		if _, err := pair.Leaf.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: at, DNSName: kp.name,
			KeyUsages: []x509.ExtKeyUsage{kp.usage}}); err != nil {
			return fmt.Errorf("%s : %w", kp.cert, err)
		}
		if p := net.ParseIP(ip); kp.name != "" && p != nil && !p.IsUnspecified() {
			if err := pair.Leaf.VerifyHostname(ip); err != nil {
				return fmt.Errorf("%s : %w", kp.cert, err)
			}
		}
	}
	return nil
}

// Ensure checks the files and makes them again if they do not pass.
func (c Credentials) Ensure(ip string, logger *slog.Logger) error {
	err := c.Check(ip, time.Now())
	if err == nil {
		return nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		logger.Warn("embedded Temporal: client and server certificates made again", "dir", c.Dir, "reason", err.Error())
	} else {
		logger.Info("embedded Temporal: client and server certificates made", "dir", c.Dir)
	}
	return c.generate(ip, time.Now())
}

// generate makes a CA (its key forgotten at once), a server certificate
// for localhost, 127.0.0.1, ::1 and ip, and a client certificate.
func (c Credentials) generate(ip string, now time.Time) error {
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return fmt.Errorf("certificats de Temporal : %w", err)
	}
	if err := os.Chmod(c.Dir, 0o700); err != nil {
		return fmt.Errorf("certificats de Temporal : %w", err)
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	notBefore, notAfter := now.Add(-time.Hour), now.Add(CredentialsValidity)
	caTpl := &x509.Certificate{
		Subject:   pkix.Name{CommonName: "parcours embedded Temporal CA", Organization: []string{"parcours"}},
		NotBefore: notBefore, NotAfter: notAfter.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	caDER, caCert, err := sign(caTpl, &caKey.PublicKey, nil, caKey)
	if err != nil {
		return err
	}
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	if p := net.ParseIP(ip); p != nil && !p.IsLoopback() && !p.IsUnspecified() {
		ips = append(ips, p)
	}
	files := map[string][]byte{c.CA(): pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})}
	for _, leaf := range []struct {
		cert, key string
		tpl       *x509.Certificate
	}{
		{c.ServerCert(), c.ServerKey(), &x509.Certificate{
			Subject: pkix.Name{CommonName: CredentialsServerName, Organization: []string{"parcours"}}, DNSNames: []string{CredentialsServerName}, IPAddresses: ips,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}},
		{c.ClientCert(), c.ClientKey(), &x509.Certificate{
			Subject:     pkix.Name{CommonName: "parcours", Organization: []string{"parcours"}},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}},
	} {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		leaf.tpl.NotBefore, leaf.tpl.NotAfter, leaf.tpl.KeyUsage = notBefore, notAfter, x509.KeyUsageDigitalSignature
		der, _, err := sign(leaf.tpl, &key.PublicKey, caCert, caKey)
		if err != nil {
			return err
		}
		kder, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return err
		}
		files[leaf.cert] = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		files[leaf.key] = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	}
	// Each file whole or not at all: written aside, then renamed.
	for _, name := range []string{c.ServerKey(), c.ServerCert(), c.ClientKey(), c.ClientCert(), c.CA()} {
		if err := writePrivate(name, files[name]); err != nil {
			return fmt.Errorf("certificats de Temporal : %w", err)
		}
	}
	return nil
}

// sign makes tpl's certificate, self-signed when parent is nil.
func sign(tpl *x509.Certificate, pub *ecdsa.PublicKey, parent *x509.Certificate, key *ecdsa.PrivateKey) ([]byte, *x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	tpl.SerialNumber = serial
	if parent == nil {
		parent = tpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, parent, pub, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return der, cert, err
}

// writePrivate writes b to name, readable by its owner only.
func writePrivate(name string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".tmp-"+filepath.Base(name)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
