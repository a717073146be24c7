package kafka

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/format"
	"millrace/source"
	"millrace/source/sourcetest"
)

// TestSourceConforms runs the conformance suite on a topic of 4 partitions holding 45, 30,
// 12 and no records, every ninth of which does not decode, read in batches of at most 7.
func TestSourceConforms(t *testing.T) {
	for _, kind := range []format.Kind{format.JSONL, format.CSV} {
		t.Run(string(kind), func(t *testing.T) {
			c := newTestCluster(t, 4, "tx")
			per := []int64{45, 30, 12, 0}
			var recs []*kgo.Record
			for p, n := range per {
				for i := range n {
					v := fmt.Sprintf(`{"id":"p%d-%d","amount":%d}`, p, i, i)
					if kind == format.CSV {
						v = fmt.Sprintf("p%d-%d,%d", p, i, i)
					}
					if i%9 == 4 {
						v = `{"id":` // neither JSON nor a CSV line of two columns
					}
					recs = append(recs, &kgo.Record{Topic: "tx", Partition: int32(p), Value: []byte(v)})
				}
			}
			c.produce(t, recs...)
			sourcetest.Run(t, sourcetest.Subject{
				New: func(t *testing.T) source.Source {
					return newSource(t, c, Options{Format: kind, Group: "conformance", BatchRows: 7, PollInterval: 20 * time.Millisecond})
				},
				PerPartition: per,
				Waits:        true,
			})
		})
	}
}
