package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/engine"
	"millrace/kafka"
	"millrace/objstore"
	"millrace/plan"
)

// Options configures a worker.
type Options struct {
	// Plan is the pipeline's plan, built with plan.Options.Outbox set to Relay.Outbox.
	Plan   *plan.Plan
	Layout *Layout
	Relay  *Relay
	// Conn reaches the brokers that hold the exchanges, the group and the transactions.
	Conn kafka.Conn
	// Group is the consumer group of the workers (default: the pipeline's name).
	Group string
	// Worker names this worker, uniquely among the group's live workers (default
	// HOST-PID); its transactional id is millrace.GROUP.WORKER, so a worker restarted under
	// the same name fences its former self.
	Worker string
	// Store keeps the units' state.
	Store objstore.Store
	// Interval is the time between checkpoints (default 1s).
	Interval time.Duration
	// Prewarm is how many bytes of the key groups' committed state the worker reads into
	// memory before it joins the group, for its first assignment's restore to take instead
	// of reading them in the pause (prewarm.go; DefaultPrewarm); 0 reads nothing ahead.
	Prewarm int64
	// Engine tunes each generation's run; the worker sets Stop and Checkpointing.
	Engine engine.Options
	// Rebalanced, when set, is told after each change of assignment how long the worker
	// did not process (from losing or gaining partitions to running again) and what it owns.
	Rebalanced func(pause time.Duration, owned map[string][]int32)
	Log        *slog.Logger
}

// Relay hands the records of the pipeline's Kafka sinks to the worker's running
// generation; the plan's Outbox option points at it.
type Relay struct {
	mu  sync.Mutex
	box *outbox
}

// Outbox keeps the records a Kafka sink handed over at a checkpoint for the transaction
// that commits it.
func (r *Relay) Outbox(node string, subtask int, checkpoint uint64, records []*kgo.Record) {
	r.mu.Lock()
	box := r.box
	r.mu.Unlock()
	if box != nil {
		box.add(node, subtask, checkpoint, records)
	}
}

func (r *Relay) set(box *outbox) {
	r.mu.Lock()
	r.box = box
	r.mu.Unlock()
}

// Run runs a worker until ctx ends, then leaves the group after a last checkpoint and
// commit of what it owns. It returns an error only when it cannot go on: it cannot reach
// the brokers to join at all, or state it must restore is missing or damaged.
func Run(ctx context.Context, opts Options) error {
	w, err := newWorker(opts)
	if err != nil {
		return err
	}
	return w.run(ctx)
}

// DefaultWorker is the id of a worker not given one: HOST-PID.
func DefaultWorker() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

// worker is one process of a cluster.
type worker struct {
	opts   Options
	txnID  string
	cl     *kgo.Client
	fatal  chan error
	mu     sync.Mutex
	gen    *generation
	serial int
	// lostAt is when the worker last stopped processing because of a rebalance.
	lostAt time.Time
	// inTxn: a transaction is open; only the running generation begins and ends them.
	inTxn bool
	// topicIDs are the ids of the topics whose offsets the worker commits.
	topicIDs map[string][16]byte
	rep      *report
	// ready is closed once cl is set: the group's callbacks may come before.
	ready chan struct{}
	// cache holds the pieces of state read before the worker joined (prewarm); nil
	// without pre-warming, emptied once a restore has taken what it needed.
	cache *pieceCache
}

func newWorker(opts Options) (*worker, error) {
	if opts.Plan == nil || opts.Layout == nil || opts.Relay == nil || opts.Store == nil {
		return nil, errors.New("cluster: a worker needs a plan, its layout, a relay and a state store")
	}
	if opts.Group == "" {
		opts.Group = opts.Layout.Pipeline
	}
	if opts.Worker == "" {
		opts.Worker = DefaultWorker()
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	w := &worker{opts: opts, txnID: "millrace." + opts.Group + "." + opts.Worker, fatal: make(chan error, 1),
		ready: make(chan struct{})}
	if opts.Prewarm > 0 {
		w.cache = newPieceCache(opts.Prewarm)
	}
	return w, nil
}

func (w *worker) run(ctx context.Context) error {
	if err := w.ensureTopics(ctx); err != nil {
		return err
	}
	kopts, err := w.opts.Conn.Opts()
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	w.prewarm(ctx)
	topics := w.opts.Layout.Topics()
	kopts = append(kopts,
		kgo.ConsumerGroup(w.opts.Group),
		kgo.ConsumeTopics(topics...),
		kgo.Balancers(kgo.RangeBalancer()), // co-partitions topics with as many partitions
		kgo.DisableAutoCommit(),
		// A worker that dies is noticed in 10s, and its units go to the others.
		kgo.SessionTimeout(10*time.Second),
		kgo.HeartbeatInterval(time.Second),
		kgo.TransactionalID(w.txnID),
		// A transaction spans one commit; a worker killed in one holds the exchanges'
		// readers back until the brokers abort it.
		kgo.TransactionTimeout(max(10*time.Second, 3*w.opts.Interval)),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RecordPartitioner(partitioner(TopicPrefix(w.opts.Layout.Pipeline))),
		kgo.OnPartitionsAssigned(w.assigned),
		kgo.OnPartitionsRevoked(w.revoked),
		kgo.OnPartitionsLost(w.lost),
	)
	pub, err := NewStatusPublisher(ctx, w.opts.Conn, w.opts.Layout.Pipeline)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	defer func() {
		if err := pub.Close(); err != nil {
			w.opts.Log.Warn("close the status publisher", "err", err)
		}
	}()
	w.rep = newReport(w, pub)
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	// The client only holds the membership; each generation's readers fetch for themselves.
	cl.PauseFetchTopics(topics...)
	w.cl = cl
	close(w.ready)
	publishing, stopPublishing := context.WithCancel(context.Background())
	published := make(chan struct{})
	go func() {
		defer close(published)
		w.rep.publish(publishing)
	}()
	w.opts.Log.Info("joining", "group", w.opts.Group, "worker", w.opts.Worker, "topics", topics)
	select {
	case <-ctx.Done():
	case err = <-w.fatal:
	}
	// Leaving the group revokes everything: the running generation stops at a last
	// checkpoint and commits it before the group hands its partitions on.
	leave, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if lerr := cl.LeaveGroupContext(leave); lerr != nil && err == nil {
		err = fmt.Errorf("cluster: leave group %s: %w", w.opts.Group, lerr)
	}
	w.stopGeneration(false)
	stopPublishing()
	<-published
	if lerr := pub.Leave(leave, w.opts.Worker); lerr != nil {
		w.opts.Log.Warn("leave the status topic", "err", lerr)
	}
	cl.Close()
	return err
}

// assigned starts a generation over what the group gave the worker. It returns at once:
// the group's heartbeats wait for it.
func (w *worker) assigned(_ context.Context, _ *kgo.Client, given map[string][]int32) {
	w.mu.Lock()
	defer w.mu.Unlock()
	owned := map[string][]int32{}
	for t, ps := range given {
		owned[t] = slices.Sorted(slices.Values(ps))
	}
	if w.gen != nil {
		// An eager balancer revokes everything first; what is left running is stopped.
		w.mu.Unlock()
		w.stopGeneration(true)
		w.mu.Lock()
	}
	if w.lostAt.IsZero() {
		w.lostAt = time.Now()
	}
	w.serial++
	g := newGeneration(w, w.serial, owned, w.lostAt)
	w.lostAt = time.Time{}
	w.gen = g
	go g.run()
}

// revoked stops the running generation at a last checkpoint, committed before the group
// hands its partitions to other workers.
func (w *worker) revoked(context.Context, *kgo.Client, map[string][]int32) {
	w.mu.Lock()
	if w.lostAt.IsZero() {
		w.lostAt = time.Now()
	}
	w.mu.Unlock()
	w.stopGeneration(true)
}

// lost ends the running generation without a commit: the group has already given its
// partitions to others, whose fenced-off transactions cannot commit anyway.
func (w *worker) lost(context.Context, *kgo.Client, map[string][]int32) {
	w.mu.Lock()
	if w.lostAt.IsZero() {
		w.lostAt = time.Now()
	}
	w.mu.Unlock()
	w.stopGeneration(false)
}

// stopGeneration stops the running generation, gracefully (a last checkpoint, committed)
// or not, and waits for it.
func (w *worker) stopGeneration(graceful bool) {
	w.mu.Lock()
	g := w.gen
	w.gen = nil
	w.mu.Unlock()
	if g != nil {
		g.stop(graceful)
	}
}

// fail reports an error the worker cannot go on after.
func (w *worker) fail(err error) {
	select {
	case w.fatal <- err:
	default:
	}
}

// partitioner places the records of the pipeline's own topics (exchanges, checkpoints) in
// the partition they name, the key group, and those of sinks as a producer of its own
// would: by key, or round-robin without one.
func partitioner(own string) kgo.Partitioner {
	byKey := kgo.StickyKeyPartitioner(nil)
	return kgo.BasicConsistentPartitioner(func(topic string) func(*kgo.Record, int) int {
		if strings.HasPrefix(topic, own) {
			return func(r *kgo.Record, _ int) int { return int(r.Partition) }
		}
		keyed := byKey.ForTopic(topic)
		var next atomic.Uint64
		return func(r *kgo.Record, n int) int {
			if r.Key == nil {
				return int(next.Add(1) % uint64(n))
			}
			return keyed.Partition(r, n)
		}
	})
}
