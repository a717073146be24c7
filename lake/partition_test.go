package lake

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestKeepPartition(t *testing.T) {
	parts := []arrow.Field{
		{Name: "region", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "date", Type: arrow.FixedWidthTypes.Date32},
		{Name: "hour", Type: arrow.PrimitiveTypes.Int64},
	}
	for _, tc := range []struct {
		where  string
		values []string
		want   bool
	}{
		{"region = 'eu'", []string{"eu"}, true},
		{"region = 'eu'", []string{"us"}, false},
		{"region = 'eu'", []string{NullPartition}, false}, // NULL is not TRUE
		{"region IS NULL", []string{NullPartition}, true},
		{"region = 'eu west'", []string{"eu west"}, true},
		{"region = 'eu' AND amount > 5", []string{"us"}, false},            // the other conjunct is not about partitions
		{"region = 'eu' OR amount > 5", []string{"us"}, true},              // an OR with a file column decides nothing
		{"date >= DATE '2026-03-02'", []string{"eu"}, true},                // the date level is not reached yet
		{"date >= DATE '2026-03-02'", []string{"eu", "2026-03-01"}, false}, // reached
		{"date >= '2026-03-02'", []string{"eu", "2026-03-02"}, true},       // a string constant compared with a date
		{"date BETWEEN '2026-03-01' AND '2026-03-31' AND hour < 6", []string{"eu", "2026-03-05", "7"}, false},
		{"date BETWEEN '2026-03-01' AND '2026-03-31' AND hour < 6", []string{"eu", "2026-03-05", "5"}, true},
		{"hour % 2 = 0", []string{"eu", "2026-03-05", "4"}, true}, // any expression of partition columns
		{"hour % 2 = 0", []string{"eu", "2026-03-05", "5"}, false},
		{"region || '/' || CAST(hour AS string) = 'eu/4'", []string{"eu", "2026-03-05", "4"}, true},
	} {
		tests := partitionTests(conjuncts(parse(t, tc.where)), parts)
		got, err := keepPartition(tests, parts, tc.values)
		if err != nil {
			t.Fatalf("%s at %v: %v", tc.where, tc.values, err)
		}
		if got != tc.want {
			t.Errorf("%s at %v: keep %v, want %v", tc.where, tc.values, got, tc.want)
		}
	}
	if _, err := keepPartition(partitionTests(conjuncts(parse(t, "hour = 1")), parts), parts, []string{"eu", "2026-03-05", "five"}); err == nil {
		t.Errorf("an hour that is not a number: no error")
	}
}
