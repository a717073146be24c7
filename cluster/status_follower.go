package cluster

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/kafka"
	"millrace/observe"
)

// StatusFollower reads a pipeline's status topic in the background, from its start and
// then as workers publish, and serves the newest status of every worker from memory: the
// cluster view of a worker's dashboard.
type StatusFollower struct {
	cl     *kgo.Client
	topic  string
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	fold    statusFold
	changed chan struct{} // closed at the next change, then replaced
}

// FollowStatus starts following the status topic of pipeline on the cluster conn reaches,
// creating the topic if it is missing; ctx covers the creation only. Records it cannot
// decode are logged to logger (nil: discarded) and skipped. Close stops it.
func FollowStatus(ctx context.Context, conn kafka.Conn, pipeline string, logger *slog.Logger) (*StatusFollower, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	topic := StatusTopic(pipeline)
	cl, err := statusClient(conn, topic, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		return nil, err
	}
	if err := ensureStatusTopic(ctx, cl, topic); err != nil {
		cl.Close()
		return nil, err
	}
	run, cancel := context.WithCancel(context.Background())
	f := &StatusFollower{cl: cl, topic: topic, log: logger, cancel: cancel, done: make(chan struct{}), changed: make(chan struct{})}
	go f.follow(run)
	return f, nil
}

// follow reads the topic until ctx ends. The client retries what fails to reach the broker
// by itself; fetch errors are logged.
func (f *StatusFollower) follow(ctx context.Context) {
	defer close(f.done)
	for {
		fs := f.cl.PollFetches(ctx)
		if ctx.Err() != nil || fs.IsClientClosed() {
			return
		}
		fs.EachError(func(_ string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				f.log.Warn("read status topic", "topic", f.topic, "partition", p, "err", err)
			}
		})
		recs := fs.Records()
		if len(recs) == 0 {
			continue
		}
		f.mu.Lock()
		for _, r := range recs {
			if err := f.fold.add(r); err != nil {
				f.log.Warn("skip a status record", "topic", f.topic, "err", err)
			}
		}
		close(f.changed)
		f.changed = make(chan struct{})
		f.mu.Unlock()
	}
}

// Changed returns a channel closed when the follower next reads a status or a tombstone.
func (f *StatusFollower) Changed() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

// Workers returns the newest status of every worker that has not left, sorted by worker
// id, those that have not published for longer than StaleAfter marked Stale.
func (f *StatusFollower) Workers() []WorkerStatus {
	f.mu.Lock()
	ws := f.fold.workers()
	f.mu.Unlock()
	markStale(ws, time.Now())
	return ws
}

// Advice returns the newest advice the cluster's deciding worker published; ok is false
// before the first.
func (f *StatusFollower) Advice() (adv Advice, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fold.advice == nil {
		return Advice{}, false
	}
	return *f.fold.advice, true
}

// Views returns every worker as the dashboard shows it; give it to observe.WithCluster.
func (f *StatusFollower) Views() []observe.WorkerView {
	ws := f.Workers()
	out := make([]observe.WorkerView, len(ws))
	for i, s := range ws {
		out[i] = s.View()
	}
	return out
}

// Close stops following and waits until the follower's goroutine has ended.
func (f *StatusFollower) Close() error {
	f.cancel()
	<-f.done
	f.cl.Close()
	return nil
}
