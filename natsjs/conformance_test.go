package natsjs

import (
	"fmt"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"millrace/source"
	"millrace/source/sourcetest"
)

// TestSourceConforms runs the conformance suite on a stream split into 3 partition
// subjects, with corrupt records among the messages, and on a whole stream.
func TestSourceConforms(t *testing.T) {
	for _, c := range []struct {
		name       string
		partitions int
	}{{"partitions", 3}, {"whole", 0}} {
		t.Run(c.name, func(t *testing.T) {
			e, js := testServer(t)
			records := transactions(t, 900, 0.03)
			parts := max(c.partitions, 1)
			publish(t, js, jetstream.StreamConfig{Name: "TX", Subjects: []string{"tx.>"}}, records,
				func(i int) string { return fmt.Sprintf("tx.%d", i%parts) })
			per := make([]int64, parts)
			for i := range records {
				per[i%parts]++
			}
			subject := "tx"
			if c.partitions == 0 {
				subject = ""
			}
			sourcetest.Run(t, sourcetest.Subject{
				New: func(t *testing.T) source.Source {
					return newTestSource(t, e, SourceConfig{Subject: subject, Partitions: c.partitions})
				},
				PerPartition: per,
				Waits:        true,
			})
		})
	}
}
