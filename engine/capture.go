package engine

import (
	"fmt"
	"time"

	"millrace/op"
)

// An operator that is an op.Capturer holds its input at a checkpoint only while it
// captures its state (a copy, or, for a features step, a freeze of the keys the encoding
// will copy before the step changes them): the encoding runs on a goroutine of its own
// while the subtask goes on with the messages after the barrier, and the subtask acks its
// part when the encoding is done. A subtask has at most one encoding under way; it waits
// for it before it takes another part (the next checkpoint's, or the final one), so its
// acks keep their order, and before it closes its operator.

// encoding is a checkpoint part being encoded off the subtask's goroutine.
type encoding struct {
	id        uint64
	watermark int64
	done      chan encoded // cap 1: the goroutine never waits for the subtask
}

// encoded is what an encoding made.
type encoded struct {
	state []byte
	err   error
}

// takePart takes the operator's part of checkpoint id and acks it, or starts its encoding
// when the operator captures its state first. It records how long it held the subtask.
func (t *operatorTask) takePart(id uint64) error {
	if err := t.settle(); err != nil {
		return err
	}
	began := time.Now()
	defer func() { t.stats.Pause.observe(time.Since(began)) }()
	c, ok := t.o.(op.Capturer)
	if !ok || t.r.coord.byGroup[t.n] {
		state, groups, err := t.snapshot(id)
		if err != nil {
			return err
		}
		t.r.coord.ack(ack{node: t.n, sub: t.sub, id: id, state: state, groups: groups, watermark: t.current})
		return nil
	}
	encode, err := c.CaptureSnapshot(id)
	if err != nil {
		return fmt.Errorf("snapshot for checkpoint %d: %w", id, err)
	}
	e := &encoding{id: id, watermark: t.current, done: make(chan encoded, 1)}
	go func() {
		state, err := encode()
		e.done <- encoded{state: state, err: err}
	}()
	t.encoding = e
	return nil
}

// encodedChan is the channel the encoding under way reports on, nil when there is none.
func (t *operatorTask) encodedChan() <-chan encoded {
	if t.encoding == nil {
		return nil
	}
	return t.encoding.done
}

// finishEncoding acks the part the encoding under way made.
func (t *operatorTask) finishEncoding(res encoded) error {
	e := t.encoding
	t.encoding = nil
	if res.err != nil {
		return fmt.Errorf("snapshot for checkpoint %d: %w", e.id, res.err)
	}
	t.r.coord.ack(ack{node: t.n, sub: t.sub, id: e.id, state: res.state, watermark: e.watermark})
	return nil
}

// settle waits for the encoding under way, if any, and acks its part.
func (t *operatorTask) settle() error {
	if t.encoding == nil {
		return nil
	}
	return t.finishEncoding(<-t.encoding.done)
}

// abandonEncoding waits for the encoding under way, if any, without acking its part: the
// subtask has failed.
func (t *operatorTask) abandonEncoding() {
	if t.encoding != nil {
		<-t.encoding.done
		t.encoding = nil
	}
}
