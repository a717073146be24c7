package cluster

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/kafka"
	"millrace/kafka/kafkatest"
	"millrace/observe"
)

// statusOf is a status of worker w as a worker would publish it, updated at updated.
func statusOf(w string, updated time.Time, partitions ...int32) WorkerStatus {
	s := WorkerStatus{Worker: w, Host: "node-" + w, PID: 100, Started: updated.Add(-time.Hour), Updated: updated, Generation: 2, KeyGroups: 256,
		Checkpoint: &CheckpointStatus{ID: 5, At: updated.Add(-time.Second), Units: len(partitions)},
		Steps:      []observe.StepFigures{{Step: "tx", Kind: "source", Subtasks: 1, InRate: 100}}}
	for _, p := range partitions {
		s.Owned = append(s.Owned, OwnedPartition{Topic: "tx", Partition: p, Lag: int64(p)})
	}
	return s
}

func workerIDs(ws []WorkerStatus) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.Worker
	}
	return out
}

// TestPublishLeaveAndRead has two workers publish, one publish again and the other leave,
// and checks that ReadStatus returns the newest status of the one left, and that the topic
// is compacted with one partition.
func TestPublishLeaveAndRead(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn := kafka.Conn{Brokers: kafkatest.Cluster(t, "", 0)}
	if _, err := ReadStatus(ctx, conn, "card-velocity"); !errors.Is(err, ErrNoStatusTopic) {
		t.Fatalf("read before any worker published: %v, want ErrNoStatusTopic", err)
	}
	now := time.Now().Truncate(time.Millisecond)
	pubs := map[string]*StatusPublisher{}
	for _, w := range []string{"w1", "w2"} {
		p, err := NewStatusPublisher(ctx, conn, "card-velocity")
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := p.Close(); err != nil {
				t.Error(err)
			}
		}()
		pubs[w] = p
	}
	if ws, err := ReadStatus(ctx, conn, "card-velocity"); err != nil || len(ws) != 0 {
		t.Fatalf("read an empty topic: %v, %v", ws, err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(pubs["w1"].Publish(ctx, statusOf("w1", now.Add(-time.Second), 0, 1)))
	must(pubs["w2"].Publish(ctx, statusOf("w2", now.Add(-time.Second), 2, 3)))
	ws, err := ReadStatus(ctx, conn, "card-velocity")
	if err != nil || !slices.Equal(workerIDs(ws), []string{"w1", "w2"}) {
		t.Fatalf("after two workers published: %v, %v", workerIDs(ws), err)
	}
	must(pubs["w1"].Publish(ctx, statusOf("w1", now, 0, 1, 2, 3)))
	must(pubs["w2"].Leave(ctx, "w2"))
	ws, err = ReadStatus(ctx, conn, "card-velocity")
	if err != nil || len(ws) != 1 {
		t.Fatalf("after w2 left: %v, %v", workerIDs(ws), err)
	}
	got := ws[0]
	if got.Worker != "w1" || got.Pipeline != "card-velocity" || got.Stale || len(got.Owned) != 4 || !got.Updated.Equal(now) ||
		got.Checkpoint == nil || got.Checkpoint.Units != 4 || got.Host != "node-w1" || len(got.Steps) != 1 || got.Steps[0].InRate != 100 {
		t.Errorf("w1 read back as %+v", got)
	}
	if v := got.View(); v.Owned != "tx/0-3" || v.LagRecords != 6 {
		t.Errorf("w1's view: owned %q, lag %d", v.Owned, v.LagRecords)
	}
	// another pipeline's topic, and what the cluster holds of it
	other, err := NewStatusPublisher(ctx, conn, "volume")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := other.Close(); err != nil {
			t.Error(err)
		}
	}()
	cl, err := kgo.NewClient(kgo.SeedBrokers(conn.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	// exchange topics of the pipeline, one into a step named status, are not status topics
	for _, step := range []string{"velocity", "status"} {
		if _, err := adm.CreateTopic(ctx, 4, -1, nil, "millrace.card-velocity."+step); err != nil {
			t.Fatal(err)
		}
	}
	if pipelines, err := StatusPipelines(ctx, conn); err != nil || !slices.Equal(pipelines, []string{"card-velocity", "volume"}) {
		t.Errorf("status pipelines %v, %v", pipelines, err)
	}
	topics, err := adm.ListTopics(ctx, StatusTopic("card-velocity"))
	if err != nil {
		t.Fatal(err)
	}
	if d := topics[StatusTopic("card-velocity")]; len(d.Partitions) != 1 {
		t.Errorf("status topic has %d partitions, want 1", len(d.Partitions))
	}
	configs, err := adm.DescribeTopicConfigs(ctx, StatusTopic("card-velocity"))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := configs.On(StatusTopic("card-velocity"), nil)
	if err != nil {
		t.Fatal(err)
	}
	policy := ""
	for _, c := range rc.Configs {
		if c.Key == "cleanup.policy" && c.Value != nil {
			policy = *c.Value
		}
	}
	if policy != "compact" {
		t.Errorf("cleanup.policy %q, want compact", policy)
	}
}

// TestReadStatusMarksStaleWorkers checks that a worker that stopped publishing long ago is
// kept, marked stale.
func TestReadStatusMarksStaleWorkers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn := kafka.Conn{Brokers: kafkatest.Cluster(t, "", 0)}
	p, err := NewStatusPublisher(ctx, conn, "p")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	}()
	now := time.Now()
	for _, s := range []WorkerStatus{statusOf("gone", now.Add(-time.Minute), 0), statusOf("live", now, 1)} {
		if err := p.Publish(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	ws, err := ReadStatus(ctx, conn, "p")
	if err != nil || len(ws) != 2 || ws[0].Worker != "gone" || !ws[0].Stale || ws[1].Stale {
		t.Fatalf("statuses %+v, %v; want gone stale and live not", ws, err)
	}
	if err := p.Publish(ctx, WorkerStatus{}); err == nil {
		t.Error("a status without a worker id was published")
	}
}

// TestFollowerSeesWorkersComeAndGo starts a follower on an empty topic and checks that it
// sees two workers publish, one publish again and the other leave, as each happens.
func TestFollowerSeesWorkersComeAndGo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn := kafka.Conn{Brokers: kafkatest.Cluster(t, "", 0)}
	f, err := FollowStatus(ctx, conn, "p", nil)
	if err != nil {
		t.Fatal(err)
	}
	// waitFor waits until the follower's workers satisfy ok, woken by each change.
	waitFor := func(what string, ok func([]WorkerStatus) bool) []WorkerStatus {
		t.Helper()
		for {
			changed := f.Changed()
			if ws := f.Workers(); ok(ws) {
				return ws
			}
			select {
			case <-changed:
			case <-ctx.Done():
				t.Fatalf("the follower never saw %s: it has %v", what, workerIDs(f.Workers()))
			}
		}
	}
	p, err := NewStatusPublisher(ctx, conn, "p")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	}()
	now := time.Now()
	for _, s := range []WorkerStatus{statusOf("w1", now, 0), statusOf("w2", now, 1)} {
		if err := p.Publish(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	waitFor("w1 and w2", func(ws []WorkerStatus) bool { return slices.Equal(workerIDs(ws), []string{"w1", "w2"}) })
	if err := p.Publish(ctx, statusOf("w1", now, 0, 1)); err != nil {
		t.Fatal(err)
	}
	if err := p.Leave(ctx, "w2"); err != nil {
		t.Fatal(err)
	}
	ws := waitFor("w2 leave", func(ws []WorkerStatus) bool { return slices.Equal(workerIDs(ws), []string{"w1"}) })
	if len(ws[0].Owned) != 2 {
		t.Errorf("w1 owns %v, want its newest 2 partitions", ws[0].Owned)
	}
	views := f.Views()
	if len(views) != 1 || views[0].Worker != "w1" || views[0].Owned != "tx/0-1" || views[0].Stale {
		t.Errorf("views %+v", views)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-f.done:
	default:
		t.Error("Close returned before the follower's goroutine ended")
	}
}
