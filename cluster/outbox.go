package cluster

import (
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/exchange"
	"millrace/op"
)

// outbox holds the records a generation's subtasks handed over at each checkpoint until the
// worker produces them in the transaction that commits the checkpoint's input offsets.
type outbox struct {
	mu   sync.Mutex
	byID map[uint64][]*kgo.Record
}

func newOutbox() *outbox { return &outbox{byID: map[uint64][]*kgo.Record{}} }

// add keeps records for checkpoint id (op.FinalCheckpoint for a subtask's last part).
func (o *outbox) add(id uint64, records []*kgo.Record) {
	if len(records) == 0 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.byID[id] = append(o.byID[id], records...)
}

// take removes and returns the records of checkpoint id.
func (o *outbox) take(id uint64) []*kgo.Record {
	o.mu.Lock()
	defer o.mu.Unlock()
	recs := o.byID[id]
	delete(o.byID, id)
	return recs
}

// takeAll removes and returns every record held, for the last checkpoint of a run, which
// holds everyone's final state: the records of checkpoints skipped while the run stopped
// and those the subtasks handed over as they finished.
func (o *outbox) takeAll() []*kgo.Record {
	o.mu.Lock()
	defer o.mu.Unlock()
	var recs []*kgo.Record
	for _, id := range slices.Sorted(maps.Keys(o.byID)) {
		recs = append(recs, o.byID[id]...)
	}
	clear(o.byID)
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

	buf            []*kgo.Record
	watermark      int64
	markedThrough  int64
	markedAnything bool
}

func newExchangeOut(x *Exchange, keyGroups int, unit string, box *outbox) (*exchangeOut, error) {
	o := &exchangeOut{x: x, keyGroups: keyGroups, unit: unit, box: box, watermark: op.MinWatermark}
	for _, k := range x.Edge.Key {
		i := x.Schema.FieldIndices(k)
		if len(i) != 1 {
			return nil, fmt.Errorf("exchange %s: key column %q is not in the rows of %s", x.Topic, k, x.Edge.From.Name)
		}
		o.key = append(o.key, i[0])
	}
	return o, nil
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
	o.box.add(id, o.buf)
	o.buf = nil
	return nil, nil
}

// Restore has nothing to load: Snapshot keeps no state.
func (o *exchangeOut) Restore([]byte) error { return nil }
