package op

import (
	"errors"

	"github.com/apache/arrow-go/v18/arrow"
)

// Chain runs operators one after another in one subtask: what one collects, the next
// processes, with no channel between them. Watermarks and the end of input reach them in
// order, so the output an operator emits on a watermark is processed downstream before the
// next operator sees the watermark.
type Chain struct {
	ops []Operator
}

// NewChain fuses ops, the first receiving the chain's input.
func NewChain(ops ...Operator) *Chain { return &Chain{ops: ops} }

// link feeds the output of one operator of a chain into the next.
type link struct {
	next Operator
	out  Collector
}

func (l link) Collect(rec arrow.RecordBatch) error { return l.next.Process(0, rec, l.out) }

// Open opens every operator in order.
func (c *Chain) Open(ctx Context) error {
	for _, o := range c.ops {
		if err := o.Open(ctx); err != nil {
			return err
		}
	}
	return nil
}

// collector returns what operator i collects into, given the chain's own output.
func (c *Chain) collector(i int, out Collector) Collector {
	if i == len(c.ops)-1 {
		return out
	}
	return link{next: c.ops[i+1], out: c.collector(i+1, out)}
}

// Process runs rec through the chain.
func (c *Chain) Process(input int, rec arrow.RecordBatch, out Collector) error {
	return c.ops[0].Process(input, rec, c.collector(0, out))
}

// OnWatermark tells every operator, first to last.
func (c *Chain) OnWatermark(wm int64, out Collector) error {
	for i, o := range c.ops {
		if err := o.OnWatermark(wm, c.collector(i, out)); err != nil {
			return err
		}
	}
	return nil
}

// Finish finishes every operator, first to last.
func (c *Chain) Finish(out Collector) error {
	for i, o := range c.ops {
		if err := o.Finish(c.collector(i, out)); err != nil {
			return err
		}
	}
	return nil
}

// Close closes every operator and joins their errors.
func (c *Chain) Close() error {
	var errs []error
	for _, o := range c.ops {
		errs = append(errs, o.Close())
	}
	return errors.Join(errs...)
}

// Dropped sums the rows the chain's operators dropped.
func (c *Chain) Dropped() int64 {
	var n int64
	for _, o := range c.ops {
		if d, ok := o.(interface{ Dropped() int64 }); ok {
			n += d.Dropped()
		}
	}
	return n
}

// StateBytes sums the state of the chain's stateful operators.
func (c *Chain) StateBytes() int64 {
	var n int64
	for _, o := range c.ops {
		if s, ok := o.(Stateful); ok {
			n += s.StateBytes()
		}
	}
	return n
}
