//go:build linux

package main

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"millrace/cluster"
	"millrace/kafka"
	"millrace/scale"
)

// TestClusterServesOneAdvice runs two worker processes: both serve the advice the deciding
// one publishes, the same at /api/scale and as millrace_desired_workers. The deciding worker
// is killed; the other takes the deciding unit over and goes on from the advisor's history
// the first kept in the state store.
func TestClusterServesOneAdvice(t *testing.T) {
	f := newClusterFixture(t, 4_000, 4)
	f.produce(t, 1)
	addrs := map[string]string{"a": freeAddr(t), "b": freeAddr(t)}
	workers := map[string]*workerProc{}
	for _, name := range []string{"a", "b"} {
		workers[name] = f.startWorker(t, name, "--listen", addrs[name], "--advice-speed", "600")
	}
	f.waitJoined(t, "a", "b")
	fol, err := cluster.FollowStatus(context.Background(), kafka.Conn{Brokers: f.brokers}, "ctest", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = fol.Close() }()
	// Both serve one advice once both have read the newest the decider published.
	var served scale.Advice
	var decided cluster.Advice
	for {
		changed := fol.Changed()
		adv, ok := fol.Advice()
		if ok && adv.Observations >= 3 {
			var a, b scale.Advice
			if err := json.Unmarshal([]byte(get(t, "http://"+addrs["a"]+"/api/scale")), &a); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(get(t, "http://"+addrs["b"]+"/api/scale")), &b); err != nil {
				t.Fatal(err)
			}
			if a.At.Equal(b.At) && a.At.Equal(adv.At) {
				served, decided = a, adv
				break
			}
		}
		<-changed
	}
	if served.DesiredWorkers != decided.DesiredWorkers || served.Reason != decided.Reason || served.Workers != 2 {
		t.Fatalf("the workers serve %d workers (%s) for %d, the decider %s published %d (%s)", served.DesiredWorkers, served.Reason,
			served.Workers, decided.Decider, decided.DesiredWorkers, decided.Reason)
	}
	for name, addr := range addrs {
		want := "millrace_desired_workers{pipeline=\"ctest\"} " + strconv.Itoa(decided.DesiredWorkers)
		if m := get(t, "http://"+addr+"/metrics"); !strings.Contains(m, want) {
			t.Errorf("worker %s's metrics lack %s", name, want)
		}
	}
	status := mustRun(t, "cluster", "status", "kafka://"+f.brokers[0], "--pipeline", "ctest")
	if !regexp.MustCompile(`(?m)^advice: \d+ workers? for 2 now, by ` + decided.Decider + ` `).MatchString(status) {
		t.Errorf("cluster status does not show the advice of %s:\n%s", decided.Decider, status)
	}
	other := map[string]string{"a": "b", "b": "a"}[decided.Decider]
	if other == "" {
		t.Fatalf("the advice was decided by %q, not a worker of the test", decided.Decider)
	}
	workers[decided.Decider].kill(t)
	var next cluster.Advice
	for {
		changed := fol.Changed()
		if adv, ok := fol.Advice(); ok && adv.Decider == other {
			next = adv
			break
		}
		<-changed
	}
	workers[other].stop(t)
	// The survivor loaded the history the killed worker stored, at least as long as its
	// last advice said, and counted on from there.
	m := regexp.MustCompile(`msg="deciding the cluster's advice" observations=(\d+)`).FindAllStringSubmatch(workers[other].stderr.String(), -1)
	if len(m) == 0 {
		t.Fatalf("worker %s never said it decides:\n%s", other, workers[other].stderr.String())
	}
	loaded, _ := strconv.Atoi(m[len(m)-1][1])
	if loaded < decided.Observations || next.Observations != loaded+1 {
		t.Errorf("worker %s loaded %d observations and published %d first; the killed decider had published %d",
			other, loaded, next.Observations, decided.Observations)
	}
	t.Logf("worker %s decided after %s was killed: loaded %d observations, advice %d workers (%s)", other, decided.Decider,
		loaded, next.DesiredWorkers, next.Reason)
}

// TestAdviceFlags checks how run's --advice-* flags configure a cluster's advisor: the
// capacity and model as given, the horizon of a fast pace no shorter than clusterHorizon,
// and a model it does not know refused with the flag's name.
func TestAdviceFlags(t *testing.T) {
	cfg, err := adviceFlags{speed: 120, capacity: 2000, model: "profile"}.config([]string{"tx"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CapacityPerWorker != 2000 || cfg.Model != scale.ModelProfile || cfg.Horizon != clusterHorizon || !slices.Equal(cfg.Sources, []string{"tx"}) {
		t.Errorf("at 120 times the clock: %+v", cfg)
	}
	if cfg, err := (adviceFlags{speed: 1, model: "auto"}).config(nil); err != nil || cfg.Horizon != 10*time.Minute || cfg.Model != scale.Auto {
		t.Errorf("in real time: horizon %v, model %v, %v", cfg.Horizon, cfg.Model, err)
	}
	if _, err := (adviceFlags{speed: 1, model: "crystal-ball"}).config(nil); err == nil || !strings.Contains(err.Error(), "--advice-model") {
		t.Errorf("an unknown model: %v", err)
	}
}
