package observe

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/engine"
	"millrace/format"
	"millrace/gen"
	"millrace/kafka/kafkatest"
)

const viewsSpec = `
name: views
sources:
  tx: {kind: kafka, brokers: [%s], topic: tx, schema: transaction}
views:
  per_card:
    from: tx
    group_by: [card_id]
    select: {n: count(*), volume: sum(amount)}
    having: n >= 2
sinks:
  cards: {from: per_card, kind: view}
`

// cardTotals is the per_card table of transactions given as JSON lines: card to n|volume,
// the cards with two payments or more.
func cardTotals(t *testing.T, lines [][]byte) map[string]string {
	t.Helper()
	type total struct{ n, cents int64 }
	totals := map[string]*total{}
	for _, l := range lines {
		var tx struct {
			Card   string      `json:"card_id"`
			Amount json.Number `json:"amount"`
		}
		d := json.NewDecoder(bytes.NewReader(l))
		d.UseNumber()
		if err := d.Decode(&tx); err != nil {
			t.Fatal(err)
		}
		var units, hundredths int64
		if _, err := fmt.Sscanf(tx.Amount.String(), "%d.%d", &units, &hundredths); err != nil {
			t.Fatalf("amount %s: %v", tx.Amount, err)
		}
		if totals[tx.Card] == nil {
			totals[tx.Card] = &total{}
		}
		totals[tx.Card].n++
		totals[tx.Card].cents += units*100 + hundredths
	}
	out := map[string]string{}
	for card, tot := range totals {
		if tot.n >= 2 {
			out[card] = fmt.Sprintf("%d|%d.%02d", tot.n, tot.cents/100, tot.cents%100)
		}
	}
	return out
}

// getJSON decodes the answer to a GET of url into v, numbers as written, and returns the
// status.
func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode
	}
	d := json.NewDecoder(resp.Body)
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode
}

// TestViewsAPIDuringARun totals cards from a Kafka topic into a view sink and, while the run
// goes on, reads the table over the HTTP API: by key, and page by page, once every record of
// the topic went through (a checkpoint started after the source read them all completed),
// then again after more records came. Each time the table is the one computed from the
// records so far.
func TestViewsAPIDuringARun(t *testing.T) {
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Seed, cfg.Accounts = 4000, 3, 300
	var buf bytes.Buffer
	if _, err := gen.Write(context.Background(), cfg, &buf, format.JSONL, format.WriteOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
	brokers := kafkatest.Cluster(t, "tx", 2)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	produce := func(part [][]byte) {
		recs := make([]*kgo.Record, len(part))
		for i, l := range part {
			recs[i] = &kgo.Record{Topic: "tx", Value: l}
		}
		if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produce(lines[:2500])

	p, srv, mon := servePlan(t, fmt.Sprintf(viewsSpec, brokers[0]), "views.yaml", nil, 2)
	base := "http://" + srv.Addr() + "/api/views"

	// Caught up: once the source has read want records, a checkpoint triggered after that
	// completes (one is in flight at a time, so the second after the last completed one),
	// and its barrier follows every change the records made into the view sink.
	var completed atomic.Uint64
	var mu sync.Mutex
	var want int64
	var wantAfter uint64
	caught := make(chan struct{}, 1)
	opts := engine.DefaultOptions()
	stop := make(chan struct{})
	opts.Monitor, opts.Stop, opts.ProgressEvery = mon, stop, 5*time.Millisecond
	opts.Progress = func(st *engine.Stats) {
		var read int64
		for _, n := range st.Nodes {
			read += n.Read
		}
		mu.Lock()
		defer mu.Unlock()
		if want > 0 && read >= want && wantAfter == 0 {
			wantAfter = completed.Load() + 2
		}
	}
	opts.Checkpointing = &engine.Checkpointing{Interval: 5 * time.Millisecond, Complete: func(s *engine.Snapshot) error {
		completed.Store(s.ID)
		mu.Lock()
		defer mu.Unlock()
		if wantAfter != 0 && s.ID >= wantAfter {
			want, wantAfter = 0, 0
			caught <- struct{}{}
		}
		return nil
	}}
	done := make(chan error, 1)
	waitFor := func(n int64) {
		t.Helper()
		mu.Lock()
		want = n
		mu.Unlock()
		select {
		case <-caught:
		case err := <-done:
			done <- err
			t.Fatalf("the run ended before it read %d records: %v", n, err)
		}
	}
	go func() {
		_, err := engine.Run(context.Background(), p.Graph, opts)
		done <- err
	}()
	defer func() {
		close(stop)
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()

	check := func(upTo int) {
		t.Helper()
		ref := cardTotals(t, lines[:upTo])
		var list []tableView
		if code := getJSON(t, base, &list); code != http.StatusOK || len(list) != 1 || list[0].Name != "cards" || list[0].From != "per_card" ||
			list[0].Rows != len(ref) || strings.Join(list[0].Keys, ",") != "card_id" || strings.Join(list[0].Columns, ",") != "card_id,n,volume" {
			t.Fatalf("GET /api/views: %d %+v, want the table cards of %d rows", code, list, len(ref))
		}
		got := map[string]string{}
		for offset := 0; ; {
			var page struct {
				Total int              `json:"total"`
				Next  *int             `json:"next"`
				Rows  []map[string]any `json:"rows"`
			}
			if code := getJSON(t, fmt.Sprintf("%s/cards?offset=%d&limit=70", base, offset), &page); code != http.StatusOK || page.Total != len(ref) {
				t.Fatalf("page at %d: %d, total %d, want %d", offset, code, page.Total, len(ref))
			}
			for _, r := range page.Rows {
				got[r["card_id"].(string)] = fmt.Sprintf("%v|%v", r["n"], r["volume"])
			}
			if page.Next == nil {
				break
			}
			if *page.Next != offset+70 {
				t.Fatalf("page at %d: next %d", offset, *page.Next)
			}
			offset = *page.Next
		}
		if !maps.Equal(got, ref) {
			t.Fatalf("after %d records the pages hold %d cards, want %d", upTo, len(got), len(ref))
		}
		looked := 0
		for card, row := range ref {
			var one struct {
				Key  map[string]string `json:"key"`
				Rows []map[string]any  `json:"rows"`
			}
			if code := getJSON(t, base+"/cards?key="+url.QueryEscape(card), &one); code != http.StatusOK || len(one.Rows) != 1 ||
				fmt.Sprintf("%v|%v", one.Rows[0]["n"], one.Rows[0]["volume"]) != row || one.Key["card_id"] != card {
				t.Fatalf("card %s: %d %+v, want %s", card, code, one, row)
			}
			if looked++; looked == 20 {
				break
			}
		}
	}
	waitFor(2500)
	check(2500)
	var none struct {
		Rows []map[string]any `json:"rows"`
	}
	if code := getJSON(t, base+"/cards?card_id=no-such-card", &none); code != http.StatusOK || len(none.Rows) != 0 {
		t.Fatalf("an unknown card: %d %v", code, none.Rows)
	}
	if code := getJSON(t, base+"/nothing", &none); code != http.StatusNotFound {
		t.Fatalf("an unknown view answers %d", code)
	}
	if code := getJSON(t, base+"/cards?limit=0", &none); code != http.StatusBadRequest {
		t.Fatalf("limit 0 answers %d", code)
	}
	produce(lines[2500:])
	waitFor(int64(len(lines)))
	check(len(lines))
}
