package cluster

import (
	"context"

	"millrace/source"
)

// Bounded inputs across workers. A bounded source's partitions (its files, or ranges of a
// Parquet file's row groups) are splits, handed out by the consumer group as the
// partitions of a topic of the pipeline's that holds no records: the group's assignment is
// the claim, its committed offset (always 0) carries the name of the split's state, and a
// split whose worker dies goes, with that state, to whoever the group gives it next.

// splitOffset is the offset committed for a split: its topic holds nothing; the state the
// offset's metadata names says where the split stands.
func splitOffset(int, []byte) (int64, error) { return 0, nil }

// subset is a source cut down to some of its partitions: partition i is parts[i] of the
// source.
type subset struct {
	source.Source
	parts []int32
}

func (s *subset) Partitions() int       { return len(s.parts) }
func (s *subset) Size(i int) int64      { return s.Source.Size(int(s.parts[i])) }
func (s *subset) part(i int) int        { return int(s.parts[i]) }
func (s *subset) String() string        { return "splits of a bounded source" }
func (s *subset) Unwrap() source.Source { return s.Source }

// Open opens split parts[i].
func (s *subset) Open(ctx context.Context, i int, pos []byte) (source.PartitionReader, error) {
	return s.Source.Open(ctx, s.part(i), pos)
}

// Committed hands the source the positions of its own partitions.
func (s *subset) Committed(ctx context.Context, checkpoint uint64, positions map[int][]byte) error {
	own := make(map[int][]byte, len(positions))
	for i, pos := range positions {
		own[s.part(i)] = pos
	}
	return s.Source.Committed(ctx, checkpoint, own)
}
