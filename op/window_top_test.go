package op

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestWindowTopKeepsTheLargestRowsPerWindow(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	s := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "end", Type: tsType},
		{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	top := NewWindowTop(1, 2)
	var out collect
	b1 := batch(t, mem, s, []string{"a", "b", "c", "d"}, []string{"1970-01-01T00:00:10Z", "1970-01-01T00:00:10Z", "1970-01-01T00:00:20Z", "1970-01-01T00:00:10Z"}, []string{"5", "7", "1", "NULL"})
	b2 := batch(t, mem, s, []string{"e", "f", "g"}, []string{"1970-01-01T00:00:10Z", "1970-01-01T00:00:20Z", "1970-01-01T00:00:20Z"}, []string{"7", "3", "3"})
	for _, b := range []arrow.RecordBatch{b1, b2} {
		if err := top.Process(0, b, &out); err != nil {
			t.Fatal(err)
		}
	}
	if err := top.OnWatermark(10_000, &out); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(out.rows(0), ","); got != "b,e" {
		t.Fatalf("window 10s: %s", got)
	}
	if err := top.OnWatermark(MaxWatermark, &out); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(out.rows(0), ","); got != "b,e,f,g" {
		t.Fatalf("all windows: %s", got)
	}
	for _, r := range out.recs {
		r.Release()
	}
	if err := top.Close(); err != nil {
		t.Fatal(err)
	}
}

// topIn is the input of the window top tests: a row id, its window's end and a value.
var topIn = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.BinaryTypes.String},
	{Name: "end", Type: tsType},
	{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
}, nil)

// topStream makes batches of rows in the next few 10-second windows, with few distinct
// values so that windows hold ties, and watermarks in between.
func topStream(r *rand.Rand, mem memory.Allocator, batches int) []msg {
	var msgs []msg
	now, wm, id := int64(0), int64(MinWatermark), 0
	for range batches {
		b := array.NewRecordBuilder(mem, topIn)
		for range 1 + r.IntN(30) {
			id++
			b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("r%d", id))
			b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp((now/10_000 + 1 + r.Int64N(3)) * 10_000))
			if r.IntN(10) == 0 {
				b.Field(2).AppendNull()
			} else {
				b.Field(2).(*array.Int64Builder).Append(r.Int64N(6))
			}
		}
		msgs = append(msgs, msg{rec: b.NewRecordBatch()})
		b.Release()
		now += r.Int64N(8000)
		if r.IntN(2) == 0 && now-5000 > wm {
			wm = now - 5000
			msgs = append(msgs, msg{wm: wm})
		}
	}
	return append(msgs, msg{wm: MaxWatermark})
}

func TestWindowTopResumesFromASnapshot(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(4, 4))
	msgs := topStream(r, mem, 40)
	defer releaseStream(msgs)
	fresh := func() Operator {
		w := NewWindowTop(1, 2)
		if err := w.Open(Context{Mem: mem}); err != nil {
			t.Fatal(err)
		}
		return w
	}
	checkResumes(t, fresh, msgs, stops(r, len(msgs)))
}

func TestWindowTopRestoreChecksTheRows(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	top := NewWindowTop(1, 2)
	// Rows of two windows in one batch cannot be a window's held rows.
	rec := batch(t, mem, topIn, []string{"a", "b"}, []string{"1970-01-01T00:00:10Z", "1970-01-01T00:00:20Z"}, []string{"5", "5"})
	defer rec.Release()
	w := newStateWriter(kindWindowTop, windowTopStateVersion, 1, top.StateFingerprint())
	if err := w.records(mem, topIn, rec); err != nil {
		t.Fatal(err)
	}
	err := top.Restore(w.seal())
	if err == nil || !strings.Contains(err.Error(), "differ in window end or value") {
		t.Fatalf("got %v", err)
	}
	if err := top.Close(); err != nil {
		t.Fatal(err)
	}
	other := NewWindowTop(1, 0)
	state, err := top.Snapshot(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Restore(state); err == nil || !strings.Contains(err.Error(), "fingerprint") {
		t.Fatalf("restore into a window top over other columns: got %v", err)
	}
}
