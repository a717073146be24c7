package expr

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestCommonType(t *testing.T) {
	for _, tc := range []struct {
		a, b typ
		want string
	}{
		{tInt32, tInt32, "int32"},
		{tInt32, tInt64, "int64"},
		{tInt64, tDecimal(18, 2), "decimal(21,2)"},
		{tInt32, tDecimal(5, 3), "decimal(13,3)"},
		{tDecimal(18, 2), tDecimal(10, 4), "decimal(20,4)"},
		{tDecimal(38, 0), tDecimal(38, 10), "decimal(38,10)"},
		{tDecimal(18, 2), tFloat64, "float64"},
		{tInt64, tFloat64, "float64"},
		{tNull, tString, "string"},
		{tDate, tTimestamp, "timestamp"},
		{tString, tInt64, ""},
		{tBool, tInt32, ""},
		{tInterval, tTimestamp, ""},
	} {
		got, ok := commonType(tc.a, tc.b)
		if (tc.want == "" && ok) || (tc.want != "" && got.String() != tc.want) {
			t.Errorf("commonType(%s, %s) = %s %v, want %q", tc.a, tc.b, got, ok, tc.want)
		}
		if back, ok2 := commonType(tc.b, tc.a); ok2 != ok || back != got {
			t.Errorf("commonType is not symmetric for %s, %s", tc.a, tc.b)
		}
	}
}

func TestArrowTypes(t *testing.T) {
	for _, tt := range []typ{tBool, tInt32, tInt64, tFloat64, tDecimal(18, 2), tString, tTimestamp, tDate, tInterval, tNull} {
		back, ok := typeOf(tt.arrowType())
		if !ok || back != tt {
			t.Errorf("%s does not round-trip through %s", tt, tt.arrowType())
		}
	}
	if _, ok := typeOf(arrow.PrimitiveTypes.Uint8); ok {
		t.Error("uint8 is not an expression type")
	}
	if got := typeName(&arrow.TimestampType{Unit: arrow.Nanosecond}); got != "timestamp" {
		t.Errorf("typeName = %s", got)
	}
}
