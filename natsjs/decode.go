package natsjs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/format"
)

// message is what the decoder needs of a stream message.
type message struct {
	subject string
	seq     uint64
	data    []byte
}

// decoder turns the values of a run of messages into one batch with the project's text
// decoders: each message holds one record, a JSON object or a CSV line. A message that does
// not decode is a dead letter whose file is STREAM/SUBJECT and whose offset is the message's
// stream sequence.
type decoder struct {
	stream string
	kind   format.Kind
	schema *arrow.Schema
	header []byte         // a CSV header naming the schema's columns
	zone   *time.Location // of timestamps without an offset; nil is UTC

	buf    []byte
	starts []int64 // the input line each message starts on, in order
	seqs   []int64 // the stream sequence of each row of the last batch
}

func newDecoder(stream string, kind format.Kind, s *arrow.Schema, zone *time.Location) (*decoder, error) {
	d := &decoder{stream: stream, kind: kind, schema: s, zone: zone}
	switch kind {
	case format.JSONL:
	case format.CSV:
		enc, err := format.NewRowEncoder(format.CSV, s)
		if err != nil {
			return nil, err
		}
		d.header = enc.Header()
	default:
		return nil, fmt.Errorf("nats stream %s: messages are jsonl or csv, not %s", stream, kind)
	}
	return d, nil
}

// decode decodes msgs into a batch (nil when none decodes) and the dead letters of the
// messages that do not. Every message is a row or a dead letter.
func (d *decoder) decode(msgs []message) (arrow.RecordBatch, []format.DeadLetter, error) {
	var dead []format.DeadLetter
	d.buf = append(d.buf[:0], d.header...)
	line := int64(bytes.Count(d.header, []byte("\n"))) + 1
	d.starts = d.starts[:0]
	kept := msgs[:0:0]
	for _, m := range msgs {
		if len(bytes.TrimSpace(m.data)) == 0 {
			dead = append(dead, d.deadLetter(m, "an empty message"))
			continue
		}
		d.starts = append(d.starts, line)
		kept = append(kept, m)
		start := len(d.buf)
		d.buf = append(d.buf, m.data...)
		if d.kind == format.JSONL {
			// A JSON object may be spread over lines; the record is one line here.
			for i := start; i < len(d.buf); i++ {
				if d.buf[i] == '\n' || d.buf[i] == '\r' {
					d.buf[i] = ' '
				}
			}
		} else {
			line += int64(bytes.Count(m.data, []byte("\n")))
		}
		d.buf = append(d.buf, '\n')
		line++
	}
	d.seqs = d.seqs[:0]
	if len(kept) == 0 {
		return nil, dead, nil
	}
	opts := format.ReadOptions{BatchRows: int(line), Zone: d.zone}
	var r format.Reader
	var err error
	if d.kind == format.JSONL {
		r, err = format.NewJSONLReader(bytes.NewReader(d.buf), d.stream, d.schema, opts)
	} else {
		r, err = format.NewCSVReader(bytes.NewReader(d.buf), d.stream, d.schema, opts)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("nats stream %s: %w", d.stream, err)
	}
	defer r.Close()
	rec, bad, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, dead, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("nats stream %s: decode messages %d..%d: %w", d.stream, kept[0].seq, kept[len(kept)-1].seq, err)
	}
	for _, b := range bad {
		dead = append(dead, d.deadLetter(kept[d.message(b.Line)], b.Reason))
	}
	if rec != nil {
		if lr, ok := r.(format.LineReader); ok {
			lines, err := lr.Lines()
			if err != nil {
				rec.Release()
				return nil, nil, fmt.Errorf("nats stream %s: decode messages %d..%d: %w", d.stream, kept[0].seq, kept[len(kept)-1].seq, err)
			}
			for _, l := range lines {
				d.seqs = append(d.seqs, int64(kept[d.message(l)].seq))
			}
		}
	}
	return rec, dead, nil
}

// message is the index of the message that input line l is part of.
func (d *decoder) message(l int64) int {
	return max(sort.Search(len(d.starts), func(i int) bool { return d.starts[i] > l })-1, 0)
}

func (d *decoder) deadLetter(m message, reason string) format.DeadLetter {
	return format.DeadLetter{File: d.stream + "/" + m.subject, AtOffset: true, Offset: int64(m.seq), RowGroup: -1,
		Raw: bytes.Clone(m.data), Reason: reason}
}
