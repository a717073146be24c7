package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kfake"

	"millrace/cluster"
	"millrace/examples"
	"millrace/fleet"
	"millrace/format"
	"millrace/gen"
	"millrace/kafka"
	"millrace/objstore"
)

// clusterDemoSource is the demo's source on a cluster: the topic tx of the development
// broker, which the demo feeds with what the generator source of examples/demo.yaml makes.
const clusterDemoSource = `    kind: kafka
    brokers: "${MILLRACE_DEMO_BROKERS}"
    topic: tx
    start: earliest
    schema: transaction_scenario
    event_time: ts
`

// demoClusterSpec returns the demo's pipeline for a cluster: examples/demo.yaml, named
// demo-cluster, with its generator source replaced by clusterDemoSource, so that the demo
// runs the same views on one process and across processes.
func demoClusterSpec() (string, error) {
	text, err := examples.Specs.ReadFile("demo.yaml")
	if err != nil {
		return "", err
	}
	lines := strings.SplitAfter(string(text), "\n")
	from, to, named := -1, -1, false
	for i, l := range lines {
		switch {
		case l == "name: demo\n":
			lines[i], named = "name: demo-cluster\n", true
		case l == "    kind: generator\n":
			from = i
		case from >= 0 && to < 0 && strings.HasPrefix(l, "    surges:"):
			to = i
		}
	}
	if !named || from < 0 || to < 0 {
		return "", errors.New("demo: examples/demo.yaml has no generator source from `kind: generator` to `surges:` under `name: demo` to run on a cluster")
	}
	head := "# The demo across worker processes (millrace demo --cluster): examples/demo.yaml, its\n" +
		"# transactions read from the topic tx of a development broker that the demo feeds.\n"
	return head + strings.Join(lines[:from], "") + clusterDemoSource + strings.Join(lines[to+1:], ""), nil
}

// demoPartitions is the partitions of the demo's input topic: as many workers as that can
// share it.
const demoPartitions = 4

// demoClusterRate is the mean rate of the demo's transactions on a cluster, in records/s
// of the clock, unless --rate says otherwise: the development broker, the feed and the
// workers share one machine.
const demoClusterRate = 2000

// demoClusterDayStart is the event time of day the demo's stream starts at, two hours
// before the nightly surge, so that the first night comes soon after the start.
const demoClusterDayStart = time.Hour

// demoCapacity is the input rate, in records/s of the clock, one worker of the demo is
// sized for: the mean rate of cfg, so that one worker carries the night and the nightly
// surge (ten times the night) needs more, as the day does.
func demoCapacity(cfg gen.Config) float64 { return cfg.Rate * cfg.Speed }

// demoCluster runs the demo on a development broker inside this process, with worker
// processes started and stopped as the cluster's advice says, within the bounds of
// auto, until stop is closed.
func demoCluster(cmd *cobra.Command, dir string, cfg gen.Config, auto autoscaleFlags, lf *listenFlags, stop <-chan struct{}) error {
	ctx := cmd.Context()
	out := cmd.OutOrStdout()
	if auto.min < 1 || auto.max < auto.min || auto.max > demoPartitions {
		return usagef("--min-parallelism %d --max-parallelism %d: with --cluster they bound the workers: want 1 <= min <= max <= %d", auto.min, auto.max, demoPartitions)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(abs, ".cluster"), 0o755); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	// The advisor's history of an earlier demo has its nights at other times of the clock.
	stateDir := filepath.Join(abs, ".cluster", "state")
	store, err := objstore.Open(ctx, "file://"+stateDir, objstore.DefaultOptions())
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	err = store.Delete(ctx, cluster.AdvisorKey("demo-cluster"))
	if cerr := store.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("demo: forget the advisor's history of an earlier demo: %w", err)
	}
	spec, err := demoClusterSpec()
	if err != nil {
		return err
	}
	specPath := filepath.Join(abs, ".cluster", "demo-cluster.yaml")
	if err := os.WriteFile(specPath, []byte(spec), 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if _, err := writeDemoRules(abs); err != nil {
		return err
	}
	broker, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(demoPartitions, "tx"))
	if err != nil {
		return fmt.Errorf("demo: start the development broker: %w", err)
	}
	defer broker.Close()
	conn := kafka.Conn{Brokers: broker.ListenAddrs()}
	addr := "kafka://" + strings.Join(conn.Brokers, ",")
	fmt.Fprintf(out, "demo: development broker at %s: an in-memory Kafka in this process, for trying things, not for production\n", addr)
	feeding, stopFeeding := context.WithCancel(context.WithoutCancel(ctx))
	fed := make(chan error, 1)
	go func() { fed <- feed(feeding, conn, cfg) }()
	defer func() {
		stopFeeding()
		if err := <-fed; err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintf(cmd.ErrOrStderr(), "millrace: demo: feeding the topic: %v\n", err)
		}
	}()
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("demo: find this program to start its workers: %w", err)
	}
	listenBase := lf.addr
	if _, err := listenFor(listenBase, auto.max-1); err != nil {
		return err
	}
	env := append(os.Environ(), "MILLRACE_DEMO_BROKERS="+strings.Join(conn.Brokers, ","), "MILLRACE_DEMO_DIR="+abs, "FRAUD_DIR="+abs)
	workers := fleet.New(fleet.Options{Path: exe, Env: env, Output: cmd.ErrOrStderr(), Args: func(worker string, slot int) []string {
		listen, _ := listenFor(listenBase, slot) // checked above for every slot up to the most workers
		return []string{"run", specPath, "--cluster", addr, "--state", "file://" + stateDir,
			"--worker-id", worker, "--listen", listen, "--checkpoint-interval", "1s",
			"--advice-speed", strconv.FormatFloat(cfg.Speed, 'g', -1, 64),
			"--advice-capacity", strconv.FormatFloat(demoCapacity(cfg), 'f', 0, 64), "--advice-model", "profile"}
	}})
	follower, err := cluster.FollowStatus(ctx, conn, "demo-cluster", nil)
	if err != nil {
		return err
	}
	defer func() { _ = follower.Close() }() // its errors were logged as they came
	lim := fleet.Limits{Min: auto.min, Max: auto.max, Cooldown: max(time.Duration(float64(10*time.Minute)/cfg.Speed), 10*time.Second)}
	if auto.on {
		fmt.Fprintf(out, "      workers between %d and %d as the cluster's advice says; each worker's lines start with its id,\n", lim.Min, lim.Max)
	} else {
		lim.Max = lim.Min
		fmt.Fprintf(out, "      %d workers (--autoscale=false: the dashboard only advises); each worker's lines start with its id,\n", lim.Min)
	}
	fmt.Fprintf(out, "      w1's dashboard shows the whole cluster; results under %s/; Ctrl-C stops\n", dir)
	printDemoNights(out, cfg, time.Now())
	return upLoop(ctx, stop, out, workers, follower, lim)
}

// feed produces the paced transactions of cfg to the topic tx until ctx ends.
func feed(ctx context.Context, conn kafka.Conn, cfg gen.Config) error {
	w, err := kafka.NewLineWriter(ctx, conn, "tx", "card_id")
	if err != nil {
		return err
	}
	_, err = gen.Write(ctx, cfg, w, format.JSONL, format.WriteOptions{}, nil)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}

// printDemoNights says what the demo's advice does with the nightly surge, and when.
func printDemoNights(out io.Writer, cfg gen.Config, now time.Time) {
	day := time.Duration(float64(24*time.Hour) / cfg.Speed).Round(time.Second)
	first := time.Duration(float64(3*time.Hour-demoClusterDayStart) / cfg.Speed).Round(time.Second)
	fmt.Fprintf(out, "      each worker is sized for %s transactions/s (--advice-capacity), the mean rate: one carries\n", humanRate(demoCapacity(cfg)))
	fmt.Fprintf(out, "      the night; the surge at 03:00, ten times the night, needs more, and so does the day. The\n")
	fmt.Fprintf(out, "      advice forecasts with the load profile (--advice-model profile), which remembers the load\n")
	fmt.Fprintf(out, "      at each time of day. The simulated day starts at 01:00: the first night's surge comes at\n")
	fmt.Fprintf(out, "      %s (in %v), when nothing is remembered of it yet, and workers are added once it is\n", now.Add(first).Format(time.TimeOnly), first)
	fmt.Fprintf(out, "      there; every night after (a day lasts %v), first at %s, they are added before it.\n", day, now.Add(first+day).Format(time.TimeOnly))
	fmt.Fprintf(out, "      The dashboard's scaling panel and each change below say what the advice remembered.\n")
}

// demoGenConfig is the generator of the demo's spec for the cluster's topic, its event time
// starting at the next 01:00 (UTC) after now: ahead of the clock, as the pace keeps it.
func demoGenConfig(rate, speed float64, seed int64, now time.Time) (gen.Config, error) {
	c := gen.DefaultConfig()
	c.Rate, c.Speed, c.Seed = rate, speed, seed
	if c.Start = now.UTC().Truncate(24 * time.Hour).Add(demoClusterDayStart); c.Start.Before(now) {
		c.Start = c.Start.Add(24 * time.Hour)
	}
	c.Rows, c.Duration = 0, 0
	c.Disorder, c.LateRate, c.DupRate = time.Second, 0.0005, 0.001
	c.ScenarioColumn = true
	surges, err := gen.ParseSurges("daily 03:00x10/30m", 30*time.Minute)
	if err != nil {
		return c, err
	}
	c.Surges = surges
	if err := c.Validate(); err != nil {
		return c, usageError{err}
	}
	return c, nil
}

// runDemoCluster runs `demo --cluster` until Ctrl-C or duration.
func runDemoCluster(cmd *cobra.Command, dir string, rate, speed float64, seed int64, duration time.Duration, auto autoscaleFlags, lf *listenFlags) error {
	if !cmd.Flags().Changed("rate") {
		rate = demoClusterRate / max(speed, 1)
	}
	cfg, err := demoGenConfig(rate, speed, seed, time.Now())
	if err != nil {
		return err
	}
	stop, release := stopAfter(cmd.Context(), duration)
	defer release()
	fmt.Fprintf(cmd.OutOrStdout(), "demo: %s transactions/s of the clock on average (%s/s of event time at %gx real time), across worker processes\n",
		humanRate(rate*speed), humanRate(rate), speed)
	return demoCluster(cmd, dir, cfg, auto, lf, stop)
}
