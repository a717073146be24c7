package agg

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func BenchmarkCountDistinctInt64(b *testing.B) {
	benchUpdate(b, "count_distinct", arrow.PrimitiveTypes.Int64)
}

func BenchmarkCountDistinctString(b *testing.B) {
	benchUpdate(b, "count_distinct", arrow.BinaryTypes.String)
}
