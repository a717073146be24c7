package gen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/format"
)

// writeBatchRows is the batch size Write generates with.
const writeBatchRows = 1 << 15

// textFlushBytes is how much encoded text Write gathers before handing it to the writer.
const textFlushBytes = 256 << 10

// Write generates cfg's stream into w as kind: JSONL or CSV through format's row encoders,
// with cfg.CorruptRate of the records mangled by one of CorruptKinds each, or Parquet through
// format's Parquet writer (which refuses corruption: a Parquet file cannot hold a malformed
// record). It calls progress, when not nil, after each batch with the rows written so far and
// the latest event time. The stream must end (Rows or Duration) unless ctx ends it; then Write
// returns ctx's error with the stats of what was written. Write does not close w.
func Write(ctx context.Context, cfg Config, w io.Writer, kind format.Kind, opts format.WriteOptions,
	progress func(rows int64, eventTime time.Time)) (Stats, error) {
	if kind == format.Parquet && cfg.CorruptRate > 0 {
		return Stats{}, fmt.Errorf("gen: write parquet: CorruptRate %g applies to jsonl and csv only", cfg.CorruptRate)
	}
	g, err := New(cfg)
	if err != nil {
		return Stats{}, err
	}
	var out batchWriter
	switch kind {
	case format.Parquet:
		pw, err := format.NewParquetWriter(w, Schema(cfg), opts)
		if err != nil {
			return Stats{}, fmt.Errorf("gen: write parquet: %w", err)
		}
		out = &parquetOut{w: pw}
	case format.JSONL, format.CSV:
		enc, err := format.NewRowEncoder(kind, Schema(cfg))
		if err != nil {
			return Stats{}, fmt.Errorf("gen: write %s: %w", kind, err)
		}
		out = &textOut{w: w, enc: enc, c: newCorruptor(cfg, kind), buf: append(make([]byte, 0, textFlushBytes+4096), enc.Header()...)}
	default:
		return Stats{}, fmt.Errorf("gen: write: unknown format %q (want jsonl, csv or parquet)", kind)
	}

	mem := memory.DefaultAllocator
	var stop error // why generation stopped early: ctx ended
	for {
		rec, err := g.Next(ctx, mem, writeBatchRows)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			stop = err
			break
		}
		err = out.write(rec)
		rec.Release()
		if err != nil {
			_ = out.close() // releases the Parquet writer; the first error is the one to report
			return out.stats(g.Stats()), fmt.Errorf("gen: write %s: %w", kind, err)
		}
		if progress != nil {
			st := g.Stats()
			progress(st.Rows, st.Last)
		}
	}
	// What was generated is written and closed properly even when ctx ended generation.
	if err := out.close(); err != nil {
		return out.stats(g.Stats()), fmt.Errorf("gen: write %s: %w", kind, err)
	}
	if stop != nil {
		return out.stats(g.Stats()), fmt.Errorf("gen: write %s: %w", kind, stop)
	}
	return out.stats(g.Stats()), nil
}

// batchWriter is where Write puts batches.
type batchWriter interface {
	write(rec arrow.RecordBatch) error
	// stats adds what the writer knows to the generator's stats.
	stats(st Stats) Stats
	// close flushes what is buffered and finishes the output (not w).
	close() error
}

type parquetOut struct{ w format.Writer }

func (p *parquetOut) write(rec arrow.RecordBatch) error { return p.w.Write(rec) }
func (p *parquetOut) stats(st Stats) Stats              { return st }
func (p *parquetOut) close() error                      { return p.w.Close() }

// textOut encodes rows one by one, so the corruptor can mangle single records, and writes
// the text in large pieces.
type textOut struct {
	w   io.Writer
	enc format.RowEncoder
	c   *corruptor
	buf []byte
	err error
}

func (t *textOut) write(rec arrow.RecordBatch) error {
	for row := range int(rec.NumRows()) {
		start := len(t.buf)
		t.buf = t.enc.AppendRow(t.buf, rec, row)
		t.buf = t.c.maybe(t.buf, start)
		if len(t.buf) >= textFlushBytes {
			if err := t.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *textOut) flush() error {
	if t.err == nil && len(t.buf) > 0 {
		_, t.err = t.w.Write(t.buf)
	}
	t.buf = t.buf[:0]
	return t.err
}

func (t *textOut) stats(st Stats) Stats {
	st.CorruptBy, st.Corrupt = t.c.stats()
	return st
}

func (t *textOut) close() error { return t.flush() }
