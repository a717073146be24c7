package agg

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"millrace/dictcode"
	"millrace/format"
)

// codedStrings writes string columns to a Parquet file in row groups with dictionaries of
// their own (one column overflowing into plain pages, one with nulls and empty strings) and
// reads it back in batches, which carry their dictionary codes where the pages had them.
func codedStrings(t testing.TB) []arrow.RecordBatch {
	t.Helper()
	s := arrow.NewSchema([]arrow.Field{
		{Name: "few", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "many", Type: arrow.BinaryTypes.String}, // unique: the dictionary overflows
	}, nil)
	const n = 30_000
	b := array.NewRecordBuilder(memory.DefaultAllocator, s)
	defer b.Release()
	for i := range n {
		// Each row group of 12,000 rows sees other values, so its dictionary differs.
		if i%7 == 3 {
			b.Field(0).AppendNull()
		} else {
			b.Field(0).(*array.StringBuilder).Append([]string{"pos", "", "ecom", "atm", "é☕", "zz", "a"}[(i*i+i/12_000)%7])
		}
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("value %07d", i*7919%n))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "strings.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	props := parquet.NewWriterProperties(parquet.WithDictionaryDefault(true), parquet.WithDataPageSize(4<<10),
		parquet.WithDictionaryPageSizeLimit(32<<10), parquet.WithMaxRowGroupLength(12_000), parquet.WithBatchSize(1000))
	w, err := pqarrow.NewFileWriter(s, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err == nil {
		err = w.Write(rec)
	}
	if err == nil {
		err = w.Close() // closes f too
	}
	if err != nil {
		t.Fatal(err)
	}
	r, err := format.OpenParquet(path, s, format.ReadOptions{BatchRows: 777})
	if err != nil {
		t.Fatal(err)
	}
	var out []arrow.RecordBatch
	for {
		got, _, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, got)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// withoutCodes returns a with its dictionary codes left off.
func withoutCodes(a arrow.Array) arrow.Array {
	d := a.Data()
	plain := array.NewData(d.DataType(), d.Len(), d.Buffers(), nil, d.NullN(), d.Offset())
	defer plain.Release()
	return array.MakeFromData(plain)
}

// TestMinMaxStringsByCodes folds the same Parquet-read columns into min and max twice, as
// read (through their dictionary codes where they carry them) and without the codes (by their
// bytes), over every row and over a selection of rows into another group, and gets the same
// values after every batch: over row groups with dictionaries of their own, plain pages, nulls,
// empty strings and a group Reset between batches read with the same dictionary.
func TestMinMaxStringsByCodes(t *testing.T) {
	batches := codedStrings(t)
	defer func() {
		for _, rec := range batches {
			rec.Release()
		}
	}()
	for col, name := range []string{"few", "many"} {
		for _, fn := range []string{"min", "max"} {
			t.Run(name+"/"+fn, func(t *testing.T) {
				coded, plain := 0, 0
				byCodes, _ := New(fn, []arrow.DataType{arrow.BinaryTypes.String}, nil)
				byBytes, _ := New(fn, []arrow.DataType{arrow.BinaryTypes.String}, nil)
				for i, rec := range batches {
					a := rec.Column(col)
					if _, _, ok := dictcode.Of(a); ok {
						coded++
					} else {
						plain++
					}
					groups := make([]uint32, a.Len())
					var rows []int32
					if i%5 == 4 { // group 0 starts over
						byCodes.Reset([]uint32{0})
						byBytes.Reset([]uint32{0})
					}
					if i%3 == 0 { // every third row, into group 1
						rows = []int32{}
						for r := 0; r < a.Len(); r += 3 {
							rows = append(rows, int32(r))
						}
						groups = make([]uint32, len(rows))
						for g := range groups {
							groups[g] = 1
						}
					}
					bare := withoutCodes(a)
					errCodes := byCodes.Update(groups, []arrow.Array{a}, rows)
					errBytes := byBytes.Update(groups, []arrow.Array{bare}, rows)
					bare.Release()
					if errCodes != nil || errBytes != nil {
						t.Fatal(errCodes, errBytes)
					}
					got := mustFinal(t, byCodes, []uint32{0, 1, 2})
					want := mustFinal(t, byBytes, []uint32{0, 1, 2})
					if !array.Equal(got, want) {
						t.Fatalf("batch %d: by codes %v, by bytes %v", i, got, want)
					}
					got.Release()
					want.Release()
				}
				if coded == 0 || (col == 1 && plain == 0) {
					t.Fatalf("%d batches with codes, %d without", coded, plain)
				}
			})
		}
	}
}

// BenchmarkMaxStringOneGroup folds Parquet-read string columns into one group's max, through
// their dictionary codes and by their bytes.
func BenchmarkMaxStringOneGroup(b *testing.B) {
	batches := codedStrings(b)
	defer func() {
		for _, rec := range batches {
			rec.Release()
		}
	}()
	for _, way := range []string{"codes", "bytes"} {
		b.Run(way, func(b *testing.B) {
			var cols []arrow.Array
			rows := 0
			for _, rec := range batches {
				a := rec.Column(0)
				if way == "bytes" {
					a = withoutCodes(a)
					defer a.Release()
				}
				cols = append(cols, a)
				rows += a.Len()
			}
			groups := make([]uint32, 1_000)
			acc, _ := New("max", []arrow.DataType{arrow.BinaryTypes.String}, nil)
			for b.Loop() {
				for _, a := range cols {
					if err := acc.Update(groups[:a.Len()], []arrow.Array{a}, nil); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
		})
	}
}
