package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
)

// avroDecoder turns Avro values in the Confluent wire format into JSON objects for the JSONL
// decoder, fetching each writer schema from the registry once, by its id.
type avroDecoder struct {
	registry string
	cl       *sr.Client
	schemas  map[int]avro.Schema
	hdr      sr.ConfluentHeader
}

func newAvroDecoder(registry string) *avroDecoder {
	return &avroDecoder{registry: registry, schemas: make(map[int]avro.Schema)}
}

// errRecord is why a value cannot be decoded: the record is a dead letter, the read goes on.
type errRecord struct{ reason string }

func (e errRecord) Error() string { return e.reason }

// toJSON decodes one value into a JSON object. An error of type errRecord refuses the
// record; any other (the registry cannot be reached) fails the read.
func (a *avroDecoder) toJSON(ctx context.Context, v []byte) ([]byte, error) {
	id, body, err := a.hdr.DecodeID(v)
	if err != nil {
		return nil, errRecord{"not an Avro value in the Confluent wire format (a zero byte, then a 4-byte schema id)"}
	}
	sch, err := a.schema(ctx, id)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := avro.Unmarshal(sch, body, &m); err != nil {
		return nil, errRecord{fmt.Sprintf("avro (schema id %d): %v", id, err)}
	}
	for k, x := range m {
		m[k] = jsonValue(x)
	}
	out, err := json.Marshal(m)
	if err != nil {
		return nil, errRecord{fmt.Sprintf("avro (schema id %d): %v", id, err)}
	}
	return out, nil
}

// schema returns the writer schema with the id, from the registry the first time.
func (a *avroDecoder) schema(ctx context.Context, id int) (avro.Schema, error) {
	if s, ok := a.schemas[id]; ok {
		return s, nil
	}
	if a.cl == nil {
		cl, err := sr.NewClient(sr.URLs(a.registry))
		if err != nil {
			return nil, fmt.Errorf("schema registry %s: %w", a.registry, err)
		}
		a.cl = cl
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	got, err := a.cl.SchemaByID(ctx, id)
	var re *sr.ResponseError
	if errors.As(err, &re) && re.StatusCode == http.StatusNotFound {
		return nil, errRecord{fmt.Sprintf("schema id %d is not in the registry at %s", id, a.registry)}
	}
	if err != nil {
		return nil, fmt.Errorf("schema registry %s: schema id %d: %w", a.registry, id, err)
	}
	if got.Type != sr.TypeAvro {
		return nil, errRecord{fmt.Sprintf("schema id %d is a %s schema, not Avro", id, got.Type)}
	}
	s, err := avro.Parse(got.Schema)
	if err != nil {
		return nil, errRecord{fmt.Sprintf("schema id %d: %v", id, err)}
	}
	a.schemas[id] = s
	return s, nil
}

// jsonValue turns a decoded Avro value into one the JSONL decoder reads exactly: times as
// RFC 3339, decimals as their digits, bytes as text, unions as their branch's value.
func jsonValue(x any) any {
	switch v := x.(type) {
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	case *big.Rat:
		return json.Number(ratString(v))
	case []byte:
		return string(v)
	case map[string]any:
		if len(v) == 1 { // a union's branch, keyed by its type name
			for _, b := range v {
				return jsonValue(b)
			}
		}
		for k, b := range v {
			v[k] = jsonValue(b)
		}
		return v
	}
	return x
}

// ratString writes a decimal's exact digits: an Avro decimal's denominator divides a power of
// ten.
func ratString(r *big.Rat) string {
	ten, p := big.NewInt(10), big.NewInt(1)
	var rem big.Int
	for scale := 0; scale <= 76; scale++ {
		if rem.Mod(p, r.Denom()).Sign() == 0 {
			return r.FloatString(scale)
		}
		p.Mul(p, ten)
	}
	return r.FloatString(76)
}
