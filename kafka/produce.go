package kafka

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/format"
)

// Eval computes one value per row of a batch, such as a compiled expression's; the caller
// releases the array.
type Eval func(rec arrow.RecordBatch) (arrow.Array, error)

// Header is a record header whose value an expression computes per row.
type Header struct {
	Name string
	Eval Eval
}

// encoder turns the rows of a batch into Kafka records: the key and the headers from
// expressions, the value one JSON object per row, or an Avro record when avro is set.
type encoder struct {
	topic   string
	key     Eval
	headers []Header
	rows    format.RowEncoder
	avro    *avroValues
	upsert  *upsertEncoder // writes a changelog by key instead (see Upsert)
}

func newEncoder(s *arrow.Schema, topic string, key Eval, headers []Header) (*encoder, error) {
	rows, err := format.NewRowEncoder(format.JSONL, s)
	if err != nil {
		return nil, fmt.Errorf("kafka sink %s: %w", topic, err)
	}
	return &encoder{topic: topic, key: key, headers: headers, rows: rows}, nil
}

// appendValue appends the value of row i of rec.
func (e *encoder) appendValue(b []byte, rec arrow.RecordBatch, i int) []byte {
	if e.avro != nil {
		return e.avro.appendRow(b, rec, i)
	}
	b = e.rows.AppendRow(b, rec, i)
	return b[:len(b)-1] // the newline that ends a JSONL row
}

// records appends a record per row of rec to dst. A row whose key is null has no key; a
// header whose value is null is left out.
func (e *encoder) records(dst []*kgo.Record, rec arrow.RecordBatch) ([]*kgo.Record, error) {
	if e.upsert != nil {
		return e.upsert.records(e, dst, rec)
	}
	n := int(rec.NumRows())
	var keys arrow.Array
	if e.key != nil {
		var err error
		if keys, err = e.key(rec); err != nil {
			return dst, fmt.Errorf("kafka sink %s: key: %w", e.topic, err)
		}
		defer keys.Release()
	}
	hvals := make([]arrow.Array, len(e.headers))
	defer func() {
		for _, a := range hvals {
			if a != nil {
				a.Release()
			}
		}
	}()
	for i, h := range e.headers {
		var err error
		if hvals[i], err = h.Eval(rec); err != nil {
			return dst, fmt.Errorf("kafka sink %s: header %s: %w", e.topic, h.Name, err)
		}
	}
	// One buffer holds every value of the batch; records point into it.
	var buf []byte
	ends := make([]int, n)
	for i := range n {
		buf = e.appendValue(buf, rec, i)
		ends[i] = len(buf)
	}
	start := 0
	for i := range n {
		r := &kgo.Record{Topic: e.topic, Value: buf[start:ends[i]:ends[i]]}
		start = ends[i]
		if keys != nil && keys.IsValid(i) {
			r.Key = valueBytes(keys, i)
		}
		for j, h := range e.headers {
			if hvals[j].IsValid(i) {
				r.Headers = append(r.Headers, kgo.RecordHeader{Key: h.Name, Value: valueBytes(hvals[j], i)})
			}
		}
		dst = append(dst, r)
	}
	return dst, nil
}

// valueBytes is the bytes of value i of a: a string's or binary's own bytes, any other
// type's text form.
func valueBytes(a arrow.Array, i int) []byte {
	switch v := a.(type) {
	case *array.String:
		return []byte(v.Value(i))
	case *array.LargeString:
		return []byte(v.Value(i))
	case *array.Binary:
		return append([]byte(nil), v.Value(i)...)
	}
	return []byte(a.ValueStr(i))
}
