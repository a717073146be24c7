package kafka

import (
	"testing"
	"time"
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

// TestSharedCopiesFetchApart checks that the readers of copies Share made fetch through
// pollers of their own, and that the last reader of a poller to close closes it: a reader
// opened afterwards fetches through a new one.
func TestSharedCopiesFetchApart(t *testing.T) {
	c := newTestCluster(t, 2, "tx")
	src := newSource(t, c, Options{PollInterval: 10 * time.Millisecond})
	a, b := src.Share(), src.Share()
	ra, err := a.Open(t.Context(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := b.Open(t.Context(), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	first := ra.(*reader).poller
	if first == rb.(*reader).poller {
		t.Fatal("readers of two copies share a poller")
	}
	if err := ra.Close(); err != nil {
		t.Fatal(err)
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
