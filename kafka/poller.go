package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Poller is the one client through which the readers of every partition a process reads
// of a source fetch. A client per partition, or per subtask, would cost a connection and a
// poll each, and subtasks polling apart would see their partitions' records at different
// moments, so the watermark downstream, the least over them, would wait for the later.
// Here one poll brings the records of every partition, and each partition's reader takes
// its own.
//
// The readers of one subtask belong to one PollGroup. A Take whose partition has nothing
// buffered returns at once when another partition of its group has records buffered (its
// reader takes them next); otherwise it waits, at most the poll interval, until a poll
// brings the group records, polling itself when no other Take is. So one round of Takes
// over a group's partitions waits once at most, and a group never waits for another's
// processing: what a poll brings for a group that is busy waits in the poller, up to
// MaxRecords a group, beyond which the group's partitions are paused until it takes them
// (the client fetches a resumed partition once its fetch in flight ends: at most the poll
// interval).
//
// Its readers share it through a SharedPoller. Every method may be called from several
// goroutines.
type Poller struct {
	reach *Reachability
	poll  time.Duration
	max   int
	cl    *kgo.Client

	mu    sync.Mutex
	parts map[topicPartition]*fetched
	// polling is set while a Take polls, without mu; polled is closed when that poll's
	// records are buffered, and stop ends the poll early for Remove. polls counts the
	// polls made.
	polling bool
	polled  chan struct{}
	stop    context.CancelFunc
	polls   uint64

	// listMu guards lists, the offsets the brokers listed, by what was listed ("start",
	// "end") and topic: asked once for the readers open together.
	listMu sync.Mutex
	lists  map[string]kadm.ListedOffsets
}

// PollGroup is the readers of a Poller that are read in turn by one goroutine, such as a
// source subtask's: they wait for records together. A group reads through one Poller at a
// time; its state is guarded by that Poller.
type PollGroup struct {
	parts    []topicPartition
	buffered int    // records buffered for its partitions
	errs     int    // its partitions with an error to return
	waits    uint64 // how many times a Take of the group has waited
	paused   bool   // its partitions are paused: buffered reached the poller's bound
}

// fetched is what the poller holds for one partition.
type fetched struct {
	group *PollGroup
	recs  []*kgo.Record
	hw    int64 // the high watermark as the brokers last said, -1 before
	err   error
	// took is the group's waits when the partition last took its records: one that took
	// since the group's last wait waits again; one that did not returns what that wait
	// brought it, if anything, at once.
	took uint64
}

// SharedPoller hands one Poller to the readers open at a time: the first to acquire it
// makes it, the last to release it closes it, and the next to acquire makes another. Its
// zero value is ready once Conn, PollInterval and MaxRecords are set.
type SharedPoller struct {
	Conn Conn
	// PollInterval is the longest a Take waits for records.
	PollInterval time.Duration
	// MaxRecords bounds the records one poll takes, over all partitions, and the records
	// the poller holds for a PollGroup before it pauses the group's partitions.
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
		parts: map[topicPartition]*fetched{}, lists: map[string]kadm.ListedOffsets{}}
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
	p.cl.Close()
}

// Unreachable says, while the poller's last attempt to connect to a broker failed, which
// broker and why; it is empty while the brokers are reached.
func (p *Poller) Unreachable() string { return p.reach.Unreachable() }

// Listed lists the offsets of topic's partitions of a kind (what: "start", "end") with fn,
// once for every reader of the poller.
func (p *Poller) Listed(ctx context.Context, topic, what string, fn func(*kadm.Client, context.Context, ...string) (kadm.ListedOffsets, error)) (kadm.ListedOffsets, error) {
	p.listMu.Lock()
	defer p.listMu.Unlock()
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

// Add starts fetching partition part of topic at offset at, for a reader of group g.
func (p *Poller) Add(g *PollGroup, topic string, part int32, at int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	tp := topicPartition{topic: topic, partition: part}
	p.parts[tp] = &fetched{group: g, hw: -1, took: g.waits}
	g.parts = append(g.parts, tp)
	p.cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{topic: {part: kgo.NewOffset().At(at)}})
	if g.paused {
		p.cl.PauseFetchPartitions(map[string][]int32{topic: {part}})
	}
}

// Remove stops fetching partition part of topic and drops what was buffered for it. It
// waits for a poll under way to end first (ending it early), so that no record the poll
// fetched for the partition is buffered after it, for a reader that adds it again.
func (p *Poller) Remove(topic string, part int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.polling {
		p.stop()
		polled := p.polled
		p.mu.Unlock()
		<-polled
		p.mu.Lock()
	}
	tp := topicPartition{topic: topic, partition: part}
	f, ok := p.parts[tp]
	if !ok {
		return
	}
	delete(p.parts, tp)
	p.cl.RemoveConsumePartitions(map[string][]int32{topic: {part}})
	g := f.group
	g.buffered -= len(f.recs)
	if f.err != nil {
		g.errs--
	}
	g.parts = slices.DeleteFunc(g.parts, func(x topicPartition) bool { return x == tp })
	if g.paused { // pausing outlives removal in the client
		p.cl.ResumeFetchPartitions(map[string][]int32{topic: {part}})
		g.paused = len(g.parts) > 0
	}
}

// Take returns the records fetched for partition part of topic, first waiting for a poll
// (at most the poll interval) when no partition of its group has any, the partition's high
// watermark as the brokers last said (-1 before they said one), and the time spent
// waiting. A poll's error for the partition, other than the end of the poll interval, is
// returned once.
func (p *Poller) Take(ctx context.Context, topic string, part int32) ([]*kgo.Record, int64, time.Duration, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	tp := topicPartition{topic: topic, partition: part}
	f, ok := p.parts[tp]
	if !ok {
		return nil, -1, 0, fmt.Errorf("poll %s: the partition was not added", tp)
	}
	g := f.group
	var waited time.Duration
	if g.buffered == 0 && g.errs == 0 && f.took == g.waits {
		var err error
		if waited, err = p.waitLocked(ctx, g); err != nil {
			return nil, -1, waited, err
		}
	}
	f.took = g.waits
	if err := f.err; err != nil {
		f.err = nil
		g.errs--
		return nil, -1, waited, fmt.Errorf("fetch: %w", err)
	}
	recs := f.recs
	f.recs = nil
	g.buffered -= len(recs)
	if g.paused && g.buffered < p.max {
		p.cl.ResumeFetchPartitions(byTopic(g.parts))
		g.paused = false
	}
	return recs, f.hw, waited, nil
}

// waitLocked waits until a poll brings group g records or an error, or the poll interval
// has passed, and says how long it waited. It polls when no other Take is polling, and
// otherwise waits for that poll to end, without holding mu meanwhile.
func (p *Poller) waitLocked(ctx context.Context, g *PollGroup) (time.Duration, error) {
	began := time.Now()
	deadline := began.Add(p.poll)
	defer func() { g.waits++ }()
	for g.buffered == 0 && g.errs == 0 {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		if !p.polling {
			p.pollLocked(ctx, left)
		} else {
			polled := p.polled
			p.mu.Unlock()
			timer := time.NewTimer(left)
			select {
			case <-polled:
			case <-timer.C:
			case <-ctx.Done():
			}
			timer.Stop()
			p.mu.Lock()
		}
		if err := ctx.Err(); err != nil {
			return time.Since(began), err
		}
	}
	return time.Since(began), nil
}

// pollLocked polls every partition once, for at most d, and buffers what comes for each,
// whatever becomes of ctx meanwhile: the client's positions have moved past what it
// returned. mu is released while the client polls.
func (p *Poller) pollLocked(ctx context.Context, d time.Duration) {
	pctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	p.polling, p.polled, p.stop = true, make(chan struct{}), cancel
	p.mu.Unlock()
	fetches := p.cl.PollRecords(pctx, p.max)
	p.mu.Lock()
	p.polling, p.stop = false, nil
	p.polls++
	defer close(p.polled)
	fetches.EachError(func(topic string, part int32, err error) {
		f, ok := p.parts[topicPartition{topic: topic, partition: part}]
		if !ok || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return
		}
		if f.err == nil {
			f.group.errs++
		}
		f.err = err
	})
	var full []*PollGroup
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		f, ok := p.parts[topicPartition{topic: fp.Topic, partition: fp.Partition}]
		if !ok {
			return
		}
		f.hw = max(f.hw, fp.HighWatermark)
		f.recs = append(f.recs, fp.Records...)
		g := f.group
		g.buffered += len(fp.Records)
		if g.buffered >= p.max && !g.paused && !slices.Contains(full, g) {
			full = append(full, g)
		}
	})
	for _, g := range full {
		p.cl.PauseFetchPartitions(byTopic(g.parts))
		g.paused = true
	}
}

// byTopic lists partitions by topic, as the client takes them.
func byTopic(parts []topicPartition) map[string][]int32 {
	m := map[string][]int32{}
	for _, tp := range parts {
		m[tp.topic] = append(m[tp.topic], tp.partition)
	}
	return m
}
