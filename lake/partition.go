package lake

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/civil"
	"millrace/expr"
)

// NullPartition is the directory value of a partition column whose value is NULL, as Hive
// and Spark write it.
const NullPartition = "__HIVE_DEFAULT_PARTITION__"

// PartitionTypes are the types a partition column may have.
var PartitionTypes = []arrow.DataType{arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int64, arrow.FixedWidthTypes.Date32}

// parseSegment splits a directory name "name=value" and unescapes the value as Hive escapes
// it (%2F for a slash).
func parseSegment(seg, want string) (string, error) {
	name, raw, ok := strings.Cut(seg, "=")
	if !ok || name != want {
		return "", fmt.Errorf("directory %q is not a partition %s=VALUE", seg, want)
	}
	v, err := url.PathUnescape(raw)
	if err != nil {
		return "", fmt.Errorf("directory %q: %w", seg, err)
	}
	return v, nil
}

// partitionArray makes an array of n copies of a partition column's value, parsed from the
// text of its directory; NullPartition is NULL.
func partitionArray(mem memory.Allocator, f arrow.Field, text string, n int) (arrow.Array, error) {
	if text == NullPartition {
		return array.MakeArrayOfNull(mem, f.Type, n), nil
	}
	switch f.Type.ID() {
	case arrow.STRING:
		b := array.NewStringBuilder(mem)
		defer b.Release()
		b.Reserve(n)
		b.ReserveData(n * len(text))
		for range n {
			b.Append(text)
		}
		return b.NewArray(), nil
	case arrow.INT32:
		v, err := strconv.ParseInt(text, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("partition %s=%s: not an int32", f.Name, text)
		}
		b := array.NewInt32Builder(mem)
		defer b.Release()
		b.AppendValues(repeat(int32(v), n), nil)
		return b.NewArray(), nil
	case arrow.INT64:
		v, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("partition %s=%s: not an int64", f.Name, text)
		}
		b := array.NewInt64Builder(mem)
		defer b.Release()
		b.AppendValues(repeat(v, n), nil)
		return b.NewArray(), nil
	case arrow.DATE32:
		d, err := civil.ParseDate(text)
		if err != nil {
			return nil, fmt.Errorf("partition %s=%s: not a date (want YYYY-MM-DD)", f.Name, text)
		}
		b := array.NewDate32Builder(mem)
		defer b.Release()
		b.AppendValues(repeat(arrow.Date32(d), n), nil)
		return b.NewArray(), nil
	}
	return nil, fmt.Errorf("partition column %s: type %s is not one of string, int32, int64, date", f.Name, f.Type)
}

func repeat[T any](v T, n int) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// conjuncts splits a predicate at its top-level ANDs.
func conjuncts(n expr.Node) []expr.Node {
	if b, ok := n.(*expr.Binary); ok && b.Op == "AND" {
		return append(conjuncts(b.L), conjuncts(b.R)...)
	}
	if n == nil {
		return nil
	}
	return []expr.Node{n}
}

// partitionTest is a conjunct of the filter over the first depth partition columns only,
// compiled against them.
type partitionTest struct {
	depth int
	e     *expr.Expr
}

// partitionTests picks from conjs those over partition columns only and compiles each
// against the fewest leading partition columns that hold all its columns. A conjunct that
// refers to any other column, or does not compile, is not one.
func partitionTests(conjs []expr.Node, parts []arrow.Field) []partitionTest {
	var out []partitionTest
	for _, c := range conjs {
		for depth := 1; depth <= len(parts); depth++ {
			e, err := expr.Compile(c, arrow.NewSchema(parts[:depth], nil))
			if err != nil || e.Type().ID() != arrow.BOOL {
				continue
			}
			out = append(out, partitionTest{depth: depth, e: e})
			break
		}
	}
	return out
}

// keepPartition decides whether a directory whose leading partition columns have the
// values texts (as its path gives them) may hold rows the filter keeps: it does unless a
// test over those columns alone is not TRUE for them, as the view's where keeps only the
// rows it finds TRUE. A test it cannot evaluate keeps the directory.
func keepPartition(tests []partitionTest, parts []arrow.Field, texts []string) (bool, error) {
	var rec arrow.RecordBatch
	defer func() {
		if rec != nil {
			rec.Release()
		}
	}()
	for _, t := range tests {
		if t.depth != len(texts) {
			continue
		}
		if rec == nil {
			cols := make([]arrow.Array, len(texts))
			for i, text := range texts {
				a, err := partitionArray(memory.DefaultAllocator, parts[i], text, 1)
				if err != nil {
					for _, c := range cols[:i] {
						c.Release()
					}
					return false, err
				}
				cols[i] = a
			}
			rec = array.NewRecordBatch(arrow.NewSchema(parts[:len(texts)], nil), cols, 1)
			for _, c := range cols {
				c.Release()
			}
		}
		got, err := t.e.Eval(rec)
		if err != nil {
			continue
		}
		b := got.(*array.Boolean)
		keep := b.IsValid(0) && b.Value(0)
		got.Release()
		if !keep {
			return false, nil
		}
	}
	return true, nil
}
