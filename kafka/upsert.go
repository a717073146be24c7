package kafka

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/format"
	"millrace/op"
)

// Upsert makes a Sink write a changelog (rows whose column Op is +I, -U, +U or -D, as
// op.Changelog makes them) as a table kept by key in a compacted topic: each +I and +U row
// is a record whose key is the row's key columns and whose value is the row without Op; each
// -D row is a tombstone (a record of that key without a value); -U rows, which the +U right
// after them replaces, write nothing. Reading the topic and keeping each key's last record,
// dropping keys whose last record is a tombstone, gives the table.
//
// The key is a JSON object of the key columns in their order, encoded as the values are
// ({"card_id":"c1"}; {} without key columns), so that equal keys give equal bytes and land
// in one partition, which keeps each key's records in order.
type Upsert struct {
	// Op is the index of the _op column.
	Op int
	// Keys are the indexes of the key columns.
	Keys []int
}

// upsertEncoder encodes a changelog's rows as upsert records.
type upsertEncoder struct {
	cfg          Upsert
	keys, values *arrow.Schema
	valueCols    []int
	keyEnc, enc  format.RowEncoder
}

func newUpsertEncoder(s *arrow.Schema, topic string, cfg Upsert) (*upsertEncoder, error) {
	if cfg.Op < 0 || cfg.Op >= s.NumFields() || s.Field(cfg.Op).Type.ID() != arrow.STRING {
		return nil, fmt.Errorf("kafka sink %s: upsert: column %d is not the changelog's %s column of strings", topic, cfg.Op, op.OpColumn)
	}
	u := &upsertEncoder{cfg: cfg}
	var keyFields, valueFields []arrow.Field
	for _, k := range cfg.Keys {
		if k < 0 || k >= s.NumFields() || k == cfg.Op {
			return nil, fmt.Errorf("kafka sink %s: upsert: key column %d is not a column of the rows", topic, k)
		}
		keyFields = append(keyFields, s.Field(k))
	}
	for i, f := range s.Fields() {
		if i != cfg.Op {
			u.valueCols = append(u.valueCols, i)
			valueFields = append(valueFields, f)
		}
	}
	u.keys, u.values = arrow.NewSchema(keyFields, nil), arrow.NewSchema(valueFields, nil)
	var err error
	if len(keyFields) > 0 {
		if u.keyEnc, err = format.NewRowEncoder(format.JSONL, u.keys); err != nil {
			return nil, fmt.Errorf("kafka sink %s: upsert key: %w", topic, err)
		}
	}
	if u.enc, err = format.NewRowEncoder(format.JSONL, u.values); err != nil {
		return nil, fmt.Errorf("kafka sink %s: %w", topic, err)
	}
	return u, nil
}

// records appends the upsert records of rec's rows to dst, with the headers e computes.
func (u *upsertEncoder) records(e *encoder, dst []*kgo.Record, rec arrow.RecordBatch) ([]*kgo.Record, error) {
	ops, ok := rec.Column(u.cfg.Op).(*array.String)
	if !ok {
		return dst, fmt.Errorf("kafka sink %s: upsert: column %q is %s, not the changelog's %s", e.topic, rec.ColumnName(u.cfg.Op), rec.Column(u.cfg.Op).DataType(), op.OpColumn)
	}
	keyCols := make([]arrow.Array, len(u.cfg.Keys))
	for i, k := range u.cfg.Keys {
		keyCols[i] = rec.Column(k)
	}
	valueCols := make([]arrow.Array, len(u.valueCols))
	for i, c := range u.valueCols {
		valueCols[i] = rec.Column(c)
	}
	keys := array.NewRecordBatch(u.keys, keyCols, rec.NumRows())
	defer keys.Release()
	values := array.NewRecordBatch(u.values, valueCols, rec.NumRows())
	defer values.Release()
	headers := make([]arrow.Array, len(e.headers))
	defer releaseArrays(headers)
	for i, h := range e.headers {
		var err error
		if headers[i], err = h.Eval(rec); err != nil {
			return dst, fmt.Errorf("kafka sink %s: header %s: %w", e.topic, h.Name, err)
		}
	}
	var buf []byte
	for i := range int(rec.NumRows()) {
		kind := ops.Value(i)
		if ops.IsNull(i) {
			return dst, fmt.Errorf("kafka sink %s: upsert: row %d has a null %s", e.topic, i, op.OpColumn)
		}
		if kind == op.OpUpdateBefore {
			continue
		}
		r := &kgo.Record{Topic: e.topic, Key: []byte("{}")}
		if u.keyEnc != nil {
			buf = u.keyEnc.AppendRow(buf[:0], keys, i)
			r.Key = append([]byte(nil), buf[:len(buf)-1]...) // without the newline
		}
		switch kind {
		case op.OpInsert, op.OpUpdateAfter:
			buf = u.enc.AppendRow(buf[:0], values, i)
			r.Value = append([]byte(nil), buf[:len(buf)-1]...)
		case op.OpDelete:
			// A tombstone: no value.
		default:
			return dst, fmt.Errorf("kafka sink %s: upsert: row %d has %s %q, not %s, %s, %s or %s", e.topic, i, op.OpColumn, kind,
				op.OpInsert, op.OpUpdateBefore, op.OpUpdateAfter, op.OpDelete)
		}
		for j, h := range e.headers {
			if headers[j].IsValid(i) {
				r.Headers = append(r.Headers, kgo.RecordHeader{Key: h.Name, Value: valueBytes(headers[j], i)})
			}
		}
		dst = append(dst, r)
	}
	return dst, nil
}

func releaseArrays(as []arrow.Array) {
	for _, a := range as {
		if a != nil {
			a.Release()
		}
	}
}

// EnsureCompactedTopic is EnsureTopic for the topic of an upsert sink: it creates the topic
// with cleanup.policy compact, so that the brokers keep each key's last record, and refuses
// an existing topic whose cleanup.policy does not compact, which would delete the table's
// rows as they age.
func EnsureCompactedTopic(ctx context.Context, conn Conn, topic string, partitions int32) (int, error) {
	compact := "compact"
	return ensureTopic(ctx, conn, topic, partitions, map[string]*string{"cleanup.policy": &compact}, func(ctx context.Context, adm *kadm.Client) error {
		rcs, err := adm.DescribeTopicConfigs(ctx, topic)
		if err != nil {
			return fmt.Errorf("describe its configs: %w", err)
		}
		rc, err := rcs.On(topic, nil)
		if err == nil {
			err = rc.Err
		}
		if err != nil {
			return fmt.Errorf("describe its configs: %w", err)
		}
		for _, c := range rc.Configs {
			if c.Key == "cleanup.policy" && c.Value != nil && strings.Contains(*c.Value, "compact") {
				return nil
			}
		}
		return fmt.Errorf("an upsert sink keeps a table in its topic, but the topic's cleanup.policy is not compact: set it, or let the sink create a topic of its own")
	})
}
