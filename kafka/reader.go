package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/format"
	"millrace/source"
)

// reader reads one partition with a client of its own, assigned the partition directly.
type reader struct {
	cl        *kgo.Client
	tp        topicPartition
	next      int64 // the offset of the next record to deliver
	hw        int64 // the partition's high watermark as the last fetch said, -1 before one
	batchRows int
	poll      time.Duration
	dec       *decoder
	bytes     int64
	waited    time.Duration
	offsets   []int64   // the offset of each row of the last batch
	appended  time.Time // the timestamp of the oldest record of the last batch
	reach     *Reachability
}

// Read polls for up to BatchRows records, waiting at most the poll interval, and decodes
// them. With none it returns a nil batch and no dead letters. A fetch error that is not the
// end of the poll interval (the offset went out of range, authorization failed) is an error
// naming the partition and offset.
func (r *reader) Read(ctx context.Context) (arrow.RecordBatch, []format.DeadLetter, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, r.poll)
	began := time.Now()
	fetches := r.cl.PollRecords(pctx, r.batchRows)
	cancel()
	r.waited += time.Since(began)
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	for _, fe := range fetches.Errors() {
		if errors.Is(fe.Err, context.DeadlineExceeded) || errors.Is(fe.Err, context.Canceled) {
			continue
		}
		return nil, nil, fmt.Errorf("kafka source partition %s at offset %d: %w", r.tp, r.next, fe.Err)
	}
	var recs []*kgo.Record
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if p.Topic != r.tp.topic || p.Partition != r.tp.partition {
			return
		}
		if p.HighWatermark > r.hw {
			r.hw = p.HighWatermark
		}
		recs = append(recs, p.Records...)
	})
	r.offsets = r.offsets[:0]
	r.appended = time.Time{}
	if len(recs) == 0 {
		return nil, nil, nil
	}
	for _, rec := range recs {
		r.bytes += int64(len(rec.Value))
		if r.appended.IsZero() || rec.Timestamp.Before(r.appended) {
			r.appended = rec.Timestamp
		}
	}
	r.next = recs[len(recs)-1].Offset + 1
	rec, dead, err := r.dec.decode(ctx, recs)
	r.offsets = r.offsets[:0]
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
// of the last batch and the timestamp of its oldest record, the lag: the records the partition held past the reader's position
// when the broker last said, and, while the reader's last attempt to connect to a broker
// failed, why.
func (r *reader) Progress() source.Progress {
	p := source.Progress{BytesRead: r.bytes, Waited: r.waited, Offsets: r.offsets, Unreachable: r.reach.Unreachable(), Appended: r.appended}
	if r.hw >= 0 {
		p.Lag = max(r.hw-r.next, 0)
	}
	return p
}

// Close closes the reader's client.
func (r *reader) Close() error {
	r.cl.Close()
	return nil
}
