package kafka

import (
	"fmt"
	"testing"
	"time"
)

// TestProgressNamesTheOldestRecordsTimestamp checks that a reader's progress gives the
// broker timestamp of the oldest record of each batch it read, and none after an empty
// poll, so that the engine can tell how long records waited before their read.
func TestProgressNamesTheOldestRecordsTimestamp(t *testing.T) {
	c := newTestCluster(t, 1, "tx")
	base := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	// Out of order on purpose: the second batch's oldest record is not its first.
	for i, at := range []time.Duration{3, 1, 2, 9, 5, 7} {
		r := rec("tx", 0, fmt.Sprintf(`{"id":"r%d","amount":%d}`, i, i))
		r.Timestamp = base.Add(at * time.Second)
		c.produce(t, r)
	}
	s := newSource(t, c, Options{BatchRows: 3, PollInterval: 10 * time.Millisecond})
	r, err := s.Open(t.Context(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []time.Time
	for rows := 0; rows < 6; {
		b, _, err := r.Read(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if b == nil {
			if at := r.Progress().Appended; !at.IsZero() {
				t.Errorf("an empty poll's oldest record at %s", at)
			}
			continue
		}
		rows += int(b.NumRows())
		b.Release()
		got = append(got, r.Progress().Appended.UTC())
	}
	want := []time.Time{base.Add(time.Second), base.Add(5 * time.Second)}
	if len(got) != len(want) || !got[0].Equal(want[0]) || !got[1].Equal(want[1]) {
		t.Errorf("the batches' oldest records at %v, want %v", got, want)
	}
}
