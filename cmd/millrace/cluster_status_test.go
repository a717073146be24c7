package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"millrace/cluster"
	"millrace/kafka"
	"millrace/kafka/kafkatest"
	"millrace/observe"
)

// workerStatus is a status as worker id would publish it, owning partitions of tx and the
// key groups from to to of velocity.
func workerStatus(id string, updated time.Time, tx []int32, from, to int32) cluster.WorkerStatus {
	s := cluster.WorkerStatus{Worker: id, Host: "node-" + id, PID: 42, Started: updated.Add(-time.Hour), Updated: updated, Generation: 5, KeyGroups: 256,
		Checkpoint:     &cluster.CheckpointStatus{ID: 12, At: updated.Add(-3 * time.Second), Units: int(to - from + 1)},
		RebalancePause: 0.42, Rebalances: 2,
		Steps: []observe.StepFigures{{Step: "tx", Kind: "source", Subtasks: 1, InRate: 5000}}}
	for _, p := range tx {
		s.Owned = append(s.Owned, cluster.OwnedPartition{Topic: "tx", Partition: p, Lag: 1000 * int64(p+1)})
	}
	for g := from; g <= to; g++ {
		s.Owned = append(s.Owned, cluster.OwnedPartition{Topic: "millrace.card-velocity.velocity", Partition: g, Step: "velocity"})
	}
	return s
}

func TestWriteClusterStatus(t *testing.T) {
	now := time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC)
	w1 := workerStatus("w1", now.Add(-time.Second), []int32{0, 1, 2, 3}, 0, 127)
	w2 := workerStatus("w2", now.Add(-time.Second), []int32{4, 5}, 128, 255)
	w2.Waiting = "object store: connection refused"
	w9 := workerStatus("w9", now.Add(-time.Minute), []int32{6}, 0, -1)
	w9.Stale, w9.Checkpoint, w9.Rebalances = true, nil, 0
	var out strings.Builder
	if err := writeClusterStatus(&out, pipelineStatus{Pipeline: "card-velocity", Workers: []cluster.WorkerStatus{w1, w2, w9}}, now); err != nil {
		t.Fatal(err)
	}
	want := `pipeline card-velocity (millrace.card-velocity.worker-status)
WORKER      HOST     GEN  OWNED                    LAG     CHECKPOINT  PAUSE      WAITING
w1          node-w1  5    tx/0-3 velocity 0-127    10,000  12, 4s ago  420ms (2)  -
w2          node-w2  5    tx/4-5 velocity 128-255  11,000  12, 4s ago  420ms (2)  object store: connection refused
w9 (stale)  node-w9  5    tx/6                     7,000   -           -          -
total: 3 workers (1 stale), 7 partitions of input topics, 256 key groups, lag 28,000 records
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
	out.Reset()
	if err := writeClusterStatus(&out, pipelineStatus{Pipeline: "p"}, now); err != nil {
		t.Fatal(err)
	}
	if want := "pipeline p (millrace.p.worker-status)\nno workers: every worker that ran has left\n"; out.String() != want {
		t.Errorf("no workers: %q, want %q", out.String(), want)
	}
}

func TestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{-time.Second: "0s", 350 * time.Millisecond: "350ms", 4230 * time.Millisecond: "4.2s",
		190 * time.Second: "3m10s", 125 * time.Minute: "2h5m"} {
		if got := age(d); got != want {
			t.Errorf("age(%s) = %q, want %q", d, got, want)
		}
	}
}

// TestClusterStatusCommand fills the status topics of two pipelines on a real Kafka
// protocol server and runs the command over them.
func TestClusterStatusCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	brokers := kafkatest.Cluster(t, "", 0)
	addr := "kafka://" + brokers[0]
	if _, err := run(t, "cluster", "status", addr); err == nil || !strings.Contains(err.Error(), "no status topic (millrace.*.worker-status) on "+brokers[0]) {
		t.Errorf("an empty cluster: %v", err)
	}
	conn := kafka.Conn{Brokers: brokers}
	now := time.Now()
	publish := func(pipeline string, statuses ...cluster.WorkerStatus) *cluster.StatusPublisher {
		p, err := cluster.NewStatusPublisher(ctx, conn, pipeline)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := p.Close(); err != nil {
				t.Error(err)
			}
		})
		for _, s := range statuses {
			if err := p.Publish(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
	cv := publish("card-velocity", workerStatus("w1", now, []int32{0, 1}, 0, 127), workerStatus("w2", now, []int32{2, 3}, 128, 255),
		workerStatus("w3", now, nil, 0, 0), workerStatus("w0", now.Add(-time.Hour), []int32{9}, 0, -1))
	if err := cv.Leave(ctx, "w3"); err != nil {
		t.Fatal(err)
	}
	publish("volume", workerStatus("v1", now, []int32{0}, 0, -1))

	out := mustRun(t, "cluster", "status", addr)
	for _, re := range []string{
		`(?m)^pipeline card-velocity \(millrace\.card-velocity\.worker-status\)\nWORKER +HOST +GEN +OWNED +LAG +CHECKPOINT +PAUSE +WAITING\n`,
		`(?m)^w0 \(stale\) +node-w0 +5 +tx/9 +10,000 +12, 1h0m ago +420ms \(2\) +-$`,
		`(?m)^w1 +node-w1 +5 +tx/0-1 velocity 0-127 +3,000 +12, [0-9.]+s ago +420ms \(2\) +-$`,
		`(?m)^w2 +node-w2 +5 +tx/2-3 velocity 128-255 +7,000 +12, [0-9.]+s ago +420ms \(2\) +-$`,
		`(?m)^total: 3 workers \(1 stale\), 5 partitions of input topics, 256 key groups, lag 20,000 records\n\npipeline volume`,
		`(?m)^v1 +node-v1 +5 +tx/0 +1,000 `,
		`(?m)^total: 1 worker, 1 partition of input topics, lag 1,000 records\n\z`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("the output does not match %s:\n%s", re, out)
		}
	}
	if strings.Contains(out, "w3") {
		t.Errorf("w3 left, yet it is shown:\n%s", out)
	}

	var got []pipelineStatus
	js := mustRun(t, "cluster", "status", addr, "--pipeline", "card-velocity", "--json")
	if err := json.Unmarshal([]byte(js), &got); err != nil {
		t.Fatalf("--json: %v\n%s", err, js)
	}
	if len(got) != 1 || got[0].Pipeline != "card-velocity" || len(got[0].Workers) != 3 || got[0].Workers[1].Worker != "w1" ||
		len(got[0].Workers[1].Owned) != 130 || !got[0].Workers[0].Stale || !strings.Contains(js, `"rebalance_pause_s": 0.42`) {
		t.Errorf("--json gave %+v", got)
	}

	if _, err := run(t, "cluster", "status", addr, "--pipeline", "nothing"); !errors.Is(err, cluster.ErrNoStatusTopic) ||
		!strings.Contains(err.Error(), `no worker of pipeline "nothing" has run there`) {
		t.Errorf("an unknown pipeline: %v", err)
	}
	for _, bad := range []string{brokers[0], "nats://" + brokers[0], "kafka://" + brokers[0] + "/topic", "kafka://"} {
		var u usageError
		if _, err := run(t, "cluster", "status", bad); !errors.As(err, &u) || !strings.Contains(err.Error(), "want kafka://HOST:PORT[,HOST:PORT...]") {
			t.Errorf("address %q: %v, want a usage error", bad, err)
		}
	}
	var u usageError
	if _, err := run(t, "cluster", "status", addr, "--kafka-sasl-mechanism", "plain"); !errors.As(err, &u) || !strings.Contains(err.Error(), "sasl: username is required") {
		t.Errorf("SASL without a user: %v, want a usage error", err)
	}
}

// TestClusterStatusOverTLSAndSASL checks that the --kafka-* flags reach a cluster that
// asks for TLS and SCRAM, and that a wrong password fails without being shown.
func TestClusterStatusOverTLSAndSASL(t *testing.T) {
	addr, good, wrong := secureCluster(t)
	flags := []string{"cluster", "status", addr, "--kafka-tls-insecure", "--kafka-sasl-mechanism", "SCRAM-SHA-256", "--kafka-sasl-user", "alice"}
	// reaching the cluster, the command finds no status topic there
	if _, err := run(t, append(flags, "--kafka-sasl-password-file", good)...); err == nil || !strings.Contains(err.Error(), "no status topic") {
		t.Errorf("with the right password: %v, want no status topic", err)
	}
	_, err := run(t, append(flags, "--kafka-sasl-password-file", wrong)...)
	if err == nil || strings.Contains(err.Error(), "no status topic") || strings.Contains(err.Error(), secretOfTheCluster) {
		t.Errorf("with a wrong password: %v, want an authentication error without the password", err)
	}
	t.Logf("with a wrong password: %v", err)
	// without TLS the broker does not answer Kafka: no status topic is listed
	if _, err := run(t, "cluster", "status", addr, "--kafka-sasl-mechanism", "SCRAM-SHA-256", "--kafka-sasl-user", "alice",
		"--kafka-sasl-password-file", good); err == nil || strings.Contains(err.Error(), "no status topic") {
		t.Errorf("without TLS: %v, want a connection error", err)
	}
}

// secureCluster starts a Kafka cluster that asks for TLS and SCRAM-SHA-256 (user alice) and
// returns its address as kafka://HOST:PORT and two files: the right password and a wrong one.
func secureCluster(t *testing.T) (addr, good, wrong string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser(kafka.ScramSHA256, "alice", secretOfTheCluster),
		kfake.TLS(&tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	dir := t.TempDir()
	good, wrong = filepath.Join(dir, "password"), filepath.Join(dir, "wrong")
	for file, pw := range map[string]string{good: secretOfTheCluster + "\n", wrong: "not-" + secretOfTheCluster} {
		if err := os.WriteFile(file, []byte(pw), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return "kafka://" + c.ListenAddrs()[0], good, wrong
}

// secretOfTheCluster is the password of secureCluster's user.
const secretOfTheCluster = "s3cret-of-the-cluster"
