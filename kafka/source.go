package kafka

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/format"
	"millrace/source"
)

// Avro is the record format of values in the Confluent wire format: a zero byte, the
// schema's id in the registry (4 bytes, big endian), then the Avro binary encoding.
const Avro format.Kind = "avro"

// Options configure a Kafka source.
type Options struct {
	Conn Conn
	// Topics are the topics read; TopicRegex, when set instead, selects every topic whose
	// whole name it matches (internal topics excepted) when the source is made.
	Topics     []string
	TopicRegex string
	// Group is the consumer group Committed commits offsets to, for lag tools to see.
	Group string
	// Format is how record values are encoded: format.JSONL (default), format.CSV (one
	// line, no header, columns in schema order) or Avro.
	Format format.Kind
	// Registry is the schema registry's URL, required by Avro.
	Registry string
	// Start is where a partition without a checkpointed position starts.
	Start Start
	// Schema is the rows' schema; columns named after metadata (see MetadataColumns) are
	// filled from the record, the others decoded from its value.
	Schema *arrow.Schema
	// BatchRows bounds the records one Read takes (default 16384).
	BatchRows int
	// Zone is the time zone of timestamps written without an offset (nil: UTC).
	Zone *time.Location
	// PollInterval is how long a Read waits for records before it returns none (default
	// 100ms), so that the engine's idleness and watermarks go on.
	PollInterval time.Duration
}

// Source reads Kafka topics. Every partition of every topic is a partition of the source,
// fixed when it is made: topics in name order, partitions in number order. Positions are
// offsets: a reader's Checkpoint names the offset of the next record, and Open resumes
// there, whatever the consumer group says. Committed commits the checkpoint's offsets to
// the group so that lag tools see progress.
//
// A Source keeps no connection open: New and Committed each connect for their work, and
// the readers open at a time fetch through one client, a Poller, closed with the last of
// them. Share gives a copy whose readers fetch through the same poller as a PollGroup of
// their own.
type Source struct {
	opts   Options
	parts  []topicPartition
	dec    *decoderConfig
	shared *SharedPoller
	group  *PollGroup
}

var _ source.Sharer = (*Source)(nil)

// topicPartition is one partition of the source.
type topicPartition struct {
	topic     string
	partition int32
}

func (tp topicPartition) String() string { return fmt.Sprintf("%s/%d", tp.topic, tp.partition) }

// New lists the partitions of the topics the options name, asking the brokers for their
// metadata. A topic that does not exist, or a regular expression that matches none, is an
// error naming the brokers.
func New(ctx context.Context, opts Options) (*Source, error) {
	if opts.BatchRows <= 0 {
		opts.BatchRows = 16384
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 100 * time.Millisecond
	}
	if opts.Format == "" {
		opts.Format = format.JSONL
	}
	if len(opts.Topics) == 0 && opts.TopicRegex == "" {
		return nil, errors.New("kafka source: no topic")
	}
	if len(opts.Topics) > 0 && opts.TopicRegex != "" {
		return nil, errors.New("kafka source: give topics or a topic regex, not both")
	}
	dec, err := newDecoderConfig(opts.Format, opts.Schema, opts.Registry, opts.Zone)
	if err != nil {
		return nil, fmt.Errorf("kafka source: %w", err)
	}
	s := &Source{opts: opts, dec: dec, group: new(PollGroup)}
	s.shared = s.newShared()
	if s.parts, err = s.listPartitions(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Partition says which topic partition partition i of the source is.
func (s *Source) Partition(i int) (topic string, partition int32) {
	return s.parts[i].topic, s.parts[i].partition
}

// Offset is the offset of the next record a reader of partition i would read from pos, a
// position its Checkpoint returned.
func (s *Source) Offset(i int, pos []byte) (int64, error) {
	tp := s.parts[i]
	off, err := decodePosition(pos, tp.topic, tp.partition)
	if err != nil {
		return 0, fmt.Errorf("kafka source %s: position: %w", tp, err)
	}
	return off, nil
}

// Only is the source restricted to the topic partitions keep says yes to, in the same
// order: the partitions a cluster worker was given. It asks the brokers nothing.
func (s *Source) Only(keep func(topic string, partition int32) bool) *Source {
	c := *s
	c.parts = nil
	c.shared, c.group = s.newShared(), new(PollGroup)
	for _, tp := range s.parts {
		if keep(tp.topic, tp.partition) {
			c.parts = append(c.parts, tp)
		}
	}
	return &c
}

// Share is the source as its copy whose readers fetch through the poller of every copy's
// readers, as a PollGroup of their own: the engine reads each subtask's partitions through
// a copy of its own, so that one poll serves every subtask, whose watermarks then rise
// together, and a subtask waits for its own partitions' records, never for another
// subtask's processing.
func (s *Source) Share() source.Source {
	c := *s
	c.group = new(PollGroup)
	return &c
}

// newShared is a poller for the readers of a source, none made until the first opens.
func (s *Source) newShared() *SharedPoller {
	return &SharedPoller{Conn: s.opts.Conn, PollInterval: s.opts.PollInterval, MaxRecords: s.opts.BatchRows}
}

// Topics lists the topics of the source's partitions, each once, in order.
func (s *Source) Topics() []string {
	var topics []string
	for _, tp := range s.parts {
		if !slices.Contains(topics, tp.topic) {
			topics = append(topics, tp.topic)
		}
	}
	return topics
}

// Conn says how the source reaches its brokers.
func (s *Source) Conn() Conn { return s.opts.Conn }

// listPartitions asks the brokers for the topics' partitions.
func (s *Source) listPartitions(ctx context.Context) ([]topicPartition, error) {
	var re *regexp.Regexp
	if s.opts.TopicRegex != "" {
		var err error
		if re, err = regexp.Compile("^(?:" + s.opts.TopicRegex + ")$"); err != nil {
			return nil, fmt.Errorf("kafka source: topic_regex: %w", err)
		}
	}
	brokers := strings.Join(s.opts.Conn.Brokers, ",")
	var parts []topicPartition
	err := s.admin(func(adm *kadm.Client) error {
		details, err := adm.ListTopics(ctx, s.opts.Topics...)
		if err != nil {
			return fmt.Errorf("kafka source: list topics at %s: %w", brokers, err)
		}
		topics := s.opts.Topics
		if re != nil {
			topics = nil
			for _, name := range details.Names() {
				if re.MatchString(name) {
					topics = append(topics, name)
				}
			}
			if len(topics) == 0 {
				return fmt.Errorf("kafka source: no topic at %s matches topic_regex %q", brokers, s.opts.TopicRegex)
			}
		}
		topics = slices.Clone(topics)
		slices.Sort(topics)
		for _, name := range slices.Compact(topics) {
			d, ok := details[name]
			if !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
				return fmt.Errorf("kafka source: topic %q does not exist at %s", name, brokers)
			}
			if d.Err != nil {
				return fmt.Errorf("kafka source: topic %q at %s: %w", name, brokers, d.Err)
			}
			for _, p := range d.Partitions.Numbers() {
				parts = append(parts, topicPartition{topic: name, partition: p})
			}
		}
		return nil
	})
	return parts, err
}

// admin connects, runs fn with an admin client and disconnects.
func (s *Source) admin(fn func(*kadm.Client) error) error {
	opts, err := s.opts.Conn.Opts()
	if err != nil {
		return fmt.Errorf("kafka source: %w", err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka source: %w", err)
	}
	defer cl.Close()
	return fn(kadm.NewClient(cl))
}

// Schema is the schema of the rows: the options' schema.
func (s *Source) Schema() *arrow.Schema { return s.opts.Schema }

// Partitions is the number of topic partitions, fixed when the source was made.
func (s *Source) Partitions() int { return len(s.parts) }

// Describe names the partitions for a plan: "tx (4 partitions)" or "a (2 partitions), b (1 partition)".
func (s *Source) Describe() string {
	var out []string
	for i := 0; i < len(s.parts); {
		j := i
		for j < len(s.parts) && s.parts[j].topic == s.parts[i].topic {
			j++
		}
		unit := "partitions"
		if j-i == 1 {
			unit = "partition"
		}
		out = append(out, fmt.Sprintf("%s (%d %s)", s.parts[i].topic, j-i, unit))
		i = j
	}
	return strings.Join(out, ", ")
}

// Capabilities says a Kafka source never ends, resumes at offsets and knows its lag.
func (s *Source) Capabilities() source.Capabilities {
	return source.Capabilities{Bounded: false, Resumable: true, Lag: true}
}

// Size is 0: a topic's size is not known ahead.
func (s *Source) Size(int) int64 { return 0 }

// Group is the consumer group Committed commits to.
func (s *Source) Group() string { return s.opts.Group }

// Committed commits the checkpoint's offsets, the next record to read in each partition, to
// the source's consumer group, so that lag tools and autoscalers see progress. Resuming
// never reads them back: the checkpoint is the truth.
func (s *Source) Committed(ctx context.Context, checkpoint uint64, positions map[int][]byte) error {
	if s.opts.Group == "" || len(positions) == 0 {
		return nil
	}
	offsets := make(kadm.Offsets)
	for partition, pos := range positions {
		if partition < 0 || partition >= len(s.parts) {
			return fmt.Errorf("kafka source: checkpoint %d: no partition %d (it has %d)", checkpoint, partition, len(s.parts))
		}
		tp := s.parts[partition]
		at, err := decodePosition(pos, tp.topic, tp.partition)
		if err != nil {
			return fmt.Errorf("kafka source: checkpoint %d, partition %s: %w", checkpoint, tp, err)
		}
		if offsets[tp.topic] == nil {
			offsets[tp.topic] = make(map[int32]kadm.Offset)
		}
		offsets[tp.topic][tp.partition] = kadm.Offset{Topic: tp.topic, Partition: tp.partition, At: at, LeaderEpoch: -1,
			Metadata: fmt.Sprintf("millrace checkpoint %d", checkpoint)}
	}
	return s.admin(func(adm *kadm.Client) error {
		resp, err := adm.CommitOffsets(ctx, s.opts.Group, offsets)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return fmt.Errorf("kafka source: commit checkpoint %d's offsets to group %q: %w", checkpoint, s.opts.Group, err)
		}
		return nil
	})
}

// Open starts reading a partition: at the offset pos names, or, with a nil pos, where Start
// says. An offset the partition no longer holds (retention deleted it) is an error naming
// the partition, the offset and the log start offset; so is one past its end. The reader
// fetches through the Poller of the readers open on the source and its copies, in the
// PollGroup of the source, consuming the partition by direct assignment, never through the
// consumer group.
func (s *Source) Open(ctx context.Context, partition int, pos []byte) (source.PartitionReader, error) {
	if partition < 0 || partition >= len(s.parts) {
		return nil, fmt.Errorf("kafka source: no partition %d (it has %d)", partition, len(s.parts))
	}
	tp := s.parts[partition]
	var resume int64 = -1
	if pos != nil {
		var err error
		if resume, err = decodePosition(pos, tp.topic, tp.partition); err != nil {
			return nil, fmt.Errorf("kafka source partition %d (%s): resume: %w", partition, tp, err)
		}
	}
	dec, err := s.dec.newDecoder(tp)
	if err != nil {
		return nil, fmt.Errorf("kafka source partition %s: %w", tp, err)
	}
	pl, err := s.shared.Acquire()
	if err != nil {
		return nil, fmt.Errorf("kafka source: %w", err)
	}
	at, err := s.startOffset(ctx, pl, tp, resume)
	if err != nil {
		s.shared.Release(pl)
		return nil, err
	}
	pl.Add(s.group, tp.topic, tp.partition, at)
	return &reader{src: s, poller: pl, tp: tp, next: at, hw: -1, batchRows: s.opts.BatchRows, dec: dec}, nil
}

// startOffset settles the offset a reader of tp starts at: resume when it is not negative,
// checked against the partition's log start and end, or where Start says.
func (s *Source) startOffset(ctx context.Context, pl *Poller, tp topicPartition, resume int64) (int64, error) {
	list := func(what string, fn func(*kadm.Client, context.Context, ...string) (kadm.ListedOffsets, error)) (int64, error) {
		listed, err := pl.Listed(ctx, tp.topic, what, fn)
		if err != nil {
			return 0, fmt.Errorf("kafka source partition %s: list %s offset: %w", tp, what, err)
		}
		o, ok := listed.Lookup(tp.topic, tp.partition)
		if !ok {
			return 0, fmt.Errorf("kafka source partition %s: the brokers listed no %s offset for it", tp, what)
		}
		return o.Offset, nil
	}
	if resume >= 0 {
		logStart, err := list("start", (*kadm.Client).ListStartOffsets)
		if err != nil {
			return 0, err
		}
		if resume < logStart {
			return 0, fmt.Errorf("kafka source partition %s: the checkpoint resumes at offset %d, but the partition's log starts at offset %d: "+
				"retention deleted the records between, so resuming would skip them; run with --fresh to start over, "+
				"with the source's start: saying where", tp, resume, logStart)
		}
		end, err := list("end", (*kadm.Client).ListEndOffsets)
		if err != nil {
			return 0, err
		}
		if resume > end {
			return 0, fmt.Errorf("kafka source partition %s: the checkpoint resumes at offset %d, past the partition's end offset %d "+
				"(was the topic deleted and made again?); run with --fresh to start over", tp, resume, end)
		}
		return resume, nil
	}
	switch s.opts.Start.kind {
	case startLatest:
		return list("end", (*kadm.Client).ListEndOffsets)
	case startAt:
		at, err := list("after "+s.opts.Start.String(), func(adm *kadm.Client, ctx context.Context, topics ...string) (kadm.ListedOffsets, error) {
			return adm.ListOffsetsAfterMilli(ctx, s.opts.Start.at.UnixMilli(), topics...)
		})
		if err != nil {
			return 0, err
		}
		if at < 0 { // no record at or after the time yet: start at the end
			return list("end", (*kadm.Client).ListEndOffsets)
		}
		return at, nil
	default:
		return list("start", (*kadm.Client).ListStartOffsets)
	}
}

// Start says where a partition without a checkpointed position starts reading.
type Start struct {
	kind startKind
	at   time.Time
}

type startKind uint8

const (
	startEarliest startKind = iota
	startLatest
	startAt
)

// ParseStart parses "earliest" (the default, for ""), "latest" or an RFC 3339 time: the first
// record whose broker timestamp is at or after it.
func ParseStart(s string) (Start, error) {
	switch s {
	case "", "earliest":
		return Start{kind: startEarliest}, nil
	case "latest":
		return Start{kind: startLatest}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return Start{}, fmt.Errorf("start %q: want earliest, latest or an RFC 3339 time such as 2026-12-01T00:00:00Z", s)
	}
	return Start{kind: startAt, at: t}, nil
}

// String is the start as ParseStart reads it.
func (s Start) String() string {
	switch s.kind {
	case startLatest:
		return "latest"
	case startAt:
		return s.at.Format(time.RFC3339Nano)
	}
	return "earliest"
}
