package exchange

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/kafka"
	"millrace/source"
)

// SourceOptions configure the reading end of an exchange.
type SourceOptions struct {
	Conn kafka.Conn
	// Topic is the exchange topic.
	Topic string
	// Partitions are the topic's partitions (key groups) read: partition i of the Source is
	// Partitions[i].
	Partitions []int32
	// Schema is the schema of the rows; records written with another are an error.
	Schema *arrow.Schema
	// Upstream are the units whose watermarks a reader's watermark waits for.
	Upstream []string
	// BatchRows is the number of rows past which a Read stops taking records (default
	// 16384).
	BatchRows int
	// PollInterval is how long a Read waits for records before it returns none (default
	// 100ms).
	PollInterval time.Duration
}

// Source reads the key groups of an exchange topic a worker owns. Partition i of the source
// is the topic's partition Partitions[i]. Positions are offsets with watermarks: a reader's
// Checkpoint names the offset of the next record and the watermarks of the units it has
// heard from, and Open resumes there. Only records of committed transactions are read.
//
// Its readers are source.Watermarkers: their watermark is the minimum over the upstream
// units of the latest marker each has sent through the partition, math.MinInt64 until every
// one has sent one. They also say, with an Ended() bool method, when every upstream unit has
// sent the final watermark.
//
// A Source keeps no connection open: NewSource connects for its work, and the readers open
// at a time fetch through one client, a kafka.Poller, closed with the last of them. A
// worker owns up to 256 key groups of an exchange: a client per partition would cost a
// connection and a poll each. Share gives a copy whose readers fetch through the same
// poller as a kafka.PollGroup of their own.
type Source struct {
	opts   SourceOptions
	shared *kafka.SharedPoller
	group  *kafka.PollGroup
}

var _ source.Sharer = (*Source)(nil)

// NewSource checks the options and that the topic exists with every partition they name.
func NewSource(ctx context.Context, opts SourceOptions) (*Source, error) {
	if opts.BatchRows <= 0 {
		opts.BatchRows = 16384
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 100 * time.Millisecond
	}
	where := "exchange source " + opts.Topic
	switch {
	case opts.Topic == "":
		return nil, errors.New("exchange source: no topic")
	case len(opts.Partitions) == 0:
		return nil, fmt.Errorf("%s: no partitions", where)
	case opts.Schema == nil:
		return nil, fmt.Errorf("%s: no schema", where)
	case len(opts.Upstream) == 0:
		return nil, fmt.Errorf("%s: no upstream units", where)
	}
	if i := firstDuplicate(opts.Partitions); i >= 0 {
		return nil, fmt.Errorf("%s: partition %d given twice", where, opts.Partitions[i])
	}
	if i := firstDuplicate(opts.Upstream); i >= 0 {
		return nil, fmt.Errorf("%s: upstream unit %q given twice", where, opts.Upstream[i])
	}
	if _, _, err := fingerprint(opts.Schema); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	opts.Partitions = slices.Clone(opts.Partitions)
	opts.Upstream = slices.Clone(opts.Upstream)
	s := &Source{opts: opts, group: new(kafka.PollGroup)}
	s.shared = s.newShared()
	n, err := s.topicPartitions(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range opts.Partitions {
		if p < 0 || int(p) >= n {
			return nil, fmt.Errorf("%s: no partition %d (it has %d)", where, p, n)
		}
	}
	return s, nil
}

func firstDuplicate[T comparable](xs []T) int {
	for i, x := range xs {
		if slices.Contains(xs[:i], x) {
			return i
		}
	}
	return -1
}

// topicPartitions asks the brokers how many partitions the topic has.
func (s *Source) topicPartitions(ctx context.Context) (int, error) {
	brokers := strings.Join(s.opts.Conn.Brokers, ",")
	cl, err := s.client()
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	details, err := kadm.NewClient(cl).ListTopics(ctx, s.opts.Topic)
	if err != nil {
		return 0, fmt.Errorf("exchange source: list topic %s at %s: %w", s.opts.Topic, brokers, err)
	}
	d, ok := details[s.opts.Topic]
	if !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
		return 0, fmt.Errorf("exchange source: topic %s does not exist at %s", s.opts.Topic, brokers)
	}
	if d.Err != nil {
		return 0, fmt.Errorf("exchange source: topic %s at %s: %w", s.opts.Topic, brokers, d.Err)
	}
	return len(d.Partitions), nil
}

// client makes a client of the options' connection with more options.
func (s *Source) client(more ...kgo.Opt) (*kgo.Client, error) {
	opts, err := s.opts.Conn.Opts()
	if err != nil {
		return nil, fmt.Errorf("exchange source %s: %w", s.opts.Topic, err)
	}
	cl, err := kgo.NewClient(append(opts, more...)...)
	if err != nil {
		return nil, fmt.Errorf("exchange source %s: %w", s.opts.Topic, err)
	}
	return cl, nil
}

// Share is the source as its copy whose readers fetch through the poller of every copy's
// readers, as a kafka.PollGroup of their own: the engine reads each subtask's key groups
// through a copy of its own, so that one poll serves every subtask, and a subtask waits
// for its own key groups' records, never for another subtask's processing.
func (s *Source) Share() source.Source {
	return &Source{opts: s.opts, shared: s.shared, group: new(kafka.PollGroup)}
}

// newShared is a poller for the readers of a source, none made until the first opens.
func (s *Source) newShared() *kafka.SharedPoller {
	return &kafka.SharedPoller{Conn: s.opts.Conn, PollInterval: s.opts.PollInterval, MaxRecords: s.opts.BatchRows}
}

// Schema is the schema of the rows: the options' schema.
func (s *Source) Schema() *arrow.Schema { return s.opts.Schema }

// Partitions is the number of key groups read.
func (s *Source) Partitions() int { return len(s.opts.Partitions) }

// Capabilities says an exchange never ends, resumes at offsets and knows its lag.
func (s *Source) Capabilities() source.Capabilities {
	return source.Capabilities{Bounded: false, Resumable: true, Lag: true}
}

// Size is 0: a topic's size is not known ahead.
func (s *Source) Size(int) int64 { return 0 }

// Partition says which topic partition (key group) partition i of the source is.
func (s *Source) Partition(i int) (topic string, partition int32) {
	return s.opts.Topic, s.opts.Partitions[i]
}

// Offset is the offset of the next record a reader of partition i would read from pos, a
// position its Checkpoint returned: what a worker commits for the key group, and what Trim
// may delete below once that commit is done.
func (s *Source) Offset(i int, pos []byte) (int64, error) {
	topic, p := s.Partition(i)
	off, _, err := decodePosition(pos, topic, p)
	if err != nil {
		return 0, fmt.Errorf("exchange %s/%d: position: %w", topic, p, err)
	}
	return off, nil
}

// Committed does nothing: the exchange's offsets are committed with the worker's outputs,
// in its transaction, and the positions in the checkpoint are the truth.
func (s *Source) Committed(context.Context, uint64, map[int][]byte) error { return nil }

// Open starts reading partition i, the topic's partition Partitions[i]: at the offset and
// with the watermarks pos names, or, with a nil pos, at the partition's log start with no
// watermark. An offset the partition no longer holds (it was trimmed below it) is an error
// naming the topic, the partition, the offset and the log start offset; so is one past its
// end. The reader fetches through the Poller of the readers open on the source and its
// copies, in the source's kafka.PollGroup, reading the partition by direct assignment, committed records only. While a broker cannot be reached
// the client retries by itself: Reads return nothing and Progress says why.
func (s *Source) Open(ctx context.Context, i int, pos []byte) (source.PartitionReader, error) {
	if i < 0 || i >= len(s.opts.Partitions) {
		return nil, fmt.Errorf("exchange source %s: no partition %d (it has %d)", s.opts.Topic, i, len(s.opts.Partitions))
	}
	p := s.opts.Partitions[i]
	where := fmt.Sprintf("exchange %s/%d", s.opts.Topic, p)
	var resume int64 = -1
	var wms map[string]int64
	if pos != nil {
		var err error
		if resume, wms, err = decodePosition(pos, s.opts.Topic, p); err != nil {
			return nil, fmt.Errorf("%s: resume: %w", where, err)
		}
	}
	dec, err := newDecoder(s.opts.Schema)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	pl, err := s.shared.Acquire()
	if err != nil {
		dec.close()
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	at, err := s.startOffset(ctx, pl, p, resume)
	if err != nil {
		dec.close()
		s.shared.Release(pl)
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	pl.Add(s.group, s.opts.Topic, p, at)
	return &reader{
		src: s, poller: pl, topic: s.opts.Topic, partition: p, next: at, hw: -1,
		batchRows: s.opts.BatchRows,
		dec:       dec, wms: newWatermarks(s.opts.Upstream, wms),
	}, nil
}

// startOffset settles the offset a reader of partition p starts at: resume when it is not
// negative, checked against the partition's log start and end, or the log start.
func (s *Source) startOffset(ctx context.Context, pl *kafka.Poller, p int32, resume int64) (int64, error) {
	list := func(what string, fn func(*kadm.Client, context.Context, ...string) (kadm.ListedOffsets, error)) (int64, error) {
		listed, err := pl.Listed(ctx, s.opts.Topic, what, fn)
		if err != nil {
			return 0, fmt.Errorf("list %s offset: %w", what, err)
		}
		o, ok := listed.Lookup(s.opts.Topic, p)
		if !ok {
			return 0, fmt.Errorf("the brokers listed no %s offset for it", what)
		}
		return o.Offset, nil
	}
	logStart, err := list("start", (*kadm.Client).ListStartOffsets)
	if err != nil || resume < 0 {
		return logStart, err
	}
	if resume < logStart {
		return 0, fmt.Errorf("the checkpoint resumes at offset %d, but the partition's log starts at offset %d: "+
			"the records between were deleted, so resuming would skip them", resume, logStart)
	}
	end, err := list("end", (*kadm.Client).ListEndOffsets)
	if err != nil {
		return 0, err
	}
	if resume > end {
		return 0, fmt.Errorf("the checkpoint resumes at offset %d, past the partition's end offset %d "+
			"(was the topic deleted and made again?)", resume, end)
	}
	return resume, nil
}
