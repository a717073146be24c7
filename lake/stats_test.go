package lake

import (
	"fmt"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"millrace/expr"
)

var statsTestSchema = arrow.NewSchema([]arrow.Field{
	{Name: "amount", Type: &arrow.Decimal128Type{Precision: 18, Scale: 2}},
	{Name: "currency", Type: arrow.BinaryTypes.String},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
	{Name: "mcc", Type: arrow.PrimitiveTypes.Int32},
	{Name: "lat", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32},
}, nil)

func parse(t *testing.T, src string) expr.Node {
	t.Helper()
	n, err := expr.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestKeepRowGroups(t *testing.T) {
	ms := func(s string) arrow.Timestamp {
		v, err := arrow.TimestampFromString(s, arrow.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// Three row groups of 100 rows.
	rows := []int64{100, 100, 100}
	stats := map[int][]groupStats{
		0: {{decimal128.FromI64(100), decimal128.FromI64(5000), 0}, {decimal128.FromI64(5000), decimal128.FromI64(90000), 0}, {nil, nil, -1}},
		1: {{"EUR", "EUR", 0}, {"EUR", "USD", 3}, {nil, nil, 100}},
		2: {{ms("2026-03-01T00:00:00Z"), ms("2026-03-01T23:59:59Z"), 0}, {ms("2026-03-02T00:00:00Z"), ms("2026-03-02T23:59:59Z"), 0}, {ms("2026-03-03T00:00:00Z"), ms("2026-03-03T23:59:59Z"), 0}},
		3: {{int32(5411), int32(5411), 0}, {int32(4000), int32(6000), 0}, {int32(7000), int32(7999), 0}},
		4: {{1.5, 2.5, 0}, {2.5, 2.5, 0}, {nil, nil, 100}},
		5: {{arrow.Date32(20513), arrow.Date32(20513), 0}, {arrow.Date32(20514), arrow.Date32(20520), 0}, {nil, nil, -1}},
	}
	for _, tc := range []struct {
		where string
		want  []bool
	}{
		{"amount > 60.00", []bool{false, true, true}},    // 100 .. 5000 is 1.00 .. 50.00: unscaled decimal(18,2)
		{"amount > 50.00", []bool{false, true, true}},    // group 0's max is 50.00 exactly
		{"amount >= 50.00", []bool{true, true, true}},    // and it may hold it
		{"amount < 1", []bool{false, false, true}},       // group 2 has no statistics
		{"50 < amount", []bool{false, true, true}},       // either way round
		{"currency = 'GBP'", []bool{false, true, false}}, // group 2 is all NULL
		{"currency <> 'EUR'", []bool{false, true, false}},
		{"currency IS NULL", []bool{false, true, true}},
		{"currency IS NOT NULL", []bool{true, true, false}},
		{"currency IN ('CHF', 'AUD')", []bool{false, false, false}},
		{"currency IN ('CHF', 'GBP')", []bool{false, true, false}},
		{"ts >= '2026-03-02'", []bool{false, true, true}},
		{"ts BETWEEN TIMESTAMP '2026-03-01T12:00:00Z' AND '2026-03-01T13:00:00Z'", []bool{true, false, false}},
		{"ts < DATE '2026-03-02' AND mcc = 5411", []bool{true, false, false}},
		{"mcc = 5411 OR ts > '2026-03-02'", []bool{true, true, true}}, // an OR is not tested
		{"mcc NOT IN (5411)", []bool{true, true, true}},               // nor a NOT IN
		{"mcc + 1 = 5412", []bool{true, true, true}},                  // nor an expression of the column
		{"mcc > 6000.5", []bool{false, false, true}},                  // int32 against a decimal constant
		{"lat <> 2.5", []bool{true, true, true}},                      // <> of floats is not tested (NaN is unequal to all)
		{"lat = 2.0", []bool{true, false, false}},
		{"day = DATE '2026-03-02'", []bool{false, true, true}},
		{"amount > 'x'", []bool{true, true, true}},     // a test that does not compile skips nothing
		{"currency = NULL", []bool{true, true, false}}, // NULL tests keep; all NULL skips
	} {
		t.Run(tc.where, func(t *testing.T) {
			tests := statsTests(conjuncts(parse(t, tc.where)), statsTestSchema)
			got, err := keepRowGroups(tests, statsTestSchema, stats, rows)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("keep %v, want %v (tests: %v)", got, tc.want, describe(tests))
			}
		})
	}
}

func describe(tests []statsTest) []string {
	var out []string
	for _, t := range tests {
		out = append(out, fmt.Sprintf("%s: %s", statsTestSchema.Field(t.column).Name, t.e))
	}
	return out
}
