package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/format"
)

// Stream reads one stream of JSONL or CSV records, such as standard input, as a bounded
// source of one partition. A stream is read once, so Stream is not resumable: its reader's
// Checkpoint is an error, and Open opens its partition once.
type Stream struct {
	name   string
	kind   format.Kind
	schema *arrow.Schema
	opts   format.ReadOptions

	mu sync.Mutex
	r  io.Reader // nil once opened
}

var _ Source = (*Stream)(nil)

// NewStream returns a source reading r as kind (jsonl or csv); name stands for r in dead
// letters and errors ("stdin"). The source never closes r.
func NewStream(name string, r io.Reader, kind format.Kind, s *arrow.Schema, opts format.ReadOptions) (*Stream, error) {
	if kind != format.JSONL && kind != format.CSV {
		return nil, fmt.Errorf("stream source %s: %s cannot be read as a stream (want jsonl or csv)", name, kind)
	}
	return &Stream{name: name, kind: kind, schema: s, opts: opts, r: r}, nil
}

// Schema is the schema rows are decoded into.
func (s *Stream) Schema() *arrow.Schema { return s.schema }

// Partitions is 1: a stream is one partition.
func (s *Stream) Partitions() int { return 1 }

// Size is 0: a stream's length is not known.
func (s *Stream) Size(int) int64 { return 0 }

// Capabilities says a stream ends but cannot be read again.
func (s *Stream) Capabilities() Capabilities { return Capabilities{Bounded: true} }

// Committed does nothing: a stream keeps no consumer state.
func (s *Stream) Committed(context.Context, uint64, map[int][]byte) error { return nil }

// Open starts reading the stream. It takes partition 0 and a nil pos only, once.
func (s *Stream) Open(_ context.Context, partition int, pos []byte) (PartitionReader, error) {
	if partition != 0 {
		return nil, fmt.Errorf("stream source %s: no partition %d (it has 1)", s.name, partition)
	}
	if pos != nil {
		return nil, fmt.Errorf("stream source %s: a stream cannot resume: it is read once", s.name)
	}
	s.mu.Lock()
	r := s.r
	s.r = nil
	s.mu.Unlock()
	if r == nil {
		return nil, fmt.Errorf("stream source %s: already read: a stream is read once", s.name)
	}
	in := struct{ io.Reader }{r} // hide any Close method: the stream is not ours to close
	var fr format.Reader
	var err error
	if s.kind == format.CSV {
		fr, err = format.NewCSVReader(in, s.name, s.schema, s.opts)
	} else {
		fr, err = format.NewJSONLReader(in, s.name, s.schema, s.opts)
	}
	if err != nil {
		return nil, fmt.Errorf("stream source %s: %w", s.name, err)
	}
	return streamReader{fileReader{Reader: fr}}, nil
}

// streamReader reads a stream as a file reader does, but cannot say where to resume.
type streamReader struct{ fileReader }

// errNotResumable is Checkpoint's error: a stream cannot be read again.
var errNotResumable = errors.New("source: a stream cannot be checkpointed: it is read once")

func (streamReader) Checkpoint() ([]byte, error) { return nil, errNotResumable }
