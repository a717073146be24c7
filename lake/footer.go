package lake

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/big"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	pqschema "github.com/apache/arrow-go/v18/parquet/schema"

	"millrace/civil"
	"millrace/objstore"
)

// tailBytes is how much of a file's end the lake reads at once to find its footer: one
// ranged read gets the whole footer of most files.
const tailBytes = 64 << 10

// footer is the end of a Parquet file as the lake read it while planning: the bytes from at
// to the end, the footer and its length and magic (kept so that the file's readers read them
// from memory), and the metadata they decode to.
type footer struct {
	tail []byte
	at   int64
	md   *metadata.FileMetaData
}

// readFooter reads the footer of the object key, size bytes long, in one ranged read, two
// for a footer larger than tailBytes. A file that is not Parquet, or whose footer does not
// decode, is an error of the footer's (errFooter), which a reader turns into a dead letter
// unless it fails on damage.
func readFooter(ctx context.Context, store objstore.Store, key string, size int64) (*footer, error) {
	if size < 12 {
		return nil, &footerError{fmt.Errorf("not a Parquet file: %d bytes", size)}
	}
	n := min(size, tailBytes)
	tail, err := store.GetRange(ctx, key, size-n, n)
	if err != nil {
		return nil, err
	}
	if int64(len(tail)) != n {
		return nil, fmt.Errorf("read the end of %s: %d bytes of %d (the object changed while it was listed?)", key, len(tail), n)
	}
	if string(tail[n-4:]) != "PAR1" {
		return nil, &footerError{fmt.Errorf("not a Parquet file: it does not end with PAR1 (%d bytes)", size)}
	}
	flen := int64(binary.LittleEndian.Uint32(tail[n-8:]))
	if flen+12 > size {
		return nil, &footerError{fmt.Errorf("footer of %d bytes in a file of %d", flen, size)}
	}
	if flen+8 > n {
		more, err := store.GetRange(ctx, key, size-flen-8, flen+8-n)
		if err != nil {
			return nil, err
		}
		tail = append(more, tail...)
	}
	// Keep the footer alone: the readers read the column chunks before it as they need them.
	tail = tail[int64(len(tail))-8-flen:]
	at := size - 8 - flen
	md, err := decodeFooter(tail[:flen])
	if err != nil {
		return nil, &footerError{fmt.Errorf("read footer: %w", err)}
	}
	return &footer{tail: tail, at: at, md: md}, nil
}

// decodeFooter decodes footer metadata; arrow-go may panic on bytes that are not.
func decodeFooter(b []byte) (md *metadata.FileMetaData, err error) {
	defer func() {
		if p := recover(); p != nil {
			md, err = nil, fmt.Errorf("damaged footer: %v", p)
		}
	}()
	return metadata.NewFileMetaData(b, nil)
}

// footerError is a footer that cannot be read.
type footerError struct{ err error }

func (e *footerError) Error() string { return e.err.Error() }
func (e *footerError) Unwrap() error { return e.err }

// leafOf returns the leaf column of the file that holds the top-level column name, when it
// is a flat column (not nested); -1 otherwise.
func leafOf(md *metadata.FileMetaData, name string) int {
	s := md.Schema
	for i := range s.NumColumns() {
		if p := s.Column(i).ColumnPath(); len(p) == 1 && p[0] == name {
			return i
		}
	}
	return -1
}

// rowGroupStats gives what the footer says of a flat column in each row group, in the type
// t the column is read as, for the types whose reading keeps order (see statValue); nil
// when it says nothing usable.
func rowGroupStats(md *metadata.FileMetaData, leaf int, t arrow.DataType) []groupStats {
	out := make([]groupStats, md.NumRowGroups())
	said := false
	for g := range out {
		out[g] = groupStats{Nulls: -1}
		cc, err := md.RowGroup(g).ColumnChunk(leaf)
		if err != nil {
			continue
		}
		if set, err := cc.StatsSet(); err != nil || !set {
			continue
		}
		st, err := cc.Statistics()
		if err != nil || st == nil {
			continue
		}
		if st.HasNullCount() {
			out[g].Nulls = st.NullCount()
			said = true
		}
		if st.HasMinMax() {
			lo, hi, ok := statValues(st, md.Schema.Column(leaf), t)
			if ok {
				out[g].Min, out[g].Max = lo, hi
				said = true
			}
		}
	}
	if !said {
		return nil
	}
	return out
}

// statValues converts a column chunk's least and greatest values into the type t the
// reader reads the column as, where that reading keeps order: integers into integers at
// least as wide, floats into float64, UTF-8 strings, dates, timestamps of UTC into t's unit
// (rounded toward the past, as the reader rounds values), and decimals of t's scale.
func statValues(st metadata.TypedStatistics, col *pqschema.Column, t arrow.DataType) (lo, hi any, ok bool) {
	lt := col.LogicalType()
	plainInt := func(width int8) bool {
		switch l := lt.(type) {
		case nil, pqschema.NoLogicalType:
			return true
		case pqschema.IntLogicalType:
			return l.IsSigned() && l.BitWidth() <= width
		}
		return false
	}
	switch t := t.(type) {
	case *arrow.Int32Type:
		if s, is := st.(*metadata.Int32Statistics); is && plainInt(32) {
			return s.Min(), s.Max(), true
		}
	case *arrow.Int64Type:
		switch s := st.(type) {
		case *metadata.Int32Statistics:
			if plainInt(32) {
				return int64(s.Min()), int64(s.Max()), true
			}
		case *metadata.Int64Statistics:
			if plainInt(64) {
				return s.Min(), s.Max(), true
			}
		}
	case *arrow.Float64Type:
		switch s := st.(type) {
		case *metadata.Float64Statistics:
			return s.Min(), s.Max(), true
		case *metadata.Float32Statistics:
			return float64(s.Min()), float64(s.Max()), true
		}
	case *arrow.StringType:
		if s, is := st.(*metadata.ByteArrayStatistics); is {
			if _, utf8 := lt.(pqschema.StringLogicalType); utf8 {
				return string(s.Min()), string(s.Max()), true
			}
		}
	case *arrow.Date32Type:
		if s, is := st.(*metadata.Int32Statistics); is {
			if _, date := lt.(pqschema.DateLogicalType); date {
				return arrow.Date32(s.Min()), arrow.Date32(s.Max()), true
			}
		}
	case *arrow.TimestampType:
		s, is := st.(*metadata.Int64Statistics)
		l, ts := lt.(pqschema.TimestampLogicalType)
		if !is || !ts || !l.IsAdjustedToUTC() {
			return nil, nil, false
		}
		per := map[pqschema.TimeUnitType]int64{pqschema.TimeUnitMillis: 1e3, pqschema.TimeUnitMicros: 1e6, pqschema.TimeUnitNanos: 1e9}[l.TimeUnit()]
		want := map[arrow.TimeUnit]int64{arrow.Second: 1, arrow.Millisecond: 1e3, arrow.Microsecond: 1e6, arrow.Nanosecond: 1e9}[t.Unit]
		if per == 0 || want == 0 || want > per {
			return nil, nil, false // finer in the schema than in the file: left alone
		}
		return arrow.Timestamp(civil.FloorDiv(s.Min(), per/want)), arrow.Timestamp(civil.FloorDiv(s.Max(), per/want)), true
	case *arrow.Decimal128Type:
		l, dec := lt.(pqschema.DecimalLogicalType)
		if !dec || l.Scale() != t.Scale {
			return nil, nil, false
		}
		switch s := st.(type) {
		case *metadata.Int32Statistics:
			return decimal128.FromI64(int64(s.Min())), decimal128.FromI64(int64(s.Max())), true
		case *metadata.Int64Statistics:
			return decimal128.FromI64(s.Min()), decimal128.FromI64(s.Max()), true
		case *metadata.FixedLenByteArrayStatistics:
			return bigEndianDecimal(s.Min()), bigEndianDecimal(s.Max()), true
		case *metadata.ByteArrayStatistics:
			return bigEndianDecimal(s.Min()), bigEndianDecimal(s.Max()), true
		}
	}
	return nil, nil, false
}

// bigEndianDecimal reads a decimal's unscaled value as Parquet stores it in bytes: big-endian
// two's complement.
func bigEndianDecimal(b []byte) decimal128.Num {
	v := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return decimal128.FromBigInt(v)
}

// chunkSpan is where a column chunk lies in its file.
func chunkSpan(cc *metadata.ColumnChunkMetaData) (off, n int64) {
	off = cc.DataPageOffset()
	if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 && cc.DictionaryPageOffset() < off {
		off = cc.DictionaryPageOffset()
	}
	return off, cc.TotalCompressedSize()
}

// readSpans lists, for each row group, the byte ranges of the column chunks a reader of the
// file columns names reads, adjacent or nearly adjacent ones merged into one so that each is
// one ranged read, and their total compressed size.
func readSpans(md *metadata.FileMetaData, names []string) ([][]span, []int64) {
	leaves := map[int]bool{}
	for i := range md.Schema.NumColumns() {
		p := md.Schema.Column(i).ColumnPath()
		for _, n := range names {
			if len(p) > 0 && p[0] == n {
				leaves[i] = true
			}
		}
	}
	spans := make([][]span, md.NumRowGroups())
	bytes := make([]int64, md.NumRowGroups())
	for g := range spans {
		rg := md.RowGroup(g)
		var ss []span
		for i := range md.Schema.NumColumns() {
			if !leaves[i] {
				continue
			}
			cc, err := rg.ColumnChunk(i)
			if err != nil {
				continue
			}
			off, n := chunkSpan(cc)
			bytes[g] += n
			ss = append(ss, span{off, off + n})
		}
		spans[g] = mergeSpans(ss, spanGap)
	}
	return spans, bytes
}

// spanGap is the largest gap between two column chunks that one ranged read covers rather
// than two: a request costs more than reading this much more.
const spanGap = 64 << 10

// span is the bytes [from, to) of a file.
type span struct{ from, to int64 }

// mergeSpans sorts spans and merges those that overlap or lie at most gap bytes apart.
func mergeSpans(ss []span, gap int64) []span {
	if len(ss) == 0 {
		return nil
	}
	sorted := append([]span(nil), ss...)
	for i := 1; i < len(sorted); i++ { // few spans: insertion sort
		for j := i; j > 0 && sorted[j].from < sorted[j-1].from; j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	out := []span{sorted[0]}
	for _, s := range sorted[1:] {
		last := &out[len(out)-1]
		if s.from <= last.to+gap {
			last.to = max(last.to, s.to)
			continue
		}
		out = append(out, s)
	}
	return out
}

// Rows returns the number of rows of the Parquet object key, size bytes long, from its
// footer alone.
func Rows(ctx context.Context, store objstore.Store, key string, size int64) (int64, error) {
	f, err := readFooter(ctx, store, key, size)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", key, err)
	}
	return f.md.NumRows, nil
}
