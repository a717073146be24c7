//go:build linux

package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"millrace/cluster"
)

// TestAJoiningWorkerPrewarms runs one worker over half the input until the state it
// committed holds every row of that half, then starts a second: before joining, it reads
// the key groups' committed state ahead, and at its assignment its restore takes the
// pieces it names from what it read (its status says so) instead of from the store. The
// rest of the input follows, and what the cluster committed equals what one process
// makes. The same with --prewarm 0 reads nothing ahead; both log the joining worker's
// rebalance pause.
func TestAJoiningWorkerPrewarms(t *testing.T) {
	for _, c := range []struct {
		name    string
		prewarm string
	}{{"default", ""}, {"none", "0"}} {
		t.Run(c.name, func(t *testing.T) { testJoiningWorker(t, c.prewarm) })
	}
}

// testJoiningWorker is TestAJoiningWorkerPrewarms with b's --prewarm (its default if "").
func testJoiningWorker(t *testing.T, prewarm string) {
	// Windows of 5 minutes: the one open at half the input holds all of it so far, about
	// 7 KB of state in each key group.
	f := newTopicFixture(t, strings.Replace(clusterSpec, "tumble: 10s", "tumble: 5m", 1), 100_000, 4)
	f.produce(t, 0.5)
	a := f.startWorker(t, "a")
	f.waitSettled(t)
	var extra []string
	if prewarm != "" {
		extra = []string{"--prewarm", prewarm}
	}
	b := f.startWorker(t, "b", extra...)
	ws := f.waitFor(t, func(ws []cluster.WorkerStatus) bool {
		for _, w := range ws {
			if w.Worker == "b" && w.Rebalances > 0 && (prewarm == "0" || w.Prewarm != nil && w.Prewarm.Hits > 0) {
				return true
			}
		}
		return false
	})
	for _, w := range ws {
		p := w.Prewarm
		switch {
		case w.Worker != "b":
			t.Logf("%s: pause %.3fs", w.Worker, w.RebalancePause)
		case prewarm == "0":
			t.Logf("b read nothing ahead; pause %.3fs", w.RebalancePause)
			if p != nil {
				t.Errorf("b was told to read nothing ahead, and says %+v", *p)
			}
		default:
			t.Logf("b read %d pieces (%d bytes) ahead; its restore took %d (%d bytes) of them and read %d bytes more; pause %.3fs",
				p.Pieces, p.Bytes, p.Hits, p.HitBytes, p.ReadBytes, w.RebalancePause)
			if p.Bytes == 0 || p.HitBytes == 0 || p.HitBytes > p.Bytes {
				t.Errorf("b read %d bytes ahead and its restore took %d of them, want some taken", p.Bytes, p.HitBytes)
			}
		}
	}
	f.produce(t, 1)
	f.expect(t)
	f.waitCommitted(t, "got-large", len(f.wantLarge), a, b)
	f.waitCommitted(t, "got-velocity", len(f.wantVelocity), a, b)
	a.stop(t)
	b.stop(t)
	f.check(t)
}

// waitSettled waits until the group has committed every row produced so far into its
// state: its offsets of the input reach the input's ends, then its offsets of the
// exchange reach where the exchange ended at that moment (the first stage's last rows
// are before it), less the marker that ended the last transaction written there, which
// no reader takes. Until more rows come, the key groups' state stays as committed.
func (f *clusterFixture) waitSettled(t *testing.T) {
	t.Helper()
	adm := admin(t, f.brokers)
	reached := func(ends kadm.ListedOffsets, marker int64) bool {
		committed, err := adm.FetchOffsets(context.Background(), "ctest")
		if errors.Is(err, kerr.GroupIDNotFound) {
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		all := true
		ends.Each(func(e kadm.ListedOffset) {
			c, ok := committed.Lookup(e.Topic, e.Partition)
			all = all && ok && c.Err == nil && c.At >= e.Offset-marker
		})
		return all
	}
	for i, topic := range []string{"tx", "millrace.ctest.velocity"} {
		ends, err := adm.ListEndOffsets(context.Background(), topic)
		if err == nil {
			err = ends.Error()
		}
		if err != nil {
			t.Fatal(err)
		}
		f.waitFor(t, func([]cluster.WorkerStatus) bool { return reached(ends, int64(i)) })
	}
}
