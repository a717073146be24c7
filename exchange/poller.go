package exchange

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/kafka"
)

// poller is the one client through which all the readers of a Source fetch. A worker owns
// up to 256 key groups of an exchange: a client per partition would cost a connection and
// a poll each, and readers taking turns would wait a poll interval per partition per round.
// Here a Read whose partition has nothing buffered polls only when no partition has
// anything buffered, for every partition at once.
type poller struct {
	topic string
	poll  time.Duration
	max   int
	reach *kafka.Reachability

	mu       sync.Mutex
	cl       *kgo.Client
	open     int
	buf      map[int32][]*kgo.Record
	buffered int
	hw       map[int32]int64
	errs     map[int32]error
	// polls counts the polls; took says, for each partition, how many there had been when
	// it last took its records. A partition that took since the last poll polls again; one
	// that did not finds what that poll brought it, if anything, without waiting: so one
	// round of Reads over the partitions waits for one poll at most.
	polls uint64
	took  map[int32]uint64
}

// pollerOf is the Source's poller, made with its client on first use, counting one more
// reader open on it until remove.
func (s *Source) pollerOf() (*poller, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pl := s.poller; pl != nil {
		pl.mu.Lock()
		defer pl.mu.Unlock()
		if pl.cl != nil { // not closed by a release racing this
			pl.open++
			return pl, nil
		}
	}
	reach := new(kafka.Reachability)
	cl, err := s.client(
		kgo.WithHooks(reach),
		kgo.ConsumeResetOffset(kgo.NoResetOffset()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(s.opts.PollInterval),
	)
	if err != nil {
		return nil, err
	}
	s.poller = &poller{topic: s.opts.Topic, poll: s.opts.PollInterval, max: s.opts.BatchRows, reach: reach, cl: cl,
		buf: map[int32][]*kgo.Record{}, hw: map[int32]int64{}, errs: map[int32]error{}, took: map[int32]uint64{}, open: 1}
	return s.poller, nil
}

// add starts fetching partition part at offset at.
func (p *poller) add(part int32, at int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{p.topic: {part: kgo.NewOffset().At(at)}})
}

// remove stops fetching partition part and drops what was buffered for it.
func (p *poller) remove(part int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cl.RemoveConsumePartitions(map[string][]int32{p.topic: {part}})
	p.buffered -= len(p.buf[part])
	delete(p.buf, part)
	delete(p.errs, part)
	delete(p.took, part)
}

// close closes the client once no reader is open; it says whether it did.
func (p *poller) close() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open > 0 || p.cl == nil {
		return false
	}
	p.cl.Close()
	p.cl = nil
	return true
}

// take returns the records fetched for partition part, polling first (at most the poll
// interval) when no partition has any, the partition's high watermark as the brokers last
// said (-1 before they said one), and the time spent polling.
func (p *poller) take(ctx context.Context, part int32) ([]*kgo.Record, int64, time.Duration, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var waited time.Duration
	if p.buffered == 0 && len(p.errs) == 0 && p.took[part] == p.polls {
		p.polls++
		pctx, cancel := context.WithTimeout(ctx, p.poll)
		began := time.Now()
		fetches := p.cl.PollRecords(pctx, p.max)
		cancel()
		waited = time.Since(began)
		if err := ctx.Err(); err != nil {
			return nil, -1, waited, err
		}
		fetches.EachError(func(t string, part int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				p.errs[part] = err
			}
		})
		fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
			if fp.Topic != p.topic {
				return
			}
			p.hw[fp.Partition] = max(p.hw[fp.Partition], fp.HighWatermark)
			p.buf[fp.Partition] = append(p.buf[fp.Partition], fp.Records...)
			p.buffered += len(fp.Records)
		})
	}
	if err := p.errs[part]; err != nil {
		delete(p.errs, part)
		return nil, -1, waited, fmt.Errorf("fetch: %w", err)
	}
	recs := p.buf[part]
	delete(p.buf, part)
	p.took[part] = p.polls
	p.buffered -= len(recs)
	hw, ok := p.hw[part]
	if !ok {
		hw = -1
	}
	return recs, hw, waited, nil
}

// release undoes pollerOf for a reader: with none left open it closes pl's client and
// forgets it, and the next Open makes another.
func (s *Source) release(pl *poller) {
	pl.mu.Lock()
	pl.open--
	pl.mu.Unlock()
	if !pl.close() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.poller == pl {
		s.poller, s.lists = nil, nil
	}
}
