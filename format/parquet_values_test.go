package format

import (
	"math"
	"math/big"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestExactNumber checks the arithmetic the conversions rely on: rescaling never drops a
// non-zero digit and moves to big.Int and back as the value needs, fits counts digits, and
// String writes every digit.
func TestExactNumber(t *testing.T) {
	huge, _ := new(big.Int).SetString("-123456789012345678901234567890", 10)
	e20, _ := new(big.Int).SetString("100000000000000000000", 10)
	for _, tc := range []struct {
		in    exactNumber
		scale int32
		want  string // the value at scale, or "!" when rescaling would drop digits
		prec  int32  // fits(prec) is true and fits(prec-1) false
	}{
		{exactNumber{v: 12345, scale: 3}, 5, "12.34500", 7},
		{exactNumber{v: 12340, scale: 3}, 2, "12.34", 4},
		{exactNumber{v: 12345, scale: 3}, 2, "!", 0},
		{exactNumber{v: -5, scale: 4}, 4, "-0.0005", 1},
		{exactNumber{v: 7, scale: -2}, -2, "700", 1},
		{exactNumber{v: 7, scale: -2}, 0, "700", 3},
		{exactNumber{v: math.MaxInt64}, 2, "9223372036854775807.00", 21},
		{exactNumber{big: huge, scale: 10}, 0, "!", 0},
		{exactNumber{big: huge, scale: 10}, 12, "-12345678901234567890.123456789000", 32},
		{exactNumber{big: e20, scale: 20}, 0, "1", 1},
	} {
		got, ok := tc.in.rescale(tc.scale)
		if !ok {
			if tc.want != "!" {
				t.Errorf("%s to scale %d dropped digits, want %s", tc.in, tc.scale, tc.want)
			}
			continue
		}
		if s := got.String(); s != tc.want {
			t.Errorf("%s to scale %d: %s, want %s", tc.in, tc.scale, s, tc.want)
			continue
		}
		if got.big != nil && got.big.IsInt64() {
			t.Errorf("%s to scale %d is a big.Int although it fits an int64", tc.in, tc.scale)
		}
		if !got.fits(tc.prec) || got.fits(tc.prec-1) {
			t.Errorf("%s: fits(%d) %t, fits(%d) %t; want %d digits", got, tc.prec, got.fits(tc.prec),
				tc.prec-1, got.fits(tc.prec-1), tc.prec)
		}
	}
}

// TestAppendRawJSON checks how a dead letter shows values of types the sample files do not
// hold: non-finite floats as strings, nanosecond timestamps with every digit, dates, nulls.
func TestAppendRawJSON(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	fb := array.NewFloat64Builder(mem)
	fb.AppendValues([]float64{math.NaN(), math.Inf(-1), 0.1}, nil)
	fb.AppendNull()
	floats := fb.NewArray()
	fb.Release()
	defer floats.Release()
	tb := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Nanosecond})
	tb.Append(arrow.Timestamp(-1))
	stamps := tb.NewArray()
	tb.Release()
	defer stamps.Release()
	db := array.NewDate32Builder(mem)
	db.Append(arrow.Date32(-1))
	dates := db.NewArray()
	db.Release()
	defer dates.Release()
	for _, tc := range []struct {
		a    arrow.Array
		i    int
		want string
	}{
		{floats, 0, `"NaN"`},
		{floats, 1, `"-Inf"`},
		{floats, 2, `0.1`},
		{floats, 3, `null`},
		{stamps, 0, `"1969-12-31T23:59:59.999999999Z"`},
		{dates, 0, `"1969-12-31"`},
	} {
		if got := string(appendRawJSON(nil, tc.a, tc.i)); got != tc.want {
			t.Errorf("%s value %d: %s, want %s", tc.a.DataType(), tc.i, got, tc.want)
		}
	}
}
