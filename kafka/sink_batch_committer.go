package kafka

import (
	"errors"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// maxQueued bounds the records a committer holds before add waits: backpressure on the
// sink's subtask when the brokers fall behind.
const maxQueued = 1 << 16

// committer produces, on a goroutine of its own, the records a subtask that commits per
// batch hands it: each transaction takes every record handed in while the one before it
// committed, so a stream of small batches costs one transaction at a time, not one each,
// and a batch arriving while none is in flight goes out at once.
type committer struct {
	produce func([]*kgo.Record) error

	mu     sync.Mutex
	cond   *sync.Cond
	queue  []*kgo.Record
	marks  []mark // in the order they were set
	busy   bool   // a transaction is in flight
	err    error
	closed bool
	done   chan struct{}
}

func newCommitter(produce func([]*kgo.Record) error) *committer {
	c := &committer{produce: produce, done: make(chan struct{})}
	c.cond = sync.NewCond(&c.mu)
	go c.loop()
	return c
}

// mark is a point in the stream of records handed over: reached runs on the committer's
// goroutine once the records before it are committed (or a transaction failed, err), before
// any record after it goes out.
type mark struct {
	before  int // records queued before the mark
	reached func(err error)
}

func (c *committer) loop() {
	defer close(c.done)
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		for len(c.queue) == 0 && len(c.marks) == 0 && !c.closed {
			c.cond.Wait()
		}
		if c.closed {
			return
		}
		if len(c.marks) > 0 && c.marks[0].before == 0 {
			m, err := c.marks[0], c.err
			c.marks, c.busy = c.marks[1:], true
			c.mu.Unlock()
			m.reached(err)
			c.mu.Lock()
			c.busy = false
			c.cond.Broadcast()
			continue
		}
		n := len(c.queue)
		if len(c.marks) > 0 {
			n = c.marks[0].before
		}
		take := c.queue[:n:n]
		c.queue = c.queue[n:]
		for i := range c.marks {
			c.marks[i].before -= n
		}
		if c.err != nil {
			continue // a transaction failed: nothing more goes out, marks are still told
		}
		c.busy = true
		c.mu.Unlock()
		err := c.produce(take)
		c.mu.Lock()
		c.busy = false
		if err != nil {
			c.err = err
		}
		c.cond.Broadcast()
	}
}

// setMark calls reached, on the committer's goroutine, once every record handed over so
// far is committed, while the records handed over after wait for it to return.
func (c *committer) setMark(reached func(err error)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.marks = append(c.marks, mark{before: len(c.queue), reached: reached})
	c.cond.Broadcast()
}

// add hands recs over, waiting while the committer holds maxQueued records. It returns the
// error of a transaction that failed, after which nothing more is produced.
func (c *committer) add(recs []*kgo.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.queue) >= maxQueued && c.err == nil {
		c.cond.Wait()
	}
	if c.err != nil {
		return c.err
	}
	c.queue = append(c.queue, recs...)
	c.cond.Broadcast()
	return nil
}

// wait returns once every record handed over is committed, or a transaction failed.
func (c *committer) wait() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for (len(c.queue) > 0 || len(c.marks) > 0 || c.busy) && c.err == nil {
		c.cond.Wait()
	}
	return c.err
}

// close ends the goroutine once the transaction in flight, if any, has ended; records not
// yet taken are dropped (a run that ends cleanly waited for them at its final checkpoint).
func (c *committer) close() {
	c.mu.Lock()
	c.closed = true
	c.cond.Broadcast()
	c.mu.Unlock()
	<-c.done
	for _, m := range c.marks {
		m.reached(errClosed)
	}
	c.marks = nil
}

// errClosed is what a mark not reached before its committer closed is told.
var errClosed = errors.New("the sink closed before its checkpoint's records were committed")
