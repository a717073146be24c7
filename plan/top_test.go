package plan

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"millrace/engine"
	"millrace/op"
	"millrace/schema"
	"millrace/spec"
)

const topSpec = `
name: top
sources:
  tx: {kind: file, path: %s, schema: transaction}
views:
  biggest:
    from: tx
    where: channel <> 'atm'
    select: {card_id: card_id, tx_id: tx_id, amount: amount}
    group_by: [card_id]
    top: {n: 3, by: amount desc}
sinks:
  out: {from: biggest, kind: jsonl, path: %s}
`

// appliedTop applies a top sink's changelog in order: card to tx_id to amount. An insert of
// a row kept or a delete of a row not kept fails the test.
func appliedTop(t *testing.T, path string) map[string]map[string]string {
	t.Helper()
	table := map[string]map[string]string{}
	for i, r := range changelogRows(t, path) {
		card, tx := r["card_id"].(string), r["tx_id"].(string)
		rows := table[card]
		if rows == nil {
			rows = map[string]string{}
			table[card] = rows
		}
		_, has := rows[tx]
		switch {
		case r[op.OpColumn] == op.OpInsert && !has:
			rows[tx] = r["amount"].(string)
		case r[op.OpColumn] == op.OpDelete && has:
			delete(rows, tx)
			if len(rows) == 0 {
				delete(table, card)
			}
		default:
			t.Fatalf("row %d %v does not fit card %s's rows %v", i, r, card, rows)
		}
	}
	return table
}

// TestTopKeepsEachKeysLargest keeps each card's three largest payments at parallelism 1 to
// 8 and across a checkpoint resumed at another parallelism: every changelog, applied, keeps
// the same rows, whose amounts are each card's three largest, computed row by row.
func TestTopKeepsEachKeysLargest(t *testing.T) {
	dir := t.TempDir()
	input := changelogInput(t, dir, 20_000)
	amounts := map[string][]int64{}
	txOf := map[string]string{}
	for _, rec := range readAll(t, input, schema.Transaction()) {
		cards := rec.Column(schema.CardID).(*array.String)
		txs := rec.Column(schema.TxID).(*array.String)
		channel := rec.Column(schema.Channel).(*array.String)
		amount := rec.Column(schema.AmountCol).(*array.Decimal128)
		for i := range int(rec.NumRows()) {
			if channel.Value(i) != "atm" {
				c := int64(amount.Value(i).LowBits())
				amounts[cards.Value(i)] = append(amounts[cards.Value(i)], c)
				txOf[txs.Value(i)] = cards.Value(i)
			}
		}
		rec.Release()
	}
	run := func(input string, p int, out string, ckpt *engine.Checkpointing) {
		s, err := spec.Parse(fmt.Appendf(nil, topSpec, input, out), "top.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		pl, err := Build(s, Options{Parallelism: p, Partitions: 1})
		if err != nil {
			t.Fatal(err)
		}
		if got := pl.String(); !strings.Contains(got, "keep the first 3 rows by amount desc per card_id, as a changelog (_op: +I, -D)") {
			t.Fatalf("plan:\n%s", got)
		}
		opts := engine.DefaultOptions()
		opts.Checkpointing = ckpt
		if ckpt != nil {
			stop := make(chan struct{})
			opts.Stop = stop
			complete := ckpt.Complete
			ckpt.Complete = func(s *engine.Snapshot) error {
				if s.ID == 1 && ckpt.Restore == nil {
					close(stop)
				}
				return complete(s)
			}
		}
		if _, err := engine.Run(context.Background(), pl.Graph, opts); err != nil {
			t.Fatal(err)
		}
	}
	var first map[string]map[string]string
	for _, p := range []int{1, 3, 8} {
		out := filepath.Join(dir, fmt.Sprintf("top-%d.jsonl", p))
		run(input, p, out, nil)
		got := appliedTop(t, out)
		if first == nil {
			first = got
		} else if !maps.EqualFunc(got, first, maps.Equal) {
			t.Fatalf("at %d the applied changelog keeps other rows than at 1", p)
		}
	}
	for card, as := range amounts {
		slices.Sort(as)
		slices.Reverse(as)
		var kept []int64
		for tx, a := range first[card] {
			if txOf[tx] != card {
				t.Fatalf("card %s keeps %s, another card's payment", card, tx)
			}
			c, err := strconv.ParseFloat(a, 64)
			if err != nil {
				t.Fatal(err)
			}
			kept = append(kept, int64(c*100+0.5))
		}
		slices.Sort(kept)
		slices.Reverse(kept)
		if !slices.Equal(kept, as[:min(3, len(as))]) {
			t.Fatalf("card %s keeps %v, its largest are %v", card, kept, as[:min(3, len(as))])
		}
	}
	if len(first) != len(amounts) {
		t.Fatalf("%d cards kept, %d paid", len(first), len(amounts))
	}

	if testing.Short() {
		return
	}
	// The first run is stopped at its first checkpoint and resumed at another parallelism.
	// One that reads its input to the end before that checkpoint resumes nothing: its
	// input is then made four times longer, with its uninterrupted run as the reference,
	// until a first run is stopped before its end.
	want := first
	for rows := int64(20_000); ; rows *= 4 {
		if rows > 20_000 {
			input = changelogInput(t, t.TempDir(), rows)
			out := filepath.Join(dir, fmt.Sprintf("want-%d.jsonl", rows))
			run(input, 1, out, nil)
			want = appliedTop(t, out)
		}
		out := filepath.Join(dir, fmt.Sprintf("resumed-%d.jsonl", rows))
		var last *engine.Snapshot
		keep := func(s *engine.Snapshot) error { last = s; return nil }
		run(input, 3, out, &engine.Checkpointing{Interval: time.Millisecond, ByKeyGroup: true, Complete: keep})
		if last == nil {
			t.Fatal("the first run took no checkpoint")
		}
		if last.Final {
			if rows >= 1_280_000 {
				t.Fatalf("the first run read all of %d transactions before it was stopped at checkpoint 1: nothing resumed", rows)
			}
			continue
		}
		run(input, 2, out, &engine.Checkpointing{Interval: time.Millisecond, Restore: last, Complete: keep})
		if got := appliedTop(t, out); !maps.EqualFunc(got, want, maps.Equal) {
			t.Fatalf("resumed at another parallelism over %d transactions, the applied changelog keeps other rows", rows)
		}
		return
	}
}
