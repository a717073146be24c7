package kafka

import (
	"errors"
	"sync"
	"testing"
	"time"

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

// BenchmarkSkewBetweenSubtasks reads two partitions from two copies Share made, each on a
// goroutine of its own as two source subtasks do, produces one record to each at once and
// reports, as skew-ns/op, how far apart in time the two reads of them returned: how long
// the subtask that sees its record first waits for the other's, as the watermark
// downstream of both does.
func BenchmarkSkewBetweenSubtasks(b *testing.B) {
	c := newTestCluster(b, 2, "tx")
	s := newSource(b, c, Options{})
	var readers [2]source.PartitionReader
	for p := range readers {
		r, err := s.Share().Open(b.Context(), p, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		readers[p] = r
	}
	var skew time.Duration
	for b.Loop() {
		c.produce(b, rec("tx", 0, `{"id":"a","amount":1}`), rec("tx", 1, `{"id":"b","amount":2}`))
		var at [2]time.Time
		var wg sync.WaitGroup
		errs := make([]error, len(readers))
		for i, r := range readers {
			wg.Go(func() {
				for {
					batch, _, err := r.Read(b.Context())
					if err != nil {
						errs[i] = err
						return
					}
					if batch != nil {
						at[i] = time.Now()
						batch.Release()
						return
					}
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			b.Fatal(err)
		}
		skew += max(at[0].Sub(at[1]), at[1].Sub(at[0]))
	}
	b.ReportMetric(float64(skew.Nanoseconds())/float64(b.N), "skew-ns/op")
}
