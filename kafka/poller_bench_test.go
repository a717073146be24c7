package kafka

import (
	"testing"

	"millrace/source"
)

// BenchmarkRecordBehindAnEmptyPartition produces one record to the second of two
// partitions and reads the two in turn, as a source subtask does, at the default poll
// interval, until the record is read: the time from a record's produce to its read when
// the partition read before its own has nothing.
func BenchmarkRecordBehindAnEmptyPartition(b *testing.B) {
	c := newTestCluster(b, 2, "tx")
	s := newSource(b, c, Options{})
	var readers []source.PartitionReader
	for p := range 2 {
		r, err := s.Open(b.Context(), p, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		readers = append(readers, r)
	}
	for b.Loop() {
		c.produce(b, rec("tx", 1, `{"id":"b","amount":2}`))
		for read := false; !read; {
			for _, r := range readers {
				batch, _, err := r.Read(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				if batch != nil {
					read = true
					batch.Release()
				}
			}
		}
	}
}
