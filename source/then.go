package source

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"millrace/format"
	"millrace/take"
)

// Then is a history followed by a live stream as one source, so that one pipeline does a
// backfill and goes on live: the rows of a bounded history (a lake) whose event time is
// before a switch time, and the rows of a live source (Kafka, JetStream) at or after it.
// The live source should start where its rows reach the switch time (a Kafka source
// started at that time, say): the rows before it that it delivers are dropped, since the
// history holds them. A row without an event time is the history's.
//
// Its partitions are the history's, then the live source's. Both are read at once: the
// watermark, the minimum over the partitions, stays below the switch time until every
// history partition has ended, so no history row is late because live rows came first;
// those wait in the windows. The history's partitions end (PartitionEnds), so the engine
// reads a few of them at a time, as it reads a bounded source. A checkpoint holds each
// partition's position in its own source's terms, whether the switch is behind it or not.
type Then struct {
	history, live Source
	eventTime     int   // the event-time column
	at            int64 // the switch time, in milliseconds
}

var (
	_ PartitionEnds = (*Then)(nil)
	_ Sharer        = (*Then)(nil)
)

// NewThen returns history followed by live at the switch time at, by the event time in
// the column eventTime. Both must yield rows of one schema, with the event time a
// timestamp column, and be resumable; history must be bounded and live not.
func NewThen(history, live Source, eventTime string, at time.Time) (*Then, error) {
	hs, ls := history.Schema(), live.Schema()
	switch {
	case !hs.Equal(ls):
		return nil, fmt.Errorf("the history's columns (%s) and the live source's (%s) differ: give both the same schema", columnList(hs), columnList(ls))
	case !history.Capabilities().Bounded:
		return nil, fmt.Errorf("the history must end, to go on with the live source")
	case live.Capabilities().Bounded:
		return nil, fmt.Errorf("the live source ends: read it as a history")
	}
	i := hs.FieldIndices(eventTime)
	if len(i) != 1 {
		return nil, fmt.Errorf("event time %q is not a column of the history", eventTime)
	}
	if _, ok := hs.Field(i[0]).Type.(*arrow.TimestampType); !ok {
		return nil, fmt.Errorf("event time %q is %s, not a timestamp", eventTime, hs.Field(i[0]).Type)
	}
	return &Then{history: history, live: live, eventTime: i[0], at: at.UnixMilli()}, nil
}

func columnList(s *arrow.Schema) string {
	var out string
	for i, f := range s.Fields() {
		if i > 0 {
			out += ", "
		}
		out += f.Name + " " + f.Type.String()
	}
	return out
}

// Schema implements Source.
func (t *Then) Schema() *arrow.Schema { return t.history.Schema() }

// Partitions implements Source: the history's, then the live source's.
func (t *Then) Partitions() int { return t.history.Partitions() + t.live.Partitions() }

// Capabilities implements Source: never bounded, resumable when both are, with the live
// source's lag.
func (t *Then) Capabilities() Capabilities {
	hc, lc := t.history.Capabilities(), t.live.Capabilities()
	return Capabilities{Resumable: hc.Resumable && lc.Resumable, Lag: lc.Lag}
}

// Share implements Sharer: the copy shares the live source's fetch when it can.
func (t *Then) Share() Source {
	c := *t
	if sh, ok := t.live.(Sharer); ok {
		c.live = sh.Share()
	}
	return &c
}

// Ends implements PartitionEnds: the history's partitions end.
func (t *Then) Ends(partition int) bool { return partition < t.history.Partitions() }

// Size implements Source.
func (t *Then) Size(partition int) int64 {
	if h := t.history.Partitions(); partition >= h {
		return t.live.Size(partition - h)
	}
	return t.history.Size(partition)
}

// Open implements Source.
func (t *Then) Open(ctx context.Context, partition int, pos []byte) (PartitionReader, error) {
	h := t.history.Partitions()
	if partition < h {
		r, err := t.history.Open(ctx, partition, pos)
		if err != nil {
			return nil, err
		}
		return &switchReader{PartitionReader: r, t: t, live: false}, nil
	}
	r, err := t.live.Open(ctx, partition-h, pos)
	if err != nil {
		return nil, err
	}
	return &switchReader{PartitionReader: r, t: t, live: true}, nil
}

// Committed implements Source: the live source's positions go to it, under its own
// partition numbers.
func (t *Then) Committed(ctx context.Context, checkpoint uint64, positions map[int][]byte) error {
	h := t.history.Partitions()
	hist, live := map[int][]byte{}, map[int][]byte{}
	for _, p := range slices.Sorted(maps.Keys(positions)) {
		if p < h {
			hist[p] = positions[p]
		} else {
			live[p-h] = positions[p]
		}
	}
	if len(hist) > 0 {
		if err := t.history.Committed(ctx, checkpoint, hist); err != nil {
			return err
		}
	}
	if len(live) > 0 {
		return t.live.Committed(ctx, checkpoint, live)
	}
	return nil
}

// switchReader reads a partition of the history, keeping the rows before the switch time,
// or of the live source, keeping those at or after it.
type switchReader struct {
	PartitionReader
	t    *Then
	live bool
	kept []int32
	// picked says the last Read dropped rows: lines and offsets are then the per-row
	// figures of the rows kept.
	picked  bool
	lines   func() ([]int64, error)
	offsets []int64
}

// Read implements PartitionReader.
func (r *switchReader) Read(ctx context.Context) (arrow.RecordBatch, []format.DeadLetter, error) {
	rec, dead, err := r.PartitionReader.Read(ctx)
	r.picked = false
	if rec == nil || err != nil {
		return rec, dead, err
	}
	ts := rec.Column(r.t.eventTime).(*array.Timestamp)
	r.kept = r.kept[:0]
	for i, v := range ts.TimestampValues() {
		after := ts.IsValid(i) && int64(v) >= r.t.at
		if after == r.live {
			r.kept = append(r.kept, int32(i))
		}
	}
	if len(r.kept) == int(rec.NumRows()) {
		return rec, dead, nil
	}
	prog := r.PartitionReader.Progress()
	r.picked, r.lines, r.offsets = true, pickLines(prog.Lines, r.kept), pick(prog.Offsets, r.kept)
	defer rec.Release()
	if len(r.kept) == 0 {
		return nil, dead, nil
	}
	kept, err := take.Rows(rec, r.kept)
	if err != nil {
		return nil, dead, fmt.Errorf("keep the rows on the %s side of the switch: %w", r.side(), err)
	}
	return kept, dead, nil
}

func (r *switchReader) side() string {
	if r.live {
		return "live"
	}
	return "history's"
}

// Progress implements PartitionReader, with the per-row figures of the rows kept.
func (r *switchReader) Progress() Progress {
	p := r.PartitionReader.Progress()
	if r.picked {
		p.Lines, p.Offsets = r.lines, r.offsets
	}
	return p
}

// pickLines returns what lines gives at rows, or nil when lines is nil; like lines, it is
// valid until the next Read, which reuses rows.
func pickLines(lines func() ([]int64, error), rows []int32) func() ([]int64, error) {
	if lines == nil {
		return nil
	}
	return func() ([]int64, error) {
		all, err := lines()
		return pick(all, rows), err
	}
}

// pick returns the values of v at rows, or nil when v is nil.
func pick(v []int64, rows []int32) []int64 {
	if v == nil {
		return nil
	}
	out := make([]int64, len(rows))
	for i, row := range rows {
		out[i] = v[row]
	}
	return out
}
