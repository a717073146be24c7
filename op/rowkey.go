package op

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// KeyEncoder turns the key columns of a row into bytes: equal keys give equal bytes and
// unequal keys unequal bytes, nulls included, so a key can index a Go map.
type KeyEncoder struct {
	cols []arrow.Array
	buf  []byte
}

// Reset points the encoder at the key columns of a new batch.
func (k *KeyEncoder) Reset(cols []arrow.Array) error {
	for _, c := range cols {
		switch c.(type) {
		case *array.String, *array.Int32, *array.Int64, *array.Timestamp, *array.Date32,
			*array.Boolean, *array.Float64, *array.Decimal128:
		default:
			return fmt.Errorf("type %s cannot be a key", c.DataType())
		}
	}
	k.cols = cols
	return nil
}

// Key returns the key of row i, valid until the next call.
func (k *KeyEncoder) Key(i int) []byte {
	b := k.buf[:0]
	for _, c := range k.cols {
		if c.IsNull(i) {
			b = append(b, 0)
			continue
		}
		b = append(b, 1)
		switch a := c.(type) {
		case *array.String:
			v := a.Value(i)
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		case *array.Int32:
			b = binary.LittleEndian.AppendUint32(b, uint32(a.Value(i)))
		case *array.Int64:
			b = binary.LittleEndian.AppendUint64(b, uint64(a.Value(i)))
		case *array.Timestamp:
			b = binary.LittleEndian.AppendUint64(b, uint64(a.Value(i)))
		case *array.Date32:
			b = binary.LittleEndian.AppendUint32(b, uint32(a.Value(i)))
		case *array.Boolean:
			if a.Value(i) {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		case *array.Float64:
			v := a.Value(i)
			if v == 0 {
				v = 0 // -0 and +0 are one key
			}
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		case *array.Decimal128:
			v := a.Value(i)
			b = binary.LittleEndian.AppendUint64(b, v.LowBits())
			b = binary.LittleEndian.AppendUint64(b, uint64(v.HighBits()))
		}
	}
	k.buf = b
	return b
}

// AppendKey decodes a key made by Key and appends its values to builders, one per key
// column, of the key columns' types.
func AppendKey(key []byte, builders []array.Builder) error {
	for _, b := range builders {
		if len(key) == 0 {
			return fmt.Errorf("key too short")
		}
		valid := key[0] == 1
		key = key[1:]
		if !valid {
			b.AppendNull()
			continue
		}
		switch bb := b.(type) {
		case *array.StringBuilder:
			n, w := binary.Uvarint(key)
			if w <= 0 || uint64(len(key)-w) < n {
				return fmt.Errorf("key too short")
			}
			bb.BinaryBuilder.Append(key[w : w+int(n)])
			key = key[w+int(n):]
		case *array.Int32Builder:
			bb.Append(int32(binary.LittleEndian.Uint32(key)))
			key = key[4:]
		case *array.Int64Builder:
			bb.Append(int64(binary.LittleEndian.Uint64(key)))
			key = key[8:]
		case *array.TimestampBuilder:
			bb.Append(arrow.Timestamp(binary.LittleEndian.Uint64(key)))
			key = key[8:]
		case *array.Date32Builder:
			bb.Append(arrow.Date32(binary.LittleEndian.Uint32(key)))
			key = key[4:]
		case *array.BooleanBuilder:
			bb.Append(key[0] == 1)
			key = key[1:]
		case *array.Float64Builder:
			bb.Append(math.Float64frombits(binary.LittleEndian.Uint64(key)))
			key = key[8:]
		case *array.Decimal128Builder:
			lo := binary.LittleEndian.Uint64(key)
			hi := int64(binary.LittleEndian.Uint64(key[8:]))
			bb.Append(decimal128.New(hi, lo))
			key = key[16:]
		default:
			return fmt.Errorf("type %s cannot be a key", b.Type())
		}
	}
	return nil
}
