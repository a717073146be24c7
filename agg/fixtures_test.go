package agg

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/axiomhq/hyperloglog"
)

// Column types the tests run every function over.
var (
	dec18_2   = &arrow.Decimal128Type{Precision: 18, Scale: 2}
	dec38_6   = &arrow.Decimal128Type{Precision: 38, Scale: 6}
	tsType    = &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	dictType  = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: arrow.BinaryTypes.String}
	testTypes = []arrow.DataType{
		arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int64,
		arrow.PrimitiveTypes.Uint32, arrow.PrimitiveTypes.Float32, arrow.PrimitiveTypes.Float64,
		dec18_2, dec38_6, tsType, arrow.FixedWidthTypes.Date32, arrow.BinaryTypes.String, dictType,
	}
)

// genColumn returns a random column of typ with n rows, about nullRate of them null, and the
// Go value of each row (nil for null): int64 for integers, timestamps and dates, float64 for
// floats, decimal128.Num, or string. Floats are multiples of 1/4 small enough for sums to be
// exact in any order.
func genColumn(r *rand.Rand, typ arrow.DataType, n int, nullRate float64) (arrow.Array, []any) {
	vals := make([]any, n)
	valid := make([]bool, n)
	for i := range valid {
		valid[i] = r.Float64() >= nullRate
	}
	mem := memory.DefaultAllocator
	var arr arrow.Array
	switch typ.ID() {
	case arrow.INT8:
		arr = column(array.NewInt8Builder(mem), n, valid, vals, func() (int8, any) {
			v := int8(r.IntN(256) - 128)
			return v, int64(v)
		})
	case arrow.INT32:
		arr = column(array.NewInt32Builder(mem), n, valid, vals, func() (int32, any) {
			v := r.Int32() - r.Int32()
			return v, int64(v)
		})
	case arrow.INT64:
		arr = column(array.NewInt64Builder(mem), n, valid, vals, func() (int64, any) {
			v := r.Int64N(2e12) - 1e12
			return v, v
		})
	case arrow.UINT32:
		arr = column(array.NewUint32Builder(mem), n, valid, vals, func() (uint32, any) {
			v := r.Uint32()
			return v, int64(v)
		})
	case arrow.FLOAT32:
		arr = column(array.NewFloat32Builder(mem), n, valid, vals, func() (float32, any) {
			v := float32(r.IntN(4000)-2000) / 4
			return v, float64(v)
		})
	case arrow.FLOAT64:
		arr = column(array.NewFloat64Builder(mem), n, valid, vals, func() (float64, any) {
			v := float64(r.Int64N(4e9)-2e9) / 4
			return v, v
		})
	case arrow.DECIMAL128:
		d := typ.(*arrow.Decimal128Type)
		arr = column(array.NewDecimal128Builder(mem, d), n, valid, vals, func() (decimal128.Num, any) {
			v := decimal128.FromI64(r.Int64N(2e10) - 1e10)
			if d.Precision > 30 && r.IntN(2) == 0 {
				v = decimal128.New(r.Int64N(1<<40)-1<<39, r.Uint64()) // beyond 64 bits
			}
			return v, v
		})
	case arrow.TIMESTAMP:
		arr = column(array.NewTimestampBuilder(mem, typ.(*arrow.TimestampType)), n, valid, vals, func() (arrow.Timestamp, any) {
			v := 1_700_000_000_000 + r.Int64N(1e10) - 5e9
			return arrow.Timestamp(v), v
		})
	case arrow.DATE32:
		arr = column(array.NewDate32Builder(mem), n, valid, vals, func() (arrow.Date32, any) {
			v := r.Int32N(40000) - 20000
			return arrow.Date32(v), int64(v)
		})
	case arrow.STRING:
		arr = column(array.NewStringBuilder(mem), n, valid, vals, func() (string, any) {
			v := randomString(r)
			return v, v
		})
	case arrow.DICTIONARY:
		words := make([]string, 300)
		for i := range words {
			words[i] = randomString(r)
		}
		db := array.NewStringBuilder(mem)
		db.AppendValues(words, nil)
		dict := db.NewArray()
		db.Release()
		defer dict.Release()
		codes := column(array.NewInt16Builder(mem), n, valid, vals, func() (int16, any) {
			c := r.IntN(len(words))
			return int16(c), words[c]
		})
		defer codes.Release()
		arr = array.NewDictionaryArray(typ, codes, dict)
	default:
		panic(fmt.Sprintf("genColumn: no generator for %s", typ))
	}
	return arr, vals
}

// column builds an array of n values drawn from next, null where valid is false, recording
// each row's Go value (nil for null) in vals.
func column[T any](b interface {
	AppendValues([]T, []bool)
	NewArray() arrow.Array
	Release()
}, n int, valid []bool, vals []any, next func() (T, any)) arrow.Array {
	defer b.Release()
	vs := make([]T, n)
	for i := range vs {
		v, g := next()
		vs[i] = v
		if valid == nil || valid[i] {
			vals[i] = g
		}
	}
	b.AppendValues(vs, valid)
	return b.NewArray()
}

func randomString(r *rand.Rand) string {
	var sb strings.Builder
	for range r.IntN(12) {
		sb.WriteByte(byte('a' + r.IntN(6)))
	}
	return sb.String()
}

// call is one Update call: the group of each input, the row it reads (rows nil: row i), the
// argument column and its Go values.
type call struct {
	groups []uint32
	rows   []int32
	arg    arrow.Array
	vals   []any
}

// genCalls makes batches calls of about n rows into nGroups groups. Every other call passes
// row indices, with rows repeated as hopping windows do and some rows left out.
func genCalls(r *rand.Rand, typ arrow.DataType, batches, n, nGroups int) []call {
	calls := make([]call, batches)
	for c := range calls {
		arg, vals := genColumn(r, typ, n, 0.1)
		cl := call{arg: arg, vals: vals}
		if c%2 == 0 {
			for range n {
				cl.groups = append(cl.groups, uint32(r.IntN(nGroups)))
			}
		} else {
			cl.rows = []int32{}
			for row := range n {
				for range r.IntN(3) {
					cl.rows = append(cl.rows, int32(row))
					cl.groups = append(cl.groups, uint32(r.IntN(nGroups)))
				}
			}
		}
		calls[c] = cl
	}
	return calls
}

func releaseCalls(calls []call) {
	for _, c := range calls {
		c.arg.Release()
	}
}

// row returns the row that input i of c reads.
func (c call) row(i int) int {
	if c.rows == nil {
		return i
	}
	return int(c.rows[i])
}

// perGroup lists, for each group, the values of its inputs in the order Update sees them,
// nulls included.
func perGroup(calls []call, nGroups int) [][]any {
	out := make([][]any, nGroups)
	for _, c := range calls {
		for i, g := range c.groups {
			out[g] = append(out[g], c.vals[c.row(i)])
		}
	}
	return out
}

// feed runs calls through acc.
func feed(t testing.TB, acc Accumulator, calls []call, extra ...arrow.Array) {
	t.Helper()
	for _, c := range calls {
		if err := acc.Update(c.groups, append([]arrow.Array{c.arg}, extra...), c.rows); err != nil {
			t.Fatal(err)
		}
	}
}

func allGroups(n int) []uint32 {
	g := make([]uint32, n)
	for i := range g {
		g[i] = uint32(i)
	}
	return g
}

// cell returns row i of a result column as the Go value the references produce.
func cell(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.Int64:
		return a.Value(i)
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int8:
		return int64(a.Value(i))
	case *array.Uint32:
		return int64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	case *array.Float32:
		return float64(a.Value(i))
	case *array.Decimal128:
		return a.Value(i)
	case *array.Timestamp:
		return int64(a.Value(i))
	case *array.Date32:
		return int64(a.Value(i))
	case *array.String:
		return a.Value(i)
	}
	panic(fmt.Sprintf("cell: no conversion for %s", a.DataType()))
}

// reference computes fn over one group's values (nulls included) the straightforward way.
func reference(t testing.TB, fn string, q float64, in arrow.DataType, all []any) any {
	var vals []any
	for _, v := range all {
		if v != nil {
			vals = append(vals, v)
		}
	}
	switch fn {
	case "count(*)":
		return int64(len(all))
	case "count":
		return int64(len(vals))
	case "count_distinct":
		seen := map[string]bool{}
		for _, v := range vals {
			seen[string(rawBytes(in, v))] = true
		}
		return int64(len(seen))
	case "approx_count_distinct":
		sk := hyperloglog.New14()
		for _, v := range vals {
			sk.Insert(rawBytes(in, v))
		}
		return int64(sk.Estimate())
	}
	if len(vals) == 0 {
		return nil
	}
	switch fn {
	case "sum", "avg":
		return refSum(fn, in, vals)
	case "min", "max":
		best := vals[0]
		for _, v := range vals[1:] {
			if c := compareValues(v, best); (fn == "min" && c < 0) || (fn == "max" && c > 0) {
				best = v
			}
		}
		return best
	case "quantile_disc":
		sortValues(vals)
		n := len(vals)
		return vals[max((n*9+9)/10, 1)-1] // ceil(n*0.9) - 1
	case "quantile_cont":
		sortValues(vals)
		return refQuantileCont(in, vals, q)
	case "approx_quantile":
		sk, err := ddsketch.LogUnboundedDenseDDSketch(0.01)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			if err := sk.Add(toFloat(in, v)); err != nil {
				t.Fatal(err)
			}
		}
		got, err := sk.GetValueAtQuantile(q)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	t.Fatalf("reference: unknown function %s", fn)
	return nil
}

func refSum(fn string, in arrow.DataType, vals []any) any {
	n := int64(len(vals))
	switch in.ID() {
	case arrow.FLOAT32, arrow.FLOAT64:
		var s float64
		for _, v := range vals {
			s += v.(float64)
		}
		if fn == "avg" {
			return s / float64(n)
		}
		return s
	case arrow.DECIMAL128:
		s := new(big.Int)
		for _, v := range vals {
			s.Add(s, v.(decimal128.Num).BigInt())
		}
		if fn == "avg" {
			d := in.(*arrow.Decimal128Type)
			return decimal128.FromBigInt(refAvg(s, n, avgDecimalType(d).Scale-d.Scale))
		}
		return decimal128.FromBigInt(s)
	}
	var s int64
	for _, v := range vals {
		s += v.(int64)
	}
	if fn == "avg" {
		return float64(s) / float64(n)
	}
	return s
}

func compareValues(a, b any) int {
	switch a := a.(type) {
	case int64:
		return cmpOrdered(a, b.(int64))
	case float64:
		return cmpOrdered(a, b.(float64))
	case decimal128.Num:
		return a.Cmp(b.(decimal128.Num))
	case string:
		return strings.Compare(a, b.(string))
	}
	panic("compareValues: unknown type")
}

func cmpOrdered[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// rawBytes encodes v as the little-endian bytes of its column type, independently of the
// accumulator's reading of Arrow buffers.
func rawBytes(in arrow.DataType, v any) []byte {
	switch in.ID() {
	case arrow.INT8:
		return []byte{byte(v.(int64))}
	case arrow.INT32, arrow.UINT32, arrow.DATE32:
		return binary.LittleEndian.AppendUint32(nil, uint32(v.(int64)))
	case arrow.INT64, arrow.TIMESTAMP:
		return binary.LittleEndian.AppendUint64(nil, uint64(v.(int64)))
	case arrow.FLOAT32:
		return binary.LittleEndian.AppendUint32(nil, math.Float32bits(float32(v.(float64))))
	case arrow.FLOAT64:
		return binary.LittleEndian.AppendUint64(nil, math.Float64bits(v.(float64)))
	case arrow.DECIMAL128:
		n := v.(decimal128.Num)
		b := binary.LittleEndian.AppendUint64(nil, n.LowBits())
		return binary.LittleEndian.AppendUint64(b, uint64(n.HighBits()))
	}
	return []byte(v.(string))
}

func toFloat(in arrow.DataType, v any) float64 {
	switch v := v.(type) {
	case int64:
		return float64(v)
	case float64:
		return v
	case decimal128.Num:
		s := in.(*arrow.Decimal128Type).Scale
		return decimalToFloat(v, math.Pow10(int(s)), s)
	}
	panic("toFloat: not a number")
}

// definedFor reports whether New accepts fn over typ; the tests skip the rest.
func definedFor(fn string, typ arrow.DataType) bool {
	_, err := newFor(fn, typ)
	return err == nil
}

// sortValues sorts the values of one group in place.
func sortValues(vals []any) {
	slices.SortFunc(vals, compareValues)
}

// refQuantileCont interpolates between the values around rank (n-1)*q of sorted vals: in
// float64 for numbers as lo*(1-d) + hi*d (rounded to float32 for float32 columns); for
// decimals of up to 18 digits from the lower value by the float64 product of the difference
// and the fraction, rounded down, and for wider ones as numbers, truncated toward zero.
func refQuantileCont(in arrow.DataType, vals []any, q float64) any {
	rank := float64(len(vals)-1) * q
	i := int(math.Floor(rank))
	d := rank - math.Floor(rank)
	lo, hi := vals[i], vals[int(math.Ceil(rank))]
	switch in.ID() {
	case arrow.DECIMAL128:
		if d == 0 {
			return lo
		}
		l, h := lo.(decimal128.Num).BigInt(), hi.(decimal128.Num).BigInt()
		if in.(*arrow.Decimal128Type).Precision > 18 {
			lf, _ := new(big.Float).SetInt(l).Float64()
			hf, _ := new(big.Float).SetInt(h).Float64()
			v, _ := big.NewFloat(lf*(1-d) + hf*d).Int(nil)
			return decimal128.FromBigInt(v)
		}
		delta, _ := new(big.Float).SetInt(new(big.Int).Sub(h, l)).Float64()
		step, _ := big.NewFloat(math.Floor(delta * d)).Int(nil)
		return decimal128.FromBigInt(step.Add(step, l))
	case arrow.FLOAT32:
		l, h := lo.(float64), hi.(float64)
		return float64(float32(l*(1-d) + h*d))
	case arrow.FLOAT64:
		l, h := lo.(float64), hi.(float64)
		return l*(1-d) + h*d
	}
	l, h := float64(lo.(int64)), float64(hi.(int64))
	return l*(1-d) + h*d
}

// newFor builds fn over typ; the quantiles get q = 0.9.
func newFor(fn string, typ arrow.DataType, opts ...Option) (Accumulator, error) {
	switch fn {
	case "count(*)":
		return New("count", nil, nil, opts...)
	case "quantile_disc", "quantile_cont", "approx_quantile":
		return New(fn, []arrow.DataType{typ, arrow.PrimitiveTypes.Float64}, []any{nil, 0.9}, opts...)
	}
	return New(fn, []arrow.DataType{typ}, nil, opts...)
}

var functions = []string{"count(*)", "count", "count_distinct", "sum", "avg", "min", "max", "approx_count_distinct", "approx_quantile",
	"quantile_disc", "quantile_cont"}

func mustFinal(t testing.TB, acc Accumulator, groups []uint32) arrow.Array {
	t.Helper()
	out, err := acc.Final(groups)
	if err != nil {
		t.Fatal(err)
	}
	if !arrow.TypeEqual(out.DataType(), acc.ResultType()) {
		t.Fatalf("Final is %s, ResultType says %s", out.DataType(), acc.ResultType())
	}
	if out.Len() != len(groups) {
		t.Fatalf("Final has %d rows for %d groups", out.Len(), len(groups))
	}
	return out
}

func mustPartial(t testing.TB, acc Accumulator, groups []uint32) arrow.Array {
	t.Helper()
	out, err := acc.Partial(groups)
	if err != nil {
		t.Fatal(err)
	}
	if !arrow.TypeEqual(out.DataType(), acc.StateType()) {
		t.Fatalf("Partial is %s, StateType says %s", out.DataType(), acc.StateType())
	}
	return out
}

// shuffled returns the ids 0..n-1 in random order.
func shuffled(r *rand.Rand, n int) []uint32 {
	g := allGroups(n)
	r.Shuffle(len(g), func(i, j int) { g[i], g[j] = g[j], g[i] })
	return g
}

// benchBatch makes the input of an aggregate's benchmark: rows random values of typ, each
// in one of nGroups groups drawn at random.
func benchBatch(typ arrow.DataType, rows, nGroups int) (arrow.Array, []uint32) {
	r := rand.New(rand.NewPCG(42, 42))
	arg, _ := genColumn(r, typ, rows, 0)
	groups := make([]uint32, rows)
	for i := range groups {
		groups[i] = uint32(r.IntN(nGroups))
	}
	return arg, groups
}

// benchUpdate measures Update of fn over a 64K-row batch of typ into 10K groups, with states
// already grown, and reports ns/row.
func benchUpdate(b *testing.B, fn string, typ arrow.DataType) {
	const rows, nGroups = 64 * 1024, 10_000
	arg, groups := benchBatch(typ, rows, nGroups)
	defer arg.Release()
	acc, err := newFor(fn, typ)
	if err != nil {
		b.Fatal(err)
	}
	args := []arrow.Array{arg}
	if err := acc.Update(groups, args, nil); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := acc.Update(groups, args, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
}
