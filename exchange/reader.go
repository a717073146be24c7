package exchange

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/format"
	"millrace/kafka"
	"millrace/source"
)

// errNoFrom says a record does not name the unit that produced it.
var errNoFrom = errors.New("the record has no " + HeaderFrom + " header")

var _ source.Watermarker = (*reader)(nil)

// reader reads one partition of the exchange through its source's poller.
type reader struct {
	src       *Source
	poller    *kafka.Poller
	topic     string
	partition int32
	next      int64 // the offset of the next record to take
	hw        int64 // the partition's high watermark as the last fetch said, -1 before one
	batchRows int
	dec       *decoder
	wms       *watermarks
	pending   []*kgo.Record // records polled and not taken yet
	parts     []arrow.RecordBatch
	offsets   []int64 // the offset of each row of the last batch
	bytes     int64
	waited    time.Duration
}

// Read takes the records polled and not yet taken, polling for more (waiting at most the
// poll interval) when there are none. It takes them in order until the rows of the data
// records reach BatchRows: data records become rows of the batch it returns, watermark
// markers advance the watermark of their unit. With no data record taken it returns a nil
// batch. A fetch error, or a record that is neither data of the source's schema nor a
// marker, is an error naming the topic, partition and offset, returned once the rows before
// that record have been delivered; the reader stays before the record. It never yields dead
// letters: the exchange holds only what millrace wrote.
func (r *reader) Read(ctx context.Context) (arrow.RecordBatch, []format.DeadLetter, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if len(r.pending) == 0 {
		if err := r.fetch(ctx); err != nil {
			return nil, nil, err
		}
	}
	r.offsets = r.offsets[:0]
	rows := 0
	for len(r.pending) > 0 && rows < r.batchRows {
		rec := r.pending[0]
		batch, err := r.take(rec)
		if err != nil && len(r.parts) > 0 {
			break // deliver the rows before it; the next Read meets the record first
		}
		if err != nil {
			return nil, nil, fmt.Errorf("exchange %s/%d at offset %d: %w", r.topic, r.partition, rec.Offset, err)
		}
		r.pending = r.pending[1:]
		r.next = rec.Offset + 1
		if batch == nil {
			continue
		}
		r.parts = append(r.parts, batch)
		rows += int(batch.NumRows())
		for range batch.NumRows() {
			r.offsets = append(r.offsets, rec.Offset)
		}
	}
	batch, err := r.concat()
	if err != nil {
		return nil, nil, fmt.Errorf("exchange %s/%d before offset %d: %w", r.topic, r.partition, r.next, err)
	}
	return batch, nil, nil
}

// fetch takes the records fetched for the partition, polling when none are at hand.
func (r *reader) fetch(ctx context.Context) error {
	recs, hw, waited, err := r.poller.Take(ctx, r.topic, r.partition)
	r.waited += waited
	if err != nil {
		return fmt.Errorf("exchange %s/%d at offset %d: %w", r.topic, r.partition, r.next, err)
	}
	r.hw = max(r.hw, hw)
	r.pending = append(r.pending, recs...)
	return nil
}

// take takes one record: a marker advances its unit's watermark and yields no batch; a data
// record yields its rows.
func (r *reader) take(rec *kgo.Record) (arrow.RecordBatch, error) {
	var from, wm, print []byte
	var hasFrom, hasWM bool
	for _, h := range rec.Headers {
		switch h.Key {
		case HeaderFrom:
			from, hasFrom = h.Value, true
		case HeaderWatermark:
			wm, hasWM = h.Value, true
		case HeaderSchema:
			print = h.Value
		}
	}
	if !hasFrom {
		return nil, errNoFrom
	}
	if hasWM {
		v, err := strconv.ParseInt(string(wm), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("watermark marker of %q: %s %q is not an integer", from, HeaderWatermark, wm)
		}
		units, err := expandUnits(string(from))
		if err != nil {
			return nil, fmt.Errorf("watermark marker: %w", err)
		}
		r.wms.advance(units, v)
		return nil, nil
	}
	r.bytes += int64(len(rec.Value))
	batch, err := r.dec.decode(string(print), rec.Value)
	if err != nil {
		return nil, fmt.Errorf("data of %q: %w", from, err)
	}
	return batch, nil
}

// concat joins the batches taken into one, or returns nil when there are none.
func (r *reader) concat() (arrow.RecordBatch, error) {
	defer r.releaseParts()
	switch len(r.parts) {
	case 0:
		return nil, nil
	case 1:
		r.parts[0].Retain()
		return r.parts[0], nil
	}
	schema := r.dec.schema
	cols := make([]arrow.Array, schema.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	arrs := make([]arrow.Array, len(r.parts))
	rows := int64(0)
	for _, p := range r.parts {
		rows += p.NumRows()
	}
	for c := range cols {
		for i, p := range r.parts {
			arrs[i] = p.Column(c)
		}
		var err error
		if cols[c], err = array.Concatenate(arrs, memory.DefaultAllocator); err != nil {
			return nil, fmt.Errorf("join column %q: %w", schema.Field(c).Name, err)
		}
	}
	return array.NewRecordBatch(schema, cols, rows), nil
}

func (r *reader) releaseParts() {
	for i, p := range r.parts {
		p.Release()
		r.parts[i] = nil
	}
	r.parts = r.parts[:0]
}

// Watermark is the reader's watermark: the minimum over the upstream units of the latest
// watermark each has sent through the partition, up to the last record taken, or
// math.MinInt64 while one of them has sent none. It never falls.
func (r *reader) Watermark() int64 { return r.wms.current() }

// Ended says every upstream unit has sent the final watermark, math.MaxInt64: its input
// ended, and no more rows will come.
func (r *reader) Ended() bool { return r.wms.ended() }

// Position names the partition as topic/partition and the offset of the next record.
func (r *reader) Position() format.Position {
	return format.Position{File: fmt.Sprintf("%s/%d", r.topic, r.partition), Offset: r.next}
}

// Checkpoint encodes the offset of the next record and the watermarks heard, for Open.
func (r *reader) Checkpoint() ([]byte, error) {
	return encodePosition(r.topic, r.partition, r.next, r.wms.latest)
}

// Progress gives the bytes of data values taken, the time spent polling, the offset of each
// row of the last batch, the lag: the offsets the partition held past the reader's position
// when the broker last said (transaction markers included), and, while the reader's last
// attempt to connect to a broker failed, why.
func (r *reader) Progress() source.Progress {
	p := source.Progress{BytesRead: r.bytes, Waited: r.waited, Offsets: r.offsets, Unreachable: r.poller.Unreachable()}
	if r.hw >= 0 {
		p.Lag = max(r.hw-r.next, 0)
	}
	return p
}

// Close stops fetching the partition; the last reader of the source to close closes the
// poller's client, and the next Open makes another.
func (r *reader) Close() error {
	r.poller.Remove(r.topic, r.partition)
	r.src.shared.Release(r.poller)
	r.dec.close()
	r.pending = nil
	return nil
}
