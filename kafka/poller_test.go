package kafka

import (
	"fmt"
	"testing"
	"time"

	"millrace/source"
)

// TestAnEmptyPartitionDoesNotHoldBackTheNext reads two partitions in turn, as a source
// subtask does, with a record on the second only and a poll interval no test waits out:
// the Read of the empty first partition returns nothing once the record has come, and
// the second's Read takes it from that same poll.
func TestAnEmptyPartitionDoesNotHoldBackTheNext(t *testing.T) {
	c := newTestCluster(t, 2, "tx")
	c.produce(t, rec("tx", 1, `{"id":"b","amount":2}`))
	s := newSource(t, c, Options{PollInterval: time.Hour}).Share()
	var readers [2]*reader
	for p := range readers {
		r, err := s.Open(t.Context(), p, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		readers[p] = r.(*reader)
	}
	if readers[0].poller != readers[1].poller {
		t.Fatal("the readers of one source fetch through pollers of their own")
	}
	b, _, err := readers[0].Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if b != nil {
		t.Fatalf("the empty partition read %d rows", b.NumRows())
	}
	b, _, err = readers[1].Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if b == nil || b.NumRows() != 1 {
		t.Fatalf("the second partition read %v, want its record", b)
	}
	b.Release()
	if polls := readers[0].poller.polls; polls != 1 {
		t.Errorf("%d polls for one round of reads, want 1", polls)
	}
}

// TestSharedCopiesFetchTogether checks that the readers of the copies Share made fetch
// through one poller, each taking its own partition's records, and that the last reader
// of the poller to close closes it: a reader opened afterwards fetches through a new one.
func TestSharedCopiesFetchTogether(t *testing.T) {
	c := newTestCluster(t, 2, "tx")
	c.produce(t, rec("tx", 0, `{"id":"a","amount":1}`), rec("tx", 1, `{"id":"b","amount":2}`))
	src := newSource(t, c, Options{PollInterval: time.Hour})
	a, b := src.Share(), src.Share()
	ra, err := a.Open(t.Context(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := b.Open(t.Context(), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := ra.(*reader).poller
	if first != rb.(*reader).poller {
		t.Fatal("the readers of two copies fetch through pollers of their own")
	}
	for _, r := range []source.PartitionReader{ra, rb} {
		batch, _, err := r.Read(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if batch == nil || batch.NumRows() != 1 {
			t.Fatalf("%s read %v, want its record", r.Position().File, batch)
		}
		batch.Release()
	}
	for _, r := range []source.PartitionReader{ra, rb} {
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	again, err := a.Open(t.Context(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.(*reader).poller == first {
		t.Error("a reader opened after the last one closed fetches through the closed poller")
	}
}

// TestABusyGroupDoesNotHoldUpAnother reads one partition through one copy of a source
// while the reader of another copy takes nothing: the records polled for the idle reader
// wait in the poller until its partition is paused, at a bound, and the other goes on
// reading; then the idle reader reads every record of its partition, in order, none lost
// to the pause. Reads that find nothing within the poll interval are read again.
func TestABusyGroupDoesNotHoldUpAnother(t *testing.T) {
	const bound, behind = 4, 40
	c := newTestCluster(t, 2, "tx")
	for i := range behind {
		c.produce(t, rec("tx", 0, fmt.Sprintf(`{"id":"a%d","amount":1}`, i)))
	}
	// A resumed partition is fetched once the fetch in flight ends, which the brokers hold
	// up to the poll interval when no record comes.
	src := newSource(t, c, Options{PollInterval: 20 * time.Millisecond, BatchRows: bound})
	busy, err := src.Share().Open(t.Context(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	other, err := src.Share().Open(t.Context(), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	pl := other.(*reader).poller
	held := func() (int, bool) {
		pl.mu.Lock()
		defer pl.mu.Unlock()
		g := pl.parts[topicPartition{topic: "tx", partition: 0}].group
		return g.buffered, g.paused
	}
	readOne := func(i int) {
		c.produce(t, rec("tx", 1, fmt.Sprintf(`{"id":"b%d","amount":2}`, i)))
		for {
			batch, _, err := other.Read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if batch != nil {
				batch.Release()
				return
			}
		}
	}
	read := 0
	for ; ; read++ {
		if n, paused := held(); paused {
			if n > 2*bound {
				t.Errorf("%d records held for the busy reader, want at most %d", n, 2*bound)
			}
			break
		}
		if read == behind {
			t.Fatalf("the busy reader's partition not paused after %d reads of the other", read)
		}
		readOne(read)
	}
	for i := range 3 { // the other goes on while the busy one is paused
		readOne(read + i)
	}
	var next int64
	for next < behind {
		batch, _, err := busy.Read(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if batch == nil {
			continue
		}
		for _, off := range busy.Progress().Offsets {
			if off != next {
				t.Fatalf("the busy reader read offset %d, want %d", off, next)
			}
			next++
		}
		batch.Release()
	}
}
