package cluster

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"millrace/kafka"
	"millrace/kafka/kafkatest"
	"millrace/objstore"
	"millrace/scale"
)

// TestAdvisingIsHandedOnWithItsHistory runs the advice of a cluster on two workers over a
// real broker and state store: only the owner of the deciding unit publishes advice, both
// serve the same one, and when the unit moves to the other worker it goes on from the
// history the first stored, counting on from its observations.
func TestAdvisingIsHandedOnWithItsHistory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn := kafka.Conn{Brokers: kafkatest.Cluster(t, "", 0)}
	store, err := objstore.Open(ctx, "file://"+t.TempDir(), objstore.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	layout := &Layout{Pipeline: "adv", KeyGroups: 256, Stages: []*Stage{{Name: "tx", Splits: "millrace.adv.splits"}}}
	topic, part := layout.DecidingUnit()
	if topic != "millrace.adv.splits" || part != 0 {
		t.Fatalf("deciding unit %s/%d, want millrace.adv.splits/0", topic, part)
	}
	pub, err := NewStatusPublisher(ctx, conn, "adv")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pub.Close() }()
	for _, w := range []string{"a", "b"} {
		s := figures(w, 100, 0.5, 10)
		s.Updated = time.Now().Add(time.Hour) // never stale during the test
		if err := pub.Publish(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	cfg := scale.AdvisorConfig{Sources: []string{"tx"}, Step: 20 * time.Millisecond, Window: 100 * time.Millisecond,
		Horizon: time.Second, Policy: scale.Policy{Mode: scale.Predictive, Limits: scale.DefaultLimits()}}
	start := func(w string) (*Advising, *StatusFollower) {
		f, err := FollowStatus(ctx, conn, "adv", nil)
		if err != nil {
			t.Fatal(err)
		}
		a, err := StartAdvising(ctx, AdvisingOptions{Layout: layout, Worker: w, Config: cfg, Store: store, Conn: conn, Status: f})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := a.Close(); err != nil {
				t.Error(err)
			}
			_ = f.Close()
		})
		return a, f
	}
	a, fa := start("a")
	b, fb := start("b")
	// waitAdvice waits until f has read advice that ok accepts.
	waitAdvice := func(f *StatusFollower, ok func(Advice) bool) Advice {
		t.Helper()
		for {
			changed := f.Changed()
			if adv, seen := f.Advice(); seen && ok(adv) {
				return adv
			}
			select {
			case <-changed:
			case <-ctx.Done():
				t.Fatal("no such advice before the test's deadline")
			}
		}
	}
	a.Assigned(map[string][]int32{topic: {0, 1}})
	b.Assigned(map[string][]int32{topic: {2, 3}})
	first := waitAdvice(fb, func(adv Advice) bool { return adv.Observations >= 5 })
	if first.Decider != "a" || first.Workers != 2 {
		t.Fatalf("advice by %s for %d workers, want a deciding for 2", first.Decider, first.Workers)
	}
	if got, ok := b.Latest(); !ok || got.At.Before(first.At) {
		t.Errorf("b serves advice of %v, older than the one it read, of %v", got.At, first.At)
	}
	// The unit moves to b, as a rebalance after a's death would move it.
	a.Assigned(map[string][]int32{})
	b.Assigned(map[string][]int32{topic: {0, 1, 2, 3}})
	next := waitAdvice(fa, func(adv Advice) bool { return adv.Decider == "b" })
	data, err := store.Get(ctx, AdvisorKey("adv"))
	if err != nil {
		t.Fatal(err)
	}
	var st advisorState
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	if next.Observations <= first.Observations || st.Observations < next.Observations {
		t.Errorf("b's first advice counts %d observations, a's had %d, the store %d: b did not go on from a's history",
			next.Observations, first.Observations, st.Observations)
	}
}
