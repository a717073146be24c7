package format

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
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"millrace/dictcode"
)

// TestParquetStringPages reads string columns written with each page layout and encoding a
// writer may choose, in batches that end inside pages, and gets back exactly what was
// written. The plain and dictionary layouts go through bytePages (the test checks that they
// do); the delta encodings through the column reader.
func TestParquetStringPages(t *testing.T) {
	s := arrow.NewSchema([]arrow.Field{
		{Name: "few", Type: arrow.BinaryTypes.String}, // 7 values: a dictionary
		{Name: "few_null", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "many", Type: arrow.BinaryTypes.String}, // unique: the dictionary overflows
		{Name: "many_null", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "empty_null", Type: arrow.BinaryTypes.String, Nullable: true}, // "" and nulls only
	}, nil)
	const n = 30_000
	b := array.NewRecordBuilder(memory.DefaultAllocator, s)
	for i := range n {
		few := []string{"pos", "ecom", "atm", "transfer", "", "é☕", "a longer value than the rest"}[i*i%7]
		many := fmt.Sprintf("value %07d", i*7919%n)
		b.Field(0).(*array.StringBuilder).Append(few)
		b.Field(2).(*array.StringBuilder).Append(many)
		for f, v := range map[int]string{1: few, 3: many, 4: ""} {
			if i%5 == 2 || i%97 < 40 {
				b.Field(f).AppendNull()
			} else {
				b.Field(f).(*array.StringBuilder).Append(v)
			}
		}
	}
	want := b.NewRecordBatch()
	b.Release()
	defer want.Release()

	small := []parquet.WriterProperty{parquet.WithDataPageSize(4 << 10), parquet.WithDictionaryPageSizeLimit(32 << 10),
		parquet.WithMaxRowGroupLength(12_000), parquet.WithBatchSize(1000)}
	cases := []struct {
		name  string
		props []parquet.WriterProperty
		pages bool // every string chunk is decoded by bytePages
		// keeps says the file package's decoders keep allocator memory that no Close
		// returns (its delta decoder does; the Go allocator's garbage collection frees it).
		keeps bool
	}{
		{"dictionary v1", []parquet.WriterProperty{parquet.WithDictionaryDefault(true)}, true, false},
		{"dictionary v2", []parquet.WriterProperty{parquet.WithDictionaryDefault(true), parquet.WithDataPageVersion(parquet.DataPageV2)}, true, false},
		{"plain v1", []parquet.WriterProperty{parquet.WithDictionaryDefault(false)}, true, false},
		{"plain v2", []parquet.WriterProperty{parquet.WithDictionaryDefault(false), parquet.WithDataPageVersion(parquet.DataPageV2)}, true, false},
		{"delta", []parquet.WriterProperty{parquet.WithDictionaryDefault(false), parquet.WithEncoding(parquet.Encodings.DeltaByteArray)}, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			path := filepath.Join(t.TempDir(), "strings.parquet")
			writeWithProps(t, path, want, append(append([]parquet.WriterProperty{}, small...), c.props...))
			for g, ok := range chunksDecodable(t, path) {
				if ok != c.pages {
					t.Fatalf("chunk %d: decoded by bytePages %v, want %v", g, ok, c.pages)
				}
			}
			got, dead := readParquetAll(t, path, s, ReadOptions{Mem: mem, BatchRows: 777})
			if len(dead) > 0 {
				t.Fatalf("dead letters: %v", dead[0])
			}
			assertSameRows(t, got, want)
			got.Release()
			if !c.keeps {
				mem.AssertSize(t, 0)
			}
		})
	}
}

// TestParquetDictionaryCodes reads string columns in batches and checks the dictionary codes
// they carry (dictcode): with dictionary pages, every batch of a column whose dictionary
// holds all its values carries codes, and each code indexes the row's value (the
// dictionary's length for a null); a column whose dictionary overflows into plain pages
// carries codes only in batches read from dictionary pages alone, and plain pages give none.
func TestParquetDictionaryCodes(t *testing.T) {
	s := arrow.NewSchema([]arrow.Field{
		{Name: "few", Type: arrow.BinaryTypes.String},
		{Name: "few_null", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "many", Type: arrow.BinaryTypes.String}, // unique: the dictionary overflows
	}, nil)
	const n = 30_000
	b := array.NewRecordBuilder(memory.DefaultAllocator, s)
	for i := range n {
		few := []string{"pos", "ecom", "atm", "", "é☕"}[i*i%5]
		b.Field(0).(*array.StringBuilder).Append(few)
		if i%7 == 3 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(few)
		}
		b.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("value %07d", i*7919%n))
	}
	rec := b.NewRecordBatch()
	b.Release()
	defer rec.Release()
	small := []parquet.WriterProperty{parquet.WithDataPageSize(4 << 10), parquet.WithDictionaryPageSizeLimit(32 << 10),
		parquet.WithMaxRowGroupLength(12_000), parquet.WithBatchSize(1000)}
	for _, c := range []struct {
		name  string
		dict  bool
		props []parquet.WriterProperty
	}{
		{"dictionary v1", true, nil},
		{"dictionary v2", true, []parquet.WriterProperty{parquet.WithDataPageVersion(parquet.DataPageV2)}},
		{"plain", false, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "strings.parquet")
			props := append(append([]parquet.WriterProperty{parquet.WithDictionaryDefault(c.dict)}, small...), c.props...)
			writeWithProps(t, path, rec, props)
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			r, err := OpenParquet(path, s, ReadOptions{Mem: mem, BatchRows: 777})
			if err != nil {
				t.Fatal(err)
			}
			batches, coded := 0, make([]int, len(s.Fields()))
			for {
				got, _, err := r.Read()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				batches++
				for col, a := range got.Columns() {
					codes, dict, ok := dictcode.Of(a)
					if !ok {
						continue
					}
					coded[col]++
					values := array.NewStringData(dict)
					for i, code := range codes {
						switch {
						case a.IsNull(i) && int(code) != values.Len():
							t.Fatalf("%s: null row %d has code %d, want %d", s.Field(col).Name, i, code, values.Len())
						case a.IsValid(i) && values.Value(int(code)) != a.(*array.String).Value(i):
							t.Fatalf("%s: row %d is %q, its code %d gives %q", s.Field(col).Name, i, a.(*array.String).Value(i), code, values.Value(int(code)))
						}
					}
					values.Release()
				}
				got.Release()
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			want := []int{0, 0, 0}
			if c.dict {
				want[0], want[1] = batches, batches
			}
			if coded[0] != want[0] || coded[1] != want[1] {
				t.Errorf("batches with codes: few %d, few_null %d of %d, want %d and %d", coded[0], coded[1], batches, want[0], want[1])
			}
			if c.dict && (coded[2] == 0 || coded[2] == batches) {
				t.Errorf("many: %d of %d batches with codes, want some but not all (its dictionary overflows)", coded[2], batches)
			}
			if !c.dict && coded[2] != 0 {
				t.Errorf("many: %d batches with codes from plain pages", coded[2])
			}
			mem.AssertSize(t, 0)
		})
	}
}

// writeWithProps writes rec to a Parquet file at path with the writer properties props.
func writeWithProps(t *testing.T, path string, rec arrow.RecordBatch, props []parquet.WriterProperty) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(rec.Schema(), f, parquet.NewWriterProperties(props...), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err == nil {
		err = w.Write(rec)
	}
	if err == nil {
		err = w.Close() // closes f too
	}
	if err != nil {
		t.Fatal(err)
	}
}

// chunksDecodable reports, for every column chunk of the file at path, whether bytePages
// decodes it.
func chunksDecodable(t *testing.T, path string) []bool {
	t.Helper()
	pf := openParquetFile(t, path)
	var out []bool
	for g := range pf.NumRowGroups() {
		rg := pf.MetaData().RowGroup(g)
		for c := range rg.NumColumns() {
			cc, err := rg.ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, pagesDecodable(cc))
		}
	}
	return out
}

// TestHybridDecodes decodes runs of the RLE/bit-packed hybrid encoding written by hand.
func TestHybridDecodes(t *testing.T) {
	cases := []struct {
		name  string
		data  []byte
		width uint
		want  []int32
	}{
		// The example of the Parquet format's documentation: 0 to 7 packed in 3 bits.
		{"packed 3 bits", []byte{3, 0b10001000, 0b11000110, 0b11111010}, 3, []int32{0, 1, 2, 3, 4, 5, 6, 7}},
		{"repeated", []byte{10, 7}, 3, []int32{7, 7, 7, 7, 7}},
		{"repeated two bytes", []byte{6, 0x34, 0x12}, 13, []int32{0x1234, 0x1234, 0x1234}},
		{"repeated then packed", []byte{4, 1, 3, 0b01010101}, 1, []int32{1, 1, 1, 0, 1, 0, 1, 0, 1, 0}},
		{"packed 17 bits, cut short", append([]byte{3}, packBits(17, 100_000, 3, 131_071)...), 17, []int32{100_000, 3, 131_071}},
		{"width 0", []byte{3}, 0, []int32{0, 0, 0, 0, 0, 0, 0, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := hybrid{data: c.data, width: c.width}
			got := make([]int32, len(c.want))
			// One value at a time and then the rest, so runs are read across calls.
			if err := h.fill(got[:1]); err != nil {
				t.Fatal(err)
			}
			if err := h.fill(got[1:]); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
			if err := h.fill(make([]int32, 9)); err == nil {
				t.Errorf("reading past the runs: no error")
			}
		})
	}
}

// packBits packs values in width bits each, least significant bit first.
func packBits(width uint, values ...uint64) []byte {
	out := make([]byte, (uint(len(values))*width+7)/8)
	for i, v := range values {
		for k := range width {
			if v>>k&1 == 1 {
				bit := uint(i)*width + k
				out[bit/8] |= 1 << (bit % 8)
			}
		}
	}
	return out
}

// TestBytePagesRefusesDamage fails pages that contradict themselves (dictionary indices past
// the dictionary, plain values past the page, a negative count of values, indices before any
// dictionary) with an error, instead of reading other memory.
func TestBytePagesRefusesDamage(t *testing.T) {
	var empty bytePages
	if err := empty.startValues(parquet.Encodings.RLEDict, 3, []byte{2, 6, 1}); err == nil {
		t.Errorf("dictionary indices before a dictionary: no error")
	}
	if err := empty.startValues(parquet.Encodings.Plain, -1, nil); err == nil {
		t.Errorf("a page of -1 values: no error")
	}
	if err := empty.startValues(parquet.Encodings.Plain, 1, []byte{9, 0, 0, 0, 'a'}); err != nil {
		t.Fatal(err)
	}
	short := newBytesBuilder(1, 0, memory.DefaultAllocator)
	defer short.release()
	if err := empty.readStretch(1, nil, short, make([]int32, 1)); err == nil {
		t.Errorf("a plain value of 9 bytes in a page of 5: no error")
	}

	p := &bytePages{dictOffsets: []int32{0, 3, 6}, dictData: []byte("posatm")}
	if err := p.startValues(parquet.Encodings.RLEDict, 3, []byte{2, 6, 1}); err != nil {
		t.Fatal(err)
	}
	b := newBytesBuilder(3, 0, memory.DefaultAllocator)
	defer b.release()
	if err := p.readStretch(2, nil, b, make([]int32, 2)); err != nil {
		t.Fatalf("indices 1, 1: %v", err)
	}
	if got := string(b.data[:b.used]); got != "atmatm" {
		t.Errorf("read %q, want %q", got, "atmatm")
	}
	p.indices = hybrid{data: []byte{2, 2}, width: 2}
	if err := p.readStretch(1, nil, b, make([]int32, 1)); err == nil {
		t.Errorf("index 2 of a dictionary of 2 values: no error")
	}
}

// openParquetFile opens the Parquet file at path for the test, and closes it when the test
// ends.
func openParquetFile(t *testing.T, path string) *file.Reader {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := pf.Close(); err != nil {
			t.Error(err)
		}
	})
	return pf
}
