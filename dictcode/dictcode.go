// Package dictcode carries, beside a string column read from dictionary-encoded pages, the
// dictionary it was read from and each row's index in it, so that a group-by can key its
// rows by small integers instead of hashing their bytes.
//
// The column stays an ordinary string array with every value in place; the codes ride in
// its array.Data's dictionary slot, which Arrow uses only for dictionary types and which
// slices keep. Everything that reads the column as strings is unaffected, and anything that
// builds a new array from it (a take, a concatenation, an evaluated expression) drops the
// codes: a reader of codes must fall back to the values when Of finds none.
//
//	column Data (utf8, n rows)        values, offsets, validity as usual
//	  └ dictionary: codes Data        int32, n rows: the row's index in the dictionary,
//	                                  len(dictionary) for a null row
//	      └ dictionary: values Data   utf8: the dictionary's values, one array per
//	                                  dictionary, shared by every batch read with it
package dictcode

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// NewData returns the Data of a string column of type typ and n rows with buffers and
// nulls as array.NewData takes them, carrying codes (n int32 values, each below dict's
// length, or equal to it for a null row) as indexes into dict. The Data retains codes and
// dict.
func NewData(typ arrow.DataType, n int, buffers []*memory.Buffer, nulls int, codes *memory.Buffer, dict *array.Data) *array.Data {
	c := array.NewDataWithDictionary(arrow.PrimitiveTypes.Int32, n, []*memory.Buffer{nil, codes}, 0, 0, dict)
	defer c.Release()
	return array.NewDataWithDictionary(typ, n, buffers, nulls, 0, c)
}

// Of returns the dictionary codes of a's rows and the dictionary they index, when a is a
// string column that carries them; a null row's code is dict.Len(). The same dictionary
// comes back as the same ArrayData for every batch read with it, so it can be compared by
// identity.
func Of(a arrow.Array) (codes []int32, dict arrow.ArrayData, ok bool) {
	c := codesData(a.Data())
	if c == nil {
		return nil, nil, false
	}
	d, _ := c.Dictionary().(*array.Data)
	if d == nil {
		return nil, nil, false
	}
	all := arrow.Int32Traits.CastFromBytes(c.Buffers()[1].Bytes())
	from := a.Data().Offset() + c.Offset()
	return all[from : from+a.Len()], d, true
}

// Bytes is the size of the codes a string column's data carries, 0 when it carries none:
// what its memory holds beyond its values (the dictionary is shared by every batch read
// with it, and not counted).
func Bytes(d arrow.ArrayData) int {
	if c := codesData(d); c != nil {
		return c.Buffers()[1].Len()
	}
	return 0
}

// codesData is the Data of the codes d carries, or nil.
func codesData(d arrow.ArrayData) *array.Data {
	data, ok := d.(*array.Data)
	if !ok || data.DataType().ID() != arrow.STRING {
		return nil
	}
	// Data.Dictionary hands back a nil *Data inside a non-nil interface when there is none.
	c, _ := data.Dictionary().(*array.Data)
	if c == nil || c.DataType().ID() != arrow.INT32 {
		return nil
	}
	return c
}
