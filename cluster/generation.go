package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"millrace/engine"
	"millrace/exchange"
	"millrace/op"
	"millrace/source"
)

// A generation is one assignment's run: the engine over the stages of the units the group
// gave the worker, restored from their committed state, committing each checkpoint in a
// transaction with its input offsets, until the next rebalance stops it.
type generation struct {
	w        *worker
	serial   int
	owned    map[string][]int32
	pausedAt time.Time
	box      *outbox

	graph *engine.Graph
	units []*unit
	// keyed are the nodes of keyed stages whose state is kept by key group, by name.
	keyed map[string]bool

	stopOnce sync.Once
	stopCh   chan struct{}
	// ctx lasts as long as the generation; attempt as long as one run of the engine, which
	// a checkpoint that fails to commit ends (stopAttempt).
	ctx         context.Context
	cancel      context.CancelFunc
	attempt     context.Context
	stopAttempt context.CancelFunc
	// run names the attempt in its checkpoints, so that no two attempts, of this worker or
	// of one restarted under its name, write state under one name.
	runName string
	done    chan struct{}
	// failed is why the last checkpoint did not commit, which ended the engine's run.
	failed error
	// committed is what each unit committed last, for clean-up (see retain).
	committed map[*unit]committedUnit
	// stored is where the pieces of the units' state are in the store (see pieces.go).
	stored storedPieces
}

// unit is a partition the generation owns and where its state lives in the graph.
type unit struct {
	stage     *Stage
	topic     string
	partition int32
	// node is the source node reading the unit, sub its subtask, index the unit's partition
	// in that source.
	node       *engine.Node
	sub, index int
	offsetOf   func(i int, pos []byte) (int64, error)
}

func (u *unit) String() string { return fmt.Sprintf("%s/%d", u.topic, u.partition) }

func newGeneration(w *worker, serial int, owned map[string][]int32, pausedAt time.Time) *generation {
	g := &generation{w: w, serial: serial, owned: owned, pausedAt: pausedAt, box: newOutbox(),
		stopCh: make(chan struct{}), done: make(chan struct{}), keyed: map[string]bool{}}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	return g
}

// stopWithin bounds a graceful stop: a last checkpoint that has not committed by then (the
// store or the brokers hang) is given up, before the group's rebalance times out.
const stopWithin = 30 * time.Second

// stop ends the generation, gracefully with a last checkpoint or at once, and waits.
func (g *generation) stop(graceful bool) {
	g.stopOnce.Do(func() { close(g.stopCh) })
	if !graceful {
		g.cancel()
	}
	select {
	case <-g.done:
	case <-time.After(stopWithin):
		g.w.opts.Log.Warn("the last checkpoint did not commit in time; stopping without it", "generation", g.serial)
		g.cancel()
		<-g.done
	}
}

// run restores the units, runs the engine until stopped, and on failure aborts what is in
// flight and starts over from the committed state, as long as the generation lasts.
func (g *generation) run() {
	defer close(g.done)
	<-g.w.ready
	defer g.cancel()
	log := g.w.opts.Log.With("generation", g.serial)
	for attempt := 0; ; attempt++ {
		err := g.once()
		if err == nil || g.ctx.Err() != nil || g.stopped() {
			if err != nil && !errors.Is(err, context.Canceled) {
				log.Warn("generation ended", "err", err)
			}
			return
		}
		var fatal *fatalError
		if errors.As(err, &fatal) {
			g.w.fail(err)
			return
		}
		log.Warn("generation failed; resuming from the committed state", "err", err, "attempt", attempt+1)
		g.w.rep.wait(err.Error())
		select {
		case <-time.After(backoff(attempt)):
		case <-g.stopCh:
			return
		case <-g.ctx.Done():
			return
		}
	}
}

func (g *generation) stopped() bool {
	select {
	case <-g.stopCh:
		return true
	default:
		return false
	}
}

// backoff is the wait before attempt+1.
func backoff(attempt int) time.Duration {
	return min(100*time.Millisecond<<min(attempt, 8), 10*time.Second)
}

// fatalError is a failure that starting over cannot mend, such as committed state that is
// missing.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

// once runs the engine over the owned units from their committed state.
func (g *generation) once() error {
	g.attempt, g.stopAttempt = context.WithCancel(g.ctx)
	defer g.stopAttempt()
	g.runName = newRunName()
	g.box = newOutbox()
	g.w.opts.Relay.set(g.box)
	g.committed = map[*unit]committedUnit{}
	if err := g.build(); err != nil {
		return &fatalError{err}
	}
	if len(g.units) == 0 {
		g.w.opts.Log.Info("owning nothing", "generation", g.serial)
		g.report()
		select {
		case <-g.stopCh:
		case <-g.ctx.Done():
		}
		return nil
	}
	restore, err := g.restore()
	if err != nil {
		return err
	}
	g.w.cache.clear() // what was read ahead has served its turn
	if err := g.w.begin(g.attempt); err != nil {
		return err
	}
	g.report()
	opts := g.w.opts.Engine
	opts.Stop = g.stopCh
	// Keyed steps write their state by key group, the unit a cluster keeps it in.
	opts.Checkpointing = &engine.Checkpointing{Interval: g.w.opts.Interval, Restore: restore, Complete: g.complete, ByKeyGroup: true}
	g.failed = nil
	_, err = engine.Run(g.attempt, g.graph, opts)
	if err != nil {
		g.w.abort()
	}
	if g.failed != nil {
		return g.failed
	}
	return err
}

// newRunName is a fresh name for an attempt.
func newRunName() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// report tells the worker's status and observer how long it did not process.
func (g *generation) report() {
	pause := time.Since(g.pausedAt)
	g.w.rep.assigned(g.owned, g.units, pause)
	if f := g.w.opts.Rebalanced; f != nil {
		f(pause, g.owned)
	}
}

// build makes the engine graph of the owned units: each stage's nodes, a source stage at
// one subtask per owned partition, a keyed stage at one subtask over its owned key groups,
// the exchanges' ends between them.
func (g *generation) build() error {
	l := g.w.opts.Layout
	g.graph = &engine.Graph{KeyGroups: l.KeyGroups}
	g.units = nil
	copies := map[*engine.Node]*engine.Node{}
	for _, st := range l.Stages {
		ins, err := g.inputs(st)
		if err != nil {
			return err
		}
		var units []*unit
		for _, in := range ins {
			units = append(units, in.units...)
		}
		if len(units) == 0 {
			continue
		}
		n := 1 // a keyed stage's state is spread by key group, whatever runs it
		if !st.Keyed() {
			n = len(units) // a source stage's state is its subtasks'
		}
		for _, node := range st.Nodes {
			c := *node
			c.Parallelism = n
			if f := st.fileSink(node); f != nil {
				if c.Operator, err = g.fileSinkOperator(f); err != nil {
					return err
				}
			}
			if node == st.Source {
				c.Source = ins[0].src
				for _, u := range units {
					u.node = &c
				}
			}
			copies[node] = &c
			g.graph.Nodes = append(g.graph.Nodes, &c)
		}
		for _, e := range st.edges {
			c := *e
			c.From, c.To, c.Partitioning = copies[e.From], copies[e.To], engine.Forward
			g.graph.Edges = append(g.graph.Edges, &c)
		}
		for i, x := range st.Inputs {
			in := &engine.Node{Name: x.Topic, Parallelism: 1, Source: ins[i].src, Watermarks: engine.NoEventTime}
			for _, u := range ins[i].units {
				u.node = in
			}
			g.graph.Nodes = append(g.graph.Nodes, in)
			g.graph.Edges = append(g.graph.Edges, &engine.Edge{From: in, To: copies[x.Edge.To], Input: x.Edge.Input,
				Partitioning: engine.Hash, Key: x.Edge.Key})
			g.keyed[x.Edge.To.Name] = true
		}
		g.units = append(g.units, units...)
		// The name each subtask's records carry: its unit, or, for the one subtask of a
		// keyed stage, the set of key groups it owns of the stage's first input.
		names := make([]string, n)
		if st.Keyed() {
			names[0] = exchange.Units(st.Inputs[0].Topic, g.owned[st.Inputs[0].Topic])
		} else {
			for _, u := range units {
				names[u.sub] = u.String()
			}
		}
		for _, x := range l.Exchanges {
			if x.From != st {
				continue
			}
			out := &engine.Node{Name: exchangeOutName(x), Parallelism: n, Operator: func(sub int) (op.Operator, error) {
				return newExchangeOut(x, l.KeyGroups, names[sub], g.box)
			}}
			g.graph.Nodes = append(g.graph.Nodes, out)
			g.graph.Edges = append(g.graph.Edges, &engine.Edge{From: copies[x.Edge.From], To: out, Partitioning: engine.Forward})
		}
	}
	return nil
}

// input is a source of a stage over the owned partitions, and its units.
type input struct {
	src   source.Source
	units []*unit
}

// inputs makes the inputs of stage st over the owned partitions: a first stage's one, a
// keyed stage's one per exchange it reads.
func (g *generation) inputs(st *Stage) ([]input, error) {
	if st.Splits != "" {
		splits := g.owned[st.Splits]
		src := &subset{Source: st.Source.Source, parts: splits}
		units := make([]*unit, len(splits))
		for i, p := range splits {
			units[i] = &unit{stage: st, topic: st.Splits, partition: p, sub: i, index: i, offsetOf: splitOffset}
		}
		return []input{{src, units}}, nil
	}
	if !st.Keyed() {
		own := map[string]map[int32]bool{}
		for t, ps := range g.owned {
			own[t] = map[int32]bool{}
			for _, p := range ps {
				own[t][p] = true
			}
		}
		ks := st.Kafka.Only(func(t string, p int32) bool { return own[t][p] })
		units := make([]*unit, ks.Partitions())
		for i := range units {
			t, p := ks.Partition(i)
			units[i] = &unit{stage: st, topic: t, partition: p, sub: i, index: i, offsetOf: ks.Offset}
		}
		return []input{{ks, units}}, nil
	}
	if err := coPartitioned(st, g.owned); err != nil {
		return nil, &fatalError{err}
	}
	if len(g.owned[st.Inputs[0].Topic]) == 0 {
		return nil, nil
	}
	ins := make([]input, len(st.Inputs))
	for i, x := range st.Inputs {
		kgs := g.owned[x.Topic]
		src, err := exchange.NewSource(g.attempt, exchange.SourceOptions{Conn: g.w.opts.Conn, Topic: x.Topic, Partitions: kgs,
			Schema: x.Schema, Upstream: upstream(x, g.w.opts.Layout.KeyGroups)})
		if err != nil {
			return nil, err
		}
		units := make([]*unit, len(kgs))
		for j, kg := range kgs {
			units[j] = &unit{stage: st, topic: x.Topic, partition: kg, sub: 0, index: j, offsetOf: src.Offset}
		}
		ins[i] = input{src, units}
	}
	return ins, nil
}

// coPartitioned checks that the group gave the worker the same key groups of every
// exchange a keyed stage reads (a join's two inputs): a key group's state holds both sides,
// so one worker must read both. The range balancer the workers use assigns the partitions
// of topics of as many partitions alike; another balancer in the group may not.
func coPartitioned(st *Stage, owned map[string][]int32) error {
	first := st.Inputs[0]
	for _, x := range st.Inputs[1:] {
		if !slices.Equal(owned[x.Topic], owned[first.Topic]) {
			return fmt.Errorf("cluster: step %q joins topics %s and %s, but the group gave this worker key groups %s of one and %s of the other: "+
				"every worker of the group must use the range balancer, which keeps a key group of both with one worker",
				st.Name, first.Topic, x.Topic, exchange.Units(first.Topic, owned[first.Topic]), exchange.Units(x.Topic, owned[x.Topic]))
		}
	}
	return nil
}

// upstream lists the units whose markers a reader of exchange x waits for: every partition
// of the upstream stage's source, every split, or, when the upstream stage is keyed, every
// key group of its first input, whichever worker owns it.
func upstream(x *Exchange, keyGroups int) []string {
	var names []string
	switch {
	case x.From.Keyed():
		for g := range keyGroups {
			names = append(names, fmt.Sprintf("%s/%d", x.From.Inputs[0].Topic, g))
		}
	case x.From.Kafka != nil:
		ks := x.From.Kafka
		for i := range ks.Partitions() {
			t, p := ks.Partition(i)
			names = append(names, fmt.Sprintf("%s/%d", t, p))
		}
	default:
		for p := range x.From.Source.Source.Partitions() {
			names = append(names, fmt.Sprintf("%s/%d", x.From.Splits, p))
		}
	}
	return names
}
