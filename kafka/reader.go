package kafka

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/format"
	"millrace/source"
)

// reader reads one partition through its source's poller.
type reader struct {
	src       *Source
	poller    *Poller
	tp        topicPartition
	next      int64 // the offset of the next record to deliver
	hw        int64 // the partition's high watermark as the last fetch said, -1 before one
	batchRows int
	dec       *decoder
	pending   []*kgo.Record // records polled and not delivered yet
	bytes     int64
	waited    time.Duration
	offsets   []int64   // the offset of each row of the last batch
	appended  time.Time // the timestamp of the oldest record of the last batch
}

// Read decodes up to BatchRows of the records polled and not yet delivered. With none at
// hand it takes what the source's last poll brought the partition, polling for every
// partition of the source at once (waiting at most the poll interval) only when none has
// anything buffered; so it returns at once, with a nil batch and no dead letters, when
// records came for another partition and none for this one. A fetch error that is not the
// end of the poll interval (the offset went out of range, authorization failed) is an
// error naming the partition and offset.
func (r *reader) Read(ctx context.Context) (arrow.RecordBatch, []format.DeadLetter, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	r.offsets = r.offsets[:0]
	r.appended = time.Time{}
	if len(r.pending) == 0 {
		recs, hw, waited, err := r.poller.Take(ctx, r.tp.topic, r.tp.partition)
		r.waited += waited
		if cerr := ctx.Err(); cerr != nil {
			return nil, nil, cerr
		}
		if err != nil {
			return nil, nil, fmt.Errorf("kafka source partition %s at offset %d: %w", r.tp, r.next, err)
		}
		r.hw = max(r.hw, hw)
		r.pending = recs
	}
	if len(r.pending) == 0 {
		r.pending = nil // let the poll's buffer go
		return nil, nil, nil
	}
	recs := r.pending[:min(len(r.pending), r.batchRows)]
	r.pending = r.pending[len(recs):]
	for _, rec := range recs {
		r.bytes += int64(len(rec.Value))
		if r.appended.IsZero() || rec.Timestamp.Before(r.appended) {
			r.appended = rec.Timestamp
		}
	}
	r.next = recs[len(recs)-1].Offset + 1
	rec, dead, err := r.dec.decode(ctx, recs)
	if rec != nil {
		for _, i := range r.dec.rows {
			r.offsets = append(r.offsets, recs[i].Offset)
		}
	}
	return rec, dead, err
}

// Position names the partition as topic/partition and the offset of the next record.
func (r *reader) Position() format.Position {
	return format.Position{File: r.tp.String(), Offset: r.next}
}

// Checkpoint encodes the offset of the next record, for Open.
func (r *reader) Checkpoint() ([]byte, error) {
	return encodePosition(r.tp.topic, r.tp.partition, r.next)
}

// Progress gives the bytes of values read, the time spent polling, the offset of each row
// of the last batch and the timestamp of its oldest record, the lag: the records the
// partition held past the reader's position when the broker last said, and, while the
// poller's last attempt to connect to a broker failed, why.
func (r *reader) Progress() source.Progress {
	p := source.Progress{BytesRead: r.bytes, Waited: r.waited, Offsets: r.offsets, Unreachable: r.poller.Unreachable(), Appended: r.appended}
	if r.hw >= 0 {
		p.Lag = max(r.hw-r.next, 0)
	}
	return p
}

// Close stops fetching the partition; the last reader of the source to close closes the
// poller's client.
func (r *reader) Close() error {
	r.poller.Remove(r.tp.topic, r.tp.partition)
	r.src.shared.Release(r.poller)
	r.pending = nil
	return nil
}
