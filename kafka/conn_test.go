package kafka

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// testCA is a self-signed authority, a broker certificate it signs for 127.0.0.1, and a
// client certificate it signs, written as PEM files into a test's directory.
type testCA struct {
	caFile                string
	pool                  *x509.CertPool
	server                tls.Certificate
	clientCert, clientKey string
}

func newTestCA(t *testing.T) testCA {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "millrace test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	cliKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cliTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "millrace"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	cliDER, err := x509.CreateCertificate(rand.Reader, cliTmpl, caCert, &cliKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	cliKeyDER, err := x509.MarshalECPrivateKey(cliKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca := testCA{caFile: filepath.Join(dir, "ca.pem"), pool: x509.NewCertPool(),
		server:     tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey},
		clientCert: filepath.Join(dir, "client.pem"), clientKey: filepath.Join(dir, "client.key")}
	ca.pool.AddCert(caCert)
	for file, block := range map[string]*pem.Block{
		ca.caFile:     {Type: "CERTIFICATE", Bytes: caDER},
		ca.clientCert: {Type: "CERTIFICATE", Bytes: cliDER},
		ca.clientKey:  {Type: "EC PRIVATE KEY", Bytes: cliKeyDER},
	} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return ca
}

// ping connects with c's options and asks the cluster for its metadata.
func ping(t *testing.T, c Conn) error {
	t.Helper()
	opts, err := c.Opts()
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(opts, kgo.RequestRetries(0))...)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	return cl.Ping(ctx)
}

func TestConnTLSAndSCRAM(t *testing.T) {
	const password = "hunter2-very-secret"
	ca := newTestCA(t)
	for _, mech := range []string{ScramSHA256, ScramSHA512, Plain} {
		t.Run(mech, func(t *testing.T) {
			cluster, err := kfake.NewCluster(kfake.NumBrokers(1),
				kfake.TLS(&tls.Config{Certificates: []tls.Certificate{ca.server}, MinVersion: tls.VersionTLS12}),
				kfake.EnableSASL(), kfake.Superuser(mech, "alice", password))
			if err != nil {
				t.Fatal(err)
			}
			defer cluster.Close()
			brokers := cluster.ListenAddrs()

			pwFile := filepath.Join(t.TempDir(), "password")
			if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			good := Conn{Brokers: brokers, TLS: &TLS{CA: ca.caFile}, SASL: &SASL{Mechanism: strings.ToLower(mech), Username: "alice", Password: password}}
			if err := ping(t, good); err != nil {
				t.Fatalf("with the right CA and password: %v", err)
			}
			fromFile := Conn{Brokers: brokers, TLS: &TLS{CA: ca.caFile}, SASL: &SASL{Mechanism: mech, Username: "alice", PasswordFile: pwFile}}
			if err := ping(t, fromFile); err != nil {
				t.Fatalf("with the password from a file: %v", err)
			}
			wrong := Conn{Brokers: brokers, TLS: &TLS{CA: ca.caFile}, SASL: &SASL{Mechanism: mech, Username: "alice", Password: "not-" + password}}
			err = ping(t, wrong)
			if err == nil {
				t.Fatal("a wrong password was accepted")
			}
			if strings.Contains(err.Error(), password) {
				t.Fatalf("the error shows the password: %v", err)
			}
			untrusted := Conn{Brokers: brokers, TLS: &TLS{}, SASL: good.SASL}
			if err := ping(t, untrusted); err == nil {
				t.Fatal("a broker whose certificate no trusted CA signs was accepted")
			}
		})
	}
}

func TestConnClientCertificate(t *testing.T) {
	ca := newTestCA(t)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(&tls.Config{Certificates: []tls.Certificate{ca.server},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.pool, MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()
	if err := ping(t, Conn{Brokers: brokers, TLS: &TLS{CA: ca.caFile, Cert: ca.clientCert, Key: ca.clientKey}}); err != nil {
		t.Fatalf("with a client certificate: %v", err)
	}
	if err := ping(t, Conn{Brokers: brokers, TLS: &TLS{CA: ca.caFile}}); err == nil {
		t.Fatal("a broker that requires a client certificate accepted a client without one")
	}
	_, err = Conn{Brokers: brokers, TLS: &TLS{Cert: ca.clientCert, Key: ca.caFile}}.Opts()
	if err == nil || !strings.Contains(err.Error(), "client certificate "+`"`+ca.clientCert+`"`) {
		t.Errorf("a key file without the key: %v", err)
	}
}

func TestConnValidate(t *testing.T) {
	for _, tc := range []struct {
		conn Conn
		want string
	}{
		{Conn{}, "no brokers"},
		{Conn{Brokers: []string{"localhost"}}, `broker "localhost" is not host:port`},
		{Conn{Brokers: []string{"k:9092"}, TLS: &TLS{Cert: "c.pem"}}, "cert and key go together"},
		{Conn{Brokers: []string{"k:9092"}, SASL: &SASL{Mechanism: "GSSAPI", Username: "u", Password: "p"}}, `unknown mechanism "GSSAPI"`},
		{Conn{Brokers: []string{"k:9092"}, SASL: &SASL{Mechanism: "PLAIN", Password: "p"}}, "username is required"},
		{Conn{Brokers: []string{"k:9092"}, SASL: &SASL{Mechanism: "PLAIN", Username: "u"}}, "password or password_file is required"},
		{Conn{Brokers: []string{"k:9092"}, SASL: &SASL{Mechanism: "PLAIN", Username: "u", Password: "p", PasswordFile: "f"}}, "not both"},
		{Conn{Brokers: []string{"k:9092"}, SASL: &SASL{Mechanism: "PLAIN", Username: "u", PasswordFile: "/nonexistent/pw"}}, "password_file: open /nonexistent/pw"},
		{Conn{Brokers: []string{"k:9092"}, TLS: &TLS{CA: "/nonexistent/ca.pem"}}, "tls: ca: open /nonexistent/ca.pem"},
	} {
		_, err := tc.conn.Opts()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want an error with %q", tc.conn, err, tc.want)
		}
	}
}

func TestSecretIsNeverShown(t *testing.T) {
	s := SASL{Mechanism: Plain, Username: "u", Password: "hunter2"}
	js, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{fmt.Sprint(s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s), fmt.Sprintf("password %v", s.Password), string(js)} {
		if strings.Contains(text, "hunter2") {
			t.Errorf("the password shows in %s", text)
		}
		if !strings.Contains(text, redacted) {
			t.Errorf("%s does not say a password is there", text)
		}
	}
}
