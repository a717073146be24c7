package sourcetest_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/format"
	"millrace/source"
	"millrace/source/sourcetest"
)

// TestUnboundedSourceConforms runs the suite on a source whose partitions never end: an
// in-memory log per partition, read a few records a poll, with an empty poll once a
// reader has caught up, as a broker source behaves.
func TestUnboundedSourceConforms(t *testing.T) {
	logs := [][]int64{{}, make([]int64, 7), make([]int64, 23)}
	for p := range logs {
		for i := range logs[p] {
			logs[p][i] = int64(p*1000 + i)
		}
	}
	sourcetest.Run(t, sourcetest.Subject{
		New:          func(*testing.T) source.Source { return logSource(logs) },
		PerPartition: []int64{0, 7, 23},
		Waits:        true,
	})
}

// logSource serves fixed logs as an unbounded, resumable source.
type logSource [][]int64

var logSchema = arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)

func (s logSource) Schema() *arrow.Schema { return logSchema }
func (s logSource) Partitions() int       { return len(s) }
func (s logSource) Capabilities() source.Capabilities {
	return source.Capabilities{Bounded: false, Resumable: true}
}
func (s logSource) Size(int) int64 { return 0 }
func (s logSource) Committed(context.Context, uint64, map[int][]byte) error {
	return nil
}

func (s logSource) Open(_ context.Context, p int, pos []byte) (source.PartitionReader, error) {
	if p < 0 || p >= len(s) {
		return nil, fmt.Errorf("no partition %d of %d", p, len(s))
	}
	r := &logReader{log: s[p], p: p}
	if pos != nil {
		r.next = int(binary.LittleEndian.Uint64(pos))
	}
	return r, nil
}

type logReader struct {
	log  []int64
	p    int
	next int
}

func (r *logReader) Read(ctx context.Context) (arrow.RecordBatch, []format.DeadLetter, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	end := min(r.next+5, len(r.log))
	if end == r.next {
		return nil, nil, nil // caught up: an empty poll
	}
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(r.log[r.next:end], nil)
	col := b.NewArray()
	defer col.Release()
	r.next = end
	return array.NewRecordBatch(logSchema, []arrow.Array{col}, int64(col.Len())), nil, nil
}

func (r *logReader) Position() format.Position {
	return format.Position{File: fmt.Sprintf("log/%d", r.p), Offset: int64(r.next)}
}

func (r *logReader) Checkpoint() ([]byte, error) {
	return binary.LittleEndian.AppendUint64(nil, uint64(r.next)), nil
}

func (r *logReader) Progress() source.Progress { return source.Progress{} }

func (r *logReader) Close() error { return nil }
