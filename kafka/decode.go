package kafka

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/format"
)

// The metadata columns a schema may declare: they are filled from the record, not decoded
// from its value.
const (
	KeyColumn       = "_key"       // the record's key, as text; null (or "" if the column is not nullable) without one
	PartitionColumn = "_partition" // the partition number, int32 or int64
	OffsetColumn    = "_offset"    // the record's offset, int64
	TimestampColumn = "_timestamp" // the broker's timestamp of the record, a timestamp
	HeadersColumn   = "_headers"   // the headers as a JSON object of strings, a string column
)

// MetadataColumns lists the metadata columns in the order help texts show them.
var MetadataColumns = []string{KeyColumn, PartitionColumn, OffsetColumn, TimestampColumn, HeadersColumn}

// column says where one column of the rows comes from: a value column of the decoded
// batch (meta empty) or a metadata column.
type column struct {
	meta  string
	value int // index in the value schema
}

// decoderConfig is what every partition's decoder shares: the format, the rows' schema and
// which of its columns come from the value.
type decoderConfig struct {
	kind     format.Kind
	schema   *arrow.Schema
	value    *arrow.Schema // the columns decoded from values
	cols     []column
	registry string
	zone     *time.Location // of timestamps without an offset; nil is UTC
}

func newDecoderConfig(kind format.Kind, s *arrow.Schema, registry string, zone *time.Location) (*decoderConfig, error) {
	switch kind {
	case format.JSONL, format.CSV:
	case Avro:
		if registry == "" {
			return nil, errors.New("avro values need a schema registry (registry: URL)")
		}
	default:
		return nil, fmt.Errorf("format %q: want jsonl, csv or avro", kind)
	}
	if s == nil || s.NumFields() == 0 {
		return nil, errors.New("no columns")
	}
	c := &decoderConfig{kind: kind, schema: s, registry: registry, zone: zone}
	var fields []arrow.Field
	for _, f := range s.Fields() {
		if !strings.HasPrefix(f.Name, "_") || !slices.Contains(MetadataColumns, f.Name) {
			c.cols = append(c.cols, column{value: len(fields)})
			fields = append(fields, f)
			continue
		}
		if err := checkMetaType(f); err != nil {
			return nil, err
		}
		c.cols = append(c.cols, column{meta: f.Name})
	}
	c.value = arrow.NewSchema(fields, nil)
	return c, nil
}

// checkMetaType says whether a metadata column has a type it can be filled into.
func checkMetaType(f arrow.Field) error {
	ok := false
	want := ""
	switch f.Name {
	case KeyColumn, HeadersColumn:
		ok, want = f.Type.ID() == arrow.STRING, "string"
	case PartitionColumn:
		ok, want = f.Type.ID() == arrow.INT32 || f.Type.ID() == arrow.INT64, "int32 or int64"
	case OffsetColumn:
		ok, want = f.Type.ID() == arrow.INT64, "int64"
	case TimestampColumn:
		ok, want = f.Type.ID() == arrow.TIMESTAMP, "timestamp"
	}
	if !ok {
		return fmt.Errorf("column %s is the record's metadata: its type is %s, not %s", f.Name, want, f.Type)
	}
	return nil
}

// newDecoder makes the decoder of one partition's records.
func (c *decoderConfig) newDecoder(tp topicPartition) (*decoder, error) {
	d := &decoder{cfg: c, name: tp.String()}
	if c.kind == Avro {
		d.avro = newAvroDecoder(c.registry)
	}
	return d, nil
}

// decoder turns a partition's records into a batch: it writes their values as the lines of
// one text input, decodes that with the project's JSONL or CSV reader, and adds the metadata
// columns of the records whose values decoded. Every record ends up a row or a dead letter.
type decoder struct {
	cfg  *decoderConfig
	name string // topic/partition, for dead letters
	avro *avroDecoder
	buf  []byte
	rows []int // the record of each row
	seen []bool
}

// decode decodes recs, which are in offset order. ctx covers the schema registry's answers.
func (d *decoder) decode(ctx context.Context, recs []*kgo.Record) (arrow.RecordBatch, []format.DeadLetter, error) {
	if len(recs) == 0 {
		return nil, nil, nil
	}
	var dead []format.DeadLetter
	refuse := func(r *kgo.Record, reason string) {
		dead = append(dead, format.DeadLetter{File: d.name, AtOffset: true, Offset: r.Offset, RowGroup: -1,
			Raw: slices.Clone(r.Value), Reason: reason})
	}
	kind, firstLine := format.JSONL, 1
	d.buf = d.buf[:0]
	if d.cfg.kind == format.CSV {
		kind, firstLine = format.CSV, 2
		for i, f := range d.cfg.value.Fields() {
			if i > 0 {
				d.buf = append(d.buf, ',')
			}
			d.buf = append(d.buf, f.Name...)
		}
		d.buf = append(d.buf, '\n')
	}
	for _, r := range recs {
		v := r.Value
		if d.avro != nil {
			var err error
			if v, err = d.avro.toJSON(ctx, v); err != nil {
				var bad errRecord
				if !errors.As(err, &bad) {
					return nil, nil, fmt.Errorf("decode %s at offset %d: %w", d.name, r.Offset, err)
				}
				refuse(r, bad.reason)
				d.buf = append(d.buf, '\n')
				continue
			}
		}
		v = bytes.TrimRight(v, "\r\n")
		if reason := d.oneLine(v); reason != "" {
			refuse(r, reason)
			d.buf = append(d.buf, '\n')
			continue
		}
		start := len(d.buf)
		d.buf = append(d.buf, v...)
		if kind == format.JSONL {
			for i := start; i < len(d.buf); i++ { // line breaks between tokens are blanks
				if d.buf[i] == '\n' || d.buf[i] == '\r' {
					d.buf[i] = ' '
				}
			}
		}
		d.buf = append(d.buf, '\n')
	}

	d.rows = d.rows[:0]
	var values arrow.RecordBatch
	if d.cfg.value.NumFields() == 0 {
		for i := range recs {
			if !slices.ContainsFunc(dead, func(dl format.DeadLetter) bool { return dl.Offset == recs[i].Offset }) {
				d.rows = append(d.rows, i)
			}
		}
	} else {
		var err error
		if values, dead, err = d.decodeText(kind, firstLine, recs, dead); err != nil {
			return nil, nil, err
		}
	}
	if err := d.accounted(recs, dead); err != nil {
		if values != nil {
			values.Release()
		}
		return nil, nil, err
	}
	slices.SortFunc(dead, func(a, b format.DeadLetter) int { return cmp.Compare(a.Offset, b.Offset) })
	if len(d.rows) == 0 {
		if values != nil {
			values.Release()
		}
		return nil, dead, nil
	}
	rec := d.assemble(values, recs)
	if values != nil {
		values.Release()
	}
	return rec, dead, nil
}

// oneLine says why a value cannot be one line of the text input, or "".
func (d *decoder) oneLine(v []byte) string {
	if len(bytes.TrimSpace(v)) == 0 {
		return "empty value"
	}
	if bytes.IndexByte(v, '\n') < 0 && bytes.IndexByte(v, '\r') < 0 {
		if d.cfg.kind == format.CSV && format.OpenQuote(v) {
			return "unterminated quoted field"
		}
		return ""
	}
	if d.cfg.kind == format.CSV {
		return "a CSV value is one line; this one has a line break"
	}
	if breakInString(v) {
		return "a line break inside a JSON string"
	}
	return ""
}

// breakInString says whether a raw line break stands inside a JSON string of v.
func breakInString(v []byte) bool {
	in, esc := false, false
	for _, c := range v {
		switch {
		case esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		case in && (c == '\n' || c == '\r'):
			return true
		}
	}
	return false
}

// decodeText decodes the buffered lines with the format's reader, records each row's record
// in d.rows, and turns the reader's dead letters into ones naming the records.
func (d *decoder) decodeText(kind format.Kind, firstLine int, recs []*kgo.Record, dead []format.DeadLetter) (arrow.RecordBatch, []format.DeadLetter, error) {
	opts := format.ReadOptions{BatchRows: len(recs), Zone: d.cfg.zone}
	var rd format.Reader
	var err error
	if kind == format.CSV {
		rd, err = format.NewCSVReader(bytes.NewReader(d.buf), d.name, d.cfg.value, opts)
	} else {
		rd, err = format.NewJSONLReader(bytes.NewReader(d.buf), d.name, d.cfg.value, opts)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("decode %s: %w", d.name, err)
	}
	defer rd.Close()
	lr, _ := rd.(format.LineReader)
	var values arrow.RecordBatch
	for {
		b, dl, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			if values != nil {
				values.Release()
			}
			return nil, nil, fmt.Errorf("decode %s at offset %d: %w", d.name, recs[0].Offset, err)
		}
		for _, x := range dl {
			i := int(x.Line) - firstLine
			if i < 0 || i >= len(recs) {
				return nil, nil, fmt.Errorf("decode %s: a dead letter at line %d of %d records", d.name, x.Line, len(recs))
			}
			dead = append(dead, format.DeadLetter{File: d.name, AtOffset: true, Offset: recs[i].Offset, RowGroup: -1,
				Raw: slices.Clone(recs[i].Value), Reason: x.Reason})
		}
		if b == nil {
			continue
		}
		if values != nil || lr == nil {
			b.Release()
			if values != nil {
				values.Release()
			}
			return nil, nil, fmt.Errorf("decode %s: %d records made more than one batch", d.name, len(recs))
		}
		values = b
		lines, err := lr.Lines()
		if err != nil {
			values.Release()
			return nil, nil, fmt.Errorf("decode %s at offset %d: %w", d.name, recs[0].Offset, err)
		}
		for _, line := range lines {
			d.rows = append(d.rows, int(line)-firstLine)
		}
	}
	return values, dead, nil
}

// accounted checks that every record is a row or a dead letter, once.
func (d *decoder) accounted(recs []*kgo.Record, dead []format.DeadLetter) error {
	d.seen = slices.Grow(d.seen[:0], len(recs))[:len(recs)]
	clear(d.seen)
	first := recs[0].Offset
	mark := func(i int) error {
		if i < 0 || i >= len(recs) || d.seen[i] {
			return fmt.Errorf("decode %s: record %d of %d from offset %d is not accounted for once", d.name, i, len(recs), first)
		}
		d.seen[i] = true
		return nil
	}
	for _, i := range d.rows {
		if err := mark(i); err != nil {
			return err
		}
	}
	for _, dl := range dead {
		i, ok := slices.BinarySearchFunc(recs, dl.Offset, func(r *kgo.Record, o int64) int { return cmp.Compare(r.Offset, o) })
		if !ok {
			return fmt.Errorf("decode %s: a dead letter at offset %d is not one of the records", d.name, dl.Offset)
		}
		if err := mark(i); err != nil {
			return err
		}
	}
	if n := len(d.rows) + len(dead); n != len(recs) {
		return fmt.Errorf("decode %s: %d records from offset %d made %d rows and %d dead letters", d.name, len(recs), first, len(d.rows), len(dead))
	}
	return nil
}

// assemble builds the rows' batch: value columns from values, metadata columns from the
// records of d.rows.
func (d *decoder) assemble(values arrow.RecordBatch, recs []*kgo.Record) arrow.RecordBatch {
	mem := memory.DefaultAllocator
	cols := make([]arrow.Array, len(d.cfg.cols))
	for i, c := range d.cfg.cols {
		if c.meta == "" {
			cols[i] = values.Column(c.value)
			cols[i].Retain()
			continue
		}
		cols[i] = d.metaColumn(mem, d.cfg.schema.Field(i), recs)
	}
	rec := array.NewRecordBatch(d.cfg.schema, cols, int64(len(d.rows)))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// metaColumn builds metadata column f for the rows.
func (d *decoder) metaColumn(mem memory.Allocator, f arrow.Field, recs []*kgo.Record) arrow.Array {
	b := array.NewBuilder(mem, f.Type)
	defer b.Release()
	b.Reserve(len(d.rows))
	for _, i := range d.rows {
		r := recs[i]
		switch f.Name {
		case KeyColumn:
			sb := b.(*array.StringBuilder)
			switch {
			case r.Key != nil:
				sb.BinaryBuilder.Append(r.Key)
			case f.Nullable:
				sb.AppendNull()
			default:
				sb.Append("")
			}
		case PartitionColumn:
			if ib, ok := b.(*array.Int32Builder); ok {
				ib.Append(r.Partition)
			} else {
				b.(*array.Int64Builder).Append(int64(r.Partition))
			}
		case OffsetColumn:
			b.(*array.Int64Builder).Append(r.Offset)
		case TimestampColumn:
			unit := f.Type.(*arrow.TimestampType).Unit
			v, _ := arrow.TimestampFromTime(r.Timestamp, unit)
			b.(*array.TimestampBuilder).Append(v)
		case HeadersColumn:
			b.(*array.StringBuilder).Append(headersJSON(r.Headers))
		}
	}
	return b.NewArray()
}

// headersJSON writes headers as a JSON object of strings; of a key given twice, the last
// value stands.
func headersJSON(hs []kgo.RecordHeader) string {
	var b strings.Builder
	b.WriteByte('{')
	written := 0
	for i, h := range hs {
		if slices.ContainsFunc(hs[i+1:], func(o kgo.RecordHeader) bool { return o.Key == h.Key }) {
			continue
		}
		if written > 0 {
			b.WriteByte(',')
		}
		written++
		writeJSONString(&b, h.Key)
		b.WriteByte(':')
		writeJSONString(&b, string(h.Value))
	}
	b.WriteByte('}')
	return b.String()
}

// writeJSONString writes s as a JSON string; bytes that are not UTF-8 become U+FFFD.
func writeJSONString(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hex[r>>4])
			b.WriteByte(hex[r&0xf])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}
