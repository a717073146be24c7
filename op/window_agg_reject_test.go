package op

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/window"
)

// A row that would overflow a sum in one of its hopping windows is added to none of them; a
// window that only it reached is not emitted, nor kept in a checkpoint, nor spilled to disk
// by the pebble backend.
func TestWindowAggRejectsTheRowThatWouldOverflow(t *testing.T) {
	for _, spilling := range []bool{false, true} {
		t.Run(map[bool]string{false: "memory", true: "pebble"}[spilling], func(t *testing.T) { checkRejectsTheRowThatWouldOverflow(t, spilling) })
	}
}

func checkRejectsTheRowThatWouldOverflow(t *testing.T, spilling bool) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	in := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.BinaryTypes.String}, {Name: "ts", Type: tsType}, {Name: "n", Type: arrow.PrimitiveTypes.Int64}}, nil)
	spec := window.Spec{Kind: window.Hop, Size: 2 * time.Second, Every: time.Second}
	calls := []AggCall{{Name: "count", Text: "count(*)"}, {Name: "sum", Text: "sum(n)", Args: []int{2}, ArgTypes: []arrow.DataType{arrow.PrimitiveTypes.Int64}}}
	cfg := WindowAggConfig{Window: spec, Keys: 1, Time: 1, Calls: calls, Phase: Single, RejectOverflow: true}
	if spilling {
		cfg.Spill = &SpillConfig{Dir: t.TempDir(), Above: 1}
	}
	w, err := NewWindowAgg(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w.cfg.Out = outSchema(false, w)
	var out, errs collect
	if err := w.Open(Context{Mem: mem, Errors: &errs}); err != nil {
		t.Fatal(err)
	}
	// Row 0 fills windows [-1s,1s) and [0s,2s) of key x; row 1, at 1.5s, would overflow
	// [0s,2s) and alone reaches [1s,3s); row 2 is key y.
	rec := batch(t, mem, in, []string{"x", "x", "y"}, []string{"1970-01-01T00:00:00.5Z", "1970-01-01T00:00:01.5Z", "1970-01-01T00:00:01.5Z"},
		[]string{"9223372036854775807", "1", "3"})
	if err := w.Process(0, rec, &out); err != nil {
		t.Fatal(err)
	}
	if spilling && (w.SpilledBytes() == 0 || w.Groups() != 0) {
		t.Fatalf("with a threshold of 1 byte, %d bytes were spilled and %d groups kept", w.SpilledBytes(), w.Groups())
	}
	if len(errs.recs) != 1 || errs.recs[0].NumRows() != 1 {
		t.Fatalf("error rows %v, want one", errs.recs)
	}
	e := errs.recs[0]
	if row, ex, reason := e.Column(0).ValueStr(0), e.Column(1).ValueStr(0), e.Column(2).ValueStr(0); !strings.Contains(row, `"k":"x"`) || !strings.Contains(row, `"n":1`) ||
		ex != "sum(n)" || !strings.Contains(reason, "overflows int64") {
		t.Errorf("error row %s | %s | %s", row, ex, reason)
	}
	state, err := w.Snapshot(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.OnWatermark(math.MaxInt64, &out); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(windows(out.recs), "\n")
	want := strings.Join([]string{
		"x 1969-12-31T23:59:59 1 9223372036854775807",
		"x 1970-01-01T00:00:00 1 9223372036854775807",
		"y 1970-01-01T00:00:00 1 3",
		"y 1970-01-01T00:00:01 1 3",
	}, "\n")
	if got != want {
		t.Errorf("windows:\n%s\nwant:\n%s", got, want)
	}

	// The checkpoint taken before the windows fired holds the same windows.
	again, _ := NewWindowAgg(w.cfg)
	if err := again.Open(Context{Mem: mem, Errors: &errs}); err != nil {
		t.Fatal(err)
	}
	if err := again.Restore(state); err != nil {
		t.Fatal(err)
	}
	var restored collect
	if err := again.OnWatermark(math.MaxInt64, &restored); err != nil {
		t.Fatal(err)
	}
	if g := strings.Join(windows(restored.recs), "\n"); g != want {
		t.Errorf("windows after restore:\n%s\nwant:\n%s", g, want)
	}
	for _, r := range append(append(out.recs, errs.recs...), restored.recs...) {
		r.Release()
	}
	if err := errors.Join(w.Close(), again.Close()); err != nil {
		t.Fatal(err)
	}
}

// windows renders window rows as key, window start (to the second), count and sum, sorted.
func windows(recs []arrow.RecordBatch) []string {
	var out []string
	for _, r := range recs {
		for i := range int(r.NumRows()) {
			start := r.Column(1).ValueStr(i)
			out = append(out, r.Column(0).ValueStr(i)+" "+start[:19]+" "+r.Column(3).ValueStr(i)+" "+r.Column(4).ValueStr(i))
		}
	}
	slices.Sort(out)
	return out
}
