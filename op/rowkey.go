package op

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
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
