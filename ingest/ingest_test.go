package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"millrace/listen"
	"millrace/schema"
)

// TestMain fails the package's tests if any goroutine they started outlives them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// tx is a valid transaction record with the given id.
func tx(id string) string {
	return `{"tx_id":"` + id + `","ts":"2026-03-01T12:00:00Z","account_id":"a","card_id":"c","merchant_id":"m","mcc":5411,"amount":"12.50","currency":"EUR","country":"DE","channel":"pos"}`
}

// ingestRig is a Service on a temporary directory served by a listener, with a client
// connection of the test's own to look into the streams.
type ingestRig struct {
	dir string
	svc *Service
	srv *listen.Server
	js  jetstream.JetStream
}

// startRig opens the service with one endpoint, tx, configured by ep, on dir.
func startRig(t *testing.T, dir string, ep Endpoint) *ingestRig {
	t.Helper()
	s, err := schema.Builtin("transaction")
	if err != nil {
		t.Fatal(err)
	}
	ep.Source, ep.Schema = "tx", s
	ctx := context.Background()
	svc, err := Open(ctx, dir, []Endpoint{ep})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := listen.Serve(listen.Config{Addr: "127.0.0.1:0", MaxBody: svc.Handler().MaxBody()}, svc.Handler())
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(svc.URL())
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	r := &ingestRig{dir: dir, svc: svc, srv: srv, js: js}
	t.Cleanup(func() {
		nc.Close()
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
		if err := svc.Close(); err != nil {
			t.Error(err)
		}
	})
	return r
}

// post sends body with the given headers and returns the status, the answer and its headers.
func (r *ingestRig) post(t *testing.T, path string, body []byte, header map[string]string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest("POST", r.srv.URL()+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // read to the end below
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

// stored returns the records the tx stream holds, oldest first.
func (r *ingestRig) stored(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	st, err := r.js.Stream(ctx, StreamName("tx"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("stream %s, sequence %d: %v", StreamName("tx"), seq, err)
		}
		out = append(out, string(m.Data))
	}
	return out
}

func TestPostStoresRecordsAndNamesRefusedOnes(t *testing.T) {
	r := startRig(t, t.TempDir(), Endpoint{})
	body := tx("t1") + "\n" + tx("t2") + "\n\n" + `{"tx_id":"t3","amount":"12,50 EUR"}` + "\n" + tx("t4") + "\n"
	code, text, _ := r.post(t, "/ingest/tx", []byte(body), nil)
	if code != http.StatusAccepted {
		t.Fatalf("status %d: %s", code, text)
	}
	var ans Answer
	if err := json.Unmarshal([]byte(text), &ans); err != nil {
		t.Fatal(err)
	}
	if ans.Records != 4 || ans.DeadLetters != 1 || len(ans.Errors) != 1 || ans.Errors[0].Index != 2 || ans.Errors[0].Reason == "" {
		t.Errorf("answer %s", text)
	}
	// Every record, the refused one too, is in the stream once the answer is 202.
	want := []string{tx("t1"), tx("t2"), `{"tx_id":"t3","amount":"12,50 EUR"}`, tx("t4")}
	if got := r.stored(t); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stored %q\nwant %q", got, want)
	}

	// A gzipped JSON array.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	fmt.Fprintf(zw, "[%s,\n %s]", tx("t5"), tx("t6"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if code, text, _ := r.post(t, "/ingest/tx", gz.Bytes(), map[string]string{"Content-Encoding": "gzip"}); code != http.StatusAccepted || !strings.Contains(text, `"records": 2`) && !strings.Contains(text, `"records":2`) {
		t.Errorf("gzipped array: %d %s", code, text)
	}
	if got := r.stored(t); len(got) != 6 || got[5] != tx("t6") {
		t.Errorf("after the array the stream holds %q", got)
	}

	for _, c := range []struct {
		path, body string
		want       int
	}{
		{"/ingest/nope", tx("x"), http.StatusNotFound},
		{"/ingest/tx", "[" + tx("x") + ",", http.StatusBadRequest},
	} {
		if code, text, _ := r.post(t, c.path, []byte(c.body), nil); code != c.want {
			t.Errorf("POST %s %q: %d %s, want %d", c.path, c.body, code, text, c.want)
		}
	}
	if got := r.stored(t); len(got) != 6 {
		t.Errorf("refused requests stored records: %d in the stream", len(got))
	}
}

func TestRetriedRequestIsStoredOnce(t *testing.T) {
	r := startRig(t, t.TempDir(), Endpoint{})
	body := []byte(tx("a") + "\n" + tx("b") + "\n")
	for range 3 {
		if code, text, _ := r.post(t, "/ingest/tx", body, map[string]string{"Idempotency-Key": "batch-1"}); code != http.StatusAccepted {
			t.Fatalf("%d %s", code, text)
		}
	}
	if code, text, _ := r.post(t, "/ingest/tx", body, map[string]string{"Idempotency-Key": "batch-2"}); code != http.StatusAccepted {
		t.Fatalf("%d %s", code, text)
	}
	if got := r.stored(t); len(got) != 4 {
		t.Errorf("three posts under one key and one under another stored %d records, want 4", len(got))
	}
}

func TestRecordsOutliveTheService(t *testing.T) {
	dir := t.TempDir()
	first := startRig(t, dir, Endpoint{})
	if code, text, _ := first.post(t, "/ingest/tx", []byte(tx("kept")+"\n"), nil); code != http.StatusAccepted {
		t.Fatalf("%d %s", code, text)
	}
	if err := first.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := first.svc.Close(); err != nil {
		t.Fatal(err)
	}
	second := startRig(t, dir, Endpoint{})
	if got := second.stored(t); len(got) != 1 || got[0] != tx("kept") {
		t.Errorf("after a restart the stream holds %q", got)
	}
}

func TestBodyLimit(t *testing.T) {
	r := startRig(t, t.TempDir(), Endpoint{MaxBody: 1000})
	big := strings.Repeat(tx("x")+"\n", 10)
	if code, text, _ := r.post(t, "/ingest/tx", []byte(big), nil); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a body of %d bytes over a limit of 1000: %d %s", len(big), code, text)
	}
	// The limit holds for the body after gzip too.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	fmt.Fprint(zw, big)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if gz.Len() >= 1000 {
		t.Fatalf("gzip made %d bytes", gz.Len())
	}
	if code, text, _ := r.post(t, "/ingest/tx", gz.Bytes(), map[string]string{"Content-Encoding": "gzip"}); code != http.StatusRequestEntityTooLarge {
		t.Errorf("%d gzipped bytes that are %d plain: %d %s", gz.Len(), len(big), code, text)
	}
	if got := r.stored(t); len(got) != 0 {
		t.Errorf("refused bodies stored %d records", len(got))
	}
}

func TestBacklogAnswers429UntilThePipelineAcknowledges(t *testing.T) {
	r := startRig(t, t.TempDir(), Endpoint{MaxBacklog: 3})
	if code, text, _ := r.post(t, "/ingest/tx", []byte(tx("1")+"\n"+tx("2")+"\n"+tx("3")+"\n"), nil); code != http.StatusAccepted {
		t.Fatalf("%d %s", code, text)
	}
	code, text, h := r.post(t, "/ingest/tx", []byte(tx("4")+"\n"), nil)
	if code != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
		t.Fatalf("with 3 records waiting and a bound of 3: %d (Retry-After %q) %s", code, h.Get("Retry-After"), text)
	}
	// A consumer of the work queue takes and acknowledges two records, as the pipeline
	// does after a durable checkpoint: the backlog falls below the bound.
	ctx := context.Background()
	cons, err := r.js.CreateOrUpdateConsumer(ctx, StreamName("tx"), jetstream.ConsumerConfig{Durable: "pipeline", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(2, jetstream.FetchMaxWait(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for m := range batch.Messages() {
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("fetched %d records", n)
	}
	if code, text, _ := r.post(t, "/ingest/tx", []byte(tx("4")+"\n"), nil); code != http.StatusAccepted {
		t.Errorf("after two were acknowledged: %d %s", code, text)
	}
}

func TestClientRetriesUntilStored(t *testing.T) {
	r := startRig(t, t.TempDir(), Endpoint{MaxBacklog: 1})
	if code, text, _ := r.post(t, "/ingest/tx", []byte(tx("first")+"\n"), nil); code != http.StatusAccepted {
		t.Fatalf("%d %s", code, text)
	}
	// The backlog is full: the client is refused until a consumer acknowledges.
	refused := make(chan error, 10)
	c := &Client{MaxWait: 50 * time.Millisecond, Retried: func(_ int, why error) {
		select {
		case refused <- why:
		default:
		}
	}}
	done := make(chan error, 1)
	go func() {
		_, err := c.Post(context.Background(), r.srv.URL()+"/ingest/tx", []byte(tx("second")+"\n"), "k1")
		done <- err
	}()
	if why := <-refused; !strings.Contains(why.Error(), "429") {
		t.Errorf("first refusal: %v", why)
	}
	ctx := context.Background()
	cons, err := r.js.CreateOrUpdateConsumer(ctx, StreamName("tx"), jetstream.ConsumerConfig{Durable: "pipeline", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	m, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.DoubleAck(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := r.stored(t); len(got) != 1 || got[0] != tx("second") {
		t.Errorf("the stream holds %q, want the retried record", got)
	}
	// A status the client must not retry is an error at once.
	if _, err := c.Post(ctx, r.srv.URL()+"/ingest/none", []byte(tx("x")), ""); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("POST to an unknown source: %v", err)
	}
}
