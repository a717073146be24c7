package kafka

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCommitterReachesAMarkBetweenItsRecords hands a committer records, a mark and more
// records while its first transaction is in flight: the mark is reached once the records
// before it are committed, and the records after it go out only after the mark returned,
// never in a transaction with those before it.
func TestCommitterReachesAMarkBetweenItsRecords(t *testing.T) {
	recs := func(vs ...string) []*kgo.Record {
		var out []*kgo.Record
		for _, v := range vs {
			out = append(out, &kgo.Record{Value: []byte(v)})
		}
		return out
	}
	var mu sync.Mutex
	var log []string // transactions and the mark, in the order they happened
	started, release := make(chan struct{}), make(chan struct{})
	first := true
	c := newCommitter(func(take []*kgo.Record) error {
		if first {
			first = false
			close(started)
			<-release
		}
		var vs []string
		for _, r := range take {
			vs = append(vs, string(r.Value))
		}
		mu.Lock()
		defer mu.Unlock()
		log = append(log, "commit "+strings.Join(vs, ""))
		return nil
	})
	defer c.close()
	if err := c.add(recs("a")); err != nil {
		t.Fatal(err)
	}
	<-started // "a" is in flight
	if err := c.add(recs("b", "c")); err != nil {
		t.Fatal(err)
	}
	reached := make(chan error, 1)
	c.setMark(func(err error) {
		mu.Lock()
		log = append(log, "mark")
		mu.Unlock()
		reached <- err
	})
	if err := c.add(recs("d")); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-reached; err != nil {
		t.Fatal(err)
	}
	if err := c.wait(); err != nil {
		t.Fatal(err)
	}
	want := []string{"commit a", "commit bc", "mark", "commit d"}
	if !slices.Equal(log, want) {
		t.Fatalf("%q, want %q", log, want)
	}
}

// TestCommitterStopsAfterAFailedTransaction fails the transaction before a mark: the mark is
// told the error, and the records after it are never produced.
func TestCommitterStopsAfterAFailedTransaction(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var produced [][]*kgo.Record
	c := newCommitter(func(take []*kgo.Record) error {
		produced = append(produced, take)
		if len(produced) == 1 {
			close(started)
			<-release
			return errors.New("broker gone")
		}
		return nil
	})
	defer c.close()
	if err := c.add([]*kgo.Record{{Value: []byte("a")}}); err != nil {
		t.Fatal(err)
	}
	<-started
	reached := make(chan error, 1)
	c.setMark(func(err error) { reached <- err })
	if err := c.add([]*kgo.Record{{Value: []byte("b")}}); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-reached; err == nil {
		t.Fatal("the mark after a failed transaction was told no error")
	}
	if err := c.wait(); err == nil {
		t.Fatal("wait after a failed transaction returned no error")
	}
	c.close()
	if len(produced) != 1 {
		t.Fatalf("%d transactions; the records after the failure went out", len(produced))
	}
}
