package engine

import (
	"context"
	"errors"

	"millrace/format"
	"millrace/source"
)

// boundedSource gives a test source the methods of a bounded source that cannot resume
// and keeps nothing at a broker; the test source adds Schema, Partitions and Open.
type boundedSource struct{}

func (boundedSource) Capabilities() source.Capabilities { return source.Capabilities{Bounded: true} }
func (boundedSource) Size(int) int64                    { return 0 }
func (boundedSource) Committed(context.Context, uint64, map[int][]byte) error {
	return nil
}

// plainReader gives a test partition reader the methods of one that cannot resume, has no
// position and holds nothing to close; the test reader adds Read.
type plainReader struct{}

func (plainReader) Position() format.Position { return format.Position{} }
func (plainReader) Checkpoint() ([]byte, error) {
	return nil, errors.New("a test reader that does not resume")
}
func (plainReader) Progress() source.Progress { return source.Progress{} }
func (plainReader) Close() error              { return nil }
