package op

import "testing"

// BenchmarkTemporalJoin joins 100,000 left rows with 100,000 versions over 1,000 keys (a
// hundred versions a key, one every 1,000 ms), the watermark a batch behind the input: rows
// a second, rows out reported.
func BenchmarkTemporalJoin(b *testing.B) {
	benchJoin(b, 1_000, func() (Operator, error) { return NewTemporalJoin(temporalJoinConfig(true)) })
}
