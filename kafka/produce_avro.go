package kafka

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
)

// Avro values. A row is an Avro record whose fields are the columns, in order, each a union
// of null and the column's type, so that any column may hold nulls:
//
//	string            string
//	int32, int64      int, long
//	float32, float64  float, double
//	bool              boolean
//	date32            int (logicalType date)
//	timestamp         long (logicalType timestamp-millis; timestamp-micros for us and ns,
//	                  ns truncated to microseconds)
//	decimal128(P, S)  bytes (logicalType decimal, precision P, scale S)
//
// The value is in the schema registry's wire format: a zero byte, the schema id as a
// big-endian uint32, then the record's Avro binary encoding. The encoding is done here,
// column by column; hamba/avro parses the schema, so one the registry would refuse is caught
// when the sink is planned.

// avroColumn appends the Avro encoding of value i of a column that is not null.
type avroColumn func(b []byte, a arrow.Array, i int) []byte

// avroValues encodes rows as registry-framed Avro records.
type avroValues struct {
	header []byte // magic byte and schema id
	cols   []avroColumn
}

// AvroSchema derives the Avro schema of rows of s: a record named name (made a valid Avro
// name) with one nullable field per column. It fails on a column type Avro values do not
// cover, naming the column.
func AvroSchema(s *arrow.Schema, name string) (string, error) {
	type field struct {
		Name    string `json:"name"`
		Type    []any  `json:"type"`
		Default any    `json:"default"`
	}
	fields := make([]field, 0, s.NumFields())
	for _, f := range s.Fields() {
		t, _, err := avroType(f.Type)
		if err != nil {
			return "", fmt.Errorf("column %q: %w", f.Name, err)
		}
		fields = append(fields, field{Name: f.Name, Type: []any{"null", t}})
	}
	b, err := json.Marshal(map[string]any{"type": "record", "name": avroName(name), "fields": fields})
	if err != nil {
		return "", err
	}
	if _, err := avro.ParseBytes(b); err != nil {
		return "", fmt.Errorf("avro schema %s: %w", b, err)
	}
	return string(b), nil
}

var notAvroName = regexp.MustCompile(`[^A-Za-z0-9_]`)

// avroName makes name a valid Avro name: letters, digits and _, not starting with a digit.
func avroName(name string) string {
	n := notAvroName.ReplaceAllString(name, "_")
	if n == "" || n[0] >= '0' && n[0] <= '9' {
		n = "_" + n
	}
	return n
}

// avroType returns the Avro type of an Arrow type and the encoder of its values.
func avroType(t arrow.DataType) (any, avroColumn, error) {
	switch t := t.(type) {
	case *arrow.StringType:
		return "string", func(b []byte, a arrow.Array, i int) []byte {
			v := a.(*array.String).Value(i)
			return append(binary.AppendVarint(b, int64(len(v))), v...)
		}, nil
	case *arrow.Int32Type:
		return "int", func(b []byte, a arrow.Array, i int) []byte {
			return binary.AppendVarint(b, int64(a.(*array.Int32).Value(i)))
		}, nil
	case *arrow.Int64Type:
		return "long", func(b []byte, a arrow.Array, i int) []byte {
			return binary.AppendVarint(b, a.(*array.Int64).Value(i))
		}, nil
	case *arrow.Float32Type:
		return "float", func(b []byte, a arrow.Array, i int) []byte {
			return binary.LittleEndian.AppendUint32(b, math.Float32bits(a.(*array.Float32).Value(i)))
		}, nil
	case *arrow.Float64Type:
		return "double", func(b []byte, a arrow.Array, i int) []byte {
			return binary.LittleEndian.AppendUint64(b, math.Float64bits(a.(*array.Float64).Value(i)))
		}, nil
	case *arrow.BooleanType:
		return "boolean", func(b []byte, a arrow.Array, i int) []byte {
			if a.(*array.Boolean).Value(i) {
				return append(b, 1)
			}
			return append(b, 0)
		}, nil
	case *arrow.Date32Type:
		return map[string]any{"type": "int", "logicalType": "date"}, func(b []byte, a arrow.Array, i int) []byte {
			return binary.AppendVarint(b, int64(a.(*array.Date32).Value(i)))
		}, nil
	case *arrow.TimestampType:
		logical, div, mul := "timestamp-millis", int64(1), int64(1)
		switch t.Unit {
		case arrow.Second:
			mul = 1000
		case arrow.Microsecond:
			logical = "timestamp-micros"
		case arrow.Nanosecond:
			logical, div = "timestamp-micros", 1000
		}
		return map[string]any{"type": "long", "logicalType": logical}, func(b []byte, a arrow.Array, i int) []byte {
			return binary.AppendVarint(b, int64(a.(*array.Timestamp).Value(i))/div*mul)
		}, nil
	case *arrow.Decimal128Type:
		return map[string]any{"type": "bytes", "logicalType": "decimal", "precision": t.Precision, "scale": t.Scale},
			func(b []byte, a arrow.Array, i int) []byte {
				v := a.(*array.Decimal128).Value(i)
				var be [16]byte
				binary.BigEndian.PutUint64(be[:8], uint64(v.HighBits()))
				binary.BigEndian.PutUint64(be[8:], v.LowBits())
				// The shortest two's complement: drop leading bytes that only repeat the sign.
				k := 0
				for k < 15 && (be[k] == 0 && be[k+1]&0x80 == 0 || be[k] == 0xff && be[k+1]&0x80 != 0) {
					k++
				}
				return append(binary.AppendVarint(b, int64(16-k)), be[k:]...)
			}, nil
	}
	return nil, nil, fmt.Errorf("type %s has no Avro form here (string, integers, floats, bool, date, timestamp, decimal)", t)
}

// newAvroValues registers the Avro schema of rows of s with the registry at the URLs
// registry lists (comma-separated; a user and password in a URL are sent as HTTP basic
// authentication and never shown), under the subject TOPIC-value, and returns the encoder of
// rows with the id the registry gave.
func newAvroValues(ctx context.Context, s *arrow.Schema, registry, topic string) (*avroValues, error) {
	schema, err := AvroSchema(s, topic)
	if err != nil {
		return nil, err
	}
	urls := strings.Split(registry, ",")
	shown := make([]string, len(urls))
	bare := make([]string, len(urls))
	var opts []sr.ClientOpt
	for i, raw := range urls {
		shown[i], bare[i] = redactURL(raw), raw
		// A user and password in the URL authenticate (HTTP basic) rather than travel in it.
		if u, err := url.Parse(raw); err == nil && u.User != nil {
			pass, _ := u.User.Password()
			opts = append(opts, sr.BasicAuth(u.User.Username(), pass))
			u.User = nil
			bare[i] = u.String()
		}
	}
	where := "schema registry " + strings.Join(shown, ",")
	cl, err := sr.NewClient(append(opts, sr.URLs(bare...))...)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", where, redactErr(err, urls, shown))
	}
	subject := topic + "-value"
	id, err := cl.RegisterSchema(ctx, subject, sr.Schema{Schema: schema, Type: sr.TypeAvro}, -1, -1)
	if err != nil {
		return nil, fmt.Errorf("%s: register subject %s: %s", where, subject, redactErr(err, urls, shown))
	}
	v := &avroValues{}
	v.header, _ = new(sr.ConfluentHeader).AppendEncode(nil, id, nil) // never fails
	for _, f := range s.Fields() {
		_, enc, _ := avroType(f.Type) // AvroSchema checked every type
		v.cols = append(v.cols, enc)
	}
	return v, nil
}

// redactURL hides the password a URL may carry.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "[a URL that does not parse]"
	}
	return u.Redacted()
}

// redactErr is err's text with every URL of urls replaced by its shown form, so that a
// password in a URL never reaches a message.
func redactErr(err error, urls, shown []string) string {
	msg := err.Error()
	for i, u := range urls {
		msg = strings.ReplaceAll(msg, u, shown[i])
		if pu, perr := url.Parse(u); perr == nil && pu.User != nil {
			if p, ok := pu.User.Password(); ok && p != "" {
				msg = strings.ReplaceAll(msg, p, "xxxxx")
			}
		}
	}
	return msg
}

// appendRow appends the framed Avro record of row i of rec.
func (v *avroValues) appendRow(b []byte, rec arrow.RecordBatch, i int) []byte {
	b = append(b, v.header...)
	for c, enc := range v.cols {
		col := rec.Column(c)
		if col.IsNull(i) {
			b = append(b, 0) // union branch 0: null
			continue
		}
		b = append(b, 2) // union branch 1, zigzag-encoded
		b = enc(b, col, i)
	}
	return b
}
