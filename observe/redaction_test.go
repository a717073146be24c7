package observe

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"millrace/engine"
	"millrace/plan"
	"millrace/spec"
)

// TestDeadLettersAreMasked runs a pipeline over files holding refused records with a card
// number and a cvv field, and reads them back from the running API with a real client.
func TestDeadLettersAreMasked(t *testing.T) {
	dir := t.TempDir()
	jsonl := filepath.Join(dir, "tx.jsonl")
	good := `{"tx_id":"t0","ts":"2026-03-02T00:00:00Z","account_id":"a","card_id":"c","merchant_id":"m","mcc":5411,"amount":"3.00","currency":"EUR","country":"DE","channel":"pos"}`
	bad := `{"tx_id":"t1","ts":"2026-03-02T00:00:01Z","account_id":"a","card_id":"c","merchant_id":"m","mcc":5411,"amount":"12,50 EUR","currency":"EUR","country":"DE","channel":"pos","card_number":"4111 1111 1111 1111","cvv":"737"}`
	if err := os.WriteFile(jsonl, []byte(good+"\n"+bad+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	csvPath := filepath.Join(dir, "cards.csv")
	if err := os.WriteFile(csvPath, []byte("id,pan,cvv,amount\n1,5500000000000004,123,oops\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	text := `
name: masked
sources:
  tx: {kind: file, path: ` + jsonl + `, schema: transaction, redact: [cvv]}
  cards:
    kind: file
    path: ` + csvPath + `
    columns: {id: int64, pan: string, cvv: string, amount: "decimal(18,2)"}
    redact: [cvv]
sinks:
  out: {from: tx, kind: jsonl, path: ` + filepath.Join(dir, "out.jsonl") + `}
  cards_out: {from: cards, kind: jsonl, path: ` + filepath.Join(dir, "cards.jsonl") + `}
  dead_full: {from: tx.dead_letters, kind: jsonl, path: ` + filepath.Join(dir, "dead-full.jsonl") + `}
  dead_masked: {from: tx.dead_letters, kind: jsonl, path: ` + filepath.Join(dir, "dead-masked.jsonl") + `, redact: true}
`
	p, srv, mon := servePlan(t, text, "masked.yaml", nil, 1)
	opts := engine.DefaultOptions()
	opts.Monitor = mon
	if _, err := engine.Run(context.Background(), p.Graph, opts); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + srv.Addr() + "/api/dead-letters")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/dead-letters: %d %v\n%s", resp.StatusCode, err, body)
	}
	var dead []struct{ Source, Where, Reason, Raw string }
	if err := json.Unmarshal(body, &dead); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	raw := map[string]string{}
	for _, d := range dead {
		raw[d.Source] = d.Raw
	}
	if len(dead) != 2 || raw["tx"] == "" || raw["cards"] == "" {
		t.Fatalf("want one dead letter of tx and one of cards, got %s", body)
	}
	// The files' names are taken out first: the test's directory name may hold the digits
	// of a secret.
	shown := strings.ReplaceAll(string(body), dir, "")
	for _, secret := range []string{"4111 1111 1111 1111", "737", "5500000000000004", ",123,"} {
		if strings.Contains(shown, secret) {
			t.Errorf("the API shows %q:\n%s", secret, body)
		}
	}
	if want := `"card_number":"**** **** **** 1111","cvv":"****"`; !strings.Contains(raw["tx"], want) {
		t.Errorf("tx dead letter %s, want it to hold %s", raw["tx"], want)
	}
	if want := "1,************0004,****,oops"; raw["cards"] != want {
		t.Errorf("cards dead letter %q, want %q", raw["cards"], want)
	}
	if !strings.Contains(raw["tx"], `"amount":"12,50 EUR"`) {
		t.Errorf("tx dead letter %s lost the field it was refused for", raw["tx"])
	}

	// A dead-letter sink keeps full records unless it says redact: true.
	full, err := os.ReadFile(filepath.Join(dir, "dead-full.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(full), `\"cvv\":\"737\"`) || !strings.Contains(string(full), "4111 1111 1111 1111") {
		t.Errorf("dead_full lost the record's values:\n%s", full)
	}
	masked, err := os.ReadFile(filepath.Join(dir, "dead-masked.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ReplaceAll(string(masked), dir, ""), "737") || strings.Contains(string(masked), "4111 1111") ||
		!strings.Contains(string(masked), `\"cvv\":\"****\"`) || strings.Count(string(masked), "\n") != 1 {
		t.Errorf("dead_masked, want one masked record:\n%s", masked)
	}
}

// TestHotKeysAreMasked masks the hot keys of a step keyed by a redacted column, and card
// numbers in any hot key, in the topology and in the verdict that quotes them.
func TestHotKeysAreMasked(t *testing.T) {
	text := `
name: hot
sources:
  tx: {kind: generator, rows: 10, redact: [card_id]}
views:
  by_card: {from: tx, group_by: [card_id], window: {tumble: 1m}, select: {n: count(*)}}
  by_merchant: {from: tx, group_by: [merchant_id], window: {tumble: 1m}, select: {n: count(*)}}
sinks:
  a: {from: by_card, kind: jsonl, path: ` + filepath.Join(t.TempDir(), "a.jsonl") + `}
  b: {from: by_merchant, kind: jsonl, path: ` + filepath.Join(t.TempDir(), "b.jsonl") + `}
`
	s, err := spec.Parse([]byte(text), "hot.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Build(s, plan.Options{Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	var byCard, byMerchant string
	for _, st := range p.Steps {
		for _, in := range st.Inputs {
			if len(in.Key) == 1 && in.Key[0] == "card_id" {
				byCard = st.Name
			}
			if len(in.Key) == 1 && in.Key[0] == "merchant_id" {
				byMerchant = st.Name
			}
		}
	}
	if byCard == "" || byMerchant == "" {
		t.Fatalf("no steps keyed by card_id and merchant_id in %s", p)
	}
	top := Topology{
		Nodes: []NodeLoad{
			{ID: byCard, HotKeys: []HotKey{{Key: "card-17", Share: 0.5}}},
			{ID: byMerchant, HotKeys: []HotKey{{Key: "merchant-3", Share: 0.4}, {Key: "4111111111111111", Share: 0.1}}},
		},
		Verdict: Verdict{Node: byCard, Reason: `hot key "card-17" takes 50% of the input`},
	}
	got := newRedactions(p).topology(top)
	if k := got.Nodes[0].HotKeys[0].Key; k != "****" {
		t.Errorf("hot key of %s = %q, want it masked", byCard, k)
	}
	if k := got.Nodes[1].HotKeys; k[0].Key != "merchant-3" || k[1].Key != "************1111" {
		t.Errorf("hot keys of %s = %+v, want merchant-3 and a masked card number", byMerchant, k)
	}
	if r := got.Verdict.Reason; strings.Contains(r, "card-17") {
		t.Errorf("verdict %q shows the masked key", r)
	}
	if top.Nodes[0].HotKeys[0].Key != "card-17" {
		t.Error("masking changed the topology it was given")
	}
}
