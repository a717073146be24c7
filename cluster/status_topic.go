package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/kafka"
)

// The status topic of a pipeline is statusPrefix + pipeline + statusSuffix.
const (
	statusPrefix = "millrace."
	statusSuffix = ".worker-status"
)

// StatusTopic is the name of the topic where the workers of pipeline publish their status:
// one partition, compacted, keyed by worker id, so that it keeps every worker's newest
// status and forgets the workers that left. It sits beside the pipeline's exchange topics
// (millrace.<pipeline>.<step>), so that one prefix covers all of a pipeline's topics, yet
// can never be one of them: step names are identifiers and hold no '-'.
func StatusTopic(pipeline string) string { return statusPrefix + pipeline + statusSuffix }

// ErrNoStatusTopic says no worker of the pipeline has published on that cluster.
var ErrNoStatusTopic = errors.New("cluster: no status topic")

// statusClient connects to the cluster conn reaches, with opts added.
func statusClient(conn kafka.Conn, topic string, opts ...kgo.Opt) (*kgo.Client, error) {
	base, err := conn.Opts()
	if err != nil {
		return nil, fmt.Errorf("status topic %s: %w", topic, err)
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("status topic %s on %s: %w", topic, strings.Join(conn.Brokers, ","), err)
	}
	return cl, nil
}

// ensureStatusTopic creates topic, with one partition and cleanup.policy=compact, unless it
// exists.
func ensureStatusTopic(ctx context.Context, cl *kgo.Client, topic string) error {
	compact := "compact"
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, 1, -1, map[string]*string{"cleanup.policy": &compact}, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("create status topic %s: %w", topic, err)
	}
	return nil
}

// StatusPublisher publishes a worker's status to its pipeline's status topic.
type StatusPublisher struct {
	cl       *kgo.Client
	pipeline string
	topic    string
}

// NewStatusPublisher connects to the cluster conn reaches and creates the status topic of
// pipeline if it is missing. ctx covers the creation only.
func NewStatusPublisher(ctx context.Context, conn kafka.Conn, pipeline string) (*StatusPublisher, error) {
	topic := StatusTopic(pipeline)
	cl, err := statusClient(conn, topic, kgo.DefaultProduceTopic(topic))
	if err != nil {
		return nil, err
	}
	if err := ensureStatusTopic(ctx, cl, topic); err != nil {
		cl.Close()
		return nil, err
	}
	return &StatusPublisher{cl: cl, pipeline: pipeline, topic: topic}, nil
}

// Publish writes s as its worker's newest status and returns once the broker has it, or
// with ctx's error: a worker that cannot reach its broker gives up on this status when ctx
// ends (give it a deadline) and publishes the next one later. s.Pipeline is set to the
// publisher's pipeline, and s.Updated to now when it is zero.
func (p *StatusPublisher) Publish(ctx context.Context, s WorkerStatus) error {
	if s.Worker == "" {
		return fmt.Errorf("publish status to %s: no worker id", p.topic)
	}
	s.Pipeline, s.Stale = p.pipeline, false
	if s.Updated.IsZero() {
		s.Updated = time.Now()
	}
	value, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("publish status of worker %s to %s: %w", s.Worker, p.topic, err)
	}
	if err := p.cl.ProduceSync(ctx, &kgo.Record{Key: []byte(s.Worker), Value: value}).FirstErr(); err != nil {
		return fmt.Errorf("publish status of worker %s to %s: %w", s.Worker, p.topic, err)
	}
	return nil
}

// PublishAdvice writes adv as the cluster's newest advice and returns once the broker has
// it, or with ctx's error.
func (p *StatusPublisher) PublishAdvice(ctx context.Context, adv Advice) error {
	value, err := json.Marshal(adv)
	if err != nil {
		return fmt.Errorf("publish the advice of %s to %s: %w", adv.Decider, p.topic, err)
	}
	r := &kgo.Record{Key: []byte(adviceKey), Value: value, Headers: []kgo.RecordHeader{{Key: adviceHeader, Value: []byte("advice")}}}
	if err := p.cl.ProduceSync(ctx, r).FirstErr(); err != nil {
		return fmt.Errorf("publish the advice of %s to %s: %w", adv.Decider, p.topic, err)
	}
	return nil
}

// Leave writes a tombstone for worker, so that readers of the topic forget it: a worker
// that stops gracefully calls it last.
func (p *StatusPublisher) Leave(ctx context.Context, worker string) error {
	if err := p.cl.ProduceSync(ctx, &kgo.Record{Key: []byte(worker)}).FirstErr(); err != nil {
		return fmt.Errorf("remove worker %s from %s: %w", worker, p.topic, err)
	}
	return nil
}

// Close closes the publisher's connections.
func (p *StatusPublisher) Close() error {
	p.cl.Close()
	return nil
}

// ReadStatus reads the status topic of pipeline from its start up to its end at the time
// of the call, never waiting for more, and returns the newest status of every worker that
// has not left, sorted by worker id. Workers that have not published for longer than
// StaleAfter are marked Stale, not left out. A cluster without the topic gives an error
// matching ErrNoStatusTopic.
func ReadStatus(ctx context.Context, conn kafka.Conn, pipeline string) ([]WorkerStatus, error) {
	ws, _, err := ReadCluster(ctx, conn, pipeline)
	return ws, err
}

// ReadCluster is ReadStatus that also returns the newest advice of the cluster's deciding
// worker, nil when none was published.
func ReadCluster(ctx context.Context, conn kafka.Conn, pipeline string) ([]WorkerStatus, *Advice, error) {
	topic := StatusTopic(pipeline)
	where := fmt.Sprintf("status topic %s on %s", topic, strings.Join(conn.Brokers, ","))
	cl, err := statusClient(conn, topic)
	if err != nil {
		return nil, nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		return nil, nil, fmt.Errorf("%s: %w: no worker of pipeline %q has run there", where, ErrNoStatusTopic, pipeline)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", where, err)
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", where, err)
	}
	end, _ := ends.Lookup(topic, 0)
	start, _ := starts.Lookup(topic, 0)
	now := time.Now()
	if end.Offset <= start.Offset {
		return []WorkerStatus{}, nil, nil
	}
	cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(start.Offset)}})
	var fold statusFold
	for next := start.Offset; next < end.Offset; {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("%s: read offsets %d to %d: at %d: %w", where, start.Offset, end.Offset, next, err)
		}
		var ferr error
		fs.EachError(func(_ string, p int32, err error) {
			if ferr == nil {
				ferr = fmt.Errorf("%s: partition %d: %w", where, p, err)
			}
		})
		if ferr != nil {
			return nil, nil, ferr
		}
		for _, r := range fs.Records() {
			if r.Offset >= end.Offset {
				break
			}
			if err := fold.add(r); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", where, err)
			}
			next = r.Offset + 1
		}
	}
	ws := fold.workers()
	markStale(ws, now)
	return ws, fold.advice, nil
}

// statusFold keeps the newest status of every worker, and the newest advice, from records
// read in order.
type statusFold struct {
	byWorker map[string]WorkerStatus
	advice   *Advice
}

// add takes the record r of the status topic: a worker's status, its tombstone, or the
// cluster's advice.
func (f *statusFold) add(r *kgo.Record) error {
	if f.byWorker == nil {
		f.byWorker = map[string]WorkerStatus{}
	}
	if isAdvice(r) {
		var adv Advice
		if err := json.Unmarshal(r.Value, &adv); err != nil {
			return fmt.Errorf("partition %d offset %d: advice: %w", r.Partition, r.Offset, err)
		}
		f.advice = &adv
		return nil
	}
	worker := string(r.Key)
	if r.Value == nil {
		delete(f.byWorker, worker)
		return nil
	}
	var s WorkerStatus
	if err := json.Unmarshal(r.Value, &s); err != nil {
		return fmt.Errorf("partition %d offset %d: status of worker %q: %w", r.Partition, r.Offset, worker, err)
	}
	s.Worker = worker
	f.byWorker[worker] = s
	return nil
}

// isAdvice tells whether r holds the cluster's advice rather than a worker's status.
func isAdvice(r *kgo.Record) bool {
	for _, h := range r.Headers {
		if h.Key == adviceHeader {
			return string(h.Value) == "advice"
		}
	}
	return false
}

// workers returns the statuses kept, sorted by worker id.
func (f *statusFold) workers() []WorkerStatus {
	out := make([]WorkerStatus, 0, len(f.byWorker))
	for _, s := range f.byWorker {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b WorkerStatus) int { return strings.Compare(a.Worker, b.Worker) })
	return out
}

// StatusPipelines lists the pipelines that have a status topic on the cluster conn
// reaches, sorted.
func StatusPipelines(ctx context.Context, conn kafka.Conn) ([]string, error) {
	where := "list status topics on " + strings.Join(conn.Brokers, ",")
	cl, err := statusClient(conn, "millrace.*.worker-status")
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	details, err := kadm.NewClient(cl).ListTopics(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	var out []string
	for _, topic := range details.Names() {
		name, ok := strings.CutPrefix(topic, statusPrefix)
		if name, ok2 := strings.CutSuffix(name, statusSuffix); ok && ok2 && name != "" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}
