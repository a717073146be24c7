package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Poller is the one client through which the readers of several partitions fetch. A client
// per partition would cost a connection and a poll each, and readers taking turns would
// wait a poll interval per empty partition per round, however soon records came to the
// next one. Here a Read whose partition has nothing buffered polls only when no partition
// has anything buffered, for every partition at once, and returns as soon as records come
// to any of them: the reader of that partition then takes them without waiting.
//
// Its readers share it through a SharedPoller. Every method may be called from several
// goroutines; Take holds the poller while it polls.
type Poller struct {
	reach *Reachability
	poll  time.Duration
	max   int

	mu       sync.Mutex
	cl       *kgo.Client
	buf      map[topicPartition][]*kgo.Record
	buffered int
	hw       map[topicPartition]int64
	errs     map[topicPartition]error
	// polls counts the polls; took says, for each partition, how many there had been when
	// it last took its records. A partition that took since the last poll polls again; one
	// that did not finds what that poll brought it, if anything, without waiting: so one
	// round of Takes over the partitions waits for one poll at most.
	polls uint64
	took  map[topicPartition]uint64
	// lists holds the offsets the brokers listed, by what was listed ("start", "end") and
	// topic: asked once for the readers open together.
	lists map[string]kadm.ListedOffsets
}

// SharedPoller hands one Poller to the readers open at a time: the first to acquire it
// makes it, the last to release it closes it, and the next to acquire makes another. Its
// zero value is ready once Conn, PollInterval and MaxRecords are set.
type SharedPoller struct {
	Conn Conn
	// PollInterval is the longest a poll waits for records.
	PollInterval time.Duration
	// MaxRecords bounds the records one poll takes, over all partitions.
	MaxRecords int

	mu   sync.Mutex
	p    *Poller
	open int // readers holding p
}

// Acquire returns the shared poller, connecting it first if no reader holds it.
func (s *SharedPoller) Acquire() (*Poller, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p != nil {
		s.open++
		return s.p, nil
	}
	opts, err := s.Conn.Opts()
	if err != nil {
		return nil, err
	}
	reach := new(Reachability)
	cl, err := kgo.NewClient(append(opts,
		kgo.WithHooks(reach),
		kgo.ConsumeResetOffset(kgo.NoResetOffset()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(s.PollInterval),
	)...)
	if err != nil {
		return nil, err
	}
	s.p = &Poller{reach: reach, poll: s.PollInterval, max: s.MaxRecords, cl: cl,
		buf: map[topicPartition][]*kgo.Record{}, hw: map[topicPartition]int64{}, errs: map[topicPartition]error{},
		took: map[topicPartition]uint64{}, lists: map[string]kadm.ListedOffsets{}}
	s.open = 1
	return s.p, nil
}

// Release gives p back; once no reader holds it, its client is closed.
func (s *SharedPoller) Release(p *Poller) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p != s.p {
		return
	}
	if s.open--; s.open > 0 {
		return
	}
	s.p = nil
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cl.Close()
}

// Unreachable says, while the poller's last attempt to connect to a broker failed, which
// broker and why; it is empty while the brokers are reached.
func (p *Poller) Unreachable() string { return p.reach.Unreachable() }

// Listed lists the offsets of topic's partitions of a kind (what: "start", "end") with fn,
// once for every reader of the poller.
func (p *Poller) Listed(ctx context.Context, topic, what string, fn func(*kadm.Client, context.Context, ...string) (kadm.ListedOffsets, error)) (kadm.ListedOffsets, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := what + "\x00" + topic
	if l, ok := p.lists[key]; ok {
		return l, nil
	}
	l, err := fn(kadm.NewClient(p.cl), ctx, topic)
	if err == nil {
		err = l.Error()
	}
	if err != nil {
		return nil, err
	}
	p.lists[key] = l
	return l, nil
}

// Add starts fetching partition part of topic at offset at.
func (p *Poller) Add(topic string, part int32, at int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{topic: {part: kgo.NewOffset().At(at)}})
}

// Remove stops fetching partition part of topic and drops what was buffered for it.
func (p *Poller) Remove(topic string, part int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cl.RemoveConsumePartitions(map[string][]int32{topic: {part}})
	tp := topicPartition{topic: topic, partition: part}
	p.buffered -= len(p.buf[tp])
	delete(p.buf, tp)
	delete(p.errs, tp)
	delete(p.took, tp)
	delete(p.hw, tp)
}

// Take returns the records fetched for partition part of topic, polling first (at most the
// poll interval) when no partition has any, the partition's high watermark as the brokers
// last said (-1 before they said one), and the time spent polling. A poll's error for the
// partition, other than the end of the poll interval, is returned once.
func (p *Poller) Take(ctx context.Context, topic string, part int32) ([]*kgo.Record, int64, time.Duration, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	tp := topicPartition{topic: topic, partition: part}
	var waited time.Duration
	if p.buffered == 0 && len(p.errs) == 0 && p.took[tp] == p.polls {
		var err error
		if waited, err = p.pollLocked(ctx); err != nil {
			return nil, -1, waited, err
		}
	}
	if err := p.errs[tp]; err != nil {
		delete(p.errs, tp)
		return nil, -1, waited, fmt.Errorf("fetch: %w", err)
	}
	recs := p.buf[tp]
	delete(p.buf, tp)
	p.took[tp] = p.polls
	p.buffered -= len(recs)
	hw, ok := p.hw[tp]
	if !ok {
		hw = -1
	}
	return recs, hw, waited, nil
}

// pollLocked polls every partition once, buffering what comes for each, and says how
// long it waited.
func (p *Poller) pollLocked(ctx context.Context) (time.Duration, error) {
	p.polls++
	pctx, cancel := context.WithTimeout(ctx, p.poll)
	began := time.Now()
	fetches := p.cl.PollRecords(pctx, p.max)
	cancel()
	waited := time.Since(began)
	if err := ctx.Err(); err != nil {
		return waited, err
	}
	fetches.EachError(func(topic string, part int32, err error) {
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			p.errs[topicPartition{topic: topic, partition: part}] = err
		}
	})
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		tp := topicPartition{topic: fp.Topic, partition: fp.Partition}
		p.hw[tp] = max(p.hw[tp], fp.HighWatermark)
		p.buf[tp] = append(p.buf[tp], fp.Records...)
		p.buffered += len(fp.Records)
	})
	return waited, nil
}
