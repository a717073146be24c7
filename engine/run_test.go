package engine

import (
	"context"
	"errors"
	"millrace/format"
	"millrace/source"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/gen"
	"millrace/op"
	"millrace/schema"
)

// genNode is a source node of the given parallelism over the generator in partitions,
// whose watermark allows outOfOrder milliseconds of disorder.
func genNode(t *testing.T, name string, parallelism int, cfg gen.Config, partitions int, outOfOrder int64, checks ...Check) *Node {
	t.Helper()
	cfg.Partitions = partitions
	s, err := source.NewGenerator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &Node{Name: name, Parallelism: parallelism, Source: s, Watermarks: WatermarkPolicy{EventTime: schema.TS, OutOfOrder: outOfOrder}, Checks: checks}
}

// smallAmount fails rows with an amount under 1.00.
type smallAmount struct{}

func (smallAmount) String() string { return "amount >= 1" }
func (smallAmount) Eval(rec arrow.RecordBatch) (arrow.Array, error) {
	b := array.NewBooleanBuilder(memory.DefaultAllocator)
	defer b.Release()
	one := decimal128.FromI64(100)
	for _, v := range rec.Column(schema.AmountCol).(*array.Decimal128).Values() {
		b.Append(v.GreaterEqual(one))
	}
	return b.NewBooleanArray(), nil
}

// smallAmountFails is a check that cannot be evaluated on a batch holding an amount under
// 1.00, as a CAST that fails on some values; on other batches every row passes.
type smallAmountFails struct{}

func (smallAmountFails) String() string { return "CAST(amount AS int8) > 0" }
func (smallAmountFails) Eval(rec arrow.RecordBatch) (arrow.Array, error) {
	one := decimal128.FromI64(100)
	b := array.NewBooleanBuilder(memory.DefaultAllocator)
	defer b.Release()
	for _, v := range rec.Column(schema.AmountCol).(*array.Decimal128).Values() {
		if v.Less(one) {
			return nil, errors.New("amount under 1.00 is not an int8 above 0")
		}
		b.Append(true)
	}
	return b.NewBooleanArray(), nil
}

// keyedPass passes rows on and remembers which card_ids its subtask saw.
type keyedPass struct {
	op.Base
	sub  int
	seen *sync.Map // card_id -> subtask
}

func (k *keyedPass) Open(ctx op.Context) error { k.sub = ctx.Subtask; return nil }

func (k *keyedPass) Process(_ int, rec arrow.RecordBatch, out op.Collector) error {
	cards := rec.Column(schema.CardID).(*array.String)
	for i := range cards.Len() {
		if prev, loaded := k.seen.LoadOrStore(cards.Value(i), k.sub); loaded && prev.(int) != k.sub {
			return errors.New("card " + cards.Value(i) + " seen by two subtasks")
		}
	}
	return out.Collect(rec)
}

// sink records what reaches it.
type sink struct {
	op.Base
	mu         *sync.Mutex
	rows       *int64
	watermarks *[]int64
	finished   *bool
}

func (s *sink) Process(_ int, rec arrow.RecordBatch, _ op.Collector) error {
	s.mu.Lock()
	*s.rows += rec.NumRows()
	s.mu.Unlock()
	rec.Release()
	return nil
}

func (s *sink) OnWatermark(wm int64, _ op.Collector) error {
	s.mu.Lock()
	*s.watermarks = append(*s.watermarks, wm)
	s.mu.Unlock()
	return nil
}

func (s *sink) Finish(op.Collector) error { *s.finished = true; return nil }

type sinkResult struct {
	mu         sync.Mutex
	rows       int64
	watermarks []int64
	finished   bool
}

func (r *sinkResult) node(name string) *Node {
	return &Node{Name: name, Parallelism: 1, Operator: func(int) (op.Operator, error) {
		return &sink{mu: &r.mu, rows: &r.rows, watermarks: &r.watermarks, finished: &r.finished}, nil
	}}
}

func TestRunRoutesKeysAndAccountsForEveryRow(t *testing.T) {
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Disorder, cfg.LateRate, cfg.DupRate = 60_000, 2*time.Second, 0.01, 0.01
	src := genNode(t, "tx", 2, cfg, 5, 2000, smallAmount{})
	var seen sync.Map
	keyed := &Node{Name: "keyed", Parallelism: 3, Operator: func(int) (op.Operator, error) { return &keyedPass{seen: &seen}, nil }}
	var main, dead, late sinkResult
	g := &Graph{Nodes: []*Node{src, keyed, main.node("out"), dead.node("dead"), late.node("late")}}
	g.Edges = []*Edge{
		{From: src, To: keyed, Partitioning: Hash, Key: []string{"card_id"}},
		{From: keyed, To: g.Nodes[2], Partitioning: Rebalance},
		{From: src, FromPort: DeadLetterPort, To: g.Nodes[3], Partitioning: Rebalance},
		{From: src, FromPort: LatePort, To: g.Nodes[4], Partitioning: Rebalance},
	}
	stats, err := Run(context.Background(), g, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	s, _ := stats.Node("tx")
	if s.Read != cfg.Rows {
		t.Fatalf("source read %d rows, generator made %d", s.Read, cfg.Rows)
	}
	if s.Read != s.Accepted+s.Rejected+s.Late {
		t.Fatalf("ledger: read %d != accepted %d + rejected %d + late %d", s.Read, s.Accepted, s.Rejected, s.Late)
	}
	if s.Rejected == 0 || s.Late == 0 {
		t.Fatalf("expected some rejected (%d) and late (%d) rows", s.Rejected, s.Late)
	}
	if main.rows != s.Accepted || dead.rows != s.Rejected || late.rows != s.Late {
		t.Fatalf("sinks got %d/%d/%d, source says %d/%d/%d", main.rows, dead.rows, late.rows, s.Accepted, s.Rejected, s.Late)
	}
	for _, r := range []*sinkResult{&main, &dead, &late} {
		if !r.finished {
			t.Fatal("a sink did not finish")
		}
		for i := 1; i < len(r.watermarks); i++ {
			if r.watermarks[i] <= r.watermarks[i-1] {
				t.Fatalf("watermarks went back: %v", r.watermarks[i-1:i+1])
			}
		}
		if n := len(r.watermarks); n == 0 || r.watermarks[n-1] != op.MaxWatermark {
			t.Fatalf("no final watermark: %d watermarks", n)
		}
	}
	if k, _ := stats.Node("keyed"); k.RowsIn != s.Accepted || k.RowsOut != s.Accepted {
		t.Fatalf("keyed node in %d out %d", k.RowsIn, k.RowsOut)
	}
}

type failAt struct {
	op.Base
	n int
}

func (f *failAt) Process(_ int, rec arrow.RecordBatch, out op.Collector) error {
	f.n--
	if f.n == 0 {
		rec.Release()
		return errors.New("boom")
	}
	return out.Collect(rec)
}

func TestRunStopsOnTheFirstError(t *testing.T) {
	cfg := gen.DefaultConfig()
	cfg.Rows = 0 // endless: only the error can end the run
	src := genNode(t, "tx", 2, cfg, 2, 0)
	bad := &Node{Name: "bad", Parallelism: 2, Operator: func(sub int) (op.Operator, error) { return &failAt{n: 5 + sub*1000}, nil }}
	var out sinkResult
	g := &Graph{Nodes: []*Node{src, bad, out.node("out")}, Edges: []*Edge{
		{From: src, To: bad, Partitioning: Hash, Key: []string{"account_id"}},
		{From: bad, To: nil, Partitioning: Rebalance},
	}}
	g.Edges[1].To = g.Nodes[2]
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), g, DefaultOptions())
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "bad[0]: boom") {
			t.Fatalf("got %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not stop after an operator failed")
	}
}

func TestValidateRefusesBadGraphs(t *testing.T) {
	src := genNode(t, "s", 2, gen.DefaultConfig(), 1, 0)
	one := &Node{Name: "one", Parallelism: 1, Operator: func(int) (op.Operator, error) { return &failAt{}, nil }}
	cases := map[string]*Graph{
		"forward edge s -> one joins parallelism 2 to 1": {Nodes: []*Node{src, one}, Edges: []*Edge{{From: src, To: one}}},
		"has no key":   {Nodes: []*Node{src, one}, Edges: []*Edge{{From: src, To: one, Partitioning: Hash}}},
		"has no input": {Nodes: []*Node{src, one}},
	}
	for want, g := range cases {
		if _, err := Run(context.Background(), g, DefaultOptions()); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want %q", err, want)
		}
	}
}

func TestStopEndsGracefullyWithoutTheFinalWatermark(t *testing.T) {
	cfg := gen.DefaultConfig()
	cfg.Rows = 0 // endless
	src := genNode(t, "tx", 2, cfg, 2, 0)
	var out sinkResult
	g := &Graph{Nodes: []*Node{src, out.node("out")}}
	g.Edges = []*Edge{{From: src, To: g.Nodes[1], Partitioning: Rebalance}}
	stop := make(chan struct{})
	opts := DefaultOptions()
	opts.Stop = stop
	go func() {
		for {
			out.mu.Lock()
			n := out.rows
			out.mu.Unlock()
			if n > 50_000 {
				close(stop)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	stats, err := Run(context.Background(), g, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !out.finished {
		t.Fatal("the sink did not finish")
	}
	for _, wm := range out.watermarks {
		if wm == op.MaxWatermark {
			t.Fatal("a stopped run sent the final watermark")
		}
	}
	s, _ := stats.Node("tx")
	if s.Read != out.rows || s.Read != s.Accepted {
		t.Fatalf("read %d, accepted %d, sink got %d", s.Read, s.Accepted, out.rows)
	}
}

// TestCheckFailuresNameTheirLine reads a JSONL file whole and cut into byte ranges, whose
// readers number their lines only when a check fails a row: each dead letter names the
// line its row came from, and both reads fail the same rows.
func TestCheckFailuresNameTheirLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tx.jsonl")
	cfg := gen.DefaultConfig()
	cfg.Rows = 40_000 // about one row in 5,000 fails the check
	f, err := format.CreateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gen.Write(context.Background(), cfg, f, format.JSONL, format.WriteOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(body), "\n")
	failed := map[int]int{} // dead letters by the number of the file's partitions
	for _, split := range []int64{0, int64(len(body))/5 + 1} {
		var options []source.FileOption
		if split > 0 {
			options = append(options, source.WithSplitBytes(split))
		}
		src, err := source.NewFile(path, "", schema.Transaction(), format.ReadOptions{BatchRows: 64}, options...)
		if err != nil {
			t.Fatal(err)
		}
		n := &Node{Name: "tx", Parallelism: 2, Source: src, Watermarks: WatermarkPolicy{EventTime: schema.TS}, Checks: []Check{smallAmount{}}}
		var got []format.DeadLetter
		collect := &Node{Name: "dead", Parallelism: 1, Operator: func(int) (op.Operator, error) { return &deadLetters{got: &got}, nil }}
		g := &Graph{Nodes: []*Node{n, collect}, Edges: []*Edge{{From: n, FromPort: DeadLetterPort, To: collect, Partitioning: Rebalance}}}
		if _, err := Run(context.Background(), g, DefaultOptions()); err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			t.Fatal("no row failed the check")
		}
		later := false // a dead letter of a range after the first, which counted its lines
		for _, d := range got {
			if d.Line < 1 || !strings.Contains(lines[d.Line-1], `"amount":0.`) {
				t.Fatalf("%d partitions: dead letter at line %d, which holds %s", src.Partitions(), d.Line, lines[max(0, d.Line-1)])
			}
			later = later || split > 0 && d.Line > int64(strings.Count(string(body[:split]), "\n"))+1
		}
		if split > 0 && !later {
			t.Fatal("no row of a later range failed the check")
		}
		failed[src.Partitions()] = len(got)
	}
	if len(failed) != 2 || failed[1] != failed[5] || failed[1] < 5 {
		t.Fatalf("dead letters by partitions: %v, want as many from 1 as from 5, several", failed)
	}
}

// TestACheckThatCannotBeEvaluatedMakesDeadLetters: a row on which a check fails to
// evaluate becomes a dead letter with the error, the other rows of its batch go on; with
// FailOnError the run fails instead.
func TestACheckThatCannotBeEvaluatedMakesDeadLetters(t *testing.T) {
	cfg := gen.DefaultConfig()
	cfg.Rows = 5000
	for _, fail := range []bool{false, true} {
		src := genNode(t, "tx", 1, cfg, 1, 0, smallAmountFails{})
		src.FailOnError = fail
		var got []format.DeadLetter
		collect := &Node{Name: "dead", Parallelism: 1, Operator: func(int) (op.Operator, error) { return &deadLetters{got: &got}, nil }}
		var out sinkResult
		kept := out.node("out")
		g := &Graph{Nodes: []*Node{src, collect, kept}, Edges: []*Edge{
			{From: src, FromPort: DeadLetterPort, To: collect}, {From: src, To: kept}}}
		st, err := Run(context.Background(), g, DefaultOptions())
		if fail {
			if err == nil || !strings.Contains(err.Error(), "amount under 1.00") {
				t.Fatalf("with FailOnError: %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		rows := out.rows
		for _, d := range got {
			if d.Reason != "check failed: CAST(amount AS int8) > 0: amount under 1.00 is not an int8 above 0" {
				t.Fatalf("dead letter reason %q", d.Reason)
			}
		}
		small := len(got) // rows with an amount under 1.00
		if r, _ := st.Node("tx"); small == 0 || rows+int64(small) != cfg.Rows || r.Read != cfg.Rows {
			t.Fatalf("%d rows and %d dead letters of %d read", rows, small, r.Read)
		}
	}
}

// deadLetters collects dead-letter rows as DeadLetter values (file, line, reason).
type deadLetters struct {
	op.Base
	got *[]format.DeadLetter
}

func (d *deadLetters) Process(_ int, rec arrow.RecordBatch, _ op.Collector) error {
	defer rec.Release()
	line := rec.Column(1).(*array.Int64)
	for i := range int(rec.NumRows()) {
		*d.got = append(*d.got, format.DeadLetter{File: rec.Column(0).ValueStr(i), Line: line.Value(i), Reason: rec.Column(6).ValueStr(i)})
	}
	return nil
}

// TestAStepThatCannotBeMadeFailsTheRunAtOnce: an operator factory's error ends the run
// before any subtask starts, naming the step and subtask.
func TestAStepThatCannotBeMadeFailsTheRunAtOnce(t *testing.T) {
	cfg := gen.DefaultConfig()
	cfg.Rows = 1000
	src := genNode(t, "tx", 1, cfg, 1, 0)
	bad := &Node{Name: "bad", Parallelism: 2, Operator: func(sub int) (op.Operator, error) {
		if sub == 1 {
			return nil, errors.New("no such sink directory")
		}
		return op.NewMap(nil, nil, nil), nil
	}}
	g := &Graph{Nodes: []*Node{src, bad}, Edges: []*Edge{{From: src, To: bad, Partitioning: Rebalance}}}
	st, err := Run(context.Background(), g, DefaultOptions())
	if err == nil || err.Error() != "bad[1]: no such sink directory" || st != nil {
		t.Fatalf("got %v, %v", st, err)
	}
}

// endlessSource is a source that never ends; the test that uses it asks only its capabilities.
type endlessSource struct{ source.Source }

func (endlessSource) Capabilities() source.Capabilities { return source.Capabilities{} }

// TestFedByBoundedSources checks which steps get the shallow input channels of a step that
// only bounded sources feed.
func TestFedByBoundedSources(t *testing.T) {
	file := &Node{Name: "file", Parallelism: 1, Source: &counter{parts: 1}}
	broker := &Node{Name: "broker", Parallelism: 1, Source: endlessSource{}}
	view := &Node{Name: "view", Parallelism: 1, Operator: func(int) (op.Operator, error) { return nil, nil }}
	after := &Node{Name: "after", Parallelism: 1, Operator: view.Operator}
	live := &Node{Name: "live", Parallelism: 1, Operator: view.Operator}
	mixed := &Node{Name: "mixed", Parallelism: 1, Operator: view.Operator}
	g := &Graph{Nodes: []*Node{file, broker, view, after, live, mixed}, Edges: []*Edge{
		{From: file, To: view}, {From: view, To: after}, {From: broker, To: live},
		{From: file, To: mixed}, {From: broker, To: mixed},
	}}
	for n, want := range map[*Node]bool{file: false, view: true, after: false, live: false, mixed: false} {
		if got := g.fedByBoundedSources(n); got != want {
			t.Errorf("fedByBoundedSources(%s) = %v, want %v", n.Name, got, want)
		}
	}
}
