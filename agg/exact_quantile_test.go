package agg

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/tools/duckdb"
)

// quantileOf runs fn(x, q) over vals (one group) and returns the result as a string:
// decimals with their scale, floats in Go's shortest form.
func quantileOf(t *testing.T, fn string, typ arrow.DataType, q any, col arrow.Array) string {
	t.Helper()
	acc, err := New(fn, []arrow.DataType{typ, arrow.PrimitiveTypes.Float64}, []any{nil, q})
	if err != nil {
		t.Fatal(err)
	}
	if err := acc.Update(make([]uint32, col.Len()), []arrow.Array{col, nil}, nil); err != nil {
		t.Fatal(err)
	}
	out := mustFinal(t, acc, []uint32{0})
	defer out.Release()
	return resultString(out, 0)
}

func resultString(out arrow.Array, i int) string {
	if out.IsNull(i) {
		return "NULL"
	}
	switch a := out.(type) {
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10)
	case *array.Decimal128:
		return a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'g', -1, 64)
	case *array.Float32:
		return strconv.FormatFloat(float64(a.Value(i)), 'g', -1, 32)
	}
	return out.ValueStr(i)
}

func centsColumn(t *testing.T, cents ...int64) arrow.Array {
	nums := make([]decimal128.Num, len(cents))
	for i, c := range cents {
		nums[i] = decimal128.FromI64(c)
	}
	return decimalColumn(t, dec18_2, nums)
}

// TestQuantileDefinitions pins quantile_disc and quantile_cont on small groups to the answers
// DuckDB gives for the same values: q = 0 and 1, the median of an even count (the lower
// value for quantile_disc, the midpoint for quantile_cont), and decimals interpolated in
// decimal, rounded down to the column's scale.
func TestQuantileDefinitions(t *testing.T) {
	ints := int64Column(4, 2, 1, 3)
	defer ints.Release()
	money := centsColumn(t, 307, 101, 502, 200)
	defer money.Release()
	negative := centsColumn(t, -2, -5)
	defer negative.Release()
	unit := centsColumn(t, 100, 0)
	defer unit.Release()
	i64 := arrow.PrimitiveTypes.Int64
	cases := []struct {
		fn   string
		typ  arrow.DataType
		col  arrow.Array
		q    any
		want string
	}{
		{"quantile_disc", i64, ints, 0.0, "1"},
		{"quantile_disc", i64, ints, 0.25, "1"},
		{"quantile_disc", i64, ints, 0.5, "2"},
		{"quantile_disc", i64, ints, 0.99, "4"},
		{"quantile_disc", i64, ints, 1.0, "4"},
		{"quantile", i64, ints, 0.5, "2"},
		{"quantile_cont", i64, ints, 0.0, "1"},
		{"quantile_cont", i64, ints, 0.25, "1.75"},
		{"quantile_cont", i64, ints, 0.5, "2.5"},
		{"quantile_cont", i64, ints, 0.99, "3.9699999999999998"},
		{"quantile_cont", i64, ints, 1.0, "4"},
		{"quantile_disc", dec18_2, money, 0.5, "2.00"},
		{"quantile_disc", dec18_2, money, 0.99, "5.02"},
		{"quantile_cont", dec18_2, money, 0.5, "2.53"},
		{"quantile_cont", dec18_2, money, 0.99, "4.96"},
		{"quantile_cont", dec18_2, money, 1.0, "5.02"},
		{"quantile_cont", dec18_2, negative, 0.5, "-0.04"},
		{"quantile_cont", dec18_2, negative, 0.3, "-0.05"},
		{"quantile_cont", dec18_2, unit, 0.29, "0.28"},
		{"quantile_cont", dec18_2, unit, 0.57, "0.56"},
	}
	for _, c := range cases {
		if got := quantileOf(t, c.fn, c.typ, c.q, c.col); got != c.want {
			t.Errorf("%s(%v, %v) = %s, want %s", c.fn, c.col, c.q, got, c.want)
		}
	}
}

// TestQuantileDiscOfSmallWindowsIsTheLargest is the case of a window of 2 to 5 transactions:
// its p99 is its largest amount, for quantile and quantile_disc alike.
func TestQuantileDiscOfSmallWindowsIsTheLargest(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for n := 2; n <= 5; n++ {
		for range 50 {
			cents := make([]int64, n)
			largest := int64(math.MinInt64)
			for i := range cents {
				cents[i] = r.Int64N(100_000) - 1000
				largest = max(largest, cents[i])
			}
			col := centsColumn(t, cents...)
			want := decimal128.FromI64(largest).ToString(2)
			for _, fn := range []string{"quantile", "quantile_disc"} {
				if got := quantileOf(t, fn, dec18_2, 0.99, col); got != want {
					t.Fatalf("%s of %v at 0.99 = %s, want the largest, %s", fn, cents, got, want)
				}
			}
			col.Release()
		}
	}
}

// TestBooleanSumAvgCountIf checks that sum, avg and count_if take booleans with true as 1,
// skipping nulls, over plain and repeated row selections.
func TestBooleanSumAvgCountIf(t *testing.T) {
	b := array.NewBooleanBuilder(memory.DefaultAllocator)
	b.AppendValues([]bool{true, false, true, true, false, false}, []bool{true, true, true, false, true, true})
	col := b.NewArray()
	b.Release()
	defer col.Release()
	// group 0: true, false, true (twice through rows), null; group 1: false, false.
	groups := []uint32{0, 0, 0, 0, 0, 1, 1}
	rows := []int32{0, 1, 2, 2, 3, 4, 5}
	want := map[string]string{"sum": "3 0", "avg": "0.75 0", "count_if": "3 0"}
	for fn, w := range want {
		acc, err := New(fn, []arrow.DataType{arrow.FixedWidthTypes.Boolean}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := acc.Update(groups, []arrow.Array{col}, rows); err != nil {
			t.Fatal(err)
		}
		out := mustFinal(t, acc, []uint32{0, 1})
		if got := resultString(out, 0) + " " + resultString(out, 1); got != w {
			t.Errorf("%s over booleans = %s, want %s", fn, got, w)
		}
		out.Release()
	}
}

// quantileSample is a file of groups of 1 to 6 values (many small windows) and a few of
// hundreds to thousands, with repeated values, negative amounts, int64 and float64 columns.
type quantileSample struct {
	groups  []uint32
	cents   []int64
	ints    []int64
	floats  []float64
	nGroups int
}

func newQuantileSample(r *rand.Rand) quantileSample {
	var s quantileSample
	add := func(g, n int) {
		for range n {
			s.groups = append(s.groups, uint32(g))
			c := r.Int64N(200_000) - 20_000
			if r.IntN(4) == 0 {
				c = r.Int64N(5) * 100 // repeats
			}
			s.cents = append(s.cents, c)
			s.ints = append(s.ints, r.Int64N(2e12)-1e12)
			s.floats = append(s.floats, r.NormFloat64()*1000)
		}
	}
	g := 0
	for ; g < 300; g++ {
		add(g, 1+g%6)
	}
	for _, n := range []int{100, 101, 999, 1000, 4999} {
		add(g, n)
		g++
	}
	s.nGroups = g
	return s
}

// wide is row i's value of a decimal(38,6) column, beyond what float64 holds exactly.
func (s quantileSample) wide(i int) decimal128.Num {
	return decimal128.FromI64(s.ints[i]).Mul(decimal128.FromI64(1_000_003))
}

func (s quantileSample) writeCSV(t *testing.T, path string) {
	var sb strings.Builder
	sb.WriteString("g,amount,n,f,big\n")
	for i, g := range s.groups {
		fmt.Fprintf(&sb, "%d,%s,%d,%s,%s\n", g, decimal128.FromI64(s.cents[i]).ToString(2), s.ints[i],
			strconv.FormatFloat(s.floats[i], 'g', -1, 64), s.wide(i).ToString(6))
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestQuantilesMatchDuckDB writes a sample file, asks DuckDB for quantile_disc and
// quantile_cont of its decimal(18,2), decimal(38,6), int64 and float64 columns per group, and checks that ours
// give the very same answers, for q from 0 to 1 (0.333 included: neither a round rank nor a
// round fraction).
func TestQuantilesMatchDuckDB(t *testing.T) {
	s := newQuantileSample(rand.New(rand.NewPCG(18, 4)))
	path := filepath.Join(t.TempDir(), "sample.csv")
	s.writeCSV(t, path)

	qs := []string{"0", "0.25", "0.333", "0.5", "0.9", "0.99", "1"}
	wides := make([]decimal128.Num, len(s.groups))
	for i := range wides {
		wides[i] = s.wide(i)
	}
	cols := []struct {
		name string
		typ  arrow.DataType
		arr  arrow.Array
	}{
		{"amount", dec18_2, centsColumn(t, s.cents...)},
		{"n", arrow.PrimitiveTypes.Int64, int64Column(s.ints...)},
		{"f", arrow.PrimitiveTypes.Float64, floatColumn(s.floats)},
		{"big", dec38_6, decimalColumn(t, dec38_6, wides)},
	}
	var sel []string
	for qi, q := range qs {
		for _, fn := range []string{"quantile_disc", "quantile_cont"} {
			for _, c := range cols {
				sel = append(sel, fmt.Sprintf("%s(%s, %s)::VARCHAR AS %s_%s_%d", fn, c.name, q, fn, c.name, qi))
			}
		}
	}
	rows := duckdb.Query(t, "SELECT g, "+strings.Join(sel, ", ")+" FROM read_csv('"+strings.ReplaceAll(path, "'", "''")+
		"', header = true, columns = {'g': 'INTEGER', 'amount': 'DECIMAL(18,2)', 'n': 'BIGINT', 'f': 'DOUBLE', 'big': 'DECIMAL(38,6)'}) GROUP BY g ORDER BY g")
	if len(rows) != s.nGroups {
		t.Fatalf("DuckDB gave %d groups, want %d", len(rows), s.nGroups)
	}
	ids := allGroups(s.nGroups)
	mismatches := 0
	for qi, q := range qs {
		qf, _ := strconv.ParseFloat(q, 64)
		for _, fn := range []string{"quantile_disc", "quantile_cont"} {
			for _, c := range cols {
				acc, err := New(fn, []arrow.DataType{c.typ, arrow.PrimitiveTypes.Float64}, []any{nil, qf})
				if err != nil {
					t.Fatal(err)
				}
				if err := acc.Update(s.groups, []arrow.Array{c.arr, nil}, nil); err != nil {
					t.Fatal(err)
				}
				out := mustFinal(t, acc, ids)
				key := fmt.Sprintf("%s_%s_%d", fn, c.name, qi)
				for g := range s.nGroups {
					want := fmt.Sprint(rows[g][key])
					got := resultString(out, g)
					if !sameAnswer(c.typ, got, want) {
						mismatches++
						if mismatches <= 10 {
							t.Errorf("group %d: %s(%s, %s) = %s, DuckDB says %s", g, fn, c.name, q, got, want)
						}
					}
				}
				out.Release()
			}
		}
	}
	if mismatches > 0 {
		t.Errorf("%d answers differ from DuckDB's", mismatches)
	}
	for _, c := range cols {
		c.arr.Release()
	}
}

// sameAnswer compares our answer with DuckDB's VARCHAR of it: decimals and integers as
// text, floats as the float64 each text reads as (DuckDB may print fewer or more digits).
// quantile_cont of decimals wider than 18 digits is computed in float64, where DuckDB's
// float arithmetic on its 128-bit integers rounds differently in the last bits: those agree to
// 14 significant digits.
func sameAnswer(typ arrow.DataType, got, want string) bool {
	if d, ok := typ.(*arrow.Decimal128Type); ok && d.Precision > 18 && got != want {
		g, ok1 := new(big.Float).SetString(got)
		w, ok2 := new(big.Float).SetString(want)
		if !ok1 || !ok2 {
			return false
		}
		wf, _ := w.Float64()
		diff, _ := new(big.Float).Sub(g, w).Float64()
		return math.Abs(diff) <= 1e-14*math.Abs(wf)
	}
	if typ.ID() == arrow.DECIMAL128 || got == want {
		return got == want
	}
	g, err1 := strconv.ParseFloat(got, 64)
	w, err2 := strconv.ParseFloat(want, 64)
	return err1 == nil && err2 == nil && g == w
}

func floatColumn(vals []float64) arrow.Array {
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(vals, nil)
	return b.NewArray()
}

func BenchmarkQuantileDiscDecimal(b *testing.B) { benchUpdate(b, "quantile_disc", dec18_2) }

func BenchmarkQuantileContFloat(b *testing.B) {
	benchUpdate(b, "quantile_cont", arrow.PrimitiveTypes.Float64)
}

// BenchmarkQuantileDiscFinal gives 1,000 groups 1,000 values each and reads their answers.
func BenchmarkQuantileDiscFinal(b *testing.B) {
	const rows, nGroups = 1 << 20, 1 << 10
	arg, groups := benchBatch(dec18_2, rows, nGroups)
	defer arg.Release()
	all := make([]uint32, nGroups)
	for i := range all {
		all[i] = uint32(i)
	}
	acc, err := newFor("quantile_disc", dec18_2)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := acc.Update(groups, []arrow.Array{arg}, nil); err != nil {
			b.Fatal(err)
		}
		res, err := acc.Final(all)
		if err != nil {
			b.Fatal(err)
		}
		res.Release()
		acc.Reset(all)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/value")
}
