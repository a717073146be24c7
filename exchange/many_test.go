package exchange

import (
	"context"
	"testing"

	"millrace/op"
)

// TestOneSourceReadsManyKeyGroups reads 128 key groups through one source, as a worker
// owning half of them does: its readers share one client, and every one of them hears the
// marker its partition holds.
func TestOneSourceReadsManyKeyGroups(t *testing.T) {
	brokers := newCluster(t)
	produceTx(t, brokers, "tx-many", true, Markers(testTopic, KeyGroups, "u", 1000))
	parts := make([]int32, 128)
	for i := range parts {
		parts[i] = int32(2 * i)
	}
	src := newTestSource(t, brokers, parts, []string{"u"}, 1000)
	readers := make([]*reader, len(parts))
	for i := range parts {
		r, err := src.Open(context.Background(), i, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		readers[i] = r.(*reader)
	}
	for left := len(readers); left > 0; {
		left = 0
		for _, r := range readers {
			if _, _, err := r.Read(context.Background()); err != nil {
				t.Fatal(err)
			}
			if r.Watermark() == op.MinWatermark {
				left++
			}
		}
	}
	for i, r := range readers {
		if r.poller != readers[0].poller {
			t.Fatalf("the reader of key group %d fetches through a poller of its own", parts[i])
		}
	}
}
