package kafka

import (
	"fmt"
	"sync"
)

// acks lets an at-least-once checkpoint wait only for the records produced before its
// barrier. franz-go's Flush waits for every buffered record, also those produced while it
// waits, so a sink that kept producing past the barrier would wait for its own new rows;
// the sink instead numbers its records and counts the acknowledgements of those below the
// barrier, while the rows after it go on being produced.
type acks struct {
	mu      sync.Mutex
	next    uint64        // the number of the next record produced
	done    uint64        // records acknowledged, or failed
	barrier uint64        // records numbered below it are awaited
	awaited uint64        // of those, the ones not acknowledged yet
	settled chan struct{} // closed when awaited reaches 0
}

// produced numbers a record about to be produced.
func (a *acks) produced() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.next++
	return a.next - 1
}

// acknowledged counts the brokers' answer for record seq.
func (a *acks) acknowledged(seq uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.done++
	if seq < a.barrier && a.awaited > 0 {
		a.awaited--
		if a.awaited == 0 {
			close(a.settled)
		}
	}
}

// await sets a barrier after every record produced so far and returns a channel closed once
// the brokers have answered for all of them. One barrier is awaited at a time.
func (a *acks) await() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.barrier, a.awaited = a.next, a.next-a.done
	a.settled = make(chan struct{})
	if a.awaited == 0 {
		close(a.settled)
	}
	return a.settled
}

// CaptureSnapshot takes the snapshot of checkpoint id. At least once, the checkpoint waits
// off the sink's goroutine until the brokers have the records produced before it, and the
// sink goes on producing the rows that come after; committing per batch, it waits off the
// sink's goroutine for the rows before it to be committed (see captureBatch); otherwise it
// is Snapshot's.
func (s *Sink) CaptureSnapshot(id uint64) (func() ([]byte, error), error) {
	if s.batch.on && s.batch.live && s.opts.Outbox == nil {
		return s.captureBatch(id), nil
	}
	if s.opts.Delivery != AtLeastOnce || s.ckpt || s.opts.Outbox != nil {
		state, err := s.Snapshot(id)
		return func() ([]byte, error) { return state, err }, err
	}
	settled := s.acks.await()
	return func() ([]byte, error) {
		ctx, cancel := s.call()
		defer cancel()
		select {
		case <-settled:
			return nil, s.err()
		case <-ctx.Done():
			return nil, fmt.Errorf("kafka sink %s: the records before checkpoint %d were not acknowledged: %w", s.opts.Topic, id, ctx.Err())
		}
	}, nil
}
