package deploy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/kafka"
	"millrace/objstore/objstoretest"
)

// pod is a worker as the kubelet would start it from the StatefulSet: its command line,
// environment and working directory, with the volumes laid out as files under a directory
// of the test.
type pod struct {
	argv []string
	env  []string
	dir  string
}

// kubelet lays out the volumes of d's pod named name and resolves its arguments and
// environment as Kubernetes does: fieldRefs from the pod, secretKeyRefs from secrets,
// $(VAR) from the variables set before (only the container's own: the test's environment
// does not leak in). settings replace the values a user edits
// (the brokers, the state store), each of which the container must set; mount paths
// become the directories of the test. bin replaces the image's binary.
func (d *deployment) kubelet(t *testing.T, name, bin string, secrets map[string]map[string]string, settings map[string]string) pod {
	t.Helper()
	root := t.TempDir()
	mounts := map[string]string{} // mount path -> directory
	for mp, v := range d.mounts {
		dir := filepath.Join(root, v.Name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		files := map[string]string{}
		switch {
		case v.ConfigMap != nil:
			if v.ConfigMap.Name != d.cm.Name {
				t.Fatalf("volume %s mounts ConfigMap %s, which the manifests lack", v.Name, v.ConfigMap.Name)
			}
			files = d.cm.Data
		case v.Secret != nil:
			s, ok := secrets[v.Secret.SecretName]
			if !ok {
				t.Fatalf("volume %s mounts Secret %s, which the test does not make", v.Name, v.Secret.SecretName)
			}
			files = s
		case v.EmptyDir == nil:
			t.Fatalf("volume %s is of a kind the test does not lay out", v.Name)
		}
		for k, data := range files {
			if err := os.WriteFile(filepath.Join(dir, k), []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		mounts[mp] = dir
	}
	remap := func(p string) string {
		for mp, dir := range mounts {
			if p == mp || strings.HasPrefix(p, mp+"/") {
				return dir + strings.TrimPrefix(p, mp)
			}
		}
		return p
	}
	vars := map[string]string{}
	expand := func(s string) string {
		return regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`).ReplaceAllStringFunc(s, func(ref string) string {
			if v, ok := vars[ref[2:len(ref)-1]]; ok {
				return v
			}
			return ref
		})
	}
	var env []string
	for _, e := range d.container.Env {
		var v string
		switch f := e.ValueFrom; {
		case f == nil:
			v = expand(remap(e.Value))
		case f.FieldRef != nil && f.FieldRef.FieldPath == "metadata.name":
			v = name
		case f.FieldRef != nil && f.FieldRef.FieldPath == "metadata.namespace":
			v = d.set.Namespace
		case f.SecretKeyRef != nil:
			val, ok := secrets[f.SecretKeyRef.Name][f.SecretKeyRef.Key]
			if !ok {
				t.Fatalf("%s comes from Secret %s key %s, which the test does not make", e.Name, f.SecretKeyRef.Name, f.SecretKeyRef.Key)
			}
			v = val
		default:
			t.Fatalf("%s comes from %+v, which the test does not know", e.Name, f)
		}
		if s, ok := settings[e.Name]; ok {
			v = s
		}
		vars[e.Name] = v
		env = append(env, e.Name+"="+v)
	}
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		if _, ok := vars[k]; !ok {
			t.Fatalf("the container does not set %s, which a user sets", k)
		}
	}
	argv := []string{bin}
	// Paths are mapped as written in the manifest, before $(VAR)s (mapped already) expand.
	for _, a := range d.container.Args {
		if flag, value, ok := strings.Cut(a, "="); ok && strings.HasPrefix(a, "--") {
			if flag == "--listen" {
				// The test serves on loopback only, on any free port.
				value = "127.0.0.1:0"
			}
			a = flag + "=" + remap(value)
		} else {
			a = remap(a)
		}
		argv = append(argv, expand(a))
	}
	return pod{argv: argv, env: env, dir: remap(d.container.WorkingDir)}
}

// buildMillrace builds the millrace binary into a directory of the test.
func buildMillrace(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "millrace")
	out, err := exec.Command("go", "build", "-o", bin, "millrace/cmd/millrace").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// produceTransactions writes n transactions to topic, keyed by card.
func produceTransactions(t *testing.T, conn kafka.Conn, topic string, n int) {
	t.Helper()
	w, err := kafka.NewLineWriter(context.Background(), conn, topic, "card_id")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := range n {
		line := fmt.Sprintf(`{"tx_id":"t%04d","ts":%q,"account_id":"a%d","card_id":"c%d","merchant_id":"m%d","mcc":5411,"amount":"%d.50","currency":"EUR","country":"DE","channel":"pos","lat":null,"lon":null,"is_fraud":false}`,
			i, start.Add(time.Duration(i)*time.Second).Format(time.RFC3339), i%7, i%5, i%3, 10+i)
		if _, err := w.Write([]byte(line + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// worker is a running millrace process whose standard error the test keeps.
type worker struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr strings.Builder
	url    chan string   // the dashboard's address, once printed
	done   chan struct{} // closed once the process has ended
	err    error         // how it ended
}

// start starts p and ends it, if still running, when the test ends.
func (p pod) start(t *testing.T) *worker {
	t.Helper()
	w := &worker{url: make(chan string, 1), done: make(chan struct{})}
	w.cmd = exec.Command(p.argv[0], p.argv[1:]...)
	w.cmd.Env, w.cmd.Dir = p.env, p.dir
	stderr, err := w.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	dashboard := regexp.MustCompile(`dashboard at (https?://\S+?)/ `)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			w.mu.Lock()
			w.stderr.WriteString(sc.Text() + "\n")
			w.mu.Unlock()
			if m := dashboard.FindStringSubmatch(sc.Text()); m != nil {
				w.url <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stderr) // a line past the scanner's limit: drain the rest
		w.err = w.cmd.Wait()
		close(w.done)
	}()
	t.Cleanup(func() {
		select {
		case <-w.done:
		default:
			_ = w.cmd.Process.Kill() // the test failed with the worker running; its end says nothing more
			<-w.done
		}
	})
	return w
}

func (w *worker) log() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stderr.String()
}

// until calls ok every 20 ms until it holds, and fails the test if the worker ends first
// or the test's time runs out.
func (w *worker) until(t *testing.T, what string, ok func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(3 * time.Minute)
	for !ok() {
		select {
		case <-w.done:
			t.Fatalf("the worker ended (%v) before %s:\n%s", w.err, what, w.log())
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s in 3 minutes:\n%s", what, w.log())
		}
	}
}

// get GETs base+path with the token (if not empty) and the Host header host (if not
// empty), and returns the status and the body.
func get(t *testing.T, base, path, token, host string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // closing a test answer has nothing to report
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// metricSum adds up the samples of metric in a Prometheus exposition whose labels include
// every one of labels.
func metricSum(text, metric string, labels ...string) (float64, bool) {
	var sum float64
	found := false
	for line := range strings.Lines(text) {
		if !strings.HasPrefix(line, metric+"{") {
			continue
		}
		lbl, value, ok := strings.Cut(strings.TrimPrefix(line, metric), "} ")
		if !ok || slices.ContainsFunc(labels, func(l string) bool { return !strings.Contains(lbl, l) }) {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		sum += v
		found = true
	}
	return sum, found
}

// A worker started as the StatefulSet starts it (its arguments, environment, Secrets and
// ConfigMap as files) runs the pipeline on brokers that ask for SASL and state in S3,
// answers the probes without the token, serves KEDA the advice under the Service's name
// with the token, and on SIGTERM stops with a last checkpoint that commits what it read.
func TestWorkerRunsAsTheStatefulSetStartsIt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds millrace and runs a worker on an in-process broker and S3 server")
	}
	const (
		user, password = "millrace", "kafka-pass-for-worker"
		token          = "listen-token-for-worker"
		rows           = 100
	)
	o := loadManifests(t, variants["metrics-api"]...)
	d := wiring(t, o)
	trigger := one(t, "ScaledObject", o.scaled).Spec.Triggers[0]
	bin := buildMillrace(t)

	mech := d.env["KAFKA_SASL_MECHANISM"].Value
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(8, "tx"),
		kfake.EnableSASL(), kfake.Superuser(mech, user, password))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	brokers := kc.ListenAddrs()
	pwFile := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(pwFile, []byte(password), 0o600); err != nil {
		t.Fatal(err)
	}
	conn := kafka.Conn{Brokers: brokers, SASL: &kafka.SASL{Mechanism: mech, Username: user, PasswordFile: pwFile}}
	produceTransactions(t, conn, "tx", rows)
	state := objstoretest.S3(t)

	p := d.kubelet(t, "millrace-0", bin, map[string]map[string]string{
		"millrace-listen": {"token": token + "\n"},
		"millrace-kafka":  {"username": user, "password": password + "\n"},
		"millrace-s3":     {"access-key-id": os.Getenv("AWS_ACCESS_KEY_ID"), "secret-access-key": os.Getenv("AWS_SECRET_ACCESS_KEY")},
	}, map[string]string{
		"KAFKA_BROKERS":        strings.Join(brokers, ","),
		"MILLRACE_STATE":       state,
		"MILLRACE_S3_ENDPOINT": os.Getenv("MILLRACE_S3_ENDPOINT"),
	})
	// This machine has no instance metadata service to ask for credentials.
	p.env = append(p.env, "AWS_EC2_METADATA_DISABLED=true")
	w := p.start(t)
	var base string
	select {
	case base = <-w.url:
	case <-w.done:
		t.Fatalf("the worker ended (%v) before it served:\n%s", w.err, w.log())
	}

	// The probes need no token; everything else does.
	if code, _ := get(t, base, "/healthz", "", ""); code != http.StatusOK {
		t.Errorf("/healthz without the token: %d, want 200", code)
	}
	if code, _ := get(t, base, "/api/scale", "", ""); code != http.StatusUnauthorized {
		t.Errorf("/api/scale without the token: %d, want 401", code)
	}
	w.until(t, "readiness", func() bool { code, _ := get(t, base, "/readyz", "", ""); return code == http.StatusOK })

	// KEDA calls the worker by the Service's name, which the Host check must accept.
	u, err := url.Parse(trigger.Metadata["url"])
	if err != nil {
		t.Fatal(err)
	}
	w.until(t, fmt.Sprintf("%d rows read", rows), func() bool {
		code, body := get(t, base, "/metrics", token, u.Host)
		if code != http.StatusOK {
			t.Fatalf("/metrics as %s: %d %s", u.Host, code, body)
		}
		n, _ := metricSum(body, "millrace_source_read_records_total", `node="tx"`)
		return n == rows
	})
	var advice map[string]any
	w.until(t, "advice", func() bool {
		code, body := get(t, base, u.Path, token, u.Host)
		if code == http.StatusOK {
			if err := json.Unmarshal([]byte(body), &advice); err != nil {
				t.Fatalf("%s: %v", u.Path, err)
			}
		}
		return code == http.StatusOK
	})
	field := trigger.Metadata["valueLocation"]
	if n, ok := advice[field].(float64); !ok || n < 1 {
		t.Errorf("the advice's %s is %v: want the worker count KEDA scales to", field, advice[field])
	}
	_, metrics := get(t, base, "/metrics", token, u.Host)
	name := pipelineName(t, d.spec)
	if _, ok := metricSum(metrics, "millrace_desired_workers", `pipeline="`+name+`"`); !ok {
		t.Errorf("/metrics has no millrace_desired_workers of pipeline %s, which the prometheus trigger reads", name)
	}

	// The kubelet stops a pod with SIGTERM: the worker commits a last checkpoint and ends well.
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-w.done
	if w.err != nil {
		t.Fatalf("the worker ended with %v on SIGTERM:\n%s", w.err, w.log())
	}
	kopts, err := conn.Opts()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	offsets, err := kadm.NewClient(cl).FetchOffsets(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	var committed int64
	for _, r := range offsets["tx"] {
		if r.Err != nil {
			t.Fatalf("committed offset of tx/%d: %v", r.Partition, r.Err)
		}
		committed += r.At
	}
	if committed != rows {
		t.Errorf("the group %s committed %d records of tx after the stop, want all %d read", name, committed, rows)
	}
	if strings.Contains(w.log(), password) || strings.Contains(w.log(), token) {
		t.Error("the worker's log shows a secret")
	}
}
