package cluster

import (
	"fmt"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/engine"
	"millrace/exchange"
	"millrace/op"
)

// outbox holds the records a generation's subtasks handed over at each checkpoint until the
// worker produces them in the transaction that commits the checkpoint's input offsets.
type outbox struct {
	mu   sync.Mutex
	byID map[uint64][]*kgo.Record
	// finals are the records each subtask handed over as it finished, by node and subtask:
	// they go with the first checkpoint in which its final state stands for it.
	finals map[subtask][]*kgo.Record
}

type subtask struct {
	node string
	sub  int
}

func newOutbox() *outbox {
	return &outbox{byID: map[uint64][]*kgo.Record{}, finals: map[subtask][]*kgo.Record{}}
}

// add keeps records of a node's subtask for checkpoint id (op.FinalCheckpoint for the
// subtask's last part).
func (o *outbox) add(node string, sub int, id uint64, records []*kgo.Record) {
	if len(records) == 0 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if id == op.FinalCheckpoint {
		k := subtask{node, sub}
		o.finals[k] = append(o.finals[k], records...)
		return
	}
	o.byID[id] = append(o.byID[id], records...)
}

// take removes and returns the records that belong to checkpoint s: those of its id and
// the final ones of every subtask whose final state s holds.
func (o *outbox) take(s *engine.Snapshot) []*kgo.Record {
	o.mu.Lock()
	defer o.mu.Unlock()
	recs := o.byID[s.ID]
	delete(o.byID, s.ID)
	for k, fin := range o.finals {
		if f := s.Finished[k.node]; k.sub < len(f) && f[k.sub] {
			recs = append(recs, fin...)
			delete(o.finals, k)
		}
	}
	return recs
}

// exchangeOut is the operator at the upstream end of an exchange: it turns rows into
// records of the exchange's topic, one partition per key group, and at each checkpoint
// hands them to the outbox followed by a marker of its unit's watermark.
type exchangeOut struct {
	op.Base
	x         *Exchange
	keyGroups int
	unit      string // the upstream unit the subtask runs, named in every record
	box       *outbox
	key       []int
	node      string
	sub       int

	buf            []*kgo.Record
	watermark      int64
	markedThrough  int64
	markedAnything bool
}

func newExchangeOut(x *Exchange, keyGroups int, unit string, box *outbox) (*exchangeOut, error) {
	o := &exchangeOut{x: x, keyGroups: keyGroups, unit: unit, box: box, watermark: op.MinWatermark}
	o.node = exchangeOutName(x)
	for _, k := range x.Edge.Key {
		i := x.Schema.FieldIndices(k)
		if len(i) != 1 {
			return nil, fmt.Errorf("exchange %s: key column %q is not in the rows of %s", x.Topic, k, x.Edge.From.Name)
		}
		o.key = append(o.key, i[0])
	}
	return o, nil
}

// Open learns the subtask.
func (o *exchangeOut) Open(ctx op.Context) error {
	o.sub = ctx.Subtask
	return nil
}

// Process encodes rec's rows by key group.
func (o *exchangeOut) Process(_ int, rec arrow.RecordBatch, _ op.Collector) error {
	defer rec.Release()
	recs, err := exchange.Encode(rec, o.key, o.keyGroups, o.x.Topic, o.unit)
	if err != nil {
		return fmt.Errorf("exchange %s: %w", o.x.Topic, err)
	}
	o.buf = append(o.buf, recs...)
	return nil
}

// OnWatermark remembers the watermark; it goes out with the next checkpoint.
func (o *exchangeOut) OnWatermark(wm int64, _ op.Collector) error {
	o.watermark = wm
	return nil
}

// Snapshot hands the records since the last checkpoint to the outbox, with a marker of the
// watermark when it moved, and keeps no state: a restored upstream unit produces its rows
// again from its restored input.
func (o *exchangeOut) Snapshot(id uint64) ([]byte, error) {
	if o.watermark != op.MinWatermark && (!o.markedAnything || o.watermark > o.markedThrough) {
		o.buf = append(o.buf, exchange.Markers(o.x.Topic, o.keyGroups, o.unit, o.watermark)...)
		o.markedThrough, o.markedAnything = o.watermark, true
	}
	o.box.add(o.node, o.sub, id, o.buf)
	o.buf = nil
	return nil, nil
}

// Restore has nothing to load: Snapshot keeps no state.
func (o *exchangeOut) Restore([]byte) error { return nil }

// exchangeOutName names the node at the upstream end of exchange x.
func exchangeOutName(x *Exchange) string { return x.Edge.From.Name + " -> " + x.Topic }
