package expr

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// rows renders a batch as one line per row.
func rows(rec arrow.RecordBatch) []string {
	out := make([]string, rec.NumRows())
	for i := range out {
		var cells []string
		for c := 0; c < int(rec.NumCols()); c++ {
			cells = append(cells, renderValue(rec.Column(c), i))
		}
		out[i] = strings.Join(cells, ",")
	}
	return out
}

func filterFixture(t *testing.T) arrow.RecordBatch {
	return batch(t,
		col{"n", "int32", []any{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		col{"s", "string", []any{"a", nil, "ccc", "", "e", "ff", "g", nil, "i", "jj"}},
		col{"b", "bool", []any{true, false, nil, true, false, true, nil, false, true, true}},
		col{"d", "decimal(18,2)", []any{"1.00", "2.50", nil, "-4.00", "5.55", "6.00", "7.70", "8.00", nil, "10.01"}},
		col{"f", "float64", []any{1.5, nil, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5, nil}},
		col{"j", "int64", []any{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}},
		col{"ts", "timestamp", []any{"2024-01-01T00:00:00Z", nil, "2024-01-03T00:00:00Z", "2024-01-04T00:00:00Z", "2024-01-05T00:00:00Z", "2024-01-06T00:00:00Z", "2024-01-07T00:00:00Z", "2024-01-08T00:00:00Z", "2024-01-09T00:00:00Z", "2024-01-10T00:00:00Z"}},
		col{"dt", "date", []any{"2024-01-01", "2024-01-02", "2024-01-03", nil, "2024-01-05", "2024-01-06", "2024-01-07", "2024-01-08", "2024-01-09", "2024-01-10"}},
	)
}

func TestFilter(t *testing.T) {
	rec := filterFixture(t)
	defer rec.Release()
	all := rows(rec)
	for src, keep := range map[string][]int{
		"n % 2 = 0":                   {1, 3, 5, 7, 9},
		"b":                           {0, 3, 5, 8, 9},
		"NOT b":                       {1, 4, 7},
		"d > 2":                       {1, 4, 5, 6, 7, 9},
		"s LIKE '%'":                  {0, 2, 3, 4, 5, 6, 8, 9},
		"f IS NULL":                   {1, 9},
		"n > 100":                     {},
		"n > 0":                       {0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		"NULL":                        {},
		"b OR n = 3":                  {0, 2, 3, 5, 8, 9},
		"dt IS NULL":                  {3},
		"ts < '2024-01-04T00:00:00Z'": {0, 2},
	} {
		e, err := CompileString(src, rec.Schema())
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.Filter(rec)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		var want []string
		for _, i := range keep {
			want = append(want, all[i])
		}
		if got := rows(out); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", src, got, want)
		}
		if !out.Schema().Equal(rec.Schema()) {
			t.Errorf("%s: schema changed", src)
		}
		if len(keep) == 10 && out != rec {
			t.Errorf("%s: keeping every row should return the batch itself", src)
		}
		out.Release()
	}
	if e, _ := CompileString("n + 1", rec.Schema()); e != nil {
		if _, err := e.Filter(rec); err == nil || !strings.Contains(err.Error(), "predicate is int64, not bool") {
			t.Errorf("non-bool predicate: %v", err)
		}
	}
}

// TestFilterSliced filters a batch whose arrays start at an offset, with validity and bool
// bitmaps that are not byte aligned.
func TestFilterSliced(t *testing.T) {
	rec := filterFixture(t)
	defer rec.Release()
	sliced := rec.NewSlice(3, 9)
	defer sliced.Release()
	e, err := CompileString("j >= 50", sliced.Schema())
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Filter(sliced)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	all := rows(rec)
	if got, want := strings.Join(rows(out), "\n"), strings.Join(all[4:9], "\n"); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestFilterBatch(t *testing.T) {
	rec := filterFixture(t)
	defer rec.Release()
	mb := array.NewBooleanBuilder(memory.DefaultAllocator)
	defer mb.Release()
	mb.AppendValues([]bool{true, true, false, true, false, false, true, true, false, true}, []bool{true, false, true, true, true, true, true, true, true, true})
	mask := mb.NewBooleanArray()
	defer mask.Release()
	out, err := FilterBatch(rec, mask)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	if got := rows(out); len(got) != 5 || got[0] != rows(rec)[0] || got[1] != rows(rec)[3] {
		t.Errorf("got %q", got)
	}
	short := array.NewBooleanBuilder(memory.DefaultAllocator)
	defer short.Release()
	short.Append(true)
	sm := short.NewBooleanArray()
	defer sm.Release()
	if _, err := FilterBatch(rec, sm); err == nil {
		t.Error("a mask of the wrong length was accepted")
	}
}

func BenchmarkFilter(b *testing.B) {
	rec := transactions(benchRows, 1)
	defer rec.Release()
	e, err := CompileString("amount > 100 AND channel <> 'test'", rec.Schema())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		out, err := e.Filter(rec)
		if err != nil {
			b.Fatal(err)
		}
		out.Release()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchRows, "ns/row")
}
