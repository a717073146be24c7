package op

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/window"
)

var (
	tsType  = &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	amtType = &arrow.Decimal128Type{Precision: 18, Scale: 2}
	rawIn   = arrow.NewSchema([]arrow.Field{
		{Name: "card", Type: arrow.BinaryTypes.String},
		{Name: "ts", Type: tsType},
		{Name: "amount", Type: amtType},
	}, nil)
)

// rawBatch makes n rows over a few cards and a few minutes, in time order from t0.
func rawBatch(r *rand.Rand, n int, t0 int64) (arrow.RecordBatch, int64) {
	b := array.NewRecordBuilder(memory.DefaultAllocator, rawIn)
	defer b.Release()
	t := t0
	for range n {
		t += r.Int64N(3000)
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("c%d", r.IntN(7)))
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(t))
		b.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(r.Int64N(100000) - 500))
	}
	return b.NewRecordBatch(), t
}

func outSchema(states bool, w *WindowAgg) *arrow.Schema {
	f := []arrow.Field{{Name: "card", Type: arrow.BinaryTypes.String}, {Name: "window_start", Type: tsType}}
	if states {
		for i, t := range w.StateTypes() {
			f = append(f, arrow.Field{Name: fmt.Sprintf("s%d", i), Type: t, Nullable: true})
		}
		return arrow.NewSchema(f, nil)
	}
	f = append(f, arrow.Field{Name: "window_end", Type: tsType})
	for i, t := range w.ResultTypes() {
		f = append(f, arrow.Field{Name: fmt.Sprintf("r%d", i), Type: t, Nullable: true})
	}
	return arrow.NewSchema(f, nil)
}

func newAgg(t *testing.T, spec window.Spec, phase Phase) *WindowAgg {
	t.Helper()
	calls := []AggCall{{Name: "count"}, {Name: "sum", Args: []int{2}, ArgTypes: []arrow.DataType{amtType}}}
	if phase == Final {
		calls = []AggCall{{Name: "count"}, {Name: "sum", ArgTypes: []arrow.DataType{amtType}}}
	}
	w, err := NewWindowAgg(WindowAggConfig{Window: spec, Keys: 1, Time: 1, Calls: calls, Phase: phase})
	if err != nil {
		t.Fatal(err)
	}
	w.cfg.Out = outSchema(phase == Partial, w)
	if err := w.Open(Context{Mem: memory.DefaultAllocator}); err != nil {
		t.Fatal(err)
	}
	return w
}

// results renders fired rows as "card start end count sum", keyed for comparison.
func results(recs []arrow.RecordBatch) map[string]string {
	out := map[string]string{}
	for _, r := range recs {
		for i := range int(r.NumRows()) {
			k := r.Column(0).ValueStr(i) + "@" + r.Column(1).ValueStr(i)
			if _, dup := out[k]; dup {
				panic("window fired twice: " + k)
			}
			sum := r.Column(4).(*array.Decimal128)
			out[k] = r.Column(2).ValueStr(i) + " " + r.Column(3).ValueStr(i) + " " + sum.Value(i).ToString(sum.DataType().(*arrow.Decimal128Type).Scale)
		}
	}
	return out
}

// reference computes the windows row by row.
func reference(recs []arrow.RecordBatch, spec window.Spec) map[string]string {
	type acc struct {
		n   int64
		sum decimal128.Num
	}
	m := map[string]*acc{}
	ends := map[string]int64{}
	size, every := spec.Size.Milliseconds(), spec.Every.Milliseconds()
	if every == 0 {
		every = size
	}
	for _, r := range recs {
		for i := range int(r.NumRows()) {
			ts := int64(r.Column(1).(*array.Timestamp).Value(i))
			for s := ts - ts%every - size + every; s <= ts; s += every {
				if s+size <= ts {
					continue
				}
				k := r.Column(0).ValueStr(i) + "@" + time.UnixMilli(s).UTC().Format("2006-01-02T15:04:05Z")
				if m[k] == nil {
					m[k] = &acc{}
				}
				m[k].n++
				m[k].sum = m[k].sum.Add(r.Column(2).(*array.Decimal128).Value(i))
				ends[k] = s + size
			}
		}
	}
	out := map[string]string{}
	for k, a := range m {
		out[k] = time.UnixMilli(ends[k]).UTC().Format("2006-01-02T15:04:05Z") + " " + fmt.Sprint(a.n) + " " + a.sum.ToString(2)
	}
	return out
}

func TestWindowAggMatchesReference(t *testing.T) {
	specs := []window.Spec{{Kind: window.Tumble, Size: time.Minute}, {Kind: window.Hop, Size: 5 * time.Minute, Every: time.Minute}}
	for _, spec := range specs {
		for seed := range uint64(4) {
			r := rand.New(rand.NewPCG(seed, 9))
			var in []arrow.RecordBatch
			t0 := int64(1_700_000_000_000)
			for range 6 {
				var rec arrow.RecordBatch
				rec, t0 = rawBatch(r, 200, t0)
				in = append(in, rec)
			}
			want := reference(in, spec)

			single := newAgg(t, spec, Single)
			partial, final := newAgg(t, spec, Partial), newAgg(t, spec, Final)
			var got, states, got2 collect
			for _, rec := range in {
				rec.Retain()
				rec.Retain()
				if err := single.Process(0, rec, &got); err != nil {
					t.Fatal(err)
				}
				if err := partial.Process(0, rec, &states); err != nil {
					t.Fatal(err)
				}
				wm := int64(rec.Column(1).(*array.Timestamp).Value(int(rec.NumRows()) - 1))
				if err := single.OnWatermark(wm, &got); err != nil {
					t.Fatal(err)
				}
			}
			if err := single.OnWatermark(MaxWatermark, &got); err != nil {
				t.Fatal(err)
			}
			for _, s := range states.recs {
				if err := final.Process(0, s, &got2); err != nil {
					t.Fatal(err)
				}
			}
			if err := final.OnWatermark(MaxWatermark, &got2); err != nil {
				t.Fatal(err)
			}
			for name, g := range map[string]map[string]string{"single": results(got.recs), "two-phase": results(got2.recs)} {
				if len(g) != len(want) {
					t.Fatalf("%s %s seed %d: %d windows, want %d", spec, name, seed, len(g), len(want))
				}
				for k, v := range want {
					if g[k] != v {
						t.Fatalf("%s %s seed %d: %s = %q, want %q", spec, name, seed, k, g[k], v)
					}
				}
			}
			if single.Groups() != 0 || final.Groups() != 0 {
				t.Fatalf("state left after the final watermark: %d %d", single.Groups(), final.Groups())
			}
		}
	}
}

func TestWindowAggFiresInWatermarkOrder(t *testing.T) {
	w := newAgg(t, window.Spec{Kind: window.Tumble, Size: time.Minute}, Single)
	r := rand.New(rand.NewPCG(1, 2))
	rec, last := rawBatch(r, 100, 0)
	var out collect
	if err := w.Process(0, rec, &out); err != nil {
		t.Fatal(err)
	}
	if err := w.OnWatermark(59_999, &out); err != nil || len(out.recs) != 0 {
		t.Fatalf("fired before the first window's end: %v %d", err, len(out.recs))
	}
	if err := w.OnWatermark(60_000, &out); err != nil || len(out.recs) != 1 {
		t.Fatalf("did not fire at the end: %v", err)
	}
	for i := range int(out.recs[0].NumRows()) {
		if out.recs[0].Column(2).ValueStr(i) != "1970-01-01T00:01:00Z" {
			t.Fatalf("fired window ending %s", out.recs[0].Column(2).ValueStr(i))
		}
	}
	if last <= 60_000 {
		t.Fatalf("test data should span more than one window, ends at %d", last)
	}
}
